"""Keeping one episode's vectors in step with its inputs: the version of those inputs, and the update
made after a correction (the batch of an ingest is :mod:`indexer.ingest.embeddings`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from ..archive import ArchiveLayout, sidecar_for
from ..errors import IndexerError
from ..transcript import Transcript
from .models import load_model
from .store import EmbeddingStore

log = logging.getLogger("indexer")


def inputs_version(paths: Sequence[Path | None]) -> str:
    """Changes when any of the files changes (size and mtime: stat only, cheap); "-" for a missing one."""
    parts = []
    for path in paths:
        try:
            st = path.stat() if path is not None else None
        except OSError:
            st = None
        parts.append(f"{st.st_size}:{st.st_mtime_ns}" if st else "-")
    return "|".join(parts)


def episode_inputs(layout: ArchiveLayout, episode_id: str, sidecar: Path | None) -> list[Path | None]:
    """What an episode's vectors are computed from: its transcript, sidecar and corrections."""
    return [layout.transcript_path(episode_id), sidecar, layout.corrections_path(episode_id)]


def sidecar_of(layout: ArchiveLayout, transcript: Transcript) -> Path | None:
    audio = layout.audio_file(transcript.audio_path)
    return sidecar_for(audio) if audio is not None and audio.is_file() else None


def update_episode(layout: ArchiveLayout, transcript: Transcript, sidecar: Path | None = None) -> int | None:
    """Re-embed what changed in one episode (``transcript``: as shown) in the archive's store.

    The caller holds the corrections lock. No store yet: nothing (the next ingest builds it). A store
    that cannot be read or a model that cannot be loaded: one warning, and the next ingest rebuilds it.
    Returns the number of segments embedded, or None.
    """
    try:
        store = EmbeddingStore.open(layout.embeddings_dir)
    except IndexerError:
        return None
    try:
        version = inputs_version(episode_inputs(layout, transcript.episode_id, sidecar))
        return store.update(transcript.episode_id, transcript, version, load_model(store.model_name))
    except IndexerError as e:
        log.warning("%s; search by meaning keeps the previous vectors of %s until the next ingest",
                    e.one_line(), transcript.episode_id)
        return None
