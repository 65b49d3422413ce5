"""Search by meaning: the query's vector against every segment's, under the same filters as words;
hybrid fusion of the two ranked lists; and "more like this".

Fusion is reciprocal rank fusion (Cormack et al. 2009: ``1 / (60 + rank)`` from
each list), inside three match classes: segments holding every query word
exactly come first (a query whose words were said still ranks those moments
first), then those holding every word, some approximately (a misheard word),
then every other segment, whichever side found it. Within a class a
suspect segment comes after the clean ones (issue 23), then the fused score.

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
from .options import SearchOptions

log = logging.getLogger("indexer")

RRF_K = 60            # the constant of reciprocal rank fusion (the paper's; not tuned)
MEANING_POOL = 2      # × limit: segments asked of the meaning side


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
    allowed = None
    if filters is not None:
        rows = (table.row_of(*memos.segment_of(d)) for d in memos.filter_docs(filters))
        allowed = np.array(sorted(r for r in rows if r is not None), dtype=np.int64)
    found = []
    for row, similarity in table.nearest(model.embed_query(cut), k, allowed):
        docnum = memos.docnum_of(table.episode_of(row), int(table.segments[row]))
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
    """One list from the word hits (in their order) and the meaning hits (by similarity): by match class,
    then clean before suspect, then reciprocal rank fusion, a word hit's share weighted by the share of
    the query's words it holds (a paraphrase shares a word or two with many segments: measured on the
    paraphrase set, plain fusion let those push the moment meant out of the top 5)."""
    fused: dict[tuple[str, int], float] = {}
    by_key: dict[tuple[str, int], Hit] = {}
    for rank, hit in enumerate(word_hits):
        key = (hit.episode, hit.segment_id)
        coverage = len(hit.matched) / max(1, len(hit.query_words))
        by_key[key], fused[key] = hit, coverage / (RRF_K + rank + 1)
    for rank, hit in enumerate(found):
        key = (hit.episode, hit.segment_id)
        if key in by_key:
            by_key[key].similarity = hit.similarity
        else:
            if not hit.matched:
                hit.matched = {w: MEANING for w in hit.query_words} or {MEANING: MEANING}
                hit.spans, hit.snippet = (), _plain_snippet(hit)
            by_key[key] = hit
        fused[key] = fused.get(key, 0.0) + 1 / (RRF_K + rank + 1)
    order = sorted(by_key, key=lambda k: (match_class(by_key[k]), by_key[k].suspect, -fused[k]))
    return [by_key[k] for k in order[:limit]]


def match_class(hit: Hit) -> int:
    """0: every query word found as it is; 1: every word found, some approximately; 2: the rest
    (some words, or only the meaning)."""
    words = hit.query_words
    if words and all(hit.matched.get(w) == "exact" for w in words):
        return 0
    if words and all(hit.matched.get(w) not in (None, MEANING) for w in words):
        return 1
    return 2


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
    allowed = None
    if filters is not None:
        allowed = [table.row_of(*memos.segment_of(d)) for d in memos.filter_docs(filters)]
        allowed = np.array(sorted(r for r in allowed if r is not None), dtype=np.int64)
    leave_out = set(int(r) for r in rows)
    maker = HitMaker(memos, frozenset(), [], layout, SimilarMoments(index, layout))
    hits = []
    pool = table.nearest(query, 3 * options.limit + len(leave_out), allowed)
    for row, similarity in pool:
        if row in leave_out:
            continue
        docnum = memos.docnum_of(table.episode_of(row), int(table.segments[row]))
        if docnum is None:
            continue
        hit = maker.hit(docnum, similarity)
        hit.similarity, hit.matched = similarity, {MEANING: MEANING}
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
