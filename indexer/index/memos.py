"""What one Whoosh searcher has already worked out, kept by the index beside the searcher (not on it)."""

from __future__ import annotations

import numpy as np
from whoosh import query as wq


class SearcherMemos:
    """A searcher and its memos: API filters' document sets, episode documents' fields, terms by prefix.

    A Whoosh searcher reads a fixed snapshot of the index, so what it answered
    once stays true for it. :meth:`TranscriptIndex.memos <indexer.index.TranscriptIndex.memos>`
    owns one, for its current searcher: when the index changes it opens a new
    searcher, and the memos start again with it.
    """

    MAX_FILTERS = 32  # filter document sets kept; past that the cache starts again

    def __init__(self, searcher):
        self.searcher = searcher
        self.filters: dict[str, set[int]] = {}
        self.episodes: dict[str, dict] = {}
        self.terms_by_prefix: dict[tuple[str, str], list[str]] = {}
        self.segment_docs: dict[str, dict[int, int]] = {}     # episode id → segment id → docnum
        self.episode_docnums: dict[str, np.ndarray] = {}      # episode id → its segments' docnums, sorted
        self.rows_in_step: dict[tuple, bool] = {}  # (episode id, store version) → see indexer.search.rows
        self.doc_segments: dict[int, tuple[str, int]] = {}    # docnum → (episode id, segment id)

    def filter_docs(self, filters: wq.Query) -> set[int]:
        """The documents a filter allows, computed once per searcher (like Lucene's
        filter cache): researchers repeat the same speaker or period filter."""
        key = repr(filters)
        docs = self.filters.get(key)
        if docs is None:
            if len(self.filters) >= self.MAX_FILTERS:
                self.filters.clear()
            docs = self.filters[key] = set(self.searcher.docs_for_query(filters))
        return docs

    def episode_fields(self, episode_id: str) -> dict:
        """The stored fields of an episode's document ({} if it has none)."""
        found = self.episodes.get(episode_id)
        if found is None:
            searcher = self.searcher
            docnum = next(iter(searcher.document_numbers(episode_doc=episode_id)), None)
            found = self.episodes[episode_id] = searcher.stored_fields(docnum) if docnum is not None else {}
        return found

    def terms_with_prefix(self, fieldname: str, head: str) -> list[str]:
        """The terms of ``fieldname`` starting with ``head``, decoded once."""
        found = self.terms_by_prefix.get((fieldname, head))
        if found is None:
            found = self.terms_by_prefix[(fieldname, head)] = [
                t.decode("utf-8") if isinstance(t, bytes) else t
                for t in self.searcher.reader().expand_prefix(fieldname, head)]
        return found

    def episode_docs(self, episode_id: str) -> np.ndarray:
        """The documents of an episode's segments, in document order (its postings: no stored field read)."""
        docs = self.episode_docnums.get(episode_id)
        if docs is None:
            docs = np.fromiter(self.searcher.document_numbers(episode=episode_id), np.int64)
            docs.sort()
            self.episode_docnums[episode_id] = docs
        return docs

    def docnum_of(self, episode_id: str, segment: int) -> int | None:
        """The document of one segment, reading every document of its episode once (see
        :mod:`indexer.search.rows` for the fast way)."""
        docs = self.segment_docs.get(episode_id)
        if docs is None:
            docs = self.segment_docs[episode_id] = {}
            for docnum in self.searcher.document_numbers(episode=episode_id):
                docs[self.segment_of(docnum)[1]] = docnum
        return docs.get(segment)

    def segment_of(self, docnum: int) -> tuple[str, int]:
        """(episode id, segment id) of a segment document, read once."""
        found = self.doc_segments.get(docnum)
        if found is None:
            stored = self.searcher.stored_fields(docnum)
            found = self.doc_segments[docnum] = (stored.get("episode", ""), stored.get("segment", -1))
        return found
