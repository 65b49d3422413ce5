"""The embedding store kept in step by ``ingest`` and rebuilt by ``reindex`` (search by meaning).

After the index, an ingest embeds what changed: for each episode the index
holds, the version of its inputs (transcript, sidecar, corrections: stat only)
is compared with the store's, and only a stale episode is read again; within
it only passages whose text changed are embedded. Episodes gone from the index
leave the store. An episode whose shard is missing or damaged is embedded
again (one line names it). A store that is missing, unreadable, or made with
another model (``embeddings:`` in archive.yaml) is rebuilt completely (one
line says why), beside the old one and swapped in: transcripts are never
touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..archive import ArchiveLayout, Episode, EpisodeMeta
from ..embeddings import OFF, EmbeddingStore, StoreBuilder, load_model, remove_leftovers
from ..embeddings.store import store_lock
from ..errors import EmbeddingStoreError, IndexerError, printable
from ..progress import progress_bar
from ..transcript import load_transcript

log = logging.getLogger("indexer")


@dataclass
class EmbeddingSync:
    episodes: int = 0      # episodes whose vectors were computed again
    segments: int = 0      # passages embedded
    removed: int = 0
    rebuilt: bool = False
    problem: str = ""      # one line when search by meaning could not be brought up to date


def sync_embeddings(layout: ArchiveLayout, model_name: str, episode_ids: list[str],
                    episodes: dict[str, Episode], progress: bool = False) -> EmbeddingSync:
    """Bring the store up to date with the index's ``episode_ids`` (``episodes``: their audio files, where
    known). Call it under the ingest lock."""
    from .reindex import index_entry

    result = EmbeddingSync()
    if model_name == OFF:
        return result
    remove_leftovers(layout.embeddings_dir)
    try:
        model = load_model(model_name)
    except IndexerError as e:
        result.problem = f"{e.one_line()}; search by meaning is not updated"
        log.warning("%s", result.problem)
        return result
    store = _open(layout, model)
    damaged = set(store.damaged()) if store is not None else set()
    if damaged:
        log.warning("%s", printable(f"{layout.embeddings_dir}: {len(damaged)} episode(s) of the embedding store "
                                    f"unreadable ({', '.join(sorted(damaged)[:3])}{'…' if len(damaged) > 3 else ''}); "
                                    "embedding them again from the transcripts"))
    stale = [e for e in episode_ids if store is None or e in damaged
             or store.versions.get(e) != _version(layout, e, episodes)]
    bar = progress_bar(len(stale), "embed", "episode", progress and bool(stale))
    builder = StoreBuilder(layout.embeddings_dir, model) if store is None else None
    try:
        for episode_id in (episode_ids if builder is not None else stale):
            episode = episodes.get(episode_id) or _orphan(layout, episode_id)
            try:
                with store_lock(layout):  # a correction's own update waits, then sees this one
                    version = _version(layout, episode_id, episodes)
                    machine = load_transcript(layout.transcript_path(episode_id))
                    entry = index_entry(layout, machine, episode if episode.audio_path is not None else None)
                    if builder is not None:
                        before = builder.embedded
                        builder.add(episode_id, entry.transcript, version)
                        result.segments += builder.embedded - before
                    else:
                        result.segments += store.update(episode_id, entry.transcript, version, model)
                result.episodes += 1
            except IndexerError as e:  # reported by the index's own steps; its vectors stay as they were
                log.warning("%s", printable(f"{e.one_line()}; {episode_id} not embedded"))
            bar.update(1)
        if builder is not None:
            builder.finish()
            result.rebuilt = True
        else:
            gone = set(store.versions) - set(episode_ids)
            store.remove(gone)
            result.removed = len(gone)
    except BaseException:
        if builder is not None:
            builder.abort()
        raise
    finally:
        bar.close()
    return result


def _open(layout: ArchiveLayout, model) -> EmbeddingStore | None:
    """The store to update, or None when it must be rebuilt (missing, unreadable, another model)."""
    try:
        store = EmbeddingStore.open(layout.embeddings_dir)
    except EmbeddingStoreError as e:
        if layout.embeddings_dir.exists():
            log.warning("%s", printable(f"{e.one_line().split(' (')[0]}; rebuilding it from the transcripts"))
        else:
            log.info("building the embedding store (search by meaning) in %s", layout.embeddings_dir)
        return None
    if store.fingerprint != model.fingerprint:
        log.warning("embedding model changed (%s -> %s): every segment is embedded again; transcripts are kept",
                    store.fingerprint, model.fingerprint)
        return None
    return store


def _orphan(layout: ArchiveLayout, episode_id: str) -> Episode:
    """An episode whose audio file is gone: indexed (and embedded) from its transcript alone."""
    return Episode(episode_id, None, None, EpisodeMeta())


def _version(layout: ArchiveLayout, episode_id: str, episodes: dict[str, Episode]) -> str:
    episode = episodes.get(episode_id)
    return layout.inputs_version(episode_id, episode.sidecar_path if episode else None)
