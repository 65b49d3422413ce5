"""Rebuild the whole index from the transcripts on disk (``indexer reindex``, :meth:`Archive.reindex`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..archive import ArchiveLayout, Episode, EpisodeMeta
from ..corrections import effective_episode
from ..errors import ArchiveNotFoundError, IndexerError, writing

log = logging.getLogger("indexer")


@dataclass(frozen=True)
class ReindexResult:
    segments: int                   # segments in the new index
    skipped: tuple[str, ...] = ()   # one line per transcript left out: which file, what is wrong


def index_entry(layout: ArchiveLayout, machine, episode: Episode | None):
    """What the index holds for one episode (an :class:`~indexer.index.IndexEntry`): the transcript as
    shown (editors' corrections are an overlay), the sidecar's metadata, and the audio path relative
    to ``audio/`` (the transcript's own when the audio file is gone). A bad sidecar or overlay raises."""
    if episode is None:
        return effective_episode(layout, machine, EpisodeMeta()).entry()
    return effective_episode(layout, machine, episode.meta).entry(layout.relative_audio_path(episode.audio_path))


def rebuild_index(archive, progress: bool = True):
    """A new index of every transcript of ``archive`` (an :class:`~indexer.Archive`), built beside the old one.

    Episodes are described by their sidecars where the audio file still exists;
    a transcript whose audio is gone is indexed from its own fields. A transcript
    that cannot be read (or whose corrections or sidecar cannot) is left out and
    named in the result: the others are indexed. Returns the opened index and
    a :class:`ReindexResult`.
    """
    from ..index import TranscriptIndex

    layout = archive.layout
    if not layout.transcripts_dir.is_dir():
        raise ArchiveNotFoundError("archive has no transcripts/ folder", layout.root,
                                   "run `indexer ingest ARCHIVE` first")
    audio = {layout.episode_id_of(path): path for path in layout.audio_files()}
    skipped: list[str] = []

    vectors = MeaningRebuild(layout, archive.settings.embeddings, progress)

    def entries():
        for machine in archive.transcripts(skipped):
            path = audio.get(machine.episode_id)
            try:
                episode = layout.episode_for(path) if path is not None else None
                entry = index_entry(layout, machine, episode)
            except IndexerError as e:
                skipped.append(f"{e.one_line()}; {machine.episode_id} left out of the index")
                continue
            vectors.add(entry, episode)
            yield entry

    with writing(layout.index_dir), writing(layout.embeddings_dir):
        try:
            index = TranscriptIndex.build(layout.index_dir, entries(), archive.index_options, progress)
        except BaseException:
            vectors.abort()
            raise
        vectors.finish()
    return index, ReindexResult(index.doc_count(), tuple(skipped))


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

    def add(self, entry, episode: Episode | None) -> None:
        if self.builder is not None:
            episode_id = entry.transcript.episode_id
            sidecar = episode.sidecar_path if episode is not None else None
            self.builder.add(episode_id, entry.transcript, self.layout.inputs_version(episode_id, sidecar))

    def finish(self) -> None:
        if self.builder is not None:
            self.builder.finish()
            log.info("embedded %d segments for search by meaning", self.builder.embedded)

    def abort(self) -> None:
        if self.builder is not None:
            self.builder.abort()
