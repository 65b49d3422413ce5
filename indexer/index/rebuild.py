"""A rebuild: the new index is written in a folder beside the old one (:class:`indexer.stores.Rebuild`), then
swapped in.

The old index stays searchable (and untouched if the rebuild fails) until the
swap. What a killed rebuild leaves is cleaned by :mod:`indexer.index.recovery`.
"""

from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path
from typing import Iterable

from whoosh import index as whoosh_index

from ..progress import progress_bar
from .meta import write_meta
from .schema import IndexEntry, build_schema, common_terms, episode_documents
from .writing import IndexOptions, open_writer

log = logging.getLogger("indexer")


def write_index(folder: Path, entries: Iterable[IndexEntry], options: IndexOptions, progress: bool,
                index_dir: Path) -> tuple[str, int]:
    """Write the index of ``entries`` in the empty folder ``folder`` (a :class:`~indexer.stores.Rebuild`'s).

    Returns the build id written in its meta file and the number of segments
    indexed. ``index_dir`` is the archive's index folder, named by errors.
    """
    entries = iter(entries)
    sample, sampled = [], 0
    for entry in entries:
        sample.append(entry)
        sampled += len(entry.transcript.segments)
        if sampled >= options.sample_segments:
            break
    common = common_terms(s.text for entry in sample for s in entry.transcript.segments)
    entries = itertools.chain(sample, entries)
    ix = whoosh_index.create_in(str(folder), build_schema(common))
    kwargs = {"limitmb": options.limitmb}
    # Whoosh's multiprocessing writer pays off past the sample size (memory:
    # about limitmb x 2 per process).
    procs = options.procs or (min(2, os.cpu_count() or 1) if sampled >= options.sample_segments else 1)
    multisegment = procs > 1 and options.multisegment
    if procs > 1:
        kwargs.update(procs=procs, multisegment=multisegment)
    count = 0
    bar = progress_bar(None, "reindex", "episode", progress)
    try:
        with open_writer(ix, index_dir, options, optimize=not multisegment, **kwargs) as writer:
            for entry in entries:
                for doc in episode_documents(entry):
                    writer.add_document(**doc)
                count += len(entry.transcript.segments)
                bar.update(1)
    finally:
        bar.close()
    build = write_meta(folder)
    log.info("indexed %d segments (%d frequent words for phrase pairs)", count, len(common))
    ix.close()
    return build, count
