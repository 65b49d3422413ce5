"""Search by meaning: the query's vector against every segment's, under the same filters as words;
hybrid fusion of the two ranked lists; and "more like this".

Fusion (:func:`fuse`) lets each side decide where it has evidence: a hit
holding at least half of the query's words is ranked as word search ranks it
(every word exactly first, so a query whose words were said still ranks those
moments first); every other hit, found by meaning or holding too few words,
follows in the order of meaning, so a paraphrase finds its moment. Within each
class a suspect segment comes after the clean ones (issue 23).

Filters (arguments and typed clauses alike) are one Whoosh query: the word
side runs under it, and the meaning side keeps only the segments it allows
(their documents mapped to the store's rows), so both sides answer the same
question.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq

from ..archive import ArchiveLayout
from ..embeddings import cut_to_tokens, load_model, load_table
from ..errors import EmbeddingStoreError, QueryError
from ..transcript import hms
from .hits import MEANING, Hit, HitMaker, Hits
from .match import BY_MEANING, EXACT
from .options import SearchOptions
from .rows import allowed_rows, row_docnum

log = logging.getLogger("indexer")

MEANING_POOL = 2      # × limit: segments asked of the meaning side
Key = tuple[str, int]  # (episode id, segment id)


def meaning_docs(memos, layout: ArchiveLayout, text: str, filters: wq.Query | None,
                 k: int) -> tuple[list[tuple[int, float]], list[str]]:
    """(docnum, cosine) of the ``k`` segments nearest to ``text`` that ``filters`` allow; and warnings.

    EmbeddingStoreError if the archive has no readable store.
    """
    table = load_table(layout.embeddings_dir)
    model = load_model(table.store.model_name)
    cut, was_cut = cut_to_tokens(model, text)
    warnings = []
    if was_cut:
        warnings.append(f"query cut to its first {model.max_tokens} tokens ({len(cut):,} of {len(text):,} "
                        "characters) for search by meaning")
    allowed = allowed_rows(memos, table, filters) if filters is not None else None
    found = []
    for row, similarity in table.nearest(model.embed_query(cut), k, allowed):
        docnum = row_docnum(memos, table, row)
        if docnum is not None:  # a segment the index no longer holds (the store catches up at the next ingest)
            found.append((docnum, similarity))
    return found, warnings


def meaning_hits(maker: HitMaker, found: list[tuple[int, float]]) -> list[Hit]:
    hits = []
    for docnum, similarity in found:
        hit = maker.hit(docnum, similarity)
        hit.similarity = similarity
        hits.append(hit)
    return hits


def fuse(word_hits: list[Hit], found: list[Hit], limit: int) -> list[Hit]:
    """One list from the word hits (in the word side's order) and the meaning hits (by similarity).

    A hit holding at least half of the query's words (exactly or approximately) is a word hit: these
    come first, in the order of word search (every word exactly, then every word with some approximate,
    then by words held and held exactly), so that a query whose words were said ranks as with
    ``match="words"``. Every other hit (fewer words, or meaning alone) follows, in the order of meaning.
    Within each class a suspect segment comes after the clean ones (issue 23).

    Why not reciprocal rank fusion over all hits (the first version): on the degraded copies a
    paraphrase shares a word or two, often approximately, with many segments (« pousser » ≈ « pour »),
    and their word-side share pushed the moment meant out of the top 5; and for two-word queries the
    meaning side pushed word hits down. Measured in benchmarks/results/meaning.md ("Fusion").
    """
    by_key, word_rank, meaning_rank = merge(word_hits, found)

    def order(key):
        hit = by_key[key]
        if holds_words(hit):
            return (0, word_class(hit), hit.suspect, word_rank.get(key, len(word_hits) + meaning_rank.get(key, 0)))
        return (1, (), hit.suspect, meaning_rank.get(key, len(found) + word_rank.get(key, 0)))

    return [by_key[k] for k in sorted(by_key, key=order)[:limit]]


def merge(word_hits: list[Hit], found: list[Hit]) -> tuple[dict[Key, Hit], dict[Key, int], dict[Key, int]]:
    """Each segment once (a word hit found by meaning too gets its similarity; a hit meaning alone found
    says so in ``matched``), with its rank on each side that found it."""
    by_key: dict[Key, Hit] = {}
    word_rank: dict[Key, int] = {}
    meaning_rank: dict[Key, int] = {}
    for rank, hit in enumerate(word_hits):
        key = (hit.episode, hit.segment_id)
        by_key[key], word_rank[key] = hit, rank
    for rank, hit in enumerate(found):
        key = (hit.episode, hit.segment_id)
        meaning_rank[key] = rank
        if key in by_key:
            by_key[key].similarity = hit.similarity
        else:
            if not hit.matched:
                hit.matched = {w: BY_MEANING for w in hit.query_words} or {MEANING: BY_MEANING}
                hit.spans, hit.snippet = (), _plain_snippet(hit)
            by_key[key] = hit
    return by_key, word_rank, meaning_rank


def holds_words(hit: Hit) -> bool:
    """At least half of the query's words are in the hit (exactly or approximately): word evidence. Half,
    so that one word of a two-word query counts (a misheard other word) and one or two words of a
    paraphrase of five words or more do not."""
    words = hit.query_words
    held = sum(1 for w in words if hit.matched.get(w) not in (None, BY_MEANING))
    return bool(words) and 2 * held >= len(words)


def match_class(hit: Hit) -> int:
    """0: every query word found as it is; 1: every word found, some approximately; 2: the rest
    (some words, or only the meaning)."""
    words = hit.query_words
    if words and all(hit.matched.get(w) == EXACT for w in words):
        return 0
    if words and all(hit.matched.get(w) not in (None, BY_MEANING) for w in words):
        return 1
    return 2


def word_class(hit: Hit) -> tuple:
    """The order of word search: every word exactly; then by words held, then by words held exactly."""
    if match_class(hit) == 0 or not hit.query_words:
        return (0,)
    exact = sum(1 for v in hit.matched.values() if v == EXACT)
    return (1, -len([v for v in hit.matched.values() if v != BY_MEANING]), -exact)


def _plain_snippet(hit: Hit) -> str:
    import html

    return html.escape(hit.text)


def similar(index, layout: ArchiveLayout, episode: str, start: float, end: float,
            options: SearchOptions | None = None) -> Hits:
    """Segments of the archive nearest in meaning to the moment ``episode`` [start, end] (its segments'
    vectors averaged), never that moment itself: its own segments are left out. Filters as for search."""
    from .query import filter_query

    options = options or SearchOptions(limit=10)
    table = load_table(layout.embeddings_dir)
    rows = table.rows_overlapping(episode, float(start), float(end if end is not None else start))
    if not len(rows):
        raise QueryError(f"no segment of {episode!r} at {hms(start)}–{hms(end or start)} in the embedding "
                         "store (is the episode ingested?)")
    query = np.mean([table.vector(r) for r in rows], axis=0)
    memos = index.memos()
    filters = filter_query(memos.searcher.schema, options)
    allowed = allowed_rows(memos, table, filters) if filters is not None else None
    leave_out = set(int(r) for r in rows)
    maker = HitMaker(memos, frozenset(), [], layout, SimilarMoments(index, layout))
    hits = []
    pool = table.nearest(query, 3 * options.limit + len(leave_out), allowed)
    for row, similarity in pool:
        if row in leave_out:
            continue
        docnum = row_docnum(memos, table, row)
        if docnum is None:
            continue
        hit = maker.hit(docnum, similarity)
        hit.similarity, hit.matched = similarity, {MEANING: BY_MEANING}
        if not (options.exclude_suspect and hit.suspect):
            hits.append(hit)
    hits.sort(key=lambda h: (h.suspect, -h.similarity))
    return Hits(hits[:options.limit], query=f"like {episode} {hms(start)}–{hms(end or start)}")


@dataclass(frozen=True)
class SimilarMoments:
    """What a hit's ``similar()`` calls (:class:`~indexer.search.hits.MomentsLike`): :func:`similar` in the
    index and archive of the search that made the hit."""

    index: object          # TranscriptIndex: its searcher follows the index on disk
    layout: ArchiveLayout

    def __call__(self, episode: str, start: float, end: float, options: SearchOptions) -> Hits:
        return similar(self.index, self.layout, episode, start, end, options)
