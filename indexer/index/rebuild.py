"""A rebuild: the new index is written in a folder beside the old one, then swapped in.

The old index stays searchable (and untouched if the rebuild fails) until the
swap. What a killed rebuild leaves is cleaned by :mod:`indexer.index.recovery`.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterable

from whoosh import index as whoosh_index

from ..progress import progress_bar
from .meta import write_meta
from .schema import IndexEntry, build_schema, common_terms, episode_documents
from .writing import IndexOptions, open_writer

log = logging.getLogger("indexer")

# Beside the index during a rebuild: the new index, then (for the swap) the old
# one; "<prefix><pid>-<random>", the same suffix for both folders of one rebuild.
REBUILD_PREFIX = ".index-rebuild-"
OLD_PREFIX = ".index-old-"


def write_beside(index_dir: Path, entries: Iterable[IndexEntry], options: IndexOptions,
                 progress: bool) -> tuple[Path, str, int]:
    """Write the index of ``entries`` in a new folder beside ``index_dir``.

    Returns the folder, the build id written in its meta file, and the number of
    segments indexed. On failure the folder is removed.
    """
    parent = index_dir.parent
    entries = iter(entries)
    sample, sampled = [], 0
    for entry in entries:
        sample.append(entry)
        sampled += len(entry.transcript.segments)
        if sampled >= options.sample_segments:
            break
    common = common_terms(s.text for entry in sample for s in entry.transcript.segments)
    entries = itertools.chain(sample, entries)
    tmp = parent / f"{REBUILD_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        ix = whoosh_index.create_in(str(tmp), build_schema(common))
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
        build = write_meta(tmp)
        log.info("indexed %d segments (%d frequent words for phrase pairs)", count, len(common))
        ix.close()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp, build, count


def swap_in(index_dir: Path, new_dir: Path) -> None:
    """Put the index written in ``new_dir`` in place of ``index_dir`` (two renames), then remove the old one."""
    old = None
    if index_dir.exists():
        old = index_dir.parent / (OLD_PREFIX + new_dir.name.removeprefix(REBUILD_PREFIX))
        index_dir.rename(old)
    new_dir.rename(index_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
