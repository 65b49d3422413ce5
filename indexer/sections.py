"""An episode as a reader follows it: chapters, and in each one paragraph per speaker turn.

Domain code, no HTML: the pages (:mod:`indexer.display.page`), the player's data
(:mod:`indexer.display.player_data`) and the statistics (:mod:`indexer.stats`) build on it.
A long turn is cut into paragraphs of about :attr:`SectionOptions.paragraph_seconds`,
so a reader is never far from a timecode. Who speaks is the segment's own speaker:
:func:`indexer.corrections.effective_episode` decides it once for every reader.
"""

from __future__ import annotations

from dataclasses import dataclass

from .archive import EpisodeMeta
from .transcript import Segment, Transcript


@dataclass(frozen=True)
class SectionOptions:
    paragraph_seconds: float = 60.0  # a longer speaker turn is cut into paragraphs, each with a timecode
    chapter_tolerance: float = 1.0   # a segment starting this soon before a chapter belongs to it


@dataclass(frozen=True)
class Paragraph:
    speaker: str                     # "" when nobody is known
    segments: tuple[Segment, ...]

    @property
    def start(self) -> float:
        return self.segments[0].start

    @property
    def end(self) -> float:
        return self.segments[-1].end


@dataclass(frozen=True)
class Section:
    title: str                       # "" for what comes before the first chapter
    start: float
    paragraphs: tuple[Paragraph, ...]


def sections(transcript: Transcript, meta: EpisodeMeta, options: SectionOptions | None = None) -> list[Section]:
    """The transcript cut into chapters, and each chapter into speaker-turn paragraphs."""
    options = options or SectionOptions()
    chapters = sorted(meta.chapters, key=lambda c: c.start)

    def chapter_index(seg: Segment) -> int:
        # Whisper's segment often starts a moment before the chapter's time in the sidecar.
        found = -1
        for i, chapter in enumerate(chapters):
            if chapter.start <= seg.start + options.chapter_tolerance:
                found = i
        return found

    grouped: dict[int, list[Segment]] = {}
    for seg in transcript.segments:
        if seg.text.strip():
            grouped.setdefault(chapter_index(seg), []).append(seg)
    result = []
    for index in sorted(grouped):
        segments = grouped[index]
        title, start = (chapters[index].title, chapters[index].start) if index >= 0 else ("", segments[0].start)
        result.append(Section(title, start, tuple(_paragraphs(segments, options))))
    return result


def _paragraphs(segments: list[Segment], options: SectionOptions) -> list[Paragraph]:
    paragraphs: list[Paragraph] = []
    current: list[Segment] = []
    speaker = ""
    for seg in segments:
        who = seg.speaker or ""  # who speaks: decided once, by effective_episode
        if current and (who != speaker or seg.end - current[0].start > options.paragraph_seconds):
            paragraphs.append(Paragraph(speaker, tuple(current)))
            current = []
        if not current:
            speaker = who
        current.append(seg)
    if current:
        paragraphs.append(Paragraph(speaker, tuple(current)))
    return paragraphs


__all__ = ["Paragraph", "Section", "SectionOptions", "sections"]
