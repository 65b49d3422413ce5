"""The archive's locks: which writers may work at the same time, and how a dead writer frees its lock.

One discipline for every process that writes an archive (ingest, reindex,
watch, an editor's correction, and any derived store: the index, embeddings,
the voice library). Both locks are ``flock(2)`` locks on files of the archive
(paths in :class:`~indexer.archive.ArchiveLayout`): the kernel frees them when
their holder dies, even by SIGKILL, so no lock outlives its writer.

* **The writer lock** (:class:`WriterLock`, ``.indexer/ingest.lock``): one
  long writer at a time. ``ingest`` holds it for its whole run, ``reindex``
  (and any rebuild of a derived store, :mod:`indexer.stores`) for its whole
  rebuild. The second one waits (``wait``) or stops with a line naming the
  holder (its pid and command are written in the file).
* **The edit lock** (:func:`edit_lock`, ``.indexer/edit.lock``): short. An
  editor's change (a correction, a speaker, a name) holds it from reading the
  overlay to the commit of the episode's new documents in every derived
  store, so two editors never interleave (the index could keep the older of
  two corrections). A rebuild holds it from its catch-up (the episodes whose
  inputs changed while it was building) to its swap, so a correction saved
  during a rebuild is in the new store, never lost with the old one. Ingest
  does not need it: its index updates read the overlay anew, and an overlay
  that changed meanwhile shows as pending in ``status`` and is re-indexed by
  the next run.

Order, so that no two writers deadlock: the writer lock, then the edit lock,
then the store's own lock (Whoosh's write lock), each released in reverse.

Helper processes a writer starts (Whoosh's indexing processes, ingest's worker
pool) call :func:`die_with_parent`: when the writer dies, they die too and free
whatever they inherited (a forked helper shares its parent's flocks).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from pathlib import Path

from .errors import LockError
from .files import pid_alive

log = logging.getLogger("indexer")


def _holder_text(fd: int) -> tuple[int | None, str]:
    """(pid, command) written in a writer lock file; (None, "") if it holds none."""
    words = os.pread(fd, 128, 0).decode(errors="replace").split()
    pid = int(words[0]) if words and words[0].isdigit() else None
    return pid, words[1] if len(words) > 1 else "ingest"   # older versions wrote the pid only


def _who(pid: int | None, command: str) -> str:
    return f"{'another ingest' if command == 'ingest' else f'a {command}'} (pid {pid if pid else '?'})"


class WriterLock:
    """The archive's writer lock (see the module): one ingest or rebuild at a time.

    ``wait``: seconds to wait for the holder to finish before raising
    :class:`~indexer.errors.LockError`. ``command`` is written in the file
    with the pid, so the one that waits can say who holds it.
    """

    def __init__(self, path: Path, wait: float = 0.0, archive_root: Path | None = None, command: str = "ingest"):
        self.path = path
        self.archive_root = archive_root or path.parent  # named in the error
        self.wait = wait
        self.command = command
        self.fd: int | None = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)  # the umask decides
        deadline = time.monotonic() + self.wait
        announced = False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                who = _who(*_holder_text(self.fd))
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    self.fd = None
                    raise LockError(f"{who} is running on this archive", self.archive_root,
                                    "wait for it to finish, or pass --wait SECONDS") from None
                if not announced:
                    log.info("%s is running on this archive; waiting up to %.0f s", who, self.wait)
                    announced = True
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        previous, command = _holder_text(self.fd)
        if previous is not None and previous != os.getpid() and not pid_alive(previous):
            log.warning("an earlier %s (pid %s) was killed; its finished work is kept and the rest "
                        "is redone now", command, previous)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()} {self.command}".encode(), 0)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    @staticmethod
    def holder(path: Path) -> int | None:
        """Pid of the writer holding the lock now, None if it is free (-1: held, pid unknown)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None
        except BlockingIOError:
            pid, _ = _holder_text(fd)
            return pid if pid is not None else -1
        finally:
            os.close(fd)


def edit_lock(path: Path):
    """The archive's edit lock (see the module), waited for: it is only ever held for one episode's change."""
    return exclusive_lock(path)


@contextlib.contextmanager
def exclusive_lock(path: Path):
    """An exclusive ``flock`` on ``path`` (made with its folder if missing), waited for, for the duration of the
    ``with``; the kernel frees it if the process dies. A store's own short lock (e.g. the embedding store's)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)  # the umask decides
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def die_with_parent(parent: int, every: float = 0.5) -> None:
    """In a helper process: end it (``os._exit``) as soon as ``parent`` is gone, even if it was SIGKILLed.

    A thread watches the parent's pid rather than PR_SET_PDEATHSIG, which fires
    when the *thread* that started the helper ends, not the process.
    """
    def watch():
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
