"""Episode contexts: one episode's effective transcript as a list of words, and the quotes cut from it.

:func:`quote` is where an archive (or a search hit) becomes a :class:`~indexer.quotes.Quote`.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..archive import ArchiveLayout, EpisodeMeta, safe_url
from ..corrections import CORRECTED_FLAG, SPEAKER_FLAG, align_words, effective_episode
from ..errors import QuoteError
from ..transcript import Flag, Transcript, Word, format_timestamp
from .quotation import LOW_CONFIDENCE_FLAG, Quote, QuoteOptions, join_words


@dataclass(frozen=True)
class EpisodeContext:
    """One episode's effective transcript and metadata, as quotes need them."""

    episode_id: str
    transcript: Transcript
    meta: EpisodeMeta
    audio_path: Path | None
    words: tuple[Word, ...]
    segment_of: tuple[int, ...]        # index in transcript.segments of each word
    estimated: frozenset[int]          # segments whose word times were interpolated
    machine: Transcript | None = field(default=None, repr=False)  # before corrections (to show them)

    @classmethod
    def build(cls, transcript: Transcript, meta: EpisodeMeta | None = None,
              audio_path: str | Path | None = None, machine: Transcript | None = None) -> "EpisodeContext":
        words, segment_of, estimated = [], [], set()
        for i, seg in enumerate(transcript.segments):
            seg_words = seg.words
            if not seg_words and seg.text.strip():
                # No word timestamps (some engines): spread the text over the segment.
                seg_words = [replace(w, speaker=seg.speaker) for w in align_words([], seg.text, seg.start, seg.end)]
                estimated.add(i)
            for w in seg_words:
                if w.word.strip():
                    words.append(w)
                    segment_of.append(i)
        return cls(transcript.episode_id, transcript, meta or EpisodeMeta(),
                   Path(audio_path) if audio_path else None, tuple(words), tuple(segment_of),
                   frozenset(estimated), machine)

    @classmethod
    def load(cls, layout: ArchiveLayout, episode_id: str) -> "EpisodeContext":
        shown = effective_episode(layout, episode_id, error=QuoteError)
        return cls.build(shown.transcript, shown.meta, layout.audio_file(shown.machine.audio_path), shown.machine)

    @property
    def duration(self) -> float:
        return max(self.transcript.duration, self.words[-1].end if self.words else 0.0)

    def quote(self, start: float, end: float, options: QuoteOptions | None = None) -> "Quote":
        """The quote of the words overlapping [start, end] (seconds)."""
        for name, value in (("start", start), ("end", end)):
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise QuoteError(f"{name} must be a number of seconds, got {value!r}")
        where = f"episode {self.episode_id!r}"
        if start < 0:
            raise QuoteError(f"start {start:g} s is negative in {where}")
        if end <= start:
            raise QuoteError(f"end {end:g} s is not after start {start:g} s in {where}",
                             hint="give START then END, e.g. 12:03 12:41")
        if start >= self.duration:
            raise QuoteError(f"start {format_timestamp(start)} is beyond the end of {where} ({format_timestamp(self.duration)})")
        inside = [i for i, w in enumerate(self.words) if _overlaps(w, start, end)]
        if not inside:
            raise QuoteError(f"no words between {format_timestamp(start)} and {format_timestamp(end)} in {where}",
                             hint="widen the range")
        return self.span(inside[0], inside[-1], options)

    def segment_quote(self, segment_id: int, options: QuoteOptions | None = None) -> "Quote | None":
        """All the words of one (effective) segment, or None if it has none."""
        for i, seg in enumerate(self.transcript.segments):
            if seg.id == segment_id:
                lo = bisect.bisect_left(self.segment_of, i)
                hi = bisect.bisect_right(self.segment_of, i) - 1
                return self.span(lo, hi, options) if lo <= hi else None
        return None

    def span(self, first: int, last: int, options: QuoteOptions | None = None) -> "Quote":
        """The quote of words ``first``..``last`` (indices in :attr:`words`)."""
        options = options or QuoteOptions()
        words = self.words[first:last + 1]
        seg_indices = sorted(set(self.segment_of[first:last + 1]))
        segments = [self.transcript.segments[i] for i in seg_indices]
        meta = self.meta

        weights: Counter = Counter()
        for k in range(first, last + 1):
            w = self.words[k]
            name = w.speaker  # who speaks: decided by effective_episode
            if name:
                weights[name] += max(w.end - w.start, 0.01)
        speaker = weights.most_common(1)[0][0] if weights else None

        flags = []
        if any(w.probability < options.low_confidence for w in words):
            flags.append(LOW_CONFIDENCE_FLAG)
        seg_flags = {f for s in segments for f in s.flags}
        for flag in (CORRECTED_FLAG, SPEAKER_FLAG, Flag.SUSPECT):
            if flag in seg_flags:
                flags.append(flag)
        if len(weights) > 1:
            flags.append("several-speakers")
        if any(i in self.estimated for i in seg_indices):
            flags.append("estimated-timing")

        start, end = words[0].start, max(w.end for w in words)
        return Quote(
            episode=self.episode_id, start=start, end=end, text=join_words(words), speaker=speaker,
            title=meta.title or self.episode_id, date=meta.date, source_url=safe_url(meta.source_url),
            chapter=meta.chapter_at(start), flags=tuple(flags),
            segment_ids=tuple(s.id for s in segments), words=tuple(words),
            audio_path=self.audio_path, options=options, context=self, first=first, last=last,
        )


def _overlaps(w: Word, start: float, end: float) -> bool:
    if w.end <= w.start:
        return start <= w.start <= end
    overlap = min(w.end, end) - max(w.start, start)
    # A word merely touching the range (float noise, Whisper's overlapping
    # boundaries) is not in it; a short word inside it is.
    return overlap > min(0.02, (w.end - w.start) / 2)


def quote(layout: ArchiveLayout, episode_or_hit, start: float | None = None, end: float | None = None,
          options: QuoteOptions | None = None) -> Quote:
    """The quote of a search hit (its whole segment), or of ``episode`` between ``start`` and ``end``."""
    if isinstance(episode_or_hit, str):
        if start is None or end is None:
            raise QuoteError(f"give a start and an end to quote episode {episode_or_hit!r}")
        return EpisodeContext.load(layout, episode_or_hit).quote(float(start), float(end), options)
    hit = episode_or_hit
    if not all(hasattr(hit, a) for a in ("episode", "start", "end")):
        raise QuoteError(f"cannot quote a {type(hit).__name__}: give a search hit or an episode id, start and end")
    found_in = getattr(hit, "archive_root", None)
    if found_in is not None and Path(found_in).resolve() != layout.root.resolve():
        # The same episode id in another archive holds other words: the quote would not be the hit's.
        raise QuoteError(f"this hit was found in the archive {found_in}, not in {layout.root}",
                         hint="quote it from its own archive: Archive(hit.archive_root).quote(hit)")
    ctx = EpisodeContext.load(layout, hit.episode)
    if start is None and end is None and getattr(hit, "segment_id", None) is not None:
        found = ctx.segment_quote(hit.segment_id, options)
        if found is not None and found.start < hit.end and found.end > hit.start:
            return found
    return ctx.quote(hit.start if start is None else float(start), hit.end if end is None else float(end), options)

