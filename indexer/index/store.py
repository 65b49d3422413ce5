"""``TranscriptIndex``: one archive's Whoosh index, opened, searched, updated and rebuilt."""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from whoosh import fields, index as whoosh_index

from ..archive import EpisodeMeta
from ..errors import IndexCorruptError, IndexSchemaError, LockError, writing
from ..progress import progress_bar
from ..transcript import Transcript
from .meta import REINDEX_HINT, _read_meta, _write_meta, index_exists
from .schema import SCHEMA_VERSION, build_schema, common_terms, episode_documents
from .scoring import FastBM25F

log = logging.getLogger("indexer")

CORRUPT_HINT = "the transcripts are intact: `indexer ingest ARCHIVE` or `indexer reindex ARCHIVE` rebuilds it"
NO_INDEX_MESSAGE = "no index yet: run `indexer ingest ARCHIVE` or `indexer reindex`"
# Beside the index during a rebuild: the new index, then (for the swap) the old
# one; "<prefix><pid>-<random>", the same suffix for both folders of one rebuild.
REBUILD_PREFIX = ".index-rebuild-"
OLD_PREFIX = ".index-old-"


@dataclass(frozen=True)
class IndexOptions:
    limitmb: int = 256          # memory per writer process for sorting postings
    procs: int = 0              # rebuild writer processes; 0: 2 for a large archive, else 1
    multisegment: bool = True   # with procs>1: keep one segment per process (no final merge)
    commit_every: int = 50      # episodes per commit when updating many
    optimize_after: int = 20    # merge into one segment when there are more
    sample_segments: int = 30_000  # read to choose the frequent words at rebuild
    lock_timeout: float = 10.0  # seconds to wait for another writer


class TranscriptIndex:
    """One archive's Whoosh index. Writers are opened per call and always closed."""

    def __init__(self, index_dir: Path, ix, build: str, options: IndexOptions):
        self.index_dir = index_dir
        self.options = options
        self._ix = ix
        self._build = build
        self._searcher = None

    # -- opening ---------------------------------------------------------------

    @classmethod
    def open(cls, index_dir: str | Path, options: IndexOptions | None = None,
             create: bool = True) -> "TranscriptIndex":
        """Open the index, making an empty one if there is none (unless not ``create``).

        Raises IndexSchemaError if there is no index and not ``create`` (with
        :data:`NO_INDEX_MESSAGE`), or if it was written with another
        :data:`SCHEMA_VERSION`.
        """
        index_dir = Path(index_dir)
        options = options or IndexOptions()
        if not index_exists(index_dir):
            if not create:
                raise IndexSchemaError(NO_INDEX_MESSAGE, index_dir)
            index_dir.mkdir(parents=True, exist_ok=True)
            ix = whoosh_index.create_in(str(index_dir), build_schema())
            return cls(index_dir, ix, _write_meta(index_dir), options)
        meta = _read_meta(index_dir)
        version = (meta or {}).get("schema_version")
        if version != SCHEMA_VERSION:
            raise IndexSchemaError(
                f"index has schema version {version}, this indexer needs {SCHEMA_VERSION}",
                index_dir, REINDEX_HINT,
            )
        index = cls(index_dir, None, meta.get("build", ""), options)
        try:
            index._ix = whoosh_index.open_dir(str(index_dir))
            # Open every segment now: a truncated segment file fails here, in one
            # place, not as an EOFError in the middle of a search.
            index._searcher = index._ix.searcher(weighting=FastBM25F())
        except Exception as e:  # unpickling a schema whose classes changed, truncated TOC or segment
            raise IndexCorruptError(f"index unreadable ({type(e).__name__}: {str(e)[:160]})", index_dir,
                                    CORRUPT_HINT) from e
        return index

    @property
    def schema(self) -> fields.Schema:
        return self._ix.schema

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    # -- reading ---------------------------------------------------------------

    def searcher(self):
        """A cached searcher, refreshed only when the index changed on disk."""
        meta = _read_meta(self.index_dir)
        if meta is None and self._searcher is not None:
            return self._searcher  # another process is swapping a rebuilt index in
        meta = meta or {}
        if meta.get("build") != self._build:
            # Rebuilt (by another process or object): the directory holds a new index.
            self.close()
            self._ix = whoosh_index.open_dir(str(self.index_dir))
            self._build = meta.get("build", "")
        if self._searcher is not None and not self._searcher.up_to_date():
            # Not Searcher.refresh(): whoosh-reloaded 2.7.5 reuses readers by
            # segment id, keeping segments merged away and missing new deletions
            # (test_searcher_is_cached_and_refreshed_when_the_index_changes).
            self._searcher.close()
            self._searcher = None
        if self._searcher is None:
            self._searcher = self._ix.searcher(weighting=FastBM25F())
        return self._searcher

    def episode_ids(self) -> list[str]:
        s = self.searcher()
        return sorted(s.stored_fields(n)["episode_doc"] for n in s.document_numbers(kind="episode"))

    def doc_count(self) -> int:
        """Number of (live) segment documents."""
        s = self.searcher()
        return s.doc_count() - sum(1 for _ in s.document_numbers(kind="episode"))

    def episode_doc_count(self, episode_id: str) -> int:
        s = self.searcher()
        return sum(1 for _ in s.document_numbers(episode=episode_id))

    # -- writing ---------------------------------------------------------------

    @contextmanager
    def _writer(self, ix=None, optimize: bool = False, **writer_kwargs):
        """A Whoosh writer as a context manager: commit on success, cancel on error."""
        ix = ix or self._ix
        with writing(self.index_dir):  # disk full or read-only: one line, the last commit stays in force
            try:
                writer = ix.writer(timeout=self.options.lock_timeout, **writer_kwargs)
            except whoosh_index.LockError as e:
                raise LockError("another process is writing the index", self.index_dir,
                                "wait for it to finish, then retry") from e
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            if optimize or len(ix._segments()) >= self.options.optimize_after:
                writer.commit(optimize=True)
            else:
                writer.commit()

    def update_episode(self, transcript: Transcript, meta: EpisodeMeta | None,
                       audio_path: str | None = None) -> int:
        """Replace this episode's documents (and only these) in one commit."""
        with self._writer() as writer:
            return self._replace(writer, transcript, meta, audio_path)

    def update_episodes(self, items: Iterable[tuple[Transcript, EpisodeMeta | None]], progress: bool = False) -> int:
        """Replace many episodes, committing every ``options.commit_every`` episodes."""
        items = iter(items)
        total = 0
        bar = progress_bar(None, "index", "episode", progress)
        try:
            while True:
                batch = [item for _, item in zip(range(self.options.commit_every), items)]
                if not batch:
                    return total
                with self._writer() as writer:
                    for item in batch:
                        total += self._replace(writer, *item)
                        bar.update(1)
        finally:
            bar.close()

    def _replace(self, writer, transcript: Transcript, meta: EpisodeMeta | None,
                 audio_path: str | None = None) -> int:
        writer.delete_by_term("episode", transcript.episode_id)
        writer.delete_by_term("episode_doc", transcript.episode_id)
        count = 0
        for doc in episode_documents(transcript, meta, audio_path):
            writer.add_document(**doc)
            count += 1
        return count - 1

    def delete_episode(self, episode_id: str) -> int:
        with self._writer() as writer:
            return (writer.delete_by_term("episode", episode_id)
                    + writer.delete_by_term("episode_doc", episode_id))

    def optimize(self) -> None:
        with self._writer(optimize=True):
            pass

    @classmethod
    def build(cls, index_dir: str | Path, items: Iterable[tuple[Transcript, EpisodeMeta | None]],
              options: IndexOptions | None = None, progress: bool = True) -> "TranscriptIndex":
        """Build (or replace, whatever its schema) the index in ``index_dir``."""
        index = cls(Path(index_dir), None, "", options or IndexOptions())
        index.rebuild(items, progress=progress)
        return index

    def rebuild(self, items: Iterable[tuple[Transcript, EpisodeMeta | None]], progress: bool = True) -> int:
        """Build a new index from ``(transcript, meta)`` pairs, then swap it in.

        The new index is written beside the old one, which stays searchable
        (and untouched if this fails) until the swap. Returns the number of
        segments indexed.
        """
        parent = self.index_dir.parent
        items = iter(items)
        sample, sampled = [], 0
        for item in items:
            sample.append(item)
            sampled += len(item[0].segments)
            if sampled >= self.options.sample_segments:
                break
        common = common_terms(s.text for item in sample for s in item[0].segments)
        items = itertools.chain(sample, items)
        tmp = parent / f"{REBUILD_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            ix = whoosh_index.create_in(str(tmp), build_schema(common))
            kwargs = {"limitmb": self.options.limitmb}
            # Whoosh's multiprocessing writer pays off past the sample size (memory:
            # about limitmb x 2 per process).
            procs = self.options.procs or (min(2, os.cpu_count() or 1) if sampled >= self.options.sample_segments else 1)
            multisegment = procs > 1 and self.options.multisegment
            if procs > 1:
                kwargs.update(procs=procs, multisegment=multisegment)
            count = 0
            bar = progress_bar(None, "reindex", "episode", progress)
            try:
                with self._writer(ix, optimize=not multisegment, **kwargs) as writer:
                    for transcript, meta, *audio in items:
                        for doc in episode_documents(transcript, meta, *audio):
                            writer.add_document(**doc)
                        count += len(transcript.segments)
                        bar.update(1)
            finally:
                bar.close()
            build = _write_meta(tmp)
            log.info("indexed %d segments (%d frequent words for phrase pairs)", count, len(common))
            ix.close()
            self.close()
            self._swap_in(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._ix = whoosh_index.open_dir(str(self.index_dir))
        self._build = build
        return count

    def _swap_in(self, new_dir: Path) -> None:
        old = None
        if self.index_dir.exists():
            old = self.index_dir.parent / (OLD_PREFIX + new_dir.name.removeprefix(REBUILD_PREFIX))
            self.index_dir.rename(old)
        new_dir.rename(self.index_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
