"""The private Whoosh internals of indexer/index/whoosh_internals.py, on a real small index.

These fail when a Whoosh update moves or changes what the adapter reads; the
index would otherwise fall back silently (slower scoring) or break at commit.
"""

import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.util.numeric import byte_to_length

from helpers.archives import search_transcript
from indexer.index import FastBM25F, IndexEntry, IndexOptions, TranscriptIndex
from indexer.index.whoosh_internals import INDEX_NAME, WRITE_LOCK, expanded_terms, one_byte_lengths, segment_count


def small_index(tmp_path, episodes=3):
    """An index with one segment per episode (each update commits one, no merge)."""
    index = TranscriptIndex.open(tmp_path / "index", IndexOptions(optimize_after=100))
    for i in range(episodes):
        rows = [(k, k + 1, "les réseaux sociaux" + " et les communautés" * k, None, []) for k in range(4)]
        index.update_episode(IndexEntry(search_transcript(f"ep{i}", rows)))
    return index


def leaf_readers(searcher):
    return [reader for reader, _ in searcher.reader().leaf_readers()]


def test_index_name_names_the_toc_files(tmp_path):
    index = small_index(tmp_path, episodes=1)
    assert index._ix.indexname == INDEX_NAME
    assert list(index.index_dir.glob(f"_{INDEX_NAME}_*.toc"))


def test_segment_count_counts_the_segments_of_the_latest_toc(tmp_path):
    index = small_index(tmp_path)
    count = segment_count(index._ix)
    assert isinstance(count, int) and count == len(leaf_readers(index.searcher())) > 1
    index.optimize()
    assert segment_count(index._ix) == 1


def test_one_byte_lengths_are_the_stored_field_lengths(tmp_path):
    index = small_index(tmp_path)
    for reader in leaf_readers(index.searcher()):
        raw = one_byte_lengths(reader, "text")
        assert isinstance(raw, bytes) and len(raw) == reader.doc_count_all()
        stored = [reader.doc_field_length(n, "text") for n in range(reader.doc_count_all())]
        assert [byte_to_length(b) if b else None for b in raw] == stored
        assert any(stored)
        assert one_byte_lengths(reader, "no_such_field") is None


def test_fast_bm25f_reads_the_lengths_through_the_adapter(tmp_path):
    index = small_index(tmp_path)
    searcher = index.searcher()
    weighting = searcher.weighting
    assert isinstance(weighting, FastBM25F)
    for leaf, _ in searcher.leaf_searchers():
        scorer = weighting.scorer(leaf, "text", "reseau")
        assert isinstance(getattr(scorer.dfl, "__self__", None), list)  # not Whoosh's own per-document lookup
        assert weighting.lengths.get(leaf.reader(), "text") is weighting.lengths.get(leaf.reader(), "text")


def test_expanded_terms_are_the_index_terms_of_a_wildcard_one_at_a_time(tmp_path):
    from whoosh import query as wq

    reader = small_index(tmp_path, episodes=1).searcher().reader()
    def texts(terms):
        return sorted(t.decode() if isinstance(t, bytes) else t for t in terms)

    terms = expanded_terms(wq.Prefix("text", "comun"), reader)  # « communautés » is stemmed « comunaut »
    assert iter(terms) is terms  # a generator: a broad wildcard is refused before all are listed
    assert texts(terms) == ["comunaut"]
    assert texts(expanded_terms(wq.Wildcard("text", "r*u"), reader)) == ["reseau"]


def test_write_lock_is_the_lock_whoosh_writers_hold(tmp_path):
    index = small_index(tmp_path, episodes=1)
    writer = index._ix.writer()
    lock = FileStorage(str(index.index_dir)).lock(WRITE_LOCK)
    try:
        free = lock.acquire(False)
        if free:
            lock.release()
        assert not free  # a live writer holds it
    finally:
        writer.cancel()
