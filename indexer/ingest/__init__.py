"""Ingest: bring transcripts and index up to date with the audio, safely (see :mod:`indexer.ingest.run`)."""

from .reports import ArchiveStatus, EpisodeResult, RunReport
from .run import Ingest, IngestLock, IngestOptions, options_from_settings, watch
from .workers import Job, JobResult, available_cores, transcribe_job, worker_plan

__all__ = [
    "ArchiveStatus", "EpisodeResult", "Ingest", "IngestLock", "IngestOptions", "Job", "JobResult", "RunReport",
    "available_cores", "options_from_settings", "transcribe_job", "watch", "worker_plan",
]
