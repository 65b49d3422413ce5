"""Ingest: bring transcripts and index up to date with the audio, safely.

One role per module: ``options`` (what a run is asked), ``survey`` (what changed),
``workers`` (transcription in processes or on Dask), ``saving`` and ``upkeep``
(the coordinator's writes), ``state`` (one run's state), ``catalog`` (what the
transcripts hold), ``guard`` (lock, signals), ``reports``, ``status``,
``watcher``, ``reindex`` (the whole index from the transcripts); ``run`` orchestrates them (:class:`Ingest`).
"""

from .guard import IngestLock
from .options import IngestOptions, options_from_settings
from .reindex import ReindexResult, rebuild_index
from .reports import EpisodeResult, RunReport
from .run import Ingest
from .status import ArchiveStatus
from .watcher import watch
from .workers import Job, JobResult, available_cores, transcribe_job, worker_plan

__all__ = [
    "ArchiveStatus", "EpisodeResult", "Ingest", "IngestLock", "IngestOptions", "Job", "JobResult", "ReindexResult",
    "RunReport", "available_cores", "options_from_settings", "rebuild_index", "transcribe_job", "watch", "worker_plan",
]
