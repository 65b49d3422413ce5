"""What keeps a run safe from others and from signals: the writer lock, and Ctrl-C/SIGTERM held off while saving."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

from ..locks import WriterLock

log = logging.getLogger("indexer")


# The archive's writer lock (one ingest or rebuild at a time), under the name it had before it was
# shared with reindex and the other derived stores (see indexer.locks).
IngestLock = WriterLock


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
