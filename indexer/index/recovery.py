"""Cleaning what a killed commit or a killed rebuild leaves, and discarding an unreadable index."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import time
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from ..files import pid_alive
from ..errors import LockError
from .meta import has_current_schema, index_exists
from .rebuild import OLD_PREFIX, REBUILD_PREFIX
from .whoosh_internals import INDEX_NAME, WRITE_LOCK

log = logging.getLogger("indexer")

LEFTOVER_AGE = 3600.0  # s: such a folder naming no pid (older versions) is dead once untouched this long
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
    """Remove the rebuild and old-index folders of rebuilds that were killed.

    Only folders whose rebuild is over: its process is gone (or, for a name
    without a pid, the folder has not changed for :data:`LEFTOVER_AGE`) and no
    writer holds its lock. A rebuild killed between the two renames of the
    swap left no index at all: its new index (complete: the swap starts after
    the commit), or else the index it replaced, is put back first.
    """
    parent = index_dir.parent
    if not parent.is_dir():
        return 0
    leftovers = [p for p in parent.iterdir() if p.is_dir() and p.name.startswith((REBUILD_PREFIX, OLD_PREFIX))
                 and _abandoned(p)]
    if not index_dir.exists():
        olds = sorted((p for p in leftovers if p.name.startswith(OLD_PREFIX)),
                      key=lambda p: p.stat().st_mtime, reverse=True)
        for old in olds:
            new = parent / (REBUILD_PREFIX + old.name.removeprefix(OLD_PREFIX))
            found = new if new in leftovers else old
            if has_current_schema(found):
                try:
                    found.rename(index_dir)
                except OSError:  # an index appeared meanwhile: keep it
                    break
                leftovers.remove(found)
                log.warning("index: a rebuild was killed while swapping indexes; %s", "its new index is now "
                            "in place" if found is new else "the index it was replacing is back in place")
                break
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    if leftovers:
        log.warning("index: removed %d folder(s) left by a rebuild that was interrupted (%s)", len(leftovers),
                    ", ".join(sorted(p.name for p in leftovers)))
    return len(leftovers)


def _abandoned(folder: Path) -> bool:
    """The rebuild that made ``folder`` is over (it removes its folders itself unless killed)."""
    token = folder.name.removeprefix(REBUILD_PREFIX).removeprefix(OLD_PREFIX)
    pid, dash, _ = token.partition("-")
    try:
        if dash and pid.isdigit():
            if int(pid) == os.getpid() or pid_alive(int(pid)):
                return False
        elif time.time() - folder.stat().st_mtime < LEFTOVER_AGE:
            return False
        with _write_locked(folder) as storage:
            if storage is None:
                return False  # a writer (or a process it forked) still works there
    except OSError:
        return False
    return True


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
