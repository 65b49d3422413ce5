"""Keeping one episode's vectors in step after a correction (the batch of an ingest is
:mod:`indexer.ingest.embeddings`; the version of an episode's inputs is the layout's, as for the index)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from ..archive import ArchiveLayout, sidecar_for
from ..errors import IndexerError
from ..transcript import Transcript
from .models import load_model
from .store import MANIFEST, EmbeddingStore, store_lock

log = logging.getLogger("indexer")


def sidecar_of(layout: ArchiveLayout, transcript: Transcript) -> Path | None:
    audio = layout.audio_file(transcript.audio_path)
    return sidecar_for(audio) if audio is not None and audio.is_file() else None


def update_episode(layout: ArchiveLayout, effective: Callable[[], Transcript]) -> int | None:
    """Re-embed what changed in one episode in the archive's store (after a correction).

    ``effective`` gives the episode as shown; it is read under the store's lock, so that of two corrections
    made at once the later text is embedded last. No store yet: nothing (the next ingest builds it). A store
    that cannot be read or a model that cannot be loaded: one warning, and the next ingest rebuilds it.
    Returns the number of segments embedded, or None.
    """
    if not (layout.embeddings_dir / MANIFEST).is_file():
        return None
    with store_lock(layout):
        try:
            store = EmbeddingStore.open(layout.embeddings_dir)
        except IndexerError:
            return None
        transcript = effective()
        try:
            version = layout.inputs_version(transcript.episode_id, sidecar_of(layout, transcript))
            return store.update(transcript.episode_id, transcript, version, load_model(store.model_name))
        except IndexerError as e:
            log.warning("%s; search by meaning keeps the previous vectors of %s until the next ingest",
                        e.one_line(), transcript.episode_id)
            return None
