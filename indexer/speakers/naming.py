"""Which known voice, if any, an episode's speaker is: pure functions on voice prints.

A label is named automatically when its print is at least
:attr:`NamingOptions.threshold` alike to a known voice (the best of that
voice's exemplars), clearly more alike to it than to any other known voice
(:attr:`NamingOptions.margin`), it has enough speech to be sure of, and no
other label of the episode is a better match for that voice: one name per
voice and episode, best pairs first. Below the threshold a label keeps its
S-label: the nearest name is never given for want of a better one.
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
    margin: float = 0.0         # the best voice at least this more alike than the second best: else no name


# Measured on real voices (benchmarks/voices.py, round 3; results in voices-naming.md). CAM++ on the
# tune set: label prints of one person in two conversations are >= 0.69 alike (lowest: tux-a, studio
# vs phone), of two people <= 0.59 (June and Armelle, both on the phone): the threshold is the middle
# of that gap. A known voice left out of the library got a name for 38 % of its speech at 0.5 and no
# margin, 0.6 % with a margin of 0.15 (the smallest margin that does it at any threshold from 0.4);
# the margin guards a channel that makes everyone alike. Tune named right 99.3 % either way.
NAMING = {
    "campp": NamingOptions(threshold=0.65, conflict=0.25, margin=0.15),
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
                 options: NamingOptions, given: Iterable[str] = ()) -> dict[str, tuple[str, float]]:
    """Label -> (name, similarity) for the labels that are a known voice; one label per name.
    ``given``: names an editor already gave in the episode; they are not given again, but a label
    most alike to one of them gets no name (not its second best)."""
    given = set(given)
    pairs = []
    for label, voiceprint in prints.items():
        if voiceprint.seconds < options.min_seconds:
            continue  # too little speech to be sure of: an S-label, no guess
        scored = sorted(((best_similarity(voiceprint, exemplars), name) for name, exemplars in voices.items()),
                        key=lambda x: (-x[0], x[1]))
        if not scored:
            continue
        # Only the label's most alike voice can name it (never its second best when another label
        # takes the first), and only when clearly ahead of the next one: between two known voices (a
        # third person, or a channel that makes everyone alike) there is no guess.
        sim, name = scored[0]
        runner_up = scored[1][0] if len(scored) > 1 else -1.0
        if sim >= options.threshold and sim - runner_up >= options.margin and name not in given:
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
