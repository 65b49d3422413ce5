"""Which known voice, if any, an episode's speaker is: pure functions on voice prints.

A label is named automatically when its print is at least
:attr:`NamingOptions.threshold` alike to a known voice (the best of that
voice's exemplars), it has enough speech to be sure of, and no other label of
the episode is a better match for that voice: one name per voice and episode,
best pairs first. Below the threshold a label keeps its S-label: the nearest
name is never given for want of a better one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from .prints import VoicePrint, normalise


@dataclass(frozen=True)
class NamingOptions:
    """Thresholds of the voice library, per speaker backend (cosine similarities of prints)."""

    threshold: float            # at least this alike to a known voice: its name is given
    conflict: float             # two prints under one name less alike than this: clearly different voices
    min_seconds: float = 3.0    # a print with less speech is neither named automatically nor enrolled


# Measured on real voices (benchmarks/voices.py): see the README's Benchmarks.
NAMING = {
    "campp": NamingOptions(threshold=0.5, conflict=0.25),
    "resemblyzer": NamingOptions(threshold=0.8, conflict=0.6),
}
DEFAULT_NAMING = NamingOptions(threshold=0.8, conflict=0.5)


def naming_options(backend: str) -> NamingOptions:
    return NAMING.get(backend, DEFAULT_NAMING)


def best_similarity(voiceprint: VoicePrint, exemplars: Iterable[VoicePrint]) -> float:
    """How alike a print is to a voice: its best exemplar (a voice heard on the phone
    and in a studio keeps both; their average would be like neither)."""
    stacked = [e.embedding for e in exemplars if e.embedding.shape == voiceprint.embedding.shape]
    if not stacked:
        return -1.0
    return float(np.max(normalise(np.stack(stacked)) @ normalise(voiceprint.embedding)))


def match_voices(prints: Mapping[str, VoicePrint], voices: Mapping[str, list[VoicePrint]],
                 options: NamingOptions) -> dict[str, tuple[str, float]]:
    """Label -> (name, similarity) for the labels that are a known voice; one label per name."""
    pairs = []
    for label, voiceprint in prints.items():
        if voiceprint.seconds < options.min_seconds:
            continue  # too little speech to be sure of: an S-label, no guess
        for name, exemplars in voices.items():
            sim = best_similarity(voiceprint, exemplars)
            if sim >= options.threshold:
                pairs.append((sim, label, name))
    found: dict[str, tuple[str, float]] = {}
    taken: set[str] = set()
    for sim, label, name in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if label not in found and name not in taken:
            found[label] = (name, sim)
            taken.add(name)
    return found


def clearly_different(prints: list[VoicePrint], options: NamingOptions) -> tuple[int, int, float] | None:
    """The least alike pair of prints (indices, similarity) if it is below ``options.conflict``."""
    worst = None
    for i in range(len(prints)):
        for j in range(i + 1, len(prints)):
            if prints[i].embedding.shape != prints[j].embedding.shape:
                continue
            sim = float(np.dot(normalise(prints[i].embedding), normalise(prints[j].embedding)))
            if worst is None or sim < worst[2]:
                worst = (i, j, sim)
    return worst if worst is not None and worst[2] < options.conflict else None
