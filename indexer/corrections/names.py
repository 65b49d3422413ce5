"""Names of automatic speakers: labels (``S1``, ``S2``…) named by the sidecar, then by name corrections.

Name corrections (``kind: "name"``, ``before: "S1"``, ``after: "Sandra"``)
name an automatic speaker label (:mod:`indexer.speakers`) on every segment and
word that carries it, unless a speaker correction set that segment by hand.
They are not anchored in time: labels are numbered in order of first
appearance, which a re-transcription of the same audio keeps. A sidecar's
``speakers: [Sandra, Julien]`` on an episode with automatic labels names them
in that order; name corrections override it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from ..archive import EpisodeMeta
from ..transcript import Transcript
from .overlay import Correction


def speaker_names(transcript: Transcript, corrections: Sequence[Correction],
                  sidecar_names: Sequence[str] = ()) -> dict[str, str]:
    """Label -> name: the sidecar's names in order of first appearance, then name corrections."""
    labels = transcript.speaker_labels
    names = dict(zip(labels, sidecar_names))
    for c in corrections:
        if c.kind == "name" and c.before in labels:
            names[c.before] = c.after
    return names


def apply_names(transcript: Transcript, names: dict[str, str]) -> Transcript:
    """Automatic labels replaced by names on segments and words. A speaker set by hand
    (set_speaker) is a name, not a label, so it stays; set by hand to a label, it is named."""
    labels = set(transcript.speaker_labels)
    names = {k: v for k, v in names.items() if k in labels}
    if not names:
        return transcript

    def rename(speaker):
        return names.get(speaker, speaker)

    return transcript.with_segments([
        replace(s, speaker=rename(s.speaker),
                words=[replace(w, speaker=rename(w.speaker)) for w in s.words])
        for s in transcript.segments])


def names_in_sidecar(transcript: Transcript, meta: EpisodeMeta) -> tuple[str, ...]:
    """Names listed in the sidecar without turns, for episodes with automatic labels."""
    if not transcript.speaker_labels:
        return ()
    return () if meta.turns else meta.speakers
