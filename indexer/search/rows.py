"""The embedding store's rows and the index's documents, one from the other.

Search by meaning finds rows of the store (an episode and a segment); hits are
index documents. Reading the stored fields of every document of an episode to
find one segment cost 322 ms of CPU for 40 episodes at 1,000 hours
(``benchmarks/meaning.py --scale-hours``). But an episode's segments are
written to the index in transcript order, as the store's rows are, so the
episode's p-th document (from the postings: no stored field read) is its p-th
row. That is checked once per episode and searcher, at the two ends of each run
of consecutive documents (two reads for an episode written by one writer):
an index rebuilt by several writer processes interleaves chunks of documents,
and a store not yet in step with the index may differ. An episode that fails
the check is matched by segment id, reading its documents once.
"""

from __future__ import annotations

import numpy as np
from whoosh import query as wq

from ..embeddings import VectorTable
from ..index.memos import SearcherMemos


def row_docnum(memos: SearcherMemos, table: VectorTable, row: int) -> int | None:
    """The index document of the store's ``row``, or None if the index does not hold that segment."""
    episode = table.episode_of(row)
    if in_step(memos, table, episode):
        return int(memos.episode_docs(episode)[row - table.episode_rows(episode).start])
    return memos.docnum_of(episode, int(table.segments[row]))


def allowed_rows(memos: SearcherMemos, table: VectorTable, filters: wq.Query) -> np.ndarray:
    """The store's rows whose documents ``filters`` allow, sorted."""
    allowed = np.fromiter(memos.filter_docs(filters), np.int64)
    allowed.sort()
    found = []
    for episode in table.episodes if len(allowed) else ():
        docs = memos.episode_docs(episode)
        if not len(docs) or docs[-1] < allowed[0] or docs[0] > allowed[-1]:
            continue
        kept = np.flatnonzero(allowed[np.minimum(np.searchsorted(allowed, docs), len(allowed) - 1)] == docs)
        if not len(kept):
            continue
        if in_step(memos, table, episode):
            found.append(table.episode_rows(episode).start + kept)
        else:
            rows = (table.row_of(episode, memos.segment_of(int(d))[1]) for d in docs[kept])
            found.append(np.array([r for r in rows if r is not None], np.int64))
    return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)


def in_step(memos: SearcherMemos, table: VectorTable, episode: str) -> bool:
    """The episode's documents, in document order, are its rows, in row order (see the module's text)."""
    key = (episode, table.stamp)
    known = memos.rows_in_step.get(key)
    if known is None:
        docs, rows = memos.episode_docs(episode), table.episode_rows(episode)
        segments = table.segments[rows]
        known = len(docs) == len(segments) and len(docs) > 0
        if known:
            breaks = np.flatnonzero(np.diff(docs) != 1)
            ends = np.unique(np.concatenate([[0, len(docs) - 1], breaks, breaks + 1]))
            known = all(memos.segment_of(int(docs[i])) == (episode, int(segments[i])) for i in ends)
        memos.rows_in_step[key] = known
    return known
