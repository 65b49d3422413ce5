"""Searching the index: query language, hits, highlighting, notebook display.

Query language (Whoosh's, with French defaults): plain words are graded
(segments with every word first, then most words, then close forms: see
:mod:`indexer.graded`; ``match="all"`` AND-s them strictly);
``"réseaux sociaux"`` is a phrase (``"…"~2``: two words may come between); ``OR``, ``NOT``, parentheses; fields
``speaker:``, ``episode:``, ``chapter:``, ``title:``, ``speakers:``,
``flags:`` and ``date:2011`` / ``date:[2010 TO 2011-06]``; wildcards
``commun*`` (matched against stems); typos with ``communauter~`` (edit
distance 1, ``~2`` for two; the first letter must match, ``~1/2`` asks for
two). Ranking is BM25F. Hostile queries are bounded (wildcard expansion,
length, clauses, time: the ``MAX_*`` constants below).

Speed (Whoosh is pure Python, so the work per query is what is avoided):
one searcher is cached per index and reopened only after a change; phrases of
frequent words are single ``pairs`` terms (see :mod:`indexer.index`); API
filters are AND-ed into the query when narrow (an episode) and otherwise
passed as a document set cached per searcher (a speaker, a period); no masks
or constant-score wrappers, which make Whoosh list every matching document;
highlighting re-analyses only the 20 hits shown, matching the index terms
of the query (wildcards and typos expanded), with no Whoosh fragmenter.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from whoosh import query as wq
from whoosh.collectors import FilterCollector, TimeLimit, WrappingCollector
from whoosh.qparser import AndGroup, FuzzyTermPlugin, QueryParser
from whoosh.qparser.plugins import FieldsPlugin

from . import graded
from .errors import AudioError, IndexerError, QueryError
from .index import PAIR_SEPARATOR, TOKEN_PATTERN, DateField, TranscriptIndex, name_analyzer
from .transcript import hms

log = logging.getLogger("indexer")

QUERY_FIELDS = ("text", "speaker", "episode", "date", "chapter", "title", "speakers", "flags")
# Fields indexed on the episode documents only: resolved to episode ids first.
EPISODE_FIELDS = frozenset({"title", "speakers"})
MAX_EDIT_DISTANCE = 2
SMALL_FILTER = 0.02  # filters allowing fewer documents than this share are AND-ed into the query
FUZZY_PREFIX = 1  # letters a fuzzy term must share with its matches (`mot~1/2` asks for more)
MATCH_MODES = ("any", "all")
# Bounds on hostile queries (issue 15): on a 10,000-segment archive `a*` took
# 78 s and a 100 KB query 3.4 s before these.
MAX_QUERY_CHARS = 1000
MAX_QUERY_CLAUSES = 64      # words, phrases, fields... of one query
MAX_WILDCARD_TERMS = 256    # index terms one wildcard may expand to
MIN_WILDCARD_LETTERS = 3    # letters a wildcard starting with * or ? must hold
QUERY_TIME_LIMIT = 10.0     # s; a query still running then is stopped
ECHO_CHARS = 60             # of the query quoted back in an error


@dataclass(frozen=True)
class SearchOptions:
    limit: int = 20
    speaker: str | None = None
    episode: str | Sequence[str] | None = None  # id, ids, or a prefix ending in "*"
    date: str | tuple[str | None, str | None] | None = None  # "2011", ("2010", "2011-06")
    exclude_suspect: bool = False
    context: int = 0               # neighbouring segments on each side, in Hit.context
    group_by_episode: bool = False  # hits of one episode together, best episode first
    match: str = "any"             # "any": graded (all words, most, approximate); "all": every word


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
    matched: dict[str, str] = field(default_factory=dict)  # query word → "exact" | "approx:<form>"
    query_words: tuple[str, ...] = field(default=(), repr=False)  # the words ``matched`` is about

    @property
    def approximate(self) -> bool:
        """Not every query word was found as it is (some approximate or absent)."""
        return bool(self.query_words) and any(self.matched.get(w) != "exact" for w in self.query_words)

    def matched_text(self) -> str:
        """« word » (exact) / ≈ form / missing, one per query word, for tables and the CLI."""
        parts = []
        for w in self.query_words:
            how = self.matched.get(w)
            parts.append(w if how == "exact" else f"{w} ≈ {how[7:]}" if how else f"{w} (absent)")
        return ", ".join(parts)

    @property
    def timecode(self) -> str:
        return hms(self.start)

    @property
    def suspect(self) -> bool:
        return "suspect" in self.flags

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
        from .audio import clip

        if self.audio_path is None:
            raise AudioError(f"episode {self.episode} has no audio file in the index")
        return clip(self.audio_path, self.start, self.end, padding=padding, fade=fade)

    def play(self, padding: float = 1.0):
        """An IPython Audio player of this hit, cut from the episode's audio."""
        from IPython.display import Audio

        buf = io.BytesIO()
        self.clip(padding).export(buf, format="wav")
        return Audio(data=buf.getvalue())

    def player(self, basket=None, options=None):
        """The transcript player of the episode, opened at the hit with the matched words marked
        (see :mod:`indexer.player`); with ``basket``, a button adds selections to it."""
        from .player import hit_player

        return hit_player(self, basket, options)

    def to_dict(self) -> dict:
        return {
            "episode": self.episode, "title": self.title, "date": self.date,
            "speaker": self.speaker, "chapter": self.chapter,
            "start": self.start, "end": self.end, "timecode": self.timecode,
            "text": self.text, "snippet": self.snippet, "score": self.score,
            "flags": list(self.flags), "suspect": self.suspect, "segment_id": self.segment_id,
            "audio_path": str(self.audio_path) if self.audio_path else None,
            "context": list(self.context), "matched": dict(self.matched),
        }


class Hits(list):
    """A list of :class:`Hit` that shows as a table with players in Jupyter."""

    max_players = 20  # clips embedded in the HTML table (each one is decoded)

    def __init__(self, hits: Iterable[Hit] = (), query: str = ""):
        super().__init__(hits)
        self.query = query

    def to_json(self) -> list[dict]:
        return [hit.to_dict() for hit in self]

    def to_dataframe(self):
        import pandas as pd

        columns = ["episode", "title", "date", "speaker", "chapter", "start", "end", "timecode",
                   "text", "score", "flags", "suspect", "segment_id", "audio_path", "matched"]
        rows = [{k: d[k] for k in columns} for d in self.to_json()]
        return pd.DataFrame(rows, columns=columns)

    def _repr_html_(self) -> str:
        esc = html.escape
        if not self:
            return f"<p>No hit for <code>{esc(self.query)}</code>.</p>"
        rows = []
        for i, hit in enumerate(self):
            player = _audio_tag(hit) if i < self.max_players else ""
            suspect = ' <span title="suspect segment (possible transcription error)">⚠</span>' if hit.suspect else ""
            rows.append(
                "<tr>"
                f"<td>{esc(hit.timecode)}</td>"
                f"<td>{esc(hit.title)}<br><small>{esc(hit.episode)} {esc(hit.date)}</small></td>"
                f"<td>{esc(hit.speaker)}</td>"
                f"<td style='text-align:left'>{hit.snippet}{suspect}</td>"
                f"<td>{_matched_cell(hit)}</td>"
                f"<td>{player}</td>"
                "</tr>"
            )
        head = ("<tr><th>time</th><th>episode</th><th>speaker</th><th>text</th><th>matched</th>"
                "<th>listen</th></tr>")
        return (f"<p>{len(self)} hits for <code>{esc(self.query)}</code></p>"
                f"<table class='indexer-hits'>{head}{''.join(rows)}</table>")

    def __repr__(self) -> str:
        return f"<Hits {len(self)} for {self.query!r}>"


def _matched_cell(hit: Hit) -> str:
    """Each query word: plain if exact, ≈ and the transcript's form if approximate, struck if absent."""
    esc = html.escape
    cells = []
    for w in hit.query_words:
        how = hit.matched.get(w)
        if how == "exact":
            cells.append(esc(w))
        elif how:
            cells.append(f"<i title='approximate'>{esc(w)} ≈ {esc(how[7:])}</i>")
        else:
            cells.append(f"<s title='absent'>{esc(w)}</s>")
    return "<br>".join(cells)


def _audio_tag(hit: Hit) -> str:
    """An <audio> element with the clip embedded (mp3, or wav if ffmpeg lacks lame)."""
    try:
        segment = hit.clip().set_channels(1)
        buf = io.BytesIO()
        try:
            segment.export(buf, format="mp3", bitrate="48k")
            mime = "audio/mpeg"
        except Exception:  # ffmpeg built without an mp3 encoder
            buf = io.BytesIO()
            segment.set_frame_rate(16000).export(buf, format="wav")
            mime = "audio/wav"
    except (IndexerError, OSError) as e:
        log.debug("no clip for %s at %s: %s", hit.episode, hit.timecode, e)
        return "<small>no audio</small>"
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<audio controls preload='none' src='data:{mime};base64,{data}'></audio>"


# --- queries ---------------------------------------------------------------------

def make_parser(schema) -> QueryParser:
    parser = QueryParser("text", schema, group=AndGroup)
    parser.replace_plugin(FieldsPlugin(remove_unknown=False))
    parser.add_plugin(FuzzyTermPlugin())
    return parser


def echo(text: str) -> str:
    """The query as quoted in an error: its start only, when it is long."""
    return repr(text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…")


def parse_query(schema, text: str) -> wq.Query:
    """Parse the query language into a Whoosh query; QueryError if it is not valid."""
    if not text or not text.strip():
        raise QueryError("empty query")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query too long ({len(text):,} characters, at most {MAX_QUERY_CHARS:,}): {echo(text)}")
    try:
        q = make_parser(schema).parse(text)
    except Exception as e:  # the parser is lenient; anything raised here is a bad query
        raise QueryError(f"cannot parse query {echo(text)}: {e}") from e
    leaves = [leaf for leaf in _walk(q) if leaf.is_leaf()]
    if len(leaves) > MAX_QUERY_CLAUSES:
        raise QueryError(f"query too long ({len(leaves)} words or clauses, at most {MAX_QUERY_CLAUSES}): "
                         f"{echo(text)}")
    for leaf in _walk(q):
        error = getattr(leaf, "error", None)
        if error:
            raise QueryError(f"bad query {echo(text)}: {error}")
        name = leaf.field() if hasattr(leaf, "field") else None
        if name and name not in QUERY_FIELDS:
            raise QueryError(f"unknown field '{name}:' in {echo(text)} (fields: {', '.join(QUERY_FIELDS)})")
        if isinstance(leaf, wq.Every) and name in (None, "text", "chapter", "title"):
            raise QueryError(f"query too broad: {echo(text)} matches every segment (add a word)")
        if isinstance(leaf, (wq.Wildcard, wq.Prefix)) and not isinstance(leaf, wq.FuzzyTerm):
            pattern = leaf.text
            if pattern[:1] in ("*", "?") and sum(c.isalnum() for c in pattern) < MIN_WILDCARD_LETTERS:
                raise QueryError(f"wildcard too broad: {pattern}* (a wildcard starting with * or ? needs "
                                 f"at least {MIN_WILDCARD_LETTERS} letters)")
        if isinstance(leaf, wq.FuzzyTerm):
            if leaf.maxdist > MAX_EDIT_DISTANCE:
                raise QueryError(f"edit distance ~{leaf.maxdist} is too large (at most ~{MAX_EDIT_DISTANCE})")
            # Whoosh compares the word with every term sharing the prefix, in
            # Python: requiring the first letter keeps that to a few ms.
            leaf.prefixlength = max(leaf.prefixlength, FUZZY_PREFIX)
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        raise QueryError(f"nothing to search in {echo(text)} (only stop words such as « le », « de »?)")
    return q


def _walk(q: wq.Query):
    yield q
    for child in q.children():
        yield from _walk(child)


def _rewrite(q: wq.Query, searcher) -> wq.Query:
    """Phrases of frequent words → ``pairs`` terms; episode-level fields → episode ids."""
    if isinstance(q, wq.Phrase):
        return _phrase(q, searcher.schema["pairs"].common)
    if q.is_leaf():
        fieldname = q.field() if hasattr(q, "field") else None
        if fieldname in EPISODE_FIELDS:
            # (Not ConstantScoreQuery: its matcher lists every matching document.)
            ids = _episodes_matching(searcher, q)
            return wq.Or([wq.Term("episode", i) for i in ids]) if ids else wq.NullQuery
        if isinstance(q, wq.FuzzyTerm) and fieldname == "text":
            terms = graded.close_terms(searcher, "text", q.text, q.maxdist, q.prefixlength)
            return wq.Or([wq.Term("text", t, boost=q.boost) for t in sorted(terms)]) if terms else wq.NullQuery
        if isinstance(q, (wq.Wildcard, wq.Prefix)):
            return _expand_wildcard(q, searcher)
        return q
    return q.apply(lambda child: _rewrite(child, searcher))


def _phrase(q: wq.Phrase, common: frozenset[str]) -> wq.Query:
    if q.fieldname != "text" or q.slop != 1 or len(q.words) < 2:
        return q
    pairs = [wq.Term("pairs", a + PAIR_SEPARATOR + b) for a, b in zip(q.words, q.words[1:])
             if a in common and b in common]
    if len(q.words) == 2 and pairs:
        return wq.Term("pairs", pairs[0].text, boost=q.boost)
    if pairs:  # the pairs narrow the candidates; the phrase checks the whole order
        return wq.And(pairs + [q], boost=q.boost)
    return q


def _expand_wildcard(q, searcher) -> wq.Query:
    """A wildcard as the list of its terms; QueryError past :data:`MAX_WILDCARD_TERMS`.

    Whoosh would OR every matching term and score them all (`a*` took 78 s on
    a 10,000-segment archive): a wildcard that broad finds nothing useful.
    """
    terms = []
    for term in q._btexts(searcher.reader()):
        terms.append(term.decode("utf-8") if isinstance(term, bytes) else term)
        if len(terms) > MAX_WILDCARD_TERMS:
            raise QueryError(f"wildcard too broad: {q.text}{'*' if isinstance(q, wq.Prefix) else ''} matches "
                             f"over {MAX_WILDCARD_TERMS} words (add letters)")
    if not terms:
        return wq.NullQuery
    return wq.Or([wq.Term(q.fieldname, t, boost=q.boost) for t in terms])


def _episodes_matching(searcher, q: wq.Query) -> list[str]:
    docs = searcher.docs_for_query(wq.And([wq.Term("kind", "episode"), q]))
    return sorted({searcher.stored_fields(n)["episode_doc"] for n in docs})


def filter_query(schema, options: SearchOptions) -> wq.Query | None:
    """The API filters (speaker, episode, date) as one query, or None."""
    parts: list[wq.Query] = []
    if options.speaker:
        words = [t.text for t in name_analyzer()(options.speaker)]
        if not words:
            raise QueryError(f"speaker {options.speaker!r} has no word to search")
        # One speaker per segment: all the words of the name, without a position check.
        parts.append(wq.And([wq.Term("speaker", w) for w in words]))
    if options.episode:
        ids = [options.episode] if isinstance(options.episode, str) else list(options.episode)
        parts.append(wq.Or([wq.Prefix("episode", i[:-1]) if i.endswith("*") else wq.Term("episode", i)
                            for i in ids]))
    if options.date:
        date_field: DateField = schema["date"]
        try:
            if isinstance(options.date, str):
                parts.append(date_field.parse_query("date", options.date))
            else:
                start, end = options.date
                parts.append(date_field.parse_range("date", start, end, False, False))
        except ValueError as e:
            raise QueryError(str(e)) from e
    if not parts:
        return None
    return wq.And(parts) if len(parts) > 1 else parts[0]


# --- searching -------------------------------------------------------------------

def search(index: TranscriptIndex, text: str, options: SearchOptions | None = None) -> Hits:
    """Run ``text`` (query language) against ``index``; best hits first.

    A plain query (words only) with ``match="any"`` is graded (see
    :mod:`indexer.graded`): segments with every word first, then the others
    by words matched exactly, then approximately. ``match="all"`` and any
    explicit syntax give Whoosh's strict answer.
    """
    options = options or SearchOptions()
    if options.match not in MATCH_MODES:
        raise QueryError(f"unknown match mode {options.match!r} (valid: {', '.join(MATCH_MODES)})")
    if not isinstance(options.limit, int) or options.limit < 1:
        raise QueryError(f"limit must be a whole number of hits, at least 1, got {options.limit!r}")
    searcher = index.searcher()
    schema = searcher.schema
    q = _rewrite(parse_query(schema, text), searcher).normalize()
    typed = graded.plain_words(text) if options.match == "any" else None
    words = [graded.QueryWord(w, t) for w, t in _words_of(schema, text)]
    found = _collect(searcher, q, options, options.limit, text)
    loose: list[tuple[int, float]] = []
    if typed and len(found) < options.limit and words:
        # Too few segments with every word: close forms are looked up only now.
        words = graded.expand(searcher, typed)
        seen = {docnum for docnum, _ in found}
        size = 2 * options.limit  # re-ranked by words matched; each costs a stored-fields read
        for every in (True, False):  # every word (approximate or not) first: it ranks first
            if every and len(words) == 1:
                continue
            pool = _collect(searcher, graded.graded_query(words, every), options, size, text, partial=True)
            loose += [(docnum, score) for docnum, score in pool if docnum not in seen]
            seen.update(docnum for docnum, _ in pool)
            if len(found) + len(loose) >= options.limit:
                break
    terms = _highlight_terms(q, searcher)
    analyzer = schema["text"].analyzer
    base = index.index_dir.parent / "audio"  # ArchiveLayout.audio_dir
    labels = tuple(dict.fromkeys(w.label for w in words))
    strict_hits = [_hit(searcher, docnum, score, analyzer, terms, words, labels, base) for docnum, score in found]
    loose_hits = [_hit(searcher, docnum, score, analyzer, terms, words, labels, base) for docnum, score in loose]
    loose_hits = [h for h in loose_hits if h.matched]
    loose_hits.sort(key=lambda h: graded.rank_key(h.matched, h.score))
    hits = Hits(strict_hits + loose_hits[:options.limit - len(strict_hits)], query=text)
    if options.context > 0:
        for hit in hits:
            hit.context = _context(searcher, hit, options.context)
    if options.group_by_episode:
        best: dict[str, float] = {}
        for rank, hit in enumerate(hits):
            best.setdefault(hit.episode, -rank)
        hits.sort(key=lambda h: (-best[h.episode], h.episode, h.start))
    return hits


def _collect(searcher, q: wq.Query, options: SearchOptions, limit: int, text: str,
             partial: bool = False) -> list[tuple[int, float]]:
    """(docnum, score) of the best ``limit`` documents for ``q`` with the API filters applied.

    Stopped after :data:`QUERY_TIME_LIMIT`: QueryError, or what was found so
    far when ``partial``.
    """
    filters = filter_query(searcher.schema, options)
    allowed = None
    if filters is not None:
        allowed = _filter_docs(searcher, filters)
        if len(allowed) < SMALL_FILTER * max(1, searcher.doc_count()):
            # A narrow filter (an episode): intersecting skips through it quickly.
            # (Not ConstantScoreQuery: it lists all the filter's documents first.)
            q, allowed = wq.And([q, filters]), None
    if options.exclude_suspect:
        q = wq.AndNot(q, wq.Term("flags", "suspect"))
    # Episode documents only match a query that matches documents *without* a
    # term (NOT x, *): mask them then. Masks cost Whoosh's top-k skipping.
    mask = wq.Term("kind", "episode") if _matches_without_terms(q) else None
    collector = _Deadline(searcher.collector(limit=limit), QUERY_TIME_LIMIT)
    if allowed is not None or mask is not None:  # outside: it calls collect() only for allowed documents
        collector = FilterCollector(collector, allowed, mask)
    try:
        searcher.search_with_collector(q, collector)
    except TimeLimit:
        if not partial:
            raise QueryError(f"query {echo(text)} took over {QUERY_TIME_LIMIT:.0f} s and was stopped "
                             "(make it narrower)") from None
    except IndexerError:
        raise
    except Exception as e:  # e.g. a wildcard expanding to too many terms
        raise QueryError(f"query {echo(text)} failed: {type(e).__name__}: {e}") from e
    return [(docnum, score) for score, docnum in collector.results().top_n]


class _Deadline(WrappingCollector):
    """Raises TimeLimit once ``seconds`` have passed, checked at each collected document.

    Not Whoosh's TimeLimitCollector: it uses a timer thread (and SIGALRM in
    the main thread), and a FilterCollector around it would bypass its check.
    """

    def __init__(self, child, seconds: float):
        super().__init__(child)
        self.seconds = seconds

    def prepare(self, top_searcher, q, context):
        super().prepare(top_searcher, q, context)
        self.deadline = time.monotonic() + self.seconds

    def collect_matches(self):
        for sub_docnum in self.child.matches():
            self.collect(sub_docnum)

    def collect(self, sub_docnum):
        if time.monotonic() > self.deadline:
            raise TimeLimit
        return self.child.collect(sub_docnum)


def _hit(searcher, docnum: int, score: float, analyzer, terms, words, labels, base: Path) -> Hit:
    stored = searcher.stored_fields(docnum)
    meta = _episode_fields(searcher, stored["episode"])
    text = stored.get("text", "")
    matched, approx_spans = graded.match(analyzer, text, words)
    spans = _merge_spans(text, _spans(analyzer, text, terms) + tuple(approx_spans))
    hit = Hit(
        episode=stored["episode"], title=meta.get("title", stored["episode"]),
        date=meta.get("datestr") or "", speaker=stored.get("speaker") or "",
        chapter=stored.get("chapter") or "", start=stored["start"], end=stored["end"],
        text=text, snippet="", score=float(score),
        flags=tuple((stored.get("flags") or "").split()), segment_id=stored.get("segment", 0),
        audio_path=_resolve(base, meta.get("audio")), spans=spans, matched=matched, query_words=labels,
        archive_root=base.parent,
    )
    hit.snippet = hit.marked(lambda s: f"<mark>{s}</mark>", html.escape)
    return hit


def _words_of(schema, text: str) -> list[tuple[str, frozenset[str]]]:
    """The bare words of an explicit query (outside fields, operators, negations and wildcards), with their terms."""
    analyzer = schema["text"].analyzer
    bare = re.sub(r'\b\w+:(?:"[^"]*"|\[[^\]]*\]|\S+)', " ", text)
    bare = re.sub(r'\b(?:AND)?NOT\s+(?:\([^)]*\)|"[^"]*"|\S+)', " ", bare)  # a word excluded is not sought
    out = []
    for word in re.findall(TOKEN_PATTERN + r"[*?~]?", bare):
        if word in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE") or word[-1] in "*?~":
            continue
        terms = frozenset(t.text for t in analyzer(word, mode="query"))
        if terms:
            out.append((word, terms))
    return out


def _merge_spans(text: str, spans) -> tuple[tuple[int, int], ...]:
    """Sorted, overlapping spans joined, neighbours separated by spaces only joined too."""
    out: list[list[int]] = []
    for start, end in sorted(spans):
        if out and (start <= out[-1][1] or not text[out[-1][1]:start].strip()):
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


def _filter_docs(searcher, filters: wq.Query):
    """The documents a filter allows, computed once per searcher (like Lucene's
    filter cache): researchers repeat the same speaker or period filter."""
    cache = searcher.__dict__.setdefault("_indexer_filters", {})
    key = repr(filters)
    docs = cache.get(key)
    if docs is None:
        if len(cache) >= 32:
            cache.clear()
        docs = cache[key] = set(searcher.docs_for_query(filters))
    return docs


def _matches_without_terms(q: wq.Query) -> bool:
    if isinstance(q, (wq.Not, wq.Every)):
        return True
    if isinstance(q, wq.AndNot):
        return _matches_without_terms(q.a)
    if isinstance(q, wq.And):
        return all(_matches_without_terms(c) for c in q.children())
    if isinstance(q, wq.Or):
        return any(_matches_without_terms(c) for c in q.children())
    return False


def _episode_fields(searcher, episode_id: str) -> dict:
    cache = searcher.__dict__.setdefault("_indexer_episodes", {})
    found = cache.get(episode_id)
    if found is None:
        docnum = next(iter(searcher.document_numbers(episode_doc=episode_id)), None)
        found = cache[episode_id] = searcher.stored_fields(docnum) if docnum is not None else {}
    return found


def _resolve(base: Path, audio: str | None) -> Path | None:
    if not audio:
        return None
    path = Path(audio)
    return path if path.is_absolute() else base / path


def _highlight_terms(q: wq.Query, searcher) -> frozenset[str]:
    """Index terms of the text to mark: expanded wildcards/fuzzy, phrase words."""
    terms = set()
    for fieldname, term in q.existing_terms(searcher.reader(), phrases=True, expand=True):
        term = term.decode("utf-8") if isinstance(term, bytes) else term
        if fieldname == "text":
            terms.add(term)
        elif fieldname == "pairs":
            terms.update(term.split(PAIR_SEPARATOR))
    return frozenset(terms)


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


def _context(searcher, hit: Hit, n: int) -> tuple[str, str]:
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


# --- notebook widget -------------------------------------------------------------

def search_box(archive, limit: int = 20):
    """A small live search for notebooks: type a query, press Enter."""
    import ipywidgets as widgets

    box = widgets.Text(placeholder='ex. "réseaux sociaux" speaker:dupont', description="Chercher",
                       continuous_update=False, layout=widgets.Layout(width="60%"))
    suspect = widgets.Checkbox(value=False, description="sans segments suspects")
    out = widgets.Output()

    def run(_change=None):
        out.clear_output()
        if not box.value.strip():
            return
        try:  # append_* work in any kernel thread (and without one, in tests)
            out.append_display_data(archive.search(box.value, limit=limit, exclude_suspect=suspect.value))
        except IndexerError as e:
            out.append_stdout(f"error: {e.one_line()}\n")

    box.observe(run, names="value")  # fires on Enter / leaving the box, not per key
    suspect.observe(run, names="value")
    return widgets.VBox([widgets.HBox([box, suspect]), out])


def hits_json(hits: Hits) -> str:
    return json.dumps(hits.to_json(), ensure_ascii=False, indent=2)
