"""Issue 25: editors and the index share one lock discipline. Two editors correcting one segment at once
leave the later correction in the index; a correction refused because another process writes the index
is not stored, so trying again never stores it twice.

No sleeps decide anything here: the first editor is held by an event at a known point, and let go when
the second one has finished or waits for the edit lock (seen in /proc/locks). Red before the fix: the
index kept the older text; a LockError came after the correction was stored.
"""

from __future__ import annotations

import threading
import time

import pytest
from whoosh import index as whoosh_index

from hardening_support import HANG_GUARD, blocked_on_lock, fake_archive, ingest
from indexer import Archive
from indexer.corrections import actions
from indexer.errors import LockError
from indexer.index import IndexOptions


@pytest.fixture
def archive(tmp_path):
    root = fake_archive(tmp_path / "archive", {"a.wav": 3.0, "b.wav": 4.5})
    assert not ingest(root).failed
    return Archive(root)


def test_two_editors_at_once_leave_the_later_correction_in_the_index(archive, monkeypatch):
    first_has_read, let_first_go, second_done = threading.Event(), threading.Event(), threading.Event()
    real = actions.effective_episode
    calls = {"first": 0}

    def effective_episode(*args, **kwargs):
        found = real(*args, **kwargs)
        if threading.current_thread().name == "first":
            calls["first"] += 1
            if calls["first"] == 2:   # the episode as shown with its correction, about to be indexed
                first_has_read.set()
                assert let_first_go.wait(HANG_GUARD)
        return found

    monkeypatch.setattr(actions, "effective_episode", effective_episode)
    errors = []

    def correct(text, done=None):
        try:
            Archive(archive.root).correct("a", 0, text, author=threading.current_thread().name)
        except Exception as e:  # reported by the test below
            errors.append(e)
        finally:
            if done is not None:
                done.set()

    first = threading.Thread(target=correct, args=("la girafe du premier éditeur",), name="first")
    first.start()
    assert first_has_read.wait(HANG_GUARD)
    second = threading.Thread(target=correct, args=("le zèbre du second éditeur", second_done), name="second")
    second.start()
    deadline = time.monotonic() + HANG_GUARD
    while not (second_done.is_set() or blocked_on_lock(archive.layout.state_dir / "edit.lock")):
        assert time.monotonic() < deadline, "the second editor neither finished nor waited for the edit lock"
        time.sleep(0.01)
    let_first_go.set()
    first.join(HANG_GUARD)
    second.join(HANG_GUARD)
    assert not errors, errors
    assert [c.who for c in archive.corrections("a")] == ["first", "second"]
    fresh = Archive(archive.root)
    assert [h.episode for h in fresh.search("zèbre", match="words")] == ["a"]
    assert fresh.search("girafe", match="words") == []


def test_a_correction_refused_by_a_busy_index_is_not_stored(archive):
    ix = whoosh_index.open_dir(str(archive.layout.index_dir))
    writer = ix.writer()   # another process writing the index, as far as Whoosh's lock can tell
    try:
        editor = Archive(archive.root, IndexOptions(lock_timeout=0))
        with pytest.raises(LockError, match="retry"):
            editor.correct("a", 0, "une correction qui attend")
        assert editor.corrections("a") == []
    finally:
        writer.cancel()
    editor.correct("a", 0, "une correction qui attend")   # the retry the message asks for
    assert len(editor.corrections("a")) == 1
    assert [h.episode for h in Archive(archive.root).search("attend", match="words")] == ["a"]
