"""Fakes that show when the speakers stage hears an episode's audio: beside its decoding, or after it.

Named by their import path (``helpers.hearing:DecodingUntilHeard`` as an engine,
``helpers.hearing:ListeningBackend`` as a speaker backend), in this process only.
"""

from __future__ import annotations

import os
import threading
import time

from indexer.testing import FakeEngine, FakeSpeakerBackend

HEARD = threading.Event()   # set by ListeningBackend as it embeds; awaited by DecodingUntilHeard
WAIT = 60.0                 # seconds: not a time budget, the end of a wait that never ends when the stage waits
LISTENING = f"{__name__}:ListeningBackend"
DECODING_UNTIL_HEARD = f"{__name__}:DecodingUntilHeard"
DEAF = f"{__name__}:DeafBackend"
SLOW = 3.0   # seconds per window of SlowEngine: far more than the fake voices take to hear a few clips


class ListeningBackend(FakeSpeakerBackend):
    """The fake voices, saying when the speakers stage has begun hearing an episode's audio."""

    def embed_regions(self, regions, windows):
        HEARD.set()
        return super().embed_regions(regions, windows)


class DeafBackend(FakeSpeakerBackend):
    """The fake voices, failing on every episode."""

    def embed_regions(self, regions, windows):
        raise RuntimeError("the speaker network broke")


class DecodingUntilHeard(FakeEngine):
    """The fake engine, whose decoding ends only once the speakers stage has heard the audio (or after
    WAIT): with the stage after the decoding, every window waits that long, and counts it."""

    waited_in_vain = 0

    def transcribe(self, samples, language, prompt=True, seed=None):
        if not HEARD.wait(WAIT):
            type(self).waited_in_vain += 1
        return super().transcribe(samples, language, prompt, seed)


def start() -> None:
    """Before a test: nothing heard, no wait counted."""
    HEARD.clear()
    DecodingUntilHeard.waited_in_vain = 0


class SlowEngine(FakeEngine):
    """The fake engine, SLOW seconds per window: the speakers stage, beside it, hears ahead of the lanes."""

    def transcribe(self, samples, language, prompt=True, seed=None):
        time.sleep(SLOW)
        return super().transcribe(samples, language, prompt, seed)


class KillingBackend(FakeSpeakerBackend):
    """The fake voices, whose network kills its process (a crash, an out-of-memory kill) on quiet audio:
    a peak under 0.25 (the test clips' quiet.wav peaks at 0.13, the others at 0.39 or more)."""

    def embed_regions(self, regions, windows):
        if max((float(abs(region).max(initial=0.0)) for region in regions), default=1.0) < 0.25:
            os._exit(3)
        return super().embed_regions(regions, windows)
