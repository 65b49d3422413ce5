"""Hits as data: a segment found, its matches and context, and the list of them (JSON, DataFrame)."""

from __future__ import annotations

import html
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Protocol

from ..archive import ArchiveLayout
from ..display.audio import ipython_audio
from ..display.hits import hits_html, hits_outputs
from ..errors import AudioError, QueryError, printable
from ..index.memos import SearcherMemos
from ..transcript import Flag, hms
from . import graded
from .match import EXACT, Match
from .options import SearchOptions

MEANING = "meaning"  # the word Hit.matched is about when a query has none (only search by meaning found it)


class MomentsLike(Protocol):
    """What :meth:`Hit.similar` calls: the moments of an archive like ``episode`` [start, end]. The search
    that makes a hit gives it one, bound to its index and archive (:class:`indexer.search.meaning.SimilarMoments`)."""

    def __call__(self, episode: str, start: float, end: float, options: SearchOptions) -> "Hits": ...


@dataclass
class Hit:
    episode: str
    title: str
    date: str
    speaker: str
    chapter: str
    start: float
    end: float
    text: str
    snippet: str                   # HTML-escaped text, matches in <mark>
    score: float
    flags: tuple[str, ...] = ()
    segment_id: int = 0
    audio_path: Path | None = None
    context: tuple[str, str] = ("", "")  # text of the segments before / after
    spans: tuple[tuple[int, int], ...] = field(default=(), repr=False)  # matches in text
    archive_root: Path | None = field(default=None, repr=False)  # where the hit was found (for player())
    matched: dict[str, Match] = field(default_factory=dict)  # query word → how it matched (absent: not found)
    query_words: tuple[str, ...] = field(default=(), repr=False)  # the words ``matched`` is about
    similarity: float | None = None  # cosine of its vector to the query's, when search by meaning found it
    like: MomentsLike | None = field(default=None, repr=False, compare=False)  # for similar()

    @property
    def found_by(self) -> str:
        """"words", "meaning" (only meaning found it: every query word says "meaning"), or "words+meaning"."""
        if self.matched and all(v.by_meaning for v in self.matched.values()):
            return "meaning"
        return "words+meaning" if self.similarity is not None else "words"

    @property
    def approximate(self) -> bool:
        """Not every query word was found as it is (some approximate or absent)."""
        return bool(self.query_words) and any(self.matched.get(w) != EXACT for w in self.query_words)

    def matched_text(self) -> str:
        """« word » (exact) / ≈ form / missing, one per query word, for tables and the CLI."""
        if self.found_by == "meaning":
            return f"meaning (similarity {self.similarity:.2f})" if self.similarity is not None else "meaning"
        parts = []
        for w in self.query_words:
            how = self.matched.get(w)
            parts.append(w if how == EXACT else f"{w} ≈ {how.form}" if how else f"{w} (absent)")
        if self.similarity is not None:
            parts.append(f"+ meaning ({self.similarity:.2f})")
        return ", ".join(parts)

    @property
    def timecode(self) -> str:
        return hms(self.start)

    @property
    def suspect(self) -> bool:
        return Flag.SUSPECT in self.flags

    def marked(self, mark: Callable[[str], str] = lambda s: f"*{s}*",
               escape: Callable[[str], str] = lambda s: s) -> str:
        """The text with each match passed through ``mark`` (the rest through ``escape``)."""
        out, last = [], 0
        for start, end in self.spans:
            out.append(escape(self.text[last:start]))
            out.append(mark(escape(self.text[start:end])))
            last = end
        out.append(escape(self.text[last:]))
        return "".join(out)

    def clip(self, padding: float = 1.0, fade: float = 0.05):
        """The pydub AudioSegment of this hit (plus ``padding`` seconds each side)."""
        from ..audio import clip

        if self.audio_path is None:
            raise AudioError(f"episode {self.episode} has no audio file in the index")
        return clip(self.audio_path, self.start, self.end, padding=padding, fade=fade)

    def play(self, padding: float = 1.0):
        """An IPython Audio player of this hit, cut from the episode's audio."""
        return ipython_audio(self.clip(padding))

    def player(self, basket=None, options=None):
        """The transcript player of the episode, opened at the hit with the matched words marked
        (see :mod:`indexer.display.player`); with ``basket``, a button adds selections to it."""
        from ..display.player import hit_player

        return hit_player(self, basket, options)

    def to_dict(self) -> dict:
        return {
            "episode": self.episode, "title": self.title, "date": self.date,
            "speaker": self.speaker, "chapter": self.chapter,
            "start": self.start, "end": self.end, "timecode": self.timecode,
            "text": self.text, "snippet": self.snippet, "score": self.score,
            "flags": list(self.flags), "suspect": self.suspect, "segment_id": self.segment_id,
            "audio_path": str(self.audio_path) if self.audio_path else None,
            "context": list(self.context), "matched": {w: str(m) for w, m in self.matched.items()},
            "found_by": self.found_by, "similarity": self.similarity,
            "quote": quote_command(self),
        }

    def similar(self, limit: int = 10, **filters) -> "Hits":
        """Other moments across the archive about the same thing as this one (never this moment);
        ``filters``: ``speaker``, ``episode``, ``date``, ``exclude_suspect`` as for search."""
        if self.like is None:
            raise QueryError("this hit was not made by a search of an archive: "
                             "use archive.similar(episode, start, end)")
        return self.like(self.episode, self.start, self.end, SearchOptions(limit=limit, **filters))


class Hits(list):
    """A list of :class:`Hit` that shows as a table with players in Jupyter."""

    max_players = 20  # rows with a player (each cuts its clip when it is played)

    def __init__(self, hits: Iterable[Hit] = (), query: str = "", warnings: Iterable[str] = ()):
        super().__init__(hits)
        self.query = query
        self.warnings = list(warnings)  # what the search had to do (query cut, meaning unavailable…): one line each

    def to_dicts(self) -> list[dict]:
        """The hits as JSON-ready data, one :meth:`Hit.to_dict` each."""
        return [hit.to_dict() for hit in self]

    def to_json(self, indent: int | None = 2) -> str:
        """The hits as JSON text (what ``indexer search --json`` prints); :meth:`to_dicts` gives the data."""
        return json.dumps(self.to_dicts(), ensure_ascii=False, indent=indent)

    def to_dataframe(self):
        import pandas as pd

        columns = ["episode", "title", "date", "speaker", "chapter", "start", "end", "timecode", "text", "score",
                   "flags", "suspect", "segment_id", "audio_path", "matched", "found_by", "similarity"]
        rows = [{k: d[k] for k in columns} for d in self.to_dicts()]
        return pd.DataFrame(rows, columns=columns)

    def _repr_html_(self) -> str:
        return hits_html(self, self.max_players)

    def _ipython_display_(self) -> None:
        """The table and, in a kernel, the bridge through which its players get their clips."""
        from IPython.display import display

        display(*hits_outputs(self, self.max_players))

    def __repr__(self) -> str:
        return f"<Hits {len(self)} for {self.query!r}>"


def hit_lines(hit: Hit, mark: Callable[[str], str]) -> list[str]:
    """The hit as the CLI prints it: where, the text with each match through ``mark``, and how
    approximate words matched. The transcript's control characters are escaped, not the marks
    (on a terminal they are escape codes)."""
    speaker = f" — {hit.speaker}" if hit.speaker else ""
    suspect = " (suspect)" if hit.suspect else ""
    lines = [printable(f"[{hit.timecode}–{hms(hit.end)}] {hit.episode} · {hit.title}{speaker}{suspect}"),
             f"    {hit.marked(mark, printable)}"]
    if hit.approximate or hit.similarity is not None:
        lines.append(printable(f"    matched: {hit.matched_text()}"))
    lines.append(printable(f"    {quote_command(hit)}"))
    return lines


def quote_command(hit: Hit) -> str:
    """The ``indexer quote`` line that quotes this hit (the CLI prints it under each hit)."""
    archive = f" --archive {shlex.quote(str(hit.archive_root))}" if hit.archive_root is not None else ""
    # Times to the hundredth: a second rounded down could take in the previous segment's last word.
    start, end = (f"{hms(c // 100)}.{c % 100:02d}" for c in (round(hit.start * 100), round(hit.end * 100)))
    return f"indexer quote {shlex.quote(hit.episode)} {start} {end}{archive}"


@dataclass(frozen=True)
class HitMaker:
    """Turns the documents found by one search into hits: what is the same for every hit of it."""

    memos: SearcherMemos                # the searcher, and the episodes' fields it read
    terms: frozenset[str]               # index terms to mark (see query.highlight_terms)
    words: list[graded.QueryWord]       # the query words, for Hit.matched
    layout: ArchiveLayout               # where the audio files are
    like: MomentsLike | None = None     # what the hits' similar() calls

    def hit(self, docnum: int, score: float) -> Hit:
        """The hit of document ``docnum``: its fields, the episode's, its matches marked."""
        searcher = self.memos.searcher
        analyzer = searcher.schema["text"].analyzer
        stored = searcher.stored_fields(docnum)
        meta = self.memos.episode_fields(stored["episode"])
        text = stored.get("text", "")
        matched, approx_spans = graded.match(analyzer, text, self.words)
        spans = _merge_spans(text, _spans(analyzer, text, self.terms) + tuple(approx_spans))
        hit = Hit(
            episode=stored["episode"], title=meta.get("title", stored["episode"]),
            date=meta.get("datestr") or "", speaker=stored.get("speaker") or "",
            chapter=stored.get("chapter") or "", start=stored["start"], end=stored["end"],
            text=text, snippet="", score=float(score),
            flags=tuple((stored.get("flags") or "").split()), segment_id=stored.get("segment", 0),
            audio_path=_resolve(self.layout, meta.get("audio")), spans=spans, matched=matched,
            query_words=tuple(dict.fromkeys(w.label for w in self.words)), archive_root=self.layout.root,
            like=self.like,
        )
        hit.snippet = hit.marked(lambda s: f"<mark>{s}</mark>", html.escape)
        return hit


def _resolve(layout: ArchiveLayout, audio: str | None) -> Path | None:
    """The audio file an index stores, by the archive's one rule (:meth:`ArchiveLayout.audio_file`):
    a path relative to ``audio/`` and inside it, else none (a transcript's ``../../other/x.wav`` is not followed)."""
    return layout.audio_file(audio) if audio else None


def _merge_spans(text: str, spans) -> tuple[tuple[int, int], ...]:
    """Sorted, overlapping spans joined, neighbours separated by spaces only joined too."""
    out: list[list[int]] = []
    for start, end in sorted(spans):
        if out and (start <= out[-1][1] or not text[out[-1][1]:start].strip()):
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


def _spans(analyzer, text: str, terms: frozenset[str]) -> tuple[tuple[int, int], ...]:
    """Character ranges of the matched words, neighbours joined across spaces."""
    spans: list[list[int]] = []
    if not terms or not text:
        return ()
    for t in analyzer(text, chars=True, mode="index"):
        if t.text in terms:
            if spans and spans[-1][1] >= t.startchar:  # a handle and its bare word
                spans[-1][1] = max(spans[-1][1], t.endchar)
            elif spans and not text[spans[-1][1]:t.startchar].strip():
                spans[-1][1] = t.endchar
            else:
                spans.append([t.startchar, t.endchar])
    return tuple((a, b) for a, b in spans)


def context(searcher, hit: Hit, n: int) -> tuple[str, str]:
    """Texts of the ``n`` segments before and after the hit, from the index."""
    lo, hi = hit.segment_id - n, hit.segment_id + n
    around = []
    for docnum in searcher.document_numbers(episode=hit.episode):
        fields = searcher.stored_fields(docnum)
        segment = fields.get("segment")
        if segment is not None and lo <= segment <= hi and segment != hit.segment_id:
            around.append((segment, fields["text"]))
    around.sort()
    before = " ".join(text for segment, text in around if segment < hit.segment_id)
    after = " ".join(text for segment, text in around if segment > hit.segment_id)
    return before, after
