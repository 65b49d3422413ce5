"""How noisy each part of an episode is, measured cheaply before decoding it, and the preset chosen on it.

Each window (up to 2.5 minutes, cut in a pause) is judged on its own audio, so
an episode that opens in a quiet studio and goes on in a bar is decoded with
beam search from the bar on. The estimate is the ratio of loud to quiet moments
of a stretch of audio: the 90th over the 10th percentile of the power of 30 ms
frames, in dB; a window reads as its noisiest stretch of 45 s with speech, so that
the quiet pauses of a studio minute do not hide the bar that follows it in the same
window. Quiet moments between words are the noise floor; the loud ones are speech
over it. Babble fills the pauses, so the ratio falls with the signal-to-noise ratio. Measured (benchmarks/noise_choice.py): the sample
archive clean 101 dB (digital silence between sentences), telephone band +
24 kbit/s mp3 + babble 15 dB down 23.5–24.8 dB, synthetic babble at 10 dB
17.5–18.5, at 5 dB 13–14; real voices under real babble at 10 dB 23.2–24.3
(June's prompts) and 13.5–22.1 (Tux Paint's volunteers), at 5 dB 19–20;
real clean speech with pauses 94–99, without pauses 17.7–39 (Tux Paint's
recordings joined without a pause read 17.7–25.4: a crude estimate, which errs
towards "noisy", where beam search costs CPU but no words: 0.258 errors there
against greedy's 0.289). Those figures are over whole windows. A window's noisiest 45 s
read lower: by a few dB under steady noise, much lower where the noise fills only part of the window,
and clean speech too can drop (June's prompts from 99 to 55 dB at worst), still far above the threshold.
It needs no model and takes 5-15 ms of CPU per window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..audio import SAMPLE_RATE
from ..transcript import hms
from .options import TranscribeOptions, with_preset

FRAME = 480   # 30 ms at 16 kHz


@dataclass(frozen=True)
class WindowNoise:
    """One window's estimate, and whether it was decoded with the noisy preset."""

    start: float            # seconds from the start of the file
    snr_db: float | None    # None: too short or silent to tell
    noisy: bool = False

    def to_dict(self) -> dict:
        return {"start": round(self.start, 3), "snr_db": self.snr_db, "noisy": self.noisy}


@dataclass(frozen=True)
class NoiseChoice:
    """What was measured, and the decoding it led to (recorded in the transcript as ``noise``)."""

    snr_db: float | None   # the estimate (of the noisiest window); None for audio too short to tell
    preset: str            # the preset the episode was decoded with (the noisy one if any window was)
    automatic: bool        # chosen on the estimate (False: the preset asked for, e.g. `noisy: true`)
    noisy: bool = False    # measured noisy, and so decoded with the noisy preset (some windows at least)
    windows: tuple[WindowNoise, ...] = ()   # each window's, when the file had more than one

    def to_dict(self) -> dict:
        record = {"snr_db": self.snr_db, "preset": self.preset, "automatic": self.automatic, "noisy": self.noisy}
        if len(self.windows) > 1:
            record["windows"] = [w.to_dict() for w in self.windows]
        return record

    @classmethod
    def of_windows(cls, requested: TranscribeOptions, windows: list[WindowNoise]) -> "NoiseChoice":
        """The episode's record from its windows' (in order): the lowest estimate, and the noisy
        preset when any window was decoded with it."""
        measured = [w.snr_db for w in windows if w.snr_db is not None]
        noisy = any(w.noisy for w in windows)
        return cls(min(measured) if measured else None, requested.noise_preset if noisy else requested.preset,
                   bool(requested.noise_preset), noisy, tuple(windows))


def estimate_snr(samples: np.ndarray) -> float | None:
    """Loud over quiet frame power, in dB (capped at 99); None under a second of audio."""
    frames = len(samples) // FRAME
    if frames < 1 + 16000 // FRAME:
        return None
    power = (samples[:frames * FRAME].reshape(frames, FRAME).astype(np.float64) ** 2).mean(axis=1)
    quiet, loud = np.percentile(power, 10), np.percentile(power, 90)
    if loud <= 1e-10:
        return None   # silence: nothing to choose on
    return round(float(min(99.0, 10 * np.log10(loud / max(quiet, 1e-12)))), 1)


# A window reads as its noisiest stretch of this length. Measured (benchmarks/noise_windows.py, each
# window of real French): the windows where a bar starts after a studio part read 24.2-37.9 dB over the
# whole window (3 of 7 read clean at 27, two bar halves missed entirely) and 21.9-24.6 over their noisiest
# 45 s (7 of 7 caught). On clean real speech (June's prompts, Tux Paint's volunteers, the hour of both:
# 62 windows) no 45-s stretch read under 55 dB, where 30-s stretches took two windows for noisy (19.2 and
# 20.4 dB).
STRETCH_SECONDS = 45.0
# Only stretches with this share of speech (by the VAD) are judged: 45 s of room tone, hiss or music
# measured alone read about 1 dB (noise over noise), and a speech window ending on such a tail must not
# read noisy for it.
STRETCH_SPEECH_SHARE = 1 / 3


def window_snr(samples: np.ndarray, speech: list[dict] | None = None,
               stretch: float = STRETCH_SECONDS) -> float | None:
    """The estimate of a window: its noisiest ``stretch`` seconds with speech (:func:`estimate_snr` of each
    stretch side by side, the last one ending at the window's end; ``speech``: the window's VAD chunks in
    samples, None to judge every stretch); the whole window when it is no longer, or when no stretch has
    enough speech."""
    size = int(stretch * SAMPLE_RATE)
    if len(samples) <= size:
        return estimate_snr(samples)
    starts = list(range(0, len(samples) - size + 1, size))
    if starts[-1] + size < len(samples):
        starts.append(len(samples) - size)
    if speech is not None:
        starts = [a for a in starts if _speech_in(speech, a, a + size) >= STRETCH_SPEECH_SHARE * size]
    measured = [db for db in (estimate_snr(samples[a:a + size]) for a in starts) if db is not None]
    return min(measured) if measured else estimate_snr(samples)


def _speech_in(speech: list[dict], start: int, end: int) -> int:
    """Samples of VAD speech between ``start`` and ``end``."""
    return sum(max(0, min(end, c["end"]) - max(start, c["start"])) for c in speech)


def choose_preset(options: TranscribeOptions, samples: np.ndarray,
                  speech: list[dict] | None = None) -> tuple[TranscribeOptions, NoiseChoice]:
    """The options to decode ``samples`` (an episode's window, with its VAD ``speech`` chunks) with, and what
    was measured.

    With ``options.noise_preset`` set (the default preset, ``auto``), audio
    whose estimate is under ``options.noisy_below_db`` is decoded with that
    preset; otherwise ``options`` decide (a preset asked for by name, or by
    ``noisy: true/false``, always wins).
    """
    snr = window_snr(samples, speech)
    if not options.noise_preset:
        return options, NoiseChoice(snr, options.preset, False)
    if measured_noisy(options, snr):
        chosen = with_preset(options, options.noise_preset)
        return chosen, NoiseChoice(snr, chosen.preset, True, True)
    return options, NoiseChoice(snr, options.preset, True)


def measured_noisy(options: TranscribeOptions, snr_db: float | None) -> bool:
    """Whether the automatic choice decodes an episode estimated at ``snr_db`` with the noisy preset:
    the one rule, used before decoding and again on a transcript's recorded estimate (ingest
    transcribes again only the episodes whose choice a new threshold flips)."""
    return bool(options.noise_preset) and snr_db is not None and snr_db < options.noisy_below_db


def choice_still_holds(options: TranscribeOptions, snr_db: float | None, noisy: bool,
                       windows: Sequence[tuple[float, float | None, bool]] = ()) -> bool:
    """Whether a transcript decoded with ``options`` (same fingerprint), estimated at ``snr_db`` and
    decoded noisy or not (its recorded ``noise``), would be decoded alike today; ``windows``: each
    window's ``(start, snr_db, noisy)`` when it recorded them (a file of several windows). Without an
    estimate (no speech, audio too short, a transcript older than the estimate) nothing was chosen: it holds."""
    if windows:
        return all(choice_still_holds(options, db, was) for _, db, was in windows)
    return snr_db is None or not options.noise_preset or measured_noisy(options, snr_db) == noisy


def noise_flip_note(options: TranscribeOptions, snr_db: float,
                    windows: Sequence[tuple[float, float | None, bool]] = ()) -> str:
    """Why a transcript whose choice no longer holds is made again (a note in the run report); ``windows``:
    its windows' record, when it has one (the first window the new threshold flips is named by its start)."""
    flipped = [(start, db) for start, db, was in windows if not choice_still_holds(options, db, was)]
    if flipped:
        start, snr_db = flipped[0]
        measured = f"the window at {hms(start)} measured {snr_db:.1f} dB"
    else:
        measured = f"measured {snr_db:.1f} dB"
    now = f"under {options.noisy_below_db:g} dB: beam search of 5" if measured_noisy(options, snr_db) else \
        f"not under {options.noisy_below_db:g} dB: the clean decoding"
    return f"transcribed again: {measured}, {now} (the noise threshold changed)"

