"""Who speaks in a transcript: :class:`SpeakerTurn`, the one "who speaks" rule (:func:`speaker_of_span`) and
the speakers stage's record (:class:`Diarization`). Beside the transcript's types (indexer.transcript
re-exports them), below the archive, the speakers stage and the readers, which all use them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class SpeakerTurn:
    """``name`` speaks from ``start`` to ``end`` (seconds): a sidecar's turn, or one the speakers stage found."""

    name: str
    start: float
    end: float


def speaker_of_span(turns: Iterable[SpeakerTurn], start: float, end: float, nearest: float = 2.0) -> str | None:
    """Who speaks in [start, end]: the speaker whose turns cover most of it; else the nearest turn within
    ``nearest`` seconds (a word in a pause the VAD cut out); else None. The one "who speaks" rule, for
    automatic turns and sidecar turns alike (applied once, in :func:`indexer.corrections.effective_episode`)."""
    turns = list(turns)
    cover: dict[str, float] = {}
    for turn in turns:
        overlap = min(end, turn.end) - max(start, turn.start)
        if overlap > 0:
            cover[turn.name] = cover.get(turn.name, 0.0) + overlap
    if cover:
        return max(cover, key=lambda s: cover[s])
    middle = (start + end) / 2
    best = min(turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0), default=None)
    if best is not None and max(best.start - middle, middle - best.end, 0.0) <= nearest:
        return best.name
    return None


@dataclass(frozen=True)
class Diarization:
    """What the speakers stage found (:mod:`indexer.speakers`): the transcript's ``diarization`` object on
    disk, the same JSON as when it was a dict (:meth:`to_dict`); keys it does not know are kept."""

    backend: str = ""
    # What ran the speaker network ("onnxruntime 1.32.0", "torch 2.13.0"): the runtimes' embeddings
    # differ in the 7th decimal, not the settings, so it is not in the fingerprint; "" in older transcripts.
    runtime: str = ""
    fingerprint: str = ""             # the speaker settings it ran with (SpeakerOptions.fingerprint)
    mode: str | int = ""              # auto, a count, or "turns": the sidecar's turns, only voice prints made
    labels: tuple[str, ...] = ()      # automatic labels (S1, S2…) in order of first appearance
    turns: tuple[SpeakerTurn, ...] = ()                # on disk [[start, end, label], ...]
    voiceprints: dict = field(default_factory=dict)    # label (or sidecar name) -> VoicePrint.to_dict()
    names: dict = field(default_factory=dict)          # effective transcripts: label -> {name, source, similarity}
    extra: dict = field(default_factory=dict, repr=False)

    _KEYS = ("backend", "runtime", "fingerprint", "mode", "labels", "turns", "voiceprints", "names")

    @classmethod
    def from_dict(cls, data: dict) -> "Diarization":
        """From the JSON (labels and turns checked by transcript_checks; damaged prints are read as none)."""
        def mapping(key):
            return data[key] if isinstance(data.get(key), dict) else {}

        return cls(backend=data.get("backend") or "", runtime=data.get("runtime") or "",
                   fingerprint=data.get("fingerprint") or "",
                   mode=data.get("mode") or "", labels=tuple(data.get("labels") or ()),
                   turns=tuple(SpeakerTurn(who, start, end) for start, end, who in data.get("turns") or ()),
                   voiceprints=mapping("voiceprints"), names=mapping("names"),
                   extra={k: v for k, v in data.items() if k not in cls._KEYS})

    def to_dict(self) -> dict:
        data = {"backend": self.backend, **({"runtime": self.runtime} if self.runtime else {}),
                "fingerprint": self.fingerprint, "mode": self.mode,
                "labels": list(self.labels), "turns": [[t.start, t.end, t.name] for t in self.turns],
                "voiceprints": self.voiceprints, **({"names": self.names} if self.names else {})}
        return {**data, **self.extra}
