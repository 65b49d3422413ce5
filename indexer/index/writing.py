"""The options of index writes, and the lifecycle of one Whoosh writer: commit on success, cancel on error."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index

from ..errors import LockError, writing
from .whoosh_internals import new_writer, segment_count


@dataclass(frozen=True)
class IndexOptions:
    limitmb: int = 256          # memory per writer process for sorting postings
    procs: int = 0              # rebuild writer processes; 0: 2 for a large archive, else 1
    multisegment: bool = True   # with procs>1: keep one segment per process (no final merge)
    commit_every: int = 50      # episodes per commit when updating many
    optimize_after: int = 20    # merge into one segment when there are more
    sample_segments: int = 30_000  # read to choose the frequent words at rebuild
    lock_timeout: float = 10.0  # seconds to wait for another writer


@contextmanager
def open_writer(ix, index_dir: Path, options: IndexOptions, optimize: bool = False, **writer_kwargs):
    """A Whoosh writer on ``ix`` as a context manager: commit on success, cancel on error.

    ``index_dir`` is the archive's index folder, named by the errors (disk full,
    another writer holding the lock).
    """
    with writing(index_dir):  # disk full or read-only: one line, the last commit stays in force
        try:
            writer = new_writer(ix, timeout=options.lock_timeout, **writer_kwargs)
        except whoosh_index.LockError as e:
            raise LockError("another process is writing the index", index_dir,
                            "wait for it to finish, then retry") from e
        try:
            yield writer
        except BaseException:
            writer.cancel()
            raise
        if optimize or segment_count(ix) >= options.optimize_after:
            writer.commit(optimize=True)
        else:
            writer.commit()
