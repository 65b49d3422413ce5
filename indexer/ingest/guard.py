"""What keeps a run safe from others and from signals: the ingest lock, and Ctrl-C/SIGTERM held off while saving."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
import time
from pathlib import Path

from ..files import pid_alive
from ..errors import LockError

log = logging.getLogger("indexer")


class IngestLock:
    """One ingest per archive. The OS frees a flock when its owner dies, so a
    killed run never blocks the next; the pid written inside says who held it."""

    def __init__(self, path: Path, wait: float = 0.0, archive_root: Path | None = None):
        self.path = path
        self.archive_root = archive_root or path.parent  # named in the error
        self.wait = wait
        self.fd: int | None = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        announced = False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "?"
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    self.fd = None
                    raise LockError(f"another ingest (pid {holder}) is running on this archive",
                                    self.archive_root, "wait for it to finish, or pass --wait SECONDS")
                if not announced:
                    log.info("another ingest (pid %s) is running on this archive; waiting up to %.0f s",
                             holder, self.wait)
                    announced = True
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        previous = os.pread(self.fd, 64, 0).decode(errors="replace").strip()
        if previous.isdigit() and int(previous) != os.getpid() and not pid_alive(int(previous)):
            log.warning("an earlier ingest (pid %s) was killed; its finished work is kept and the rest "
                        "is redone now", previous)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    @staticmethod
    def holder(path: Path) -> int | None:
        """Pid of the ingest holding the lock now, None if it is free."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None
        except BlockingIOError:
            text = os.pread(fd, 64, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        finally:
            os.close(fd)


class Interrupts:
    """Ctrl-C (SIGINT) and SIGTERM stop the run, but never inside ``shield()``:
    what is being saved there (a transcript and its index entry) is finished
    first. A second signal inside a shield stops at once."""

    def __init__(self):
        self.depth = 0
        self.pending = False
        self._saved: dict[int, object] = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()

    def _handle(self, signum, frame):
        if self.depth and not self.pending:
            self.pending = True
            log.warning("stopping once the episode being saved is complete")
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def shield(self):
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth and self.pending:
                self.pending = False
                raise KeyboardInterrupt
