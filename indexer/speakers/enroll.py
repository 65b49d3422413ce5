"""Voice prints of the people a sidecar names with turns (or of its only speaker), for the voice library.

An episode whose sidecar says who speaks when needs no clustering, but its
voices are worth knowing: each named person's speech inside their turns is
embedded like the diarization's windows, and gives that name's print.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import audio
from .backends import SpeakerBackend
from .diarization import speech_regions, windows_of
from .options import SR, SpeakerOptions
from .prints import VoicePrint, print_of


def named_prints(path: str | Path, duration: float, options: SpeakerOptions,
                 backend: SpeakerBackend) -> dict[str, VoicePrint]:
    """Name -> print over ``options.named_turns`` (an end below 0: to the end of the file).
    A name with no window of speech (too short to embed) gets no print."""
    turns = [(name, start, end if end >= 0 else duration) for name, start, end in options.named_turns]
    embeddings: dict[str, list[np.ndarray]] = {}
    seconds: dict[str, float] = {}
    offset = 0.0
    while offset < duration - 0.01:
        samples = audio.decode(path, offset, options.chunk_seconds)
        if len(samples) == 0:
            break
        chunk_end = offset + len(samples) / SR
        for r0, r1 in speech_regions(samples, options):
            for name, start, end in turns:
                a = max(r0, int((start - offset) * SR))
                b = min(r1, int((end - offset) * SR))
                spans = windows_of((a, b), options) if b > a else []
                if not spans:
                    continue
                region = samples[a:b]
                emb = backend.embed_regions([region], [[(x - a, y - a) for x, y in spans]])
                embeddings.setdefault(name, []).append(emb)
                seconds[name] = seconds.get(name, 0.0) + (b - a) / SR
        offset = chunk_end
        if len(samples) < int(options.chunk_seconds * SR) - SR:
            break
    return {name: print_of(np.concatenate(found), seconds[name]) for name, found in embeddings.items()}
