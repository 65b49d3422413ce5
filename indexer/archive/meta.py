"""What an archive knows about an episode: its metadata (from the sidecar) and its files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..transcript import SpeakerTurn, speaker_of_span


@dataclass(frozen=True)
class Chapter:
    start: float
    title: str


@dataclass(frozen=True)
class EpisodeMeta:
    title: str = ""
    date: str = ""  # ISO date, or a prefix of one ("2011", "2011-02")
    speakers: tuple[str, ...] = ()
    turns: tuple[SpeakerTurn, ...] = ()
    speakers_mode: str | int | None = None   # sidecar `speakers: auto | off | N` (None: archive.yaml's)
    language: str | None = None
    source_url: str = ""
    description: str = ""
    chapters: tuple[Chapter, ...] = ()
    # Decoding for this recording (transcribe.PRESETS), over the archive's: from
    # `preset:`, or `noisy: true` (the preset for noisy recordings) / `false` (the default).
    preset: str | None = None

    def chapter_at(self, seconds: float) -> str:
        current = ""
        for chapter in sorted(self.chapters, key=lambda c: c.start):
            if chapter.start <= seconds + 1e-6:
                current = chapter.title
        return current

    def speaker_at(self, start: float, end: float) -> str | None:
        """Who the sidecar says speaks in [start, end]: by its turns (:func:`~indexer.transcript.speaker_of_span`,
        the rule automatic turns follow too), else its only speaker."""
        found = speaker_of_span(self.turns, start, end)
        if found is None and len(self.speakers) == 1:
            return self.speakers[0]
        return found


@dataclass(frozen=True)
class Episode:
    id: str
    audio_path: Path
    sidecar_path: Path | None = None
    meta: EpisodeMeta = field(default_factory=EpisodeMeta)
