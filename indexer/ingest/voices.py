"""The voice library in step with the archive: rebuilt at the end of every ingest, or on demand.

Only a holder of the ingest lock writes the library (the ingest itself, or
:func:`update_voices`), so two rebuilds never race; editors' names and voice
actions are written under the corrections' lock as before, and read here. An
episode whose shown names changed is re-indexed: its index version includes
the library's digest of its names (:class:`~indexer.ingest.state.IndexedState`),
so a run killed between the library and the index still re-indexes it next time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..archive import ArchiveLayout
from ..corrections import effective_episode
from ..errors import IndexerError, printable, writing
from ..speakers.library import VoiceLibrary, load_library, read_library, save_library
from ..voices.build import build_library, same_library
from .guard import IngestLock

log = logging.getLogger("indexer")


@dataclass
class VoicesUpdate:
    """What a rebuild of the library did."""

    voices: int = 0
    automatic: int = 0                                  # labels named automatically, archive-wide
    changed: list[str] = field(default_factory=list)    # episodes whose shown names changed
    reindexed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # one line each

    def lines(self) -> list[str]:
        found = [f"{self.voices} known voice(s), {self.automatic} speaker(s) named automatically"
                 + (f"; names changed in {len(self.changed)} episode(s)" if self.changed else "")]
        return found + self.problems


def rebuild_voices(layout: ArchiveLayout, backend: str | None) -> tuple[VoiceLibrary, VoicesUpdate]:
    """Build the library and save it if it changed. The caller holds the ingest lock."""
    update = VoicesUpdate()
    try:
        previous = load_library(layout.voice_library_path)
    except IndexerError as e:
        update.problems.append(f"{e.one_line().split(' (')[0]}; rebuilt from the corrections, sidecars and "
                               "transcripts")
        previous = None
    library, report = build_library(layout, backend, previous=previous)
    update.problems += report.problems
    update.changed = sorted(report.changed)
    update.voices = len(library.voices)
    update.automatic = sum(len(names) for names in library.automatic.values())
    if not same_library(previous, library):
        with writing(layout.voices_dir):
            save_library(layout.voice_library_path, library)
    for line in update.problems:
        log.warning("voices: %s", printable(line))
    return library, update


def reindex_names(layout: ArchiveLayout, index, episodes: list[str], update: VoicesUpdate) -> None:
    """Re-index the episodes whose names changed (one commit); one that cannot be read is a problem line."""
    items = []
    for episode_id in episodes:
        try:
            items.append((episode_id, effective_episode(layout, episode_id).entry()))
        except IndexerError as e:
            update.problems.append(f"{e.one_line()}; its new speaker names are not indexed")
    if items:
        index.update_episodes([entry for _, entry in items])
        update.reindexed += [episode_id for episode_id, _ in items]


def update_voices(root: str | Path, wait: float = 0.0, backend: str | None = None) -> VoicesUpdate:
    """Rebuild the voice library now and re-index the episodes whose names changed, under the
    ingest lock (LockError if an ingest runs: it rebuilds the library itself when it ends).
    ``backend``: whose voice prints to use (default: the library's, as the last ingest chose)."""
    from ..index import TranscriptIndex, index_exists

    layout = ArchiveLayout(Path(root))
    # The backend of the last ingest's library, else the one most transcripts' prints come from.
    backend = backend or read_library(layout.voice_library_path).backend or None
    with writing(layout.state_dir), IngestLock(layout.ingest_lock_path, wait, layout.root):
        _, update = rebuild_voices(layout, backend)
        if update.changed and index_exists(layout.index_dir):
            index = TranscriptIndex.open(layout.index_dir)
            try:
                with writing(layout.index_dir):
                    reindex_names(layout, index, [e for e in update.changed if layout.transcript_path(e).is_file()],
                                  update)
            finally:
                index.close()
    return update
