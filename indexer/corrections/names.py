"""Names of automatic speakers: labels (``S1``, ``S2``…) named by the sidecar, the editors, or the voice library.

The one rule of who a label is, strongest last:

1. the voice library's automatic name, when the label's voice matched a known
   one (:mod:`indexer.speakers.library`; marked ``automatic``, with the
   similarity), unless an editor gave that name to another label here;
2. a sidecar's ``speakers: [Sandra, Julien]`` on an episode with automatic
   labels names them in that order;
3. name corrections (``kind: "name"``, ``before: "S1"``, ``after: "Sandra"``):
   an editor's name always wins. They follow the voice, not the label: a name
   given since voice prints exist carries the label's print and longest turns
   (``voice``), and after a new transcription it names the label that now
   covers most of those turns (same audio), else the one whose print is alike
   (:func:`anchored_label`). An older one names its label, as labels are
   numbered by first appearance.

Then renames and merges of voices (the library's ``renamed``) apply to every
name shown. A speaker set by hand with ``set_speaker`` is a name on its
segments and wins over all of these.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from ..archive import EpisodeMeta
from ..speakers.library import VoiceLibrary
from ..speakers.naming import naming_options
from ..speakers.prints import VoicePrint, prints_from_diarization, prints_key, similarity
from ..transcript import Diarization, Transcript
from .overlay import Correction

SPAN_COVER = 0.5     # the label covering at least half of a name's anchor turns is that voice (same audio)


@dataclass(frozen=True)
class LabelName:
    """Who an automatic label is shown as, and why."""

    name: str
    source: str                      # "automatic" | "sidecar" | "named"
    similarity: float | None = None  # automatic names: how alike the voice was

    @property
    def automatic(self) -> bool:
        return self.source == "automatic"


def anchored_label(transcript: Transcript, correction: Correction) -> str | None:
    """The label a name correction names in ``transcript``, or None if its voice is not found there."""
    labels = transcript.speaker_labels
    anchor = correction.voice
    if not anchor:
        return correction.before if correction.before in labels else None
    diarization = transcript.diarization or Diarization()
    spans = anchor.get("spans") or []
    if anchor.get("audio") == transcript.audio_sha256 and spans:
        cover: dict[str, float] = {}
        total = 0.0
        for a, b in spans:
            total += max(0.0, b - a)
            for turn in diarization.turns:
                overlap = min(b, turn.end) - max(a, turn.start)
                if overlap > 0:
                    cover[turn.name] = cover.get(turn.name, 0.0) + overlap
        best = max(cover, key=cover.get, default=None)
        if best in labels and total > 0 and cover[best] >= SPAN_COVER * total:
            return best
    anchor_print = VoicePrint.from_dict(anchor)
    if anchor_print is not None and anchor.get("backend") == diarization.backend:
        prints = prints_from_diarization(diarization)
        scored = {label: similarity(anchor_print.embedding, p.embedding) for label, p in prints.items()
                  if label in labels}
        best = max(scored, key=scored.get, default=None)
        if best is not None and scored[best] >= naming_options(diarization.backend).threshold:
            return best
    return None


def label_names(transcript: Transcript, corrections: Sequence[Correction], sidecar_names: Sequence[str] = (),
                library: VoiceLibrary | None = None) -> dict[str, LabelName]:
    """Label -> :class:`LabelName` (see the module doc for the order), renames applied."""
    labels = transcript.speaker_labels
    names = {label: LabelName(name, "sidecar") for label, name in zip(labels, sidecar_names)}
    for c in corrections:
        if c.kind == "name":
            label = anchored_label(transcript, c)
            if label is not None:
                names[label] = LabelName(c.after, "named")
    if library is not None:
        given = {n.name for n in names.values()}
        # Names computed on another transcription of the episode wait for the next rebuild.
        if library.prints_key(transcript.episode_id) == prints_key(transcript.diarization):
            for label, auto in library.automatic_names(transcript.episode_id).items():
                if label in labels and label not in names and auto.name not in given:
                    names[label] = LabelName(auto.name, "automatic", auto.similarity)
        names = {label: replace(n, name=library.shown(n.name)) for label, n in names.items()}
    return names


def speaker_names(transcript: Transcript, corrections: Sequence[Correction],
                  sidecar_names: Sequence[str] = (), library: VoiceLibrary | None = None) -> dict[str, str]:
    """Label -> the name shown (see :func:`label_names`)."""
    return {label: n.name for label, n in label_names(transcript, corrections, sidecar_names, library).items()}


def apply_names(transcript: Transcript, names: dict[str, str], renamed: dict[str, str] | None = None) -> Transcript:
    """Automatic labels replaced by names on segments and words. A speaker set by hand
    (set_speaker) is a name, not a label, so it stays; set by hand to a label, it is named.
    ``renamed``: names shown under another name (renamed or merged voices), wherever they appear."""
    labels = set(transcript.speaker_labels)
    names = {k: v for k, v in names.items() if k in labels}
    renamed = renamed or {}
    if not names and not renamed:
        return transcript

    def rename(speaker):
        speaker = names.get(speaker, speaker)
        return renamed.get(speaker, speaker)

    return transcript.with_segments([
        replace(s, speaker=rename(s.speaker),
                words=[replace(w, speaker=rename(w.speaker)) for w in s.words])
        for s in transcript.segments])


def names_in_sidecar(transcript: Transcript, meta: EpisodeMeta) -> tuple[str, ...]:
    """Names listed in the sidecar without turns, for episodes with automatic labels."""
    if not transcript.speaker_labels:
        return ()
    return () if meta.turns else meta.speakers
