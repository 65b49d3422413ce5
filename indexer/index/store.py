"""``TranscriptIndex``: one archive's Whoosh index, opened, searched, updated and rebuilt."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterable

from whoosh import fields, index as whoosh_index

from ..errors import IndexCorruptError, IndexSchemaError
from ..progress import progress_bar
from ..stores import Rebuild
from .meta import REINDEX_HINT, index_exists, read_meta, write_meta
from .memos import SearcherMemos
from .rebuild import write_index
from .schema import SCHEMA_VERSION, IndexEntry, build_schema, episode_documents
from .scoring import FastBM25F
from .writing import IndexOptions, open_writer

CORRUPT_HINT = ("the transcripts are intact: `indexer ingest --archive ARCHIVE` or "
                "`indexer reindex --archive ARCHIVE` rebuilds it")
NO_INDEX_MESSAGE = "no index yet: run `indexer ingest --archive ARCHIVE` or `indexer reindex`"


class TranscriptIndex:
    """One archive's Whoosh index. Writers are opened per call and always closed."""

    def __init__(self, index_dir: Path, ix, build: str, options: IndexOptions):
        self.index_dir = index_dir
        self.options = options
        self._ix = ix
        self._build = build
        self._searcher = None
        self._memos: SearcherMemos | None = None

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
            return cls(index_dir, ix, write_meta(index_dir), options)
        meta = read_meta(index_dir)
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
        meta = read_meta(self.index_dir)
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

    def memos(self) -> SearcherMemos:
        """The current searcher with what searches worked out from it (see :class:`SearcherMemos`)."""
        searcher = self.searcher()
        if self._memos is None or self._memos.searcher is not searcher:
            self._memos = SearcherMemos(searcher)
        return self._memos

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

    def _writer(self, optimize: bool = False):
        return open_writer(self._ix, self.index_dir, self.options, optimize)

    def update_episode(self, entry: IndexEntry) -> int:
        """Replace this episode's documents (and only these) in one commit."""
        with self.writing() as replace:
            return replace(entry)

    @contextlib.contextmanager
    def writing(self):
        """The index locked for writing (LockError if another process writes it), for a change that must
        not be made unless it can be indexed: yields ``replace(entry)``, which replaces an episode's
        documents; all is committed when the block ends, and nothing if it raises."""
        with self._writer() as writer:
            yield lambda entry: self._replace(writer, entry)

    def update_episodes(self, entries: Iterable[IndexEntry], progress: bool = False) -> int:
        """Replace many episodes, committing every ``options.commit_every`` episodes."""
        entries = iter(entries)
        total = 0
        bar = progress_bar(None, "index", "episode", progress)
        try:
            while True:
                batch = [entry for _, entry in zip(range(self.options.commit_every), entries)]
                if not batch:
                    return total
                with self._writer() as writer:
                    for entry in batch:
                        total += self._replace(writer, entry)
                        bar.update(1)
        finally:
            bar.close()

    def _replace(self, writer, entry: IndexEntry) -> int:
        _delete(writer, entry.transcript.episode_id)
        count = 0
        for doc in episode_documents(entry):
            writer.add_document(**doc)
            count += 1
        return count - 1

    def delete_episode(self, episode_id: str) -> int:
        with self._writer() as writer:
            return _delete(writer, episode_id)

    def optimize(self) -> None:
        with self._writer(optimize=True):
            pass

    @classmethod
    def build(cls, index_dir: str | Path, entries: Iterable[IndexEntry],
              options: IndexOptions | None = None, progress: bool = True, before_swap=None) -> "TranscriptIndex":
        """Build (or replace, whatever its schema) the index in ``index_dir`` (see :meth:`rebuild`)."""
        index = cls(Path(index_dir), None, "", options or IndexOptions())
        index.rebuild(entries, progress=progress, before_swap=before_swap)
        return index

    @property
    def build_id(self) -> str:
        """The id of the build on disk this object reads (a rebuild changes it)."""
        return self._build

    def rebuild(self, entries: Iterable[IndexEntry], progress: bool = True, before_swap=None) -> int:
        """Build a new index of ``entries``, then swap it in (:class:`~indexer.stores.Rebuild`).

        The new index is written beside the old one, which stays searchable
        (and untouched if this fails) until the swap. ``before_swap(folder,
        segments)``: a context manager entered once the new index is complete in
        ``folder`` and left after the swap; it may add to the new index, or
        raise to keep the old one (a reindex's check and catch-up). Returns the
        number of segments indexed.
        """
        with Rebuild(self.index_dir) as rebuild:
            build, count = write_index(rebuild.folder, entries, self.options, progress, self.index_dir)
            with before_swap(rebuild.folder, count) if before_swap else contextlib.nullcontext():
                self.close()
                rebuild.swap_in()
        self._ix = whoosh_index.open_dir(str(self.index_dir))
        self._build = build
        return count


def _delete(writer, episode_id: str) -> int:
    """Delete the segment documents and the episode document of ``episode_id``; returns how many."""
    return writer.delete_by_term("episode", episode_id) + writer.delete_by_term("episode_doc", episode_id)
