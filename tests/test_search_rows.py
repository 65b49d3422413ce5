"""Store rows and index documents, one from the other (indexer.search.rows): by position where the two are
in step, by segment id where they are not (an index rebuilt by several writers, a store out of step)."""

import numpy as np
from whoosh import query as wq

from indexer.embeddings import EmbeddingStore, load_table
from indexer.search.rows import allowed_rows, in_step, row_docnum


def truth(memos, table):
    """Each row's document, found the slow way (every document of the episode read)."""
    return [memos.docnum_of(table.episode_of(r), int(table.segments[r])) for r in range(len(table))]


def test_rows_in_step_map_to_their_documents_by_position(meaning_archive):
    table, memos = load_table(meaning_archive.layout.embeddings_dir), meaning_archive.index.memos()
    assert all(in_step(memos, table, e) for e in table.episodes)
    assert [row_docnum(memos, table, r) for r in range(len(table))] == truth(memos, table)


def test_rows_out_of_step_map_by_segment_id(meaning_archive):
    store = EmbeddingStore.open(meaning_archive.layout.embeddings_dir)
    shard = store.load_episode("2013/entretien")
    order = np.arange(len(shard.segments))[::-1]  # the store's rows in another order than the documents
    for name in ("segments", "starts", "ends", "digests", "vectors", "scales"):
        setattr(shard, name, getattr(shard, name)[order])
    store.put_episode("2013/entretien", shard, "reordered")  # a new store version: the table is loaded again

    table, memos = load_table(meaning_archive.layout.embeddings_dir), meaning_archive.index.memos()
    assert not in_step(memos, table, "2013/entretien") and in_step(memos, table, "2011/debat")
    assert [row_docnum(memos, table, r) for r in range(len(table))] == truth(memos, table)
    for filters in (wq.Term("episode", "2013/entretien"), wq.Term("flags", "suspect"), wq.Term("episode", "nope")):
        allowed = memos.filter_docs(filters)
        expected = sorted(r for r, d in enumerate(truth(memos, table)) if d in allowed)
        assert allowed_rows(memos, table, filters).tolist() == expected
    hits = meaning_archive.search("censure", match="meaning", date="2013")
    assert [(h.episode, h.segment_id) for h in hits][:2] in ([("2013/entretien", 1), ("2013/entretien", 2)],
                                                           [("2013/entretien", 2), ("2013/entretien", 1)])
