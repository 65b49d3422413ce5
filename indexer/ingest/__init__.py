"""Ingest: bring transcripts and index up to date with the audio, safely.

One role per module: ``options`` (what a run is asked), ``survey`` (what changed),
``workers`` (transcription in processes or on Dask), ``saving`` and ``upkeep``
(the coordinator's writes), ``state`` (one run's state), ``catalog`` (what the
transcripts hold), ``guard`` (lock, signals), ``reports``, ``status``,
``watcher``, ``reindex`` (the whole index from the transcripts); ``run`` orchestrates them (:class:`Ingest`).
"""

import importlib

# Where each public name lives. Imported on first use (PEP 562): ``Archive.reindex``
# and ``status`` need a few of these modules, not the transcription stack that
# ``run`` and ``workers`` pull in (130 modules, numpy, and torch's thread settings).
_HOMES = {
    "IngestLock": "guard", "IngestOptions": "options", "options_from_settings": "options",
    "ReindexResult": "reindex", "rebuild_index": "reindex", "EpisodeResult": "reports", "RunReport": "reports",
    "Ingest": "run", "ArchiveStatus": "status", "watch": "watcher", "Job": "workers", "JobResult": "workers",
    "available_cores": "workers", "transcribe_job": "workers", "worker_plan": "workers",
}


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


__all__ = sorted(_HOMES)
