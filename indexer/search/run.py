"""Running a search: the strict query, the graded tiers, API filters, and the time limit."""

from __future__ import annotations

import time

from whoosh import query as wq
from whoosh.collectors import FilterCollector, TimeLimit, WrappingCollector
from whoosh.query import QueryError as WhooshQueryError

from ..archive import ArchiveLayout
from ..errors import QueryError
from ..index import TranscriptIndex
from . import graded
from .hits import HitMaker, Hits, context
from .options import MATCH_MODES, QUERY_TIME_LIMIT, SMALL_FILTER, SearchOptions
from .query import bare_words, echo, filter_query, highlight_terms, matches_without_terms, parse_query, rewrite


def search(index: TranscriptIndex, text: str, options: SearchOptions | None = None,
           layout: ArchiveLayout | None = None) -> Hits:
    """Run ``text`` (query language) against ``index``; best hits first.

    A plain query (words only) with ``match="any"`` is graded (see
    :mod:`indexer.search.graded`): segments with every word first, then the others
    by words matched exactly, then approximately. ``match="all"`` and any
    explicit syntax give Whoosh's strict answer. ``layout``: the archive the
    index belongs to (where its audio files are), by default the folder that
    holds the index.
    """
    options = options or SearchOptions()
    if options.match not in MATCH_MODES:
        raise QueryError(f"unknown match mode {options.match!r} (valid: {', '.join(MATCH_MODES)})")
    if not isinstance(options.limit, int) or options.limit < 1:
        raise QueryError(f"limit must be a whole number of hits, at least 1, got {options.limit!r}")
    memos = index.memos()
    searcher = memos.searcher
    schema = searcher.schema
    q = rewrite(parse_query(schema, text), memos).normalize()
    typed = graded.plain_words(text) if options.match == "any" else None
    words = [graded.QueryWord(w, t) for w, t in bare_words(schema, text)]
    found = _collect(memos, q, options, options.limit, text)
    loose: list[tuple[int, float]] = []
    if typed and len(found) < options.limit and words:
        # Too few segments with every word: close forms are looked up only now.
        words = graded.expand(memos, typed)
        seen = {docnum for docnum, _ in found}
        size = 2 * options.limit  # re-ranked by words matched; each costs a stored-fields read
        for every in (True, False):  # every word (approximate or not) first: it ranks first
            if every and len(words) == 1:
                continue
            pool = _collect(memos, graded.graded_query(words, every), options, size, text, partial=True)
            loose += [(docnum, score) for docnum, score in pool if docnum not in seen]
            seen.update(docnum for docnum, _ in pool)
            if len(found) + len(loose) >= options.limit:
                break
    layout = layout or ArchiveLayout(index.index_dir.parent)
    maker = HitMaker(memos, highlight_terms(q, searcher), words, layout)
    strict_hits = [maker.hit(docnum, score) for docnum, score in found]
    loose_hits = [maker.hit(docnum, score) for docnum, score in loose]
    loose_hits = [h for h in loose_hits if h.matched]
    loose_hits.sort(key=lambda h: graded.rank_key(h.matched, h.score))
    hits = Hits(strict_hits + loose_hits[:options.limit - len(strict_hits)], query=text)
    if options.context > 0:
        for hit in hits:
            hit.context = context(searcher, hit, options.context)
    if options.group_by_episode:
        best: dict[str, float] = {}
        for rank, hit in enumerate(hits):
            best.setdefault(hit.episode, -rank)
        hits.sort(key=lambda h: (-best[h.episode], h.episode, h.start))
    return hits


def _collect(memos, q: wq.Query, options: SearchOptions, limit: int, text: str,
             partial: bool = False) -> list[tuple[int, float]]:
    """(docnum, score) of the best ``limit`` documents for ``q`` with the API filters applied.

    Stopped after :data:`QUERY_TIME_LIMIT`: QueryError, or what was found so
    far when ``partial``.
    """
    searcher = memos.searcher
    filters = filter_query(searcher.schema, options)
    allowed = None
    if filters is not None:
        allowed = memos.filter_docs(filters)
        if len(allowed) < SMALL_FILTER * max(1, searcher.doc_count()):
            # A narrow filter (an episode): intersecting skips through it quickly.
            # (Not ConstantScoreQuery: it lists all the filter's documents first.)
            q, allowed = wq.And([q, filters]), None
    if options.exclude_suspect:
        q = wq.AndNot(q, wq.Term("flags", "suspect"))
    # Episode documents only match a query that matches documents *without* a
    # term (NOT x, *): mask them then. Masks cost Whoosh's top-k skipping.
    mask = wq.Term("kind", "episode") if matches_without_terms(q) else None
    collector = _Deadline(searcher.collector(limit=limit), QUERY_TIME_LIMIT)
    if allowed is not None or mask is not None:  # outside: it calls collect() only for allowed documents
        collector = FilterCollector(collector, allowed, mask)
    try:
        searcher.search_with_collector(q, collector)
    except TimeLimit:
        if not partial:
            raise QueryError(f"query {echo(text)} took over {QUERY_TIME_LIMIT:.0f} s and was stopped "
                             "(make it narrower)") from None
    except WhooshQueryError as e:  # e.g. a phrase on a field without positions (flags:"a b")
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
