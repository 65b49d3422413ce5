"""Searching the index: query language, hits, highlighting, notebook display.

Query language (Whoosh's, with French defaults): words are AND-ed;
``"réseaux sociaux"`` is a phrase; ``OR``, ``NOT``, parentheses; fields
``speaker:``, ``episode:``, ``chapter:``, ``title:``, ``speakers:``,
``flags:`` and ``date:2011`` / ``date:[2010 TO 2011-06]``; wildcards
``commun*`` (matched against stems); typos with ``communauter~`` (edit
distance 1, ``~2`` for two; the first letter must match, ``~1/2`` asks for
two). Ranking is BM25F.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from whoosh import query as wq
from whoosh.qparser import AndGroup, FuzzyTermPlugin, QueryParser
from whoosh.qparser.plugins import FieldsPlugin

from .errors import AudioError, IndexerError, QueryError
from .index import PAIR_SEPARATOR, DateField, TranscriptIndex, name_analyzer
from .transcript import hms

log = logging.getLogger("indexer")

QUERY_FIELDS = ("text", "speaker", "episode", "date", "chapter", "title", "speakers", "flags")
# Fields indexed on the episode documents only: resolved to episode ids first.
EPISODE_FIELDS = frozenset({"title", "speakers"})
MAX_EDIT_DISTANCE = 2
SMALL_FILTER = 0.02  # filters allowing fewer documents than this share are AND-ed into the query
FUZZY_PREFIX = 1  # letters a fuzzy term must share with its matches (`mot~1/2` asks for more)


@dataclass(frozen=True)
class SearchOptions:
    limit: int = 20
    speaker: str | None = None
    episode: str | Sequence[str] | None = None  # id, ids, or a prefix ending in "*"
    date: str | tuple[str | None, str | None] | None = None  # "2011", ("2010", "2011-06")
    exclude_suspect: bool = False
    context: int = 0               # neighbouring segments on each side, in Hit.context
    group_by_episode: bool = False  # hits of one episode together, best episode first


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
            "context": list(self.context),
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
                   "text", "score", "flags", "suspect", "segment_id", "audio_path"]
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
                f"<td>{player}</td>"
                "</tr>"
            )
        head = "<tr><th>time</th><th>episode</th><th>speaker</th><th>text</th><th>listen</th></tr>"
        return (f"<p>{len(self)} hits for <code>{esc(self.query)}</code></p>"
                f"<table class='indexer-hits'>{head}{''.join(rows)}</table>")

    def __repr__(self) -> str:
        return f"<Hits {len(self)} for {self.query!r}>"


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


def parse_query(schema, text: str) -> wq.Query:
    """Parse the query language into a Whoosh query; QueryError if it is not valid."""
    if not text or not text.strip():
        raise QueryError("empty query")
    try:
        q = make_parser(schema).parse(text)
    except Exception as e:  # the parser is lenient; anything raised here is a bad query
        raise QueryError(f"cannot parse query {text!r}: {e}") from e
    for leaf in _walk(q):
        error = getattr(leaf, "error", None)
        if error:
            raise QueryError(f"bad query {text!r}: {error}")
        name = leaf.field() if hasattr(leaf, "field") else None
        if name and name not in QUERY_FIELDS:
            raise QueryError(f"unknown field '{name}:' in {text!r} (fields: {', '.join(QUERY_FIELDS)})")
        if isinstance(leaf, wq.FuzzyTerm):
            if leaf.maxdist > MAX_EDIT_DISTANCE:
                raise QueryError(f"edit distance ~{leaf.maxdist} is too large (at most ~{MAX_EDIT_DISTANCE})")
            # Whoosh compares the word with every term sharing the prefix, in
            # Python: requiring the first letter keeps that to a few ms.
            leaf.prefixlength = max(leaf.prefixlength, FUZZY_PREFIX)
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        raise QueryError(f"nothing to search in {text!r} (only stop words such as « le », « de »?)")
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
            terms = _fuzzy_terms(searcher, q.text, q.maxdist, q.prefixlength)
            return wq.Or([wq.Term("text", t, boost=q.boost) for t in terms]) if terms else wq.NullQuery
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


def _fuzzy_terms(searcher, word: str, maxdist: int, prefix: int) -> list[str]:
    """Terms of ``text`` within ``maxdist`` edits of ``word`` sharing its first ``prefix`` letters.

    Like Whoosh's ``terms_within``, but the candidates sharing the prefix are
    decoded once per searcher, and most are ruled out by length and by shared
    letter pairs (one edit destroys at most three of a word's letter pairs)
    before the edit distance is computed in Python.
    """
    from whoosh.support.levenshtein import damerau_levenshtein

    cache = searcher.__dict__.setdefault("_indexer_terms_by_prefix", {})
    head = word[:prefix]
    candidates = cache.get(head)
    if candidates is None:
        candidates = cache[head] = []
        for term in searcher.reader().expand_prefix("text", head):
            term = term.decode("utf-8") if isinstance(term, bytes) else term
            candidates.append((term, _letter_pairs(term)))
    size, pairs = len(word), _letter_pairs(word)
    needed = len(pairs) - 3 * maxdist
    return [term for term, term_pairs in candidates
            if abs(len(term) - size) <= maxdist and len(pairs & term_pairs) >= needed
            and damerau_levenshtein(word, term, maxdist) <= maxdist]


def _letter_pairs(word: str) -> frozenset[str]:
    return frozenset(word[i:i + 2] for i in range(len(word) - 1))


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
    """Run ``text`` (query language) against ``index``; best hits first."""
    options = options or SearchOptions()
    searcher = index.searcher()
    schema = searcher.schema
    q = _rewrite(parse_query(schema, text), searcher).normalize()
    filters = filter_query(schema, options)
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
    try:
        results = searcher.search(q, limit=options.limit, mask=mask, filter=allowed)
    except IndexerError:
        raise
    except Exception as e:  # e.g. a wildcard expanding to too many terms
        raise QueryError(f"query {text!r} failed: {type(e).__name__}: {e}") from e
    terms = _highlight_terms(q, searcher)
    analyzer = schema["text"].analyzer
    base = index.index_dir.parent / "audio"  # ArchiveLayout.audio_dir
    hits = Hits(query=text)
    for result in results:
        stored = result.fields()
        meta = _episode_fields(searcher, stored["episode"])
        spans = _spans(analyzer, stored.get("text", ""), terms)
        hits.append(Hit(
            episode=stored["episode"], title=meta.get("title", stored["episode"]),
            date=meta.get("datestr") or "", speaker=stored.get("speaker") or "",
            chapter=stored.get("chapter") or "", start=stored["start"], end=stored["end"],
            text=stored.get("text", ""), snippet="", score=float(result.score),
            flags=tuple((stored.get("flags") or "").split()), segment_id=stored.get("segment", 0),
            audio_path=_resolve(base, meta.get("audio")), spans=spans, archive_root=index.index_dir.parent,
        ))
        hits[-1].snippet = hits[-1].marked(lambda s: f"<mark>{s}</mark>", html.escape)
    if options.context > 0:
        for hit in hits:
            hit.context = _context(searcher, hit, options.context)
    if options.group_by_episode:
        best: dict[str, float] = {}
        for hit in hits:
            best[hit.episode] = max(best.get(hit.episode, 0.0), hit.score)
        hits.sort(key=lambda h: (-best[h.episode], h.episode, h.start))
    return hits


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
