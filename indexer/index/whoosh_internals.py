"""The private Whoosh internals the index relies on, each with the reason; nothing else touches them.

Checked against whoosh-reloaded 2.7.5 by tests/test_index_whoosh_internals.py, which
fails when a library update moves or changes one of them.
"""

from __future__ import annotations

import os

from whoosh import index as whoosh_index
from whoosh.multiproc import MpWriter, SubWriterTask

from ..locks import die_with_parent

# The name of the index inside its folder (files ``_MAIN_<generation>.toc``,
# ``MAIN_<id>.seg``…): create_in/open_dir default to it, Whoosh keeps it private.
# Used to find and read TOC files without opening the index (opening unpickles
# the schema and raises on a damaged TOC, where we want to say what to do).
INDEX_NAME = whoosh_index._DEF_INDEX_NAME

# The lock file that recovery and discard_index take to be sure no writer is at
# work: the one Whoosh's writers hold, ``FileIndex.lock("WRITELOCK")``, which is
# the file ``<INDEX_NAME>_WRITELOCK`` (until issue 13 we locked a plain
# ``WRITELOCK`` file that no writer takes, and never saw a live writer).
WRITE_LOCK = f"{INDEX_NAME}_WRITELOCK"


def segment_count(ix) -> int:
    """Number of segments in the index's latest TOC (to decide when a commit merges them).

    ``FileIndex._segments()`` reads the TOC only. The public road,
    ``len(ix.reader().leaf_readers())``, opens a reader on every segment: 0.13 ms
    against 3.6–5.1 ms on a one-segment index of 24,040 documents, at every commit.
    """
    return len(ix._segments())


def one_byte_lengths(reader, fieldname: str) -> bytes | None:
    """The stored length of ``fieldname`` in each document of one segment, one byte each (Whoosh's encoding).

    None when the segment has no length column for the field, or it is not a
    one-byte column. Decode with ``whoosh.util.numeric.byte_to_length``. The
    public ``reader.doc_field_length(docnum, fieldname)`` gives the same values
    through four Python calls per document; :class:`indexer.index.scoring.FastBM25F`
    needs them all at once as a list: 0.2 ms against 44–58 ms through that call
    for the 24,040 segments of 40 synthetic hours (benchmarks/search.py's
    corpus), paid by the first query on each field after each commit.

    Private: the codec's per-document reader (``SegmentReader._perdoc``), its
    column cache, whoosh3's column name for lengths, and the column reader's
    file, offset and width. Raises AttributeError, ImportError or TypeError if
    these changed.
    """
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

    column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is None or column._fixedlen != 1:
        return None
    return column._dbfile.get(column._basepos, column._count)


def expanded_terms(q, reader):
    """The index terms a Wildcard or Prefix query stands for, one at a time (bytes or str).

    ``MultiTerm._btexts(reader)`` is the generator Whoosh's own expansion uses;
    the public road, ``q.simplify(reader)``, builds the whole Or of every
    matching term first, where a wildcard is refused past 256 terms (``a*``
    matched 400 in the hostile-query tests, and Whoosh would score them all:
    78 s on a 10,000-segment archive).
    """
    return q._btexts(reader)



class _BoundTask(SubWriterTask):
    """One of Whoosh's indexing helpers, that ends as soon as the writer that forked it is gone."""

    def __init__(self, *args):
        super().__init__(*args)
        self.writer_pid = os.getpid()

    def run(self):
        die_with_parent(self.writer_pid)
        super().run()


class _BoundMpWriter(MpWriter):
    def _new_task(self):  # whoosh-reloaded 2.7.5's, with _BoundTask
        task = _BoundTask(self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs,
                          self.multisegment)
        self.tasks.append(task)
        task.start()
        return task


def new_writer(ix, procs: int = 1, **kwargs):
    """``ix.writer(procs=procs, **kwargs)``, whose helper processes (``procs`` > 1) die with this one.

    Whoosh's multiprocessing writer forks its helpers (they inherit every flock
    of the writer: the archive's writer lock, the index's write lock) and feeds
    them through a queue; if the writer is SIGKILLed they wait on that queue
    forever, holding the locks and the rebuild folder (issue 25: two processes
    of 265 MB each). Private: ``MpWriter._new_task`` and the arguments of
    ``SubWriterTask``, to start a helper that watches its writer.
    """
    if procs <= 1:
        return ix.writer(**kwargs)
    return _BoundMpWriter(ix, procs=procs, **kwargs)
