"""Rebuild the whole index from the transcripts on disk (``indexer reindex``, :meth:`Archive.reindex`).

A derived store's rebuild (:mod:`indexer.stores`): under the archive's writer
lock (never beside an ingest), written beside the index in place, which is
replaced only by a complete, non-empty rebuild; corrections saved meanwhile are
caught up under the edit lock before the swap (:mod:`indexer.locks`).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from ..archive import ArchiveLayout, Episode, EpisodeMeta, sidecar_for
from ..corrections import effective_episode, overlay_lock
from ..corrections.actions import reembed_episode
from ..errors import ArchiveNotFoundError, IndexerError, printable, writing
from ..files import list_files
from ..locks import WriterLock
from ..stores import RebuildCheck
from ..transcript import load_transcript
from .versions import input_version, write_indexed

log = logging.getLogger("indexer")


@dataclass(frozen=True)
class ReindexResult:
    segments: int                   # segments in the new index
    skipped: tuple[str, ...] = ()   # one line per transcript left out: which file, what is wrong
    episodes: int = 0               # episodes in the new index
    replaced: int | None = None     # episodes the index held before (None: there was no usable index)
    caught_up: tuple[str, ...] = ()  # episodes indexed again: their inputs changed during the rebuild


def index_entry(layout: ArchiveLayout, machine, episode: Episode | None):
    """What the index holds for one episode (an :class:`~indexer.index.IndexEntry`): the transcript as
    shown (editors' corrections are an overlay), the sidecar's metadata, and the audio path relative
    to ``audio/`` (the transcript's own when the audio file is gone). A bad sidecar or overlay raises."""
    if episode is None:
        return effective_episode(layout, machine, EpisodeMeta()).entry()
    return effective_episode(layout, machine, episode.meta).entry(layout.relative_audio_path(episode.audio_path))


def rebuild_index(archive, progress: bool = True, allow_empty: bool = False, wait: float = 0.0):
    """A new index of every transcript of ``archive`` (an :class:`~indexer.Archive`), built beside the old one.

    Episodes are described by their sidecars where the audio file still
    exists; a transcript whose audio is gone is indexed from its own fields. A
    transcript that cannot be read (or whose corrections or sidecar cannot) is
    left out and named in the result. The new index replaces the one in place
    only if it is complete and not empty (:class:`~indexer.stores.RebuildCheck`):
    else StoreKeptError, and the index in place stays as it was; ``allow_empty``:
    the transcripts are really gone, an empty index may replace a full one.
    Runs under the writer lock (LockError if an ingest or another reindex holds
    it after ``wait`` seconds). Returns the opened index and a :class:`ReindexResult`.
    """
    from ..index import TranscriptIndex, recover_index

    layout = archive.layout
    if not layout.transcripts_dir.is_dir():
        raise ArchiveNotFoundError("archive has no transcripts/ folder", layout.root,
                                   "run `indexer ingest --archive ARCHIVE` first")
    with writing(layout.state_dir), WriterLock(layout.ingest_lock_path, wait, layout.root, "reindex"), \
            writing(layout.index_dir):
        recover_index(layout.index_dir)  # what a killed ingest or rebuild left: we hold the writer lock
        in_place = _episodes_in(layout.index_dir, archive.index_options)
        vectors = MeaningRebuild(layout, archive.settings.embeddings, progress)
        reading = _Reading(layout, vectors)
        caught_up: list[str] = []

        @contextlib.contextmanager
        def before_swap(folder: Path, segments: int):
            RebuildCheck("index", layout.transcripts_dir, len(reading.versions), tuple(reading.skipped),
                         in_place, allow_empty).enforce()
            with overlay_lock(layout.root):  # no correction lands between the catch-up and the swap
                caught_up.extend(reading.catch_up(TranscriptIndex.open(folder, archive.index_options)))
                vectors.finish()  # both stores swap under the lock: a correction lands in both or in neither
                for episode_id in caught_up:
                    reembed_episode(layout, episode_id)
                yield

        with writing(layout.embeddings_dir):
            try:
                index = TranscriptIndex.build(layout.index_dir, reading.entries(), archive.index_options, progress,
                                              before_swap)
            finally:
                vectors.abort()  # a no-op once swapped in
        write_indexed(layout, index.build_id, reading.versions)
    return index, ReindexResult(index.doc_count(), tuple(reading.skipped), len(reading.versions), in_place,
                                tuple(caught_up))


class _Reading:
    """The transcripts read for a rebuild, the version of each episode's inputs when read, and what failed."""

    def __init__(self, layout: ArchiveLayout, vectors: "MeaningRebuild"):
        self.layout, self.vectors = layout, vectors
        self.audio = {layout.episode_id_of(path): path for path in layout.audio_files()}
        self.versions: dict[str, str] = {}     # episode id: version of its inputs when it was read
        self.skipped: list[str] = []

    def _entry(self, episode_id: str, path: Path):
        """The episode's index entry and the version of its inputs (taken first: a change while reading
        shows as a new version, caught up before the swap)."""
        audio_path = self.audio.get(episode_id)
        version = input_version(self.layout, episode_id, sidecar_for(audio_path) if audio_path is not None else None)
        episode = self.layout.episode_for(audio_path) if audio_path is not None else None
        return index_entry(self.layout, load_transcript(path, episode_id), episode), version

    def entries(self):
        try:
            paths = list_files(self.layout.transcripts_dir, ".json")
        except OSError as e:  # not an empty archive: the index in place is kept
            self.skipped.append(printable(f"{e.filename or self.layout.transcripts_dir}: cannot list the folder: "
                                          f"{e.strerror}"))
            return
        for path in paths:
            episode_id = self.layout.transcript_id(path)
            try:
                entry, version = self._entry(episode_id, path)
            except IndexerError as e:
                self.skipped.append(f"{e.one_line()}; {episode_id} left out of the index")
                continue
            self.versions[episode_id] = version
            audio_path = self.audio.get(episode_id)
            self.vectors.add(entry, sidecar_for(audio_path) if audio_path is not None else None)
            yield entry

    def catch_up(self, index) -> list[str]:
        """Index again, in the new ``index``, the episodes whose inputs changed since they were read."""
        changed, entries = [], []
        try:
            for episode_id, version in list(self.versions.items()):
                audio_path = self.audio.get(episode_id)
                sidecar = sidecar_for(audio_path) if audio_path is not None else None
                if input_version(self.layout, episode_id, sidecar) == version:
                    continue
                try:
                    entry, self.versions[episode_id] = self._entry(episode_id,
                                                                   self.layout.transcript_path(episode_id))
                except IndexerError as e:  # the new index keeps what was read; status shows it pending
                    self.skipped.append(f"{e.one_line()}; {episode_id} indexed as it was before this change")
                    continue
                entries.append(entry)
                changed.append(episode_id)
            index.update_episodes(entries)
        finally:
            index.close()
        return changed


def _episodes_in(index_dir: Path, options) -> int | None:
    """Episodes in the index in place; None if there is none, or it cannot be read (nothing to protect)."""
    from ..index import TranscriptIndex

    try:
        index = TranscriptIndex.open(index_dir, options, create=False)
    except IndexerError:
        return None
    try:
        return len(index.episode_ids())
    except Exception:  # a segment damaged past what open() reads: a rebuild is the cure
        return None
    finally:
        index.close()


class MeaningRebuild:
    """The embedding store rebuilt beside the old one with the index, swapped in once both are complete.
    A model that cannot be loaded: one warning, the index is rebuilt all the same."""

    def __init__(self, layout: ArchiveLayout, model_name: str, progress: bool):
        from ..embeddings import OFF, StoreBuilder, load_model, remove_leftovers

        self.layout, self.builder = layout, None
        if model_name == OFF:
            return
        remove_leftovers(layout.embeddings_dir)
        try:
            self.builder = StoreBuilder(layout.embeddings_dir, load_model(model_name))
        except IndexerError as e:
            log.warning("%s; search by meaning is not rebuilt", e.one_line())

    def add(self, entry, sidecar: Path | None) -> None:
        if self.builder is not None:
            episode_id = entry.transcript.episode_id
            self.builder.add(episode_id, entry.transcript, self.layout.inputs_version(episode_id, sidecar))

    def finish(self) -> None:
        if self.builder is not None:
            self.builder.finish()
            log.info("embedded %d segments for search by meaning", self.builder.embedded)

    def abort(self) -> None:
        if self.builder is not None:
            self.builder.abort()
