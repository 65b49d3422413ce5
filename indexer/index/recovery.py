"""Cleaning what a killed commit or a killed rebuild leaves, and discarding an unreadable index."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from ..errors import LockError
from ..stores import recover_rebuilds
from .meta import has_current_schema, index_exists
from .whoosh_internals import INDEX_NAME, WRITE_LOCK

log = logging.getLogger("indexer")

_TOC_TEMP = re.compile(rf"^_{INDEX_NAME}_\d+\.toc\.[0-9.]+$")


def recover_index(index_dir: Path) -> int:
    """Clean what a killed Whoosh commit or a killed rebuild leaves behind.

    Whoosh's write lock is a flock, freed by the kernel when its owner dies, so
    the index never stays locked. A killed commit leaves the previous TOC in
    force (the new one is written to a temporary name, then renamed), plus the
    temporary TOC, the writer's ``MAIN.tmp`` folder and segment files no TOC
    names; the next commit removes only the last. These are removed while
    holding the write lock, so no live writer's files are touched.

    A killed rebuild leaves its folders beside the index (see
    :func:`_recover_rebuilds`). Returns the number of files and folders removed.
    """
    removed = _recover_rebuilds(index_dir)
    if not index_dir.is_dir():
        return removed
    with _write_locked(index_dir) as storage:
        if storage is None:
            return removed  # a live writer: its files are not leftovers
        count = 0
        for path in index_dir.iterdir():
            if _TOC_TEMP.match(path.name):
                path.unlink()
                count += 1
            elif path.is_dir() and path.name.endswith(".tmp"):
                shutil.rmtree(path, ignore_errors=True)
                count += 1
        toc = None
        if index_exists(index_dir):
            with contextlib.suppress(Exception):  # damaged: TranscriptIndex.open says so, ingest rebuilds it
                toc = whoosh_index.TOC.read(storage, INDEX_NAME)
        if toc is not None:
            before = set(os.listdir(index_dir))
            whoosh_index.clean_files(storage, INDEX_NAME, toc.generation, toc.segments)
            count += len(before - set(os.listdir(index_dir)))
        if count:
            log.warning("index: removed %d file(s) of a commit that was interrupted (the index holds its "
                        "last complete commit; what it missed is indexed now)", count)
        return removed + count


def _recover_rebuilds(index_dir: Path) -> int:
    """Remove the folders of killed rebuilds (:func:`indexer.stores.recover_rebuilds`): a folder is busy
    while a writer (or a process it forked) holds Whoosh's write lock there."""
    def busy(folder: Path) -> bool:
        with _write_locked(folder) as storage:
            return storage is None

    return recover_rebuilds(index_dir, has_current_schema, busy)


def discard_index(index_dir: Path) -> None:
    """Remove an unreadable index (rebuilt from the transcripts, the source of truth)."""
    with _write_locked(index_dir) as storage:
        if storage is None:
            raise LockError("another process is writing the index", index_dir, "wait for it to finish, then retry")
        for path in index_dir.iterdir():
            if path.name == WRITE_LOCK:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


@contextlib.contextmanager
def _write_locked(folder: Path):
    """Whoosh's write lock on the index in ``folder`` if it is free: yields its storage, else None."""
    storage = FileStorage(str(folder))
    lock = storage.lock(WRITE_LOCK)
    if not lock.acquire(False):
        yield None
        return
    try:
        yield storage
    finally:
        lock.release()
