"""Quotes: exact words of an episode, with a citation and an audio clip.

A :class:`Quote` is built on the *effective* transcript (machine transcript +
editors' corrections, see :mod:`indexer.corrections`) and is immutable: the
methods that widen or narrow it return new quotes.

Timecodes. ``Quote.start``/``Quote.end`` are the span of the quoted words
(start of the first, end of the last). A citation shows that span in
``hh:mm:ss``, the start rounded down and the end rounded up, so the cited range
always contains the words. The clip adds ``padding`` seconds on each side
(:attr:`Quote.clip_span`), clamped to the episode.

Clips are decoded by seeking in the input (ffmpeg ``-ss`` before ``-i``), so
cutting 20 seconds from a two-hour file decodes about 20 seconds.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import html
import io
import json
import logging
import math
import os
import re
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence


from .. import audio
from ..archive import ArchiveLayout, EpisodeMeta, atomic_write_text, safe_url
from ..corrections import CORRECTED_FLAG, SPEAKER_FLAG, align_words, episode_meta, machine_transcript, \
    with_corrections
from ..errors import AudioError, QuoteError
from ..transcript import Transcript, Word, format_timestamp, hms

log = logging.getLogger("indexer")

SCHEMA_VERSION = 1
DEFAULT_CITATION = "{speaker}, « {title} », {date}, {start}–{end}"
CITATION_FIELDS = ("speaker", "title", "date", "start", "end", "start_exact", "end_exact",
                   "episode", "chapter", "source_url", "text")
SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*$")
LOW_CONFIDENCE_FLAG = "low-confidence"


@dataclass(frozen=True)
class QuoteOptions:
    padding: float = 0.25              # seconds of audio added before and after the words in clips
    fade: float = 0.05                 # fade in/out of clips, seconds
    low_confidence: float = 0.5        # words below this probability are flagged and marked [?mot]
    citation_format: str = DEFAULT_CITATION  # fields: see CITATION_FIELDS; empty parts are dropped
    sentence_limit: int = 200          # words sentence() may add on each side, at most
    embed_seconds: float = 300.0       # longest clip embedded in the notebook display


# --- formats -------------------------------------------------------------------------

def join_words(words: Sequence[Word], render=lambda w, core: core) -> str:
    """The text of consecutive words, spaced as the transcript spaces them.

    Whisper words carry their leading space (`` mot``) and continuations do
    not; hand-made words have no spaces and are joined with one.
    """
    spaced = any(w.word[:1].isspace() for w in words)
    out = []
    for i, w in enumerate(words):
        core = w.word.strip()
        if not core:
            continue
        sep = "" if i == 0 or (spaced and not w.word[:1].isspace()) else " "
        out.append(sep + render(w, core))
    return "".join(out).strip()


def safe_name(text: str, max_length: int = 60) -> str:
    """A file-name part from metadata: ASCII letters, digits, ``-`` and ``_`` only.

    No separators, no ``..``, never empty: whatever a title contains, the name
    stays inside the folder it is joined to.
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9_]+", "-", ascii_text.lower()).strip("-_")
    return slug[:max_length].rstrip("-_") or "quote"


@dataclass(frozen=True)
class ExportFormat:
    """How pydub/ffmpeg writes one kind of file: muxer, encoder, bitrate."""

    format: str
    codec: str | None = None
    bitrate: str | None = None


# By file extension (like whisper.utils.get_writer). m4a is ffmpeg's "ipod" muxer with AAC.
EXPORT_FORMATS: dict[str, ExportFormat] = {
    "mp3": ExportFormat("mp3", "libmp3lame", "96k"),
    "wav": ExportFormat("wav", "pcm_s16le"),   # a codec sends pydub through ffmpeg, which writes the tags
    "ogg": ExportFormat("ogg", "libvorbis"),
    "m4a": ExportFormat("ipod", "aac", "96k"),
}


def get_export_format(name: str) -> ExportFormat:
    try:
        return EXPORT_FORMATS[name.lower().lstrip(".")]
    except KeyError:
        raise QuoteError(f"unknown clip format {name!r}; valid formats: {', '.join(sorted(EXPORT_FORMATS))}",
                         hint="name the file .mp3, .wav, .ogg or .m4a") from None


# --- audio -------------------------------------------------------------------------

def cut(path: str | Path, start: float, end: float, padding: float = 0.0, fade: float = 0.0):
    """A pydub ``AudioSegment`` of ``[start - padding, end + padding]`` with fades,
    decoding only that range (see :func:`indexer.audio.clip`)."""
    return audio.clip(path, start, end, padding, fade)


def export_segment(segment, path: str | Path, tags: dict[str, str] | None = None,
                   fmt: ExportFormat | None = None) -> Path:
    """Encode ``segment`` to ``path`` (format from the extension), atomically, with tags."""
    path = Path(path)
    fmt = fmt or get_export_format(path.suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb+") as f:
            segment.export(f, format=fmt.format, codec=fmt.codec, bitrate=fmt.bitrate,
                           tags={k: v for k, v in (tags or {}).items() if v})
        os.replace(tmp, path)
    except Exception as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, (QuoteError, AudioError)):
            raise
        detail = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise AudioError(f"cannot encode clip as {fmt.format} ({detail})", path) from e
    return path


# --- episodes ------------------------------------------------------------------------

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
                seg_words = align_words([], seg.text, seg.start, seg.end)
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
        machine = machine_transcript(layout, episode_id, error=QuoteError)
        transcript = with_corrections(layout.root, machine)
        audio_path = layout.audio_file(machine.audio_path)
        return cls.build(transcript, episode_meta(layout, machine), audio_path, machine)

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
            seg = self.transcript.segments[self.segment_of[k]]
            name = seg.speaker or meta.speaker_at(w.start, w.end)
            if name:
                weights[name] += max(w.end - w.start, 0.01)
        speaker = weights.most_common(1)[0][0] if weights else None

        flags = []
        if any(w.probability < options.low_confidence for w in words):
            flags.append(LOW_CONFIDENCE_FLAG)
        seg_flags = {f for s in segments for f in s.flags}
        for flag in (CORRECTED_FLAG, SPEAKER_FLAG, "suspect"):
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


# --- quotes --------------------------------------------------------------------------

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
    context: EpisodeContext | None = field(default=None, repr=False, compare=False)
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

    def _context(self) -> EpisodeContext:
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
        fmt = fmt or self.options.citation_format
        values = self.citation_fields()
        try:
            parts = [_fill(part, values) for part in fmt.split(", ")]
        except KeyError as e:
            raise QuoteError(f"unknown citation field {e} in {fmt!r}; valid fields: {', '.join(CITATION_FIELDS)}") \
                from None
        except (ValueError, IndexError) as e:
            raise QuoteError(f"bad citation format {fmt!r}: {e}") from None
        return ", ".join(p for p in parts if p)

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

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    def to_text(self) -> str:
        return f"« {self.text} »\n— {self.citation}"

    def to_markdown(self, clip_link: str | None = None, marked: bool = False) -> str:
        """A block quote, the citation (with the source link), and a link to the clip."""
        body = self.marked_text if marked else self.text
        citation = _md_escape(self.citation)
        url = safe_url(self.source_url)  # a Quote can be built by hand: checked again where it is written
        if url:
            citation += f" ([source]({_md_url(url)}))"
        lines = [f"> {_md_escape(body)}", ">", f"> — {citation}"]
        if clip_link:
            lines += ["", f"[▶ Écouter l'extrait]({_md_url(clip_link)})"]
        return "\n".join(lines) + "\n"

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
        from IPython.display import Audio

        buf = io.BytesIO()
        self.clip(padding).export(buf, format="wav")
        return Audio(data=buf.getvalue())

    def _audio_tag(self) -> str:
        if self.clip_span[1] - self.clip_span[0] > self.options.embed_seconds:
            return "<small>clip too long to embed: use quote.export()</small>"
        try:
            buf = io.BytesIO()
            self.clip().export(buf, format="mp3", bitrate="64k")
        except Exception as e:  # a notebook display must never raise
            log.debug("no clip for %s at %s: %s", self.episode, hms(self.start), e)
            return f"<small>no audio ({html.escape(str(e).splitlines()[0] if str(e) else type(e).__name__)})</small>"
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        return f"<audio controls preload='none' src='data:audio/mpeg;base64,{data}'></audio>"

    def player(self, basket: "QuoteBasket | None" = None, options=None):
        """The transcript player of the episode, opened at this quote with its words selected
        (see :mod:`indexer.player`); with ``basket``, a button adds selections to it."""
        from ..player import quote_player

        return quote_player(self, basket, options)

    def _repr_html_(self) -> str:
        esc = html.escape
        flags = f" <small>[{esc(', '.join(self.flags))}]</small>" if self.flags else ""
        return (f"<figure class='indexer-quote'><blockquote>{esc(self.marked_text)}</blockquote>"
                f"<figcaption>— {esc(self.citation)}{flags}</figcaption>{self._audio_tag()}</figure>")


def _ends_sentence(word: Word) -> bool:
    return bool(SENTENCE_END.search(word.word.strip()))


_FIELD = re.compile(r"{(\w+)[^}]*}")


def _fill(part: str, values: dict[str, str]) -> str:
    """One comma-separated part of a citation format, or "" if all its fields are empty."""
    names = _FIELD.findall(part)
    for name in names:
        if name not in values:
            raise KeyError(name)
    if names and not any(values[n] for n in names):
        return ""
    return part.format(**values)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


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
    ctx = EpisodeContext.load(layout, hit.episode)
    if start is None and end is None and getattr(hit, "segment_id", None) is not None:
        found = ctx.segment_quote(hit.segment_id, options)
        if found is not None and found.start < hit.end and found.end > hit.start:
            return found
    return ctx.quote(hit.start if start is None else float(start), hit.end if end is None else float(end), options)


# --- basket --------------------------------------------------------------------------

@dataclass(frozen=True)
class BasketExport:
    folder: Path
    markdown: Path
    json: Path
    clips: tuple[Path | None, ...]


class QuoteBasket:
    """Quotes gathered for an article; :meth:`export` writes the draft and the clips."""

    def __init__(self, quotes: Iterable[Quote] = (), title: str = "Citations"):
        self.title = title
        self._quotes: list[Quote] = list(quotes)

    def add(self, *quotes: Quote) -> "QuoteBasket":
        for q in quotes:
            if not isinstance(q, Quote):
                raise QuoteError(f"a basket holds quotes, not {type(q).__name__}")
            self._quotes.append(q)
        return self

    def remove(self, index: int) -> Quote:
        return self._quotes.pop(index)

    def __len__(self) -> int:
        return len(self._quotes)

    def __iter__(self) -> Iterator[Quote]:
        return iter(self._quotes)

    def __getitem__(self, index: int) -> Quote:
        return self._quotes[index]

    def __repr__(self) -> str:
        return f"<QuoteBasket {self.title!r}: {len(self)} quotes>"

    def clip_name(self, n: int, q: Quote, ext: str = "mp3") -> str:
        """File name of the n-th clip: number, episode id, title, time — sanitised."""
        stem = "-".join(p for p in (f"{n:02d}", safe_name(q.episode, 40), safe_name(q.title, 40),
                                    hms(q.start).replace(":", "")) if p)
        return f"{stem}.{safe_name(ext, 4)}"

    def to_markdown(self, clip_links: Sequence[str | None] | None = None) -> str:
        links = list(clip_links or [None] * len(self))
        parts = [f"# {_md_escape(self.title)}\n"]
        for q, link in zip(self._quotes, links):
            parts.append(q.to_markdown(link))
        return "\n".join(parts)

    def to_dict(self, clip_names: Sequence[str | None] | None = None) -> dict:
        names = list(clip_names or [None] * len(self))
        return {"schema": SCHEMA_VERSION, "title": self.title,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "quotes": [{**q.to_dict(), "clip_file": name} for q, name in zip(self._quotes, names)]}

    def export(self, folder: str | Path, name: str = "article", clips: bool = True,
               clip_format: str = "mp3") -> BasketExport:
        """Write ``<name>.md`` (block quotes, citations, links to the clips), ``<name>.json``
        and one clip per quote into ``folder``. Every name made from metadata is
        sanitised, so nothing is written outside ``folder``.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        root = folder.resolve()
        get_export_format(clip_format)
        written: list[Path | None] = []
        names: list[str | None] = []
        for n, q in enumerate(self._quotes, 1):
            if not clips:
                written.append(None)
                names.append(None)
                continue
            clip_path = _inside(root, self.clip_name(n, q, clip_format))
            try:
                q.export(clip_path)
            except AudioError as e:
                log.warning("no clip for quote %d (%s at %s): %s", n, q.episode, hms(q.start), e.one_line())
                written.append(None)
                names.append(None)
                continue
            written.append(clip_path)
            names.append(clip_path.name)
        stem = safe_name(name)
        markdown = _inside(root, f"{stem}.md")
        data = _inside(root, f"{stem}.json")
        atomic_write_text(markdown, self.to_markdown(names))
        atomic_write_text(data, json.dumps(self.to_dict(names), ensure_ascii=False, indent=1) + "\n")
        return BasketExport(root, markdown, data, tuple(written))

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{q._repr_html_()}</li>" for q in self._quotes)
        return f"<h4>{html.escape(self.title)} ({len(self)})</h4><ol>{items}</ol>"


def _inside(root: Path, name: str) -> Path:
    """``root / name``, refusing anything that would land elsewhere."""
    path = (root / name).resolve()
    if path.parent != root:
        raise QuoteError(f"file name {name!r} would be written outside {root}")
    return path


__all__ = ["BasketExport", "EXPORT_FORMATS", "EpisodeContext", "Quote", "QuoteBasket", "QuoteOptions",
           "cut", "get_export_format", "hms", "quote", "safe_name"]
