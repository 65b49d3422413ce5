"""The shared rules for derived stores (indexer.stores) and locks (indexer.locks), on a store of plain files:
what the embeddings and the voice library build on. The index's use of them is tested end to end in
test_ingest_reindex.py."""

from __future__ import annotations

import pytest

from indexer.errors import LockError, StoreKeptError
from indexer.locks import WriterLock
from indexer.stores import Rebuild, RebuildCheck, recover_rebuilds


def test_a_rebuild_is_swapped_in_or_leaves_no_trace(tmp_path):
    store = tmp_path / "embeddings"
    store.mkdir()
    (store / "old").write_text("old")
    with pytest.raises(RuntimeError):
        with Rebuild(store) as rebuild:
            (rebuild.folder / "new").write_text("new")
            raise RuntimeError("killed by a bug")
    assert [p.name for p in tmp_path.iterdir()] == ["embeddings"] and (store / "old").is_file()
    with Rebuild(store) as rebuild:
        (rebuild.folder / "new").write_text("new")
        rebuild.swap_in()
    assert [p.name for p in tmp_path.iterdir()] == ["embeddings"] and [p.name for p in store.iterdir()] == ["new"]


@pytest.mark.parametrize("built, skipped, in_place, allow_empty, kept", [
    (10, (), 12, False, False),          # complete: replaced, even if smaller (episodes were removed)
    (9, ("x.json: unreadable",), 12, False, True),   # incomplete: kept
    (9, ("x.json: unreadable",), None, False, False),  # nothing usable in place: a partial store is better
    (0, (), 12, False, True),            # empty while the store is not: kept
    (0, (), 12, True, False),            # the sources are really gone: asked for
    (0, (), 0, False, False),            # empty and empty
])
def test_a_rebuilt_store_replaces_the_one_in_place_only_when_complete(tmp_path, built, skipped, in_place,
                                                                      allow_empty, kept):
    check = RebuildCheck("embeddings", tmp_path / "transcripts", built, skipped, in_place, allow_empty)
    assert (check.refusal() is not None) == kept
    if kept:
        with pytest.raises(StoreKeptError) as caught:
            check.enforce()
        assert caught.value.skipped == skipped and "kept" in caught.value.one_line()


def test_recovery_puts_back_a_store_killed_between_the_two_renames(tmp_path):
    store = tmp_path / "voices"
    old = tmp_path / ".voices-old-999999999-0badc0de"   # no such pid
    old.mkdir()
    (old / "library").write_text("voices")
    assert recover_rebuilds(store, complete=lambda folder: (folder / "library").is_file()) == 0
    assert (store / "library").read_text() == "voices" and not old.exists()


def test_the_writer_lock_names_its_holder(tmp_path):
    path = tmp_path / ".indexer" / "ingest.lock"
    with WriterLock(path, command="reindex"):
        assert WriterLock.holder(path) is not None
        with pytest.raises(LockError, match=r"a reindex \(pid \d+\) is running on this archive"):
            with WriterLock(path, command="ingest"):
                pass
    assert WriterLock.holder(path) is None
