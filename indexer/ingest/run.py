"""Ingest: bring transcripts and index up to date with the audio, safely.

A run surveys the archive first (cheap: audio hashes are cached by size and
mtime, and what each transcript holds is cached by its size and mtime, so an
unchanged archive costs a few system calls per episode), then transcribes in
worker processes (or on a Dask cluster) while this process, the only writer,
saves each transcript atomically and indexes it.

Crash safety rests on three orders:

* a transcript's exports are written before its JSON, and the JSON (written to
  a temporary file, fsynced, renamed) is the marker that the work is done;
* the index is committed before ``.indexer/indexed.json`` records it, and an
  episode is always indexed by deleting its documents and adding them in the
  same commit, so indexing twice still leaves it there exactly once;
* the ingest lock and Whoosh's write lock are ``flock``s, freed by the kernel
  when their owner dies, even by SIGKILL.

Bad files are reported (which file, what is wrong, what to do) and skipped;
nothing already in the archive is dropped because a file went bad.

This module orchestrates the stages of the package: the survey
(:mod:`~indexer.ingest.survey`), the transcription (:mod:`~indexer.ingest.workers`),
saving and indexing (:mod:`~indexer.ingest.saving`, :mod:`~indexer.ingest.upkeep`),
all over one :class:`~indexer.ingest.state.RunState`; the clean-up of a killed
index writer is :func:`indexer.index.recover_index`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from ..archive import ArchiveLayout, load_settings
from ..errors import ArchiveNotFoundError, IndexCorruptError, IndexerError, printable, storage_error, writing
from ..speakers import SpeakerOptions
from ..transcribe import TranscribeOptions, engine_class
from .guard import IngestLock, Interrupts
from .options import IngestOptions, RunConfig, check_models, options_from_settings
from .progress import RunProgress
from .reports import EpisodeResult, RunReport, failure_line, now
from .saving import EpisodeWriter
from .state import Plan, RunState
from .status import ArchiveStatus, archive_status
from .survey import Survey
from .upkeep import IndexUpkeep
from .workers import Job, JobResult, available_cores, dispatch, worker_plan

log = logging.getLogger("indexer")


def _splits_cores(engine: str) -> bool:
    try:
        return hasattr(engine_class(engine), "sized_for")
    except IndexerError:   # an unknown engine fails once, before any work (check_models)
        return False


class Ingest:
    """Plans and runs one ingest of an archive."""

    def __init__(self, root: str | Path, options: IngestOptions | None = None):
        self.layout = ArchiveLayout(Path(root))
        self.options = options or IngestOptions()
        if not self.layout.root.is_dir():
            raise ArchiveNotFoundError("archive folder not found", self.layout.root)
        if not self.layout.audio_dir.is_dir():
            raise ArchiveNotFoundError("archive has no audio/ folder", self.layout.root,
                                       "put episodes under ARCHIVE/audio/")
        settings = load_settings(self.layout.root)
        base = self.options.transcribe or options_from_settings(settings)
        self.settings = settings
        workers, threads = worker_plan(self.options.workers)
        # By default one worker process on every core, as `indexer transcribe` (see lanes.py), with an
        # engine that splits the cores between windows (openai-whisper's windows take one thread each).
        self.lanes = not self.options.workers and not self.options.scheduler and available_cores() > 1 \
            and _splits_cores(base.engine)
        self.workers = 1 if self.lanes else workers
        self.transcribe_options = base if self.lanes else replace(base, cpu_threads=base.cpu_threads or threads)
        self.remote_options = base  # Dask workers size their own threads
        self.speaker_options = self.options.speakers or SpeakerOptions(mode=settings.speakers)
        if settings.speaker_backend and self.options.speakers is None:
            self.speaker_options = replace(self.speaker_options, backend=settings.speaker_backend)
        self.config = RunConfig(self.layout, self.options, self.transcribe_options, self.speaker_options)
        self._interrupts = Interrupts()
        self._report_lock = threading.Lock()   # the report's results and progress, between two threads
        self._last_save = 0.0

    def options_for(self, preset_name: str) -> TranscribeOptions:
        """The run's options with the decoding of ``preset_name``."""
        return self.config.options_for(preset_name)

    def survey(self, state: RunState, probe: bool = True) -> Plan:
        """Decide per audio file: transcribe, keep (maybe reindex), or copy a transcript (see :class:`Survey`)."""
        return Survey(self.config, state).plan(probe)

    def status(self) -> ArchiveStatus:
        """What the archive holds and what ``ingest`` would do. Takes no lock and
        writes no archive data (only the caches: a new file is hashed once)."""
        return archive_status(self.config)

    # -- running -------------------------------------------------------------

    def run(self) -> RunReport:
        """One ingest. Failures are in the report; what stops the whole run (an
        unknown model, a full disk) is one failure of its own there, and the
        report still says the run finished. A read-only archive raises StorageError."""
        started = time.monotonic()
        report = RunReport(str(self.layout.root), now(), workers=0 if self.options.scheduler else self.workers,
                           scheduler=self.options.scheduler or "",
                           fingerprint=self.transcribe_options.fingerprint(),
                           speakers_fingerprint=self.speaker_options.fingerprint())
        # Only taking the lock can still raise OSError here (a read-only archive): the rest is caught below.
        with writing(self.layout.state_dir), \
                IngestLock(self.layout.ingest_lock_path, self.options.wait_for_lock, self.layout.root), self._interrupts:
            state = RunState.start(self.layout, report)
            try:
                with writing(self.layout.root):
                    self._run(state, started)
            except KeyboardInterrupt:
                report.interrupted = True
            except IndexerError as e:
                report.results.append(EpisodeResult("", "", "failed", error=f"{failure_line(e, self.layout.root)}; "
                                                                             "the run stopped here"))
            except Exception as e:  # a bug: the report says the run failed (never "finished, failed 0"), then it shows
                report.results.append(EpisodeResult("", "", "failed", error=printable(
                    f"{getattr(e, 'filename', None) or self.layout.root}: unexpected {type(e).__name__}: {e}; "
                    "the run stopped here (please report it)")))
                raise
            finally:
                for cache in (state.hashes, state.catalog, state.probes):
                    with contextlib.suppress(OSError):  # losing a cache only costs time on the next run
                        cache.save()
                report.finished = now()
                report.seconds = round(time.monotonic() - started, 3)
                try:
                    report.save(self.layout.runs_dir)
                except OSError as e:
                    error = storage_error(e, self.layout.runs_dir)
                    report.results.append(EpisodeResult("", "", "failed", error=(
                        f"{error.one_line() if error else e}; the run report was not saved")))
        return report

    def _run(self, state: RunState, started: float) -> None:
        self._recover()
        state.catalog.refresh(strict=True)  # an unreadable transcripts/ is not an empty one
        plan = state.plan = self.survey(state)
        if plan.jobs and not self.options.scheduler:  # a wrong --model fails once, not once per episode
            check_models(plan.jobs, self.transcribe_options, self.speaker_options, self.settings, self.layout.root)
        state.index = self._open_index() if self.options.index else None
        if state.index is not None:
            state.indexed.reconcile(state.index, {e.id: e for e in plan.current} | {e.id: e for e, _ in plan.copies})
        state.hashes.save()
        state.probes.save()
        state.report.plan_seconds = round(time.monotonic() - started, 3)
        state.report.save(self.layout.runs_dir)  # visible in runs/ (unfinished) while the run works
        shield, writer, upkeep = self._interrupts.shield, EpisodeWriter(state), IndexUpkeep(state, self._interrupts)

        for episode, source in plan.copies:
            with shield():
                writer.copy_and_index(source, episode)
        upkeep.refresh()
        if not self.options.only:
            upkeep.remove_deleted()
        state.report.save(self.layout.runs_dir)

        self._last_save = time.monotonic()
        for job, outcome in self._transcribe_all(plan.jobs, state):
            with shield():
                result = writer.finish_job(job, outcome)
                with self._report_lock:
                    state.report.results.append(result)
                self._save_now_and_then(state)

        for episode, original, sha in plan.duplicates:
            with shield():
                writer.copy_duplicate(episode, original, sha, self.options_for(plan.presets[original]).fingerprint())
        with shield():
            self._update_voices(state)
        if state.index is not None:  # after the voices: their names may re-index episodes
            self._embed(state)

    def _embed(self, state: RunState) -> None:
        """Search by meaning: the embedding store follows the index (see :mod:`~indexer.ingest.embeddings`)."""
        from .embeddings import sync_embeddings

        plan = state.plan
        episodes = ({e.id: e for e in plan.current} | {j.episode.id: j.episode for j in plan.jobs}
                    | {e.id: e for e, _ in plan.copies} | {e.id: e for e, *_ in plan.duplicates})
        sync_embeddings(self.layout, self.settings.embeddings, state.index.episode_ids(), episodes,
                        self.options.progress)

    def _update_voices(self, state: RunState) -> None:
        """The voice library rebuilt from this run's transcripts and names; episodes whose names changed
        re-indexed (their index version holds the library's digest of their names)."""
        from ..speakers import backend_class
        from .voices import rebuild_voices, reindex_names

        try:
            backend = getattr(backend_class(self.speaker_options.backend), "name", self.speaker_options.backend)
            _, update = rebuild_voices(self.layout, backend)
        except IndexerError as e:
            state.report.voices.append(f"{e.one_line()}; the voice library was not rebuilt")
            return
        if state.index is not None and update.changed:
            by_id = {e.id: e for e in state.plan.current} | {j.episode.id: j.episode for j in state.plan.jobs} \
                | {e.id: e for e, _ in state.plan.copies} | {e.id: e for e, _, _ in state.plan.duplicates}
            stale = [by_id[e] for e in update.changed if e in by_id and not state.indexed.is_current(by_id[e])
                     and self.layout.transcript_path(e).is_file()]
            versions = {e.id: state.indexed.version(e) for e in stale}
            try:
                reindex_names(self.layout, state.index, [e.id for e in stale], update)
            except IndexerError as e:
                update.problems.append(f"{e.one_line()}; new speaker names not indexed (next run)")
            for episode_id in update.reindexed:
                state.indexed.episodes[episode_id] = versions[episode_id]
            if update.reindexed:
                state.indexed.save()
            renamed = set(update.reindexed)
            state.report.results = [replace(r, status="reindexed", note="speaker names changed (voice library)")
                                    if r.episode in renamed and r.status == "unchanged" else r
                                    for r in state.report.results]
        state.report.voices += update.lines()

    def _save_now_and_then(self, state: RunState, quiet: bool = False) -> None:
        """The report on disk at most every 5 s while the run works (``status`` reads its progress);
        from the main loop, and ``quiet`` (an error left to the main loop) from the thread that
        receives the workers' progress."""
        with self._report_lock:
            if time.monotonic() - self._last_save > 5:
                self._last_save = time.monotonic()
                try:
                    state.report.save(self.layout.runs_dir)
                except OSError:
                    if not quiet:
                        raise

    def _open_index(self):
        """The index; an unreadable one is emptied, and the run indexes every transcript again."""
        from ..index import TranscriptIndex, discard_index

        try:
            return TranscriptIndex.open(self.layout.index_dir)
        except IndexCorruptError as e:
            log.warning("%s", printable(f"{e.path}: {e.message}; rebuilding it from the transcripts"))
            discard_index(self.layout.index_dir)
            return TranscriptIndex.open(self.layout.index_dir)

    def _recover(self) -> None:
        """Leftovers of a killed run: temporary files of atomic writes, and of a Whoosh commit."""
        removed = 0
        for folder in (self.layout.transcripts_dir, self.layout.state_dir, self.layout.runs_dir):
            if folder.is_dir():
                for tmp in folder.rglob(".*.tmp"):
                    tmp.unlink(missing_ok=True)
                    removed += 1
        if removed:
            log.warning("removed %d unfinished file(s) left by an interrupted run", removed)
        if self.options.index:
            from ..index import recover_index

            recover_index(self.layout.index_dir)

    def _transcribe_all(self, jobs: list[Job], state: RunState) -> Iterator[tuple[Job, JobResult]]:
        """(job, result) as results arrive, in any order, behind one progress bar in
        seconds of audio that the workers move on as they decode (:mod:`.progress`)."""
        if not jobs:
            return
        progress = RunProgress(sum(j.duration for j in jobs if not j.existing), self.options.progress)
        for job in jobs:
            progress.expect(job.episode.id, 0.0 if job.existing else job.duration)
        redirect = contextlib.nullcontext()
        if self.options.progress:
            from tqdm.contrib.logging import logging_redirect_tqdm

            redirect = logging_redirect_tqdm()  # log lines above the bar, not through it
        def advance(episode: str, seconds: float) -> None:
            progress.advance(episode, seconds)
            with self._report_lock:
                state.report.progress = progress.figures()
            self._save_now_and_then(state, quiet=True)

        if self.lanes:
            from .lanes import dispatch_lanes

            outcomes = dispatch_lanes(jobs, self.transcribe_options, str(self.layout.audio_dir), progress=advance)
        else:
            outcomes = dispatch(jobs, self.workers, self.transcribe_options, self.remote_options,
                                str(self.layout.audio_dir), self.options.scheduler, self.options.ship_audio,
                                progress=advance)
        with redirect, contextlib.closing(outcomes):
            try:
                for job, outcome in outcomes:
                    progress.finish(job.episode.id)
                    with self._report_lock:
                        state.report.progress = progress.figures()
                    yield job, outcome
            finally:
                with self._report_lock:
                    state.report.progress = progress.figures()
                progress.close()
