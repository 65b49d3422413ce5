"""Quotes: exact words of an episode, with a citation and an audio clip.

A :class:`Quote` is built on the *effective* transcript (machine transcript +
editors' corrections, see :mod:`indexer.corrections`) by an
:class:`~indexer.quotes.context.EpisodeContext`, and is immutable: the
methods that widen or narrow it return new quotes.

Timecodes. ``Quote.start``/``Quote.end`` are the span of the quoted words
(start of the first, end of the last). A citation shows that span in
``hh:mm:ss``, the start rounded down and the end rounded up, so the cited range
always contains the words. The clip adds ``padding`` seconds on each side
(:attr:`Quote.clip_span`), clamped to the episode (see :mod:`.clips`).

How a quote shows itself (notebook HTML, audio player, Markdown) is display
code, in :mod:`indexer.display.quote`: the methods below look their renderer up
in :mod:`indexer.renderers`, and this module imports no display code.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, Sequence

from ..errors import AudioError, QuoteError
from ..renderers import render
from ..transcript import Word, format_timestamp, hms, join_words
from .citation import DEFAULT_CITATION, fill_citation
from .clips import check_clip_options, cut, export_segment, get_export_format

SCHEMA_VERSION = 1
SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*$")


class EpisodeWords(Protocol):
    """What a quote moves in: the episode's words (:class:`~indexer.quotes.context.EpisodeContext`;
    a protocol here, so that this module does not import the context that builds quotes)."""

    words: Sequence[Word]
    segment_of: Sequence[int]

    def span(self, first: int, last: int, options: QuoteOptions | None = None) -> Quote: ...


class QuoteCollector(Protocol):
    """Where the player's button puts a selection (:class:`~indexer.quotes.QuoteBasket`)."""

    def add(self, *quotes: Quote) -> object: ...
LOW_CONFIDENCE_FLAG = "low-confidence"


@dataclass(frozen=True)
class QuoteOptions:
    padding: float = 0.25              # seconds of audio added before and after the words in clips
    fade: float = 0.05                 # fade in/out of clips, seconds
    low_confidence: float = 0.5        # words below this probability are flagged and marked [?mot]
    citation_format: str = DEFAULT_CITATION  # fields: see CITATION_FIELDS; empty parts are dropped
    sentence_limit: int = 200          # words sentence() may add on each side, at most
    embed_seconds: float = 300.0       # longest clip embedded in the notebook display

    def __post_init__(self):
        check_clip_options(self.padding, self.fade)
        if isinstance(self.low_confidence, bool) or not isinstance(self.low_confidence, (int, float)) \
                or not 0 <= self.low_confidence <= 1:
            raise QuoteError(f"low_confidence must be a probability from 0 to 1, got {self.low_confidence!r}")


@dataclass(frozen=True)
class Quote:
    """Exact words of an episode with what is needed to cite, play and cut them."""

    episode: str
    start: float
    end: float
    text: str                       # the exact words (corrected where corrected), unmarked
    speaker: str | None
    title: str
    date: str
    source_url: str
    chapter: str
    flags: tuple[str, ...] = ()
    segment_ids: tuple[int, ...] = ()
    words: tuple[Word, ...] = field(default=(), repr=False, compare=False)
    audio_path: Path | None = field(default=None, repr=False, compare=False)
    options: QuoteOptions = field(default_factory=QuoteOptions, repr=False, compare=False)
    context: EpisodeWords | None = field(default=None, repr=False, compare=False)
    first: int = field(default=0, repr=False, compare=False)   # word indices in the episode
    last: int = field(default=0, repr=False, compare=False)

    # -- text ---------------------------------------------------------------------

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def low_confidence(self) -> bool:
        return LOW_CONFIDENCE_FLAG in self.flags

    @property
    def marked_text(self) -> str:
        """The text with low-confidence words marked ``[?mot]``."""
        limit = self.options.low_confidence
        return join_words(self.words, lambda w, core: f"[?{core}]" if w.probability < limit else core)

    def with_options(self, **changes) -> "Quote":
        """The same words with other options (padding, citation_format…)."""
        return replace(self, options=replace(self.options, **changes))

    # -- moving ---------------------------------------------------------------------

    def _context(self) -> EpisodeWords:
        if self.context is None:
            raise QuoteError("this quote has no transcript to move in (it was built by hand)")
        return self.context

    def extend(self, words: int = 0, *, before: int | None = None, after: int | None = None,
               segments: int = 0) -> "Quote":
        """A wider (positive) or narrower (negative) quote.

        ``words`` moves both edges by that many words; ``before``/``after`` move
        one edge each (they replace ``words`` for that edge). ``segments`` first
        snaps to whole segments and adds (or, negative, drops) that many on each
        side. Edges stop at the episode's first and last word.
        """
        ctx = self._context()
        first, last = self.first, self.last
        if segments:
            seg_first, seg_last = ctx.segment_of[first], ctx.segment_of[last]
            first = bisect.bisect_left(ctx.segment_of, seg_first - segments)
            last = bisect.bisect_right(ctx.segment_of, seg_last + segments) - 1
        first -= words if before is None else before
        last += words if after is None else after
        first, last = max(0, first), min(len(ctx.words) - 1, last)
        if first > last:
            raise QuoteError(f"narrowing the quote at {hms(self.start)} that much leaves no words "
                             f"(it has {self.last - self.first + 1})")
        return ctx.span(first, last, self.options)

    def sentence(self) -> "Quote":
        """Widened to whole sentences (ending in . ! ? …), across segments."""
        ctx = self._context()
        limit = self.options.sentence_limit
        first = self.first
        while first > 0 and self.first - first < limit and not _ends_sentence(ctx.words[first - 1]):
            first -= 1
        last = self.last
        while last < len(ctx.words) - 1 and last - self.last < limit and not _ends_sentence(ctx.words[last]):
            last += 1
        return ctx.span(first, last, self.options)

    # -- citing -------------------------------------------------------------------------

    def citation_fields(self) -> dict[str, str]:
        return {
            "speaker": self.speaker or "", "title": self.title, "date": self.date,
            "start": hms(self.start), "end": hms(self.end, round_up=True),
            "start_exact": format_timestamp(self.start), "end_exact": format_timestamp(self.end),
            "episode": self.episode, "chapter": self.chapter, "source_url": self.source_url,
            "text": self.text,
        }

    @property
    def citation(self) -> str:
        return self.cite()

    def cite(self, fmt: str | None = None) -> str:
        """The citation in ``fmt`` (default: ``options.citation_format``).

        Fields: speaker, title, date, start, end (hh:mm:ss, the words' span,
        start rounded down and end up), start_exact, end_exact (hh:mm:ss.mmm),
        episode, chapter, source_url, text. Parts of the format whose fields are
        all empty (no speaker, no date…) are dropped with their separator.
        """
        return fill_citation(fmt or self.options.citation_format, self.citation_fields())

    @property
    def clip_span(self) -> tuple[float, float]:
        """(start, end) in the episode of the audio :meth:`clip` returns."""
        padding = self.options.padding
        duration = self.context.duration if self.context else math.inf
        return max(0.0, self.start - padding), min(duration, self.end + padding)

    def to_dict(self) -> dict:
        clip_start, clip_end = self.clip_span
        return {
            "schema": SCHEMA_VERSION, "episode": self.episode, "start": self.start, "end": self.end,
            "text": self.text, "marked_text": self.marked_text, "speaker": self.speaker,
            "title": self.title, "date": self.date, "source_url": self.source_url, "chapter": self.chapter,
            "flags": list(self.flags), "citation": self.citation, "segment_ids": list(self.segment_ids),
            "clip": {"start": clip_start, "end": clip_end, "padding": self.options.padding,
                     "fade": self.options.fade},
            "words": [{"start": w.start, "end": w.end, "word": w.word.strip(), "probability": w.probability}
                      for w in self.words],
        }

    def to_json(self, indent: int | None = 1) -> str:
        """The quote as JSON text (what ``indexer quote --json`` prints); :meth:`to_dict` gives the data."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_text(self) -> str:
        return f"« {self.text} »\n— {self.citation}"

    def to_markdown(self, clip_link: str | None = None, marked: bool = False) -> str:
        """A block quote, the citation (with the source link), and a link to the clip."""
        return render("markdown", self, clip_link, marked)

    # -- audio ---------------------------------------------------------------------------

    def clip(self, padding: float | None = None, fade: float | None = None):
        """The pydub AudioSegment of the words plus ``padding`` each side (see :attr:`clip_span`)."""
        if self.audio_path is None:
            raise AudioError(f"episode {self.episode!r} has no audio file")
        padding = self.options.padding if padding is None else padding
        fade = self.options.fade if fade is None else fade
        return cut(self.audio_path, self.start, self.end, padding, fade)

    def tags(self) -> dict[str, str]:
        """Metadata written into exported clips."""
        short = self.text if len(self.text) <= 80 else self.text[:79].rstrip() + "…"
        return {"title": short, "artist": self.speaker or "", "album": self.title,
                "date": self.date, "comment": self.citation}

    def export(self, path: str | Path, padding: float | None = None, fade: float | None = None) -> Path:
        """Write the clip to ``path`` (.mp3, .wav, .ogg or .m4a) with the citation in its tags."""
        path = Path(path)
        fmt = get_export_format(path.suffix or "?")
        return export_segment(self.clip(padding, fade), path, self.tags(), fmt)

    def audio(self, padding: float | None = None):
        """An ``IPython.display.Audio`` player of the clip."""
        return render("audio", self, padding)

    def player(self, basket: QuoteCollector | None = None, options=None):
        """The transcript player of the episode, opened at this quote with its words selected
        (see :mod:`indexer.display.player`); with ``basket``, a button adds selections to it."""
        return render("player", self, basket, options)

    def _repr_html_(self) -> str:
        return render("html", self)

    def _ipython_display_(self) -> None:
        """The figure and, in a kernel, the bridge that cuts its clip when it is played."""
        from IPython.display import display

        display(*render("outputs", self))


def _ends_sentence(word: Word) -> bool:
    return bool(SENTENCE_END.search(word.word.strip()))

