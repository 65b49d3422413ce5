"""Running a search: the strict query, the graded tiers, API filters, and the time limit."""

from __future__ import annotations

import logging
import math
import time

from whoosh import query as wq
from whoosh.collectors import FilterCollector, TimeLimit, WrappingCollector
from whoosh.query import QueryError as WhooshQueryError

from ..archive import ArchiveLayout
from ..errors import EmbeddingStoreError, ModelIntegrityError, ModelNotFoundError, QueryError
from ..index import TranscriptIndex
from ..transcript import Flag
from . import graded, meaning
from .hits import Hit, HitMaker, Hits, MomentsLike, context
from .options import (MATCH_ALIASES, MATCH_MODES, MAX_MEANING_QUERY_CHARS, MAX_QUERY_CHARS, MAX_QUERY_CLAUSES,
                      QUERY_TIME_LIMIT, SMALL_FILTER, SearchOptions)
from .query import (bare_words, combine_filters, echo, filter_query, highlight_terms, matches_without_terms,
                    parse_query, rewrite, split_filters)

log = logging.getLogger("indexer")

MAX_COMBINATIONS = 35  # groups of words OR-ed by the hybrid word side (7 words: 35 groups of 4)


def search(index: TranscriptIndex, text: str, options: SearchOptions | None = None,
           layout: ArchiveLayout | None = None) -> Hits:
    """Run ``text`` (query language) against ``index``; best hits first.

    ``match="hybrid"`` (the default): a plain query (words, and typed filters
    such as ``date:2013``) is answered by graded words (see
    :mod:`indexer.search.graded`) fused with search by meaning (see
    :mod:`indexer.search.meaning`); ``"words"``: graded words only;
    ``"meaning"``: meaning only; ``"all"``: every word, strictly. Explicit
    syntax (phrases, OR, NOT, wildcards, ``~``) gets Whoosh's strict answer.
    ``layout``: the archive the index belongs to (its audio files and its
    embedding store), by default the folder that holds the index.
    """
    options = options or SearchOptions()
    mode = MATCH_ALIASES.get(options.match, options.match)
    if mode not in MATCH_MODES:
        raise QueryError(f"unknown match mode {options.match!r} (valid: {', '.join(MATCH_MODES)})")
    if not isinstance(options.limit, int) or options.limit < 1:
        raise QueryError(f"limit must be a whole number of hits, at least 1, got {options.limit!r}")
    if not text or not text.strip():
        raise QueryError("empty query")
    memos = index.memos()
    searcher = memos.searcher
    schema = searcher.schema
    layout = layout or ArchiveLayout(index.index_dir.parent)
    # Typed filters and filters given as arguments: one query, for words and meaning alike.
    typed, words_text = split_filters(text) if mode != "all" else ("", text)
    filters = combine_filters(filter_query(schema, options),
                              rewrite(parse_query(schema, typed), memos) if typed else None)
    warnings: list[str] = []
    with_meaning = mode == "meaning" or (mode == "hybrid" and graded.plain_words(words_text) is not None)
    with_words = mode != "meaning"
    if with_meaning:
        if not bare_words(schema, words_text[:MAX_QUERY_CHARS]):
            raise QueryError(f"nothing to search in {echo(text)} (only stop words such as « le », « de »?)")
        if len(words_text) > MAX_MEANING_QUERY_CHARS:
            raise QueryError(f"query too long ({len(words_text):,} characters, at most {MAX_MEANING_QUERY_CHARS:,} "
                             f"for search by meaning): {echo(text)}")
        if with_words and (len(words_text) > MAX_QUERY_CHARS or len(words_text.split()) > MAX_QUERY_CLAUSES):
            with_words = False
            warnings.append(f"query too long for word search ({len(words_text):,} characters, "
                            f"{len(words_text.split())} words; at most {MAX_QUERY_CHARS:,} and {MAX_QUERY_CLAUSES}): "
                            "answered by meaning only")
    like = meaning.SimilarMoments(index, layout)  # what the hits' similar() calls
    word_hits, maker = (_word_hits(memos, words_text, options, filters, layout, mode, like) if with_words
                        else ([], None))
    if with_meaning:
        try:
            found, cut = meaning.meaning_docs(memos, layout, words_text, filters,
                                              meaning.MEANING_POOL * options.limit)
            warnings += cut
        except (EmbeddingStoreError, ModelNotFoundError, ModelIntegrityError) as e:
            if mode == "meaning":
                raise
            found = []
            warnings.append(f"{e.one_line()}; answered by words only")
        maker = maker if mode == "hybrid" and maker else HitMaker(memos, frozenset(), [], layout, like)
        found_hits = meaning.meaning_hits(maker, found)
        if options.exclude_suspect:
            found_hits = [h for h in found_hits if not h.suspect]
        ranked = meaning.fuse(word_hits, found_hits, options.limit)
    else:
        # Within a match class, clean segments before suspect ones (a stable sort keeps the rest's order).
        ranked = sorted(word_hits, key=lambda h: (meaning.word_class(h), h.suspect))
    for line in warnings:
        log.warning("%s", line)
    hits = Hits(ranked, query=text, warnings=warnings)
    if options.context > 0:
        for hit in hits:
            hit.context = context(searcher, hit, options.context)
    if options.group_by_episode:
        best: dict[str, float] = {}
        for rank, hit in enumerate(hits):
            best.setdefault(hit.episode, -rank)
        hits.sort(key=lambda h: (-best[h.episode], h.episode, h.start))
    return hits


def _word_hits(memos, text: str, options: SearchOptions, filters, layout: ArchiveLayout,
               mode: str, like: MomentsLike) -> tuple[list[Hit], HitMaker]:
    """The word side: Whoosh's strict answer, then (for a plain query, unless ``all``) the graded tiers."""
    searcher = memos.searcher
    schema = searcher.schema
    q = rewrite(parse_query(schema, text), memos).normalize()
    typed = graded.plain_words(text) if mode != "all" else None
    words = [graded.QueryWord(w, t) for w, t in bare_words(schema, text)]
    found = _collect(memos, q, options, options.limit, text, filters)
    loose: list[tuple[int, float]] = []
    if typed and len(found) < options.limit and words:
        # Too few segments with every word: close forms are looked up only now.
        words = graded.expand(memos, typed)
        seen = {docnum for docnum, _ in found}
        size = 2 * options.limit  # re-ranked by words matched; each costs a stored-fields read
        for every in (True, False):  # every word (approximate or not) first: it ranks first
            if every and len(words) == 1:
                continue
            at_least = 1
            if not every and mode == "hybrid":
                # Fusion ranks hits holding fewer than half of the words by meaning: only the others are asked
                # of the word side (the OR of every word cost 113 ms CPU p50, 386 max, per paraphrase at
                # 1,000 hours). Past MAX_COMBINATIONS groups of words, meaning alone answers.
                at_least = (len(words) + 1) // 2
                if math.comb(len(words), at_least) > MAX_COMBINATIONS:
                    break
            pool = _collect(memos, graded.graded_query(words, every, at_least), options, size, text, filters,
                            partial=True)
            loose += [(docnum, score) for docnum, score in pool if docnum not in seen]
            seen.update(docnum for docnum, _ in pool)
            if len(found) + len(loose) >= options.limit:
                break
    maker = HitMaker(memos, highlight_terms(q, searcher), words, layout, like)
    strict_hits = [maker.hit(docnum, score) for docnum, score in found]
    loose_hits = [maker.hit(docnum, score) for docnum, score in loose]
    loose_hits = [h for h in loose_hits if h.matched]
    loose_hits.sort(key=lambda h: graded.rank_key(h.matched, h.score))
    return strict_hits + loose_hits[:options.limit - len(strict_hits)], maker


def _collect(memos, q: wq.Query, options: SearchOptions, limit: int, text: str, filters: wq.Query | None,
             partial: bool = False) -> list[tuple[int, float]]:
    """(docnum, score) of the best ``limit`` documents for ``q`` with the API filters applied.

    Stopped after :data:`QUERY_TIME_LIMIT`: QueryError, or what was found so
    far when ``partial``.
    """
    searcher = memos.searcher
    allowed = None
    if filters is not None:
        allowed = memos.filter_docs(filters)
        if len(allowed) < SMALL_FILTER * max(1, searcher.doc_count()):
            # A narrow filter (an episode): intersecting skips through it quickly.
            # (Not ConstantScoreQuery: it lists all the filter's documents first.)
            q, allowed = wq.And([q, filters]), None
    if options.exclude_suspect:
        q = wq.AndNot(q, wq.Term("flags", Flag.SUSPECT))
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
