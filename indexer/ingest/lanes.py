"""One worker process on every core: what ``ingest`` runs locally by default.

The worker holds one engine split into a lane per core (as ``indexer
transcribe`` does) and streams its results back as they finish:

* short episodes (one window) are decoded in batches of ``BATCH_CLIPS`` across
  files, longer ones with their windows side by side; the longest units go
  first, so that the last minutes are not one core working alone;
* the speakers stage runs in a thread of its own while the lanes decode the
  next episodes;
* every model is loaded once, not once per worker process.

Rows of a batch are independent (benchmarks/results/speed-batching.md): an
episode's words do not depend on what it was decoded beside, nor on the
number of cores. Two worker processes of one thread each, the default before,
loaded the Whisper and speaker models twice (3.6 CPU s and about 1.5 GB more,
benchmarks/results/speed-ingest.md) and batched nothing.

The coordinator (:func:`dispatch_lanes`) receives ``(started | done, job,
result)`` messages through a pipe. If the worker dies, the episodes it had
started are retried one at a time in a fresh process (a file that kills its
worker twice is reported, and its batch-mates are not blamed), and the others
in a new lane worker.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from .. import audio
from ..errors import IndexerError
from ..transcribe import expected_windows, transcribe_file, with_preset
from ..transcribe.batched import BATCH_CLIPS
from ..transcribe.engines import sized
from ..transcribe.options import TranscribeOptions
from ..transcribe.run import _transcribe_short
from ..transcript import Transcript, load_transcript
from . import workers
from .workers import MODELS, Job, JobResult

log = logging.getLogger("indexer")

Unit = list[int]   # indices of jobs transcribed together: a batch of short episodes, or one episode


def plan_units(jobs: list[Job], options: TranscribeOptions, lanes: int) -> list[Unit]:
    """The jobs to transcribe, as units for the lanes, longest first: short episodes (one window) with
    the same preset in batches (as many as there are lanes, up to ``BATCH_CLIPS`` each), every
    other episode alone. Speakers-only jobs are not here: they need no lane."""
    todo = [k for k, job in enumerate(jobs) if not job.existing]
    batches = options.batched and bool(options.language)   # a batch needs its language known
    short = [k for k in todo if batches and expected_windows(jobs[k].duration, options) == 1]
    units: list[Unit] = [[k] for k in todo if k not in set(short)]
    for preset in dict.fromkeys(jobs[k].preset for k in short):
        members = [k for k in short if jobs[k].preset == preset]
        size = min(BATCH_CLIPS, max(1, -(-len(members) // max(1, lanes))))
        units += [members[i:i + size] for i in range(0, len(members), size)]
    return sorted(units, key=lambda unit: -sum(jobs[k].duration for k in unit))


# --- in the worker -------------------------------------------------------------

class _Lanes:
    """The worker's side: ``send(kind, k, result)`` for each job ``k`` of ``jobs``."""

    def __init__(self, jobs: list[Job], options: TranscribeOptions, audio_root: str, send):
        self.jobs, self.options, self.audio_root, self.send = jobs, options, audio_root, send
        windows = sum(expected_windows(job.duration, options) for job in jobs if not job.existing)
        self.engine = sized(MODELS.engine(options), max(1, windows)) if windows else None
        self.lanes = max(1, getattr(self.engine, "parallel", 1))

    def run(self) -> int:
        """Every job's result sent; returns how many."""
        sent = 0
        with cf.ThreadPoolExecutor(self.lanes, thread_name_prefix="lane") as lanes, \
                cf.ThreadPoolExecutor(1, thread_name_prefix="speakers") as speakers:
            pending = set()
            speaking = next((job for job in self.jobs if job.speakers and job.speakers.runs), None)
            if speaking is not None:   # loaded while the lanes begin, not after the first episode
                speakers.submit(MODELS.backend, workers.speaker_options(speaking, self.options.cpu_threads))
            for k, job in enumerate(self.jobs):
                if job.existing:
                    pending.add(speakers.submit(self._speakers_only, k))
            decoding = {lanes.submit(self._transcribe, unit) for unit in plan_units(self.jobs, self.options,
                                                                                    self.lanes)}
            while decoding or pending:
                done, _ = cf.wait(decoding | pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    if future in decoding:
                        decoding.discard(future)
                        for k, outcome, seconds in future.result():
                            pending.add(speakers.submit(self._speakers, k, outcome, seconds))
                    else:
                        pending.discard(future)
                        k, result = future.result()
                        self.send("done", k, result)
                        sent += 1
        return sent

    def _transcribe(self, unit: Unit) -> list[tuple[int, Transcript | JobResult, float]]:
        """One unit through a lane: (k, transcript or failure, seconds) per job. A batch that fails
        as a whole is transcribed again one episode at a time, so that only the bad file fails."""
        started = time.monotonic()
        for k in unit:
            self.send("started", k, None)
        ready, outcomes = [], {}
        for k in unit:
            problem = workers.changed_or_missing(self.jobs[k])
            if problem is not None:
                outcomes[k] = problem
            else:
                ready.append(k)
        if len(ready) > 1:
            try:
                outcomes.update(self._batch(ready))
            except Exception:   # noqa: BLE001 (each file again alone: the failure is then its own)
                log.debug("a batch failed; its episodes one at a time", exc_info=True)
                outcomes.update({k: self._alone(k) for k in ready})
        else:
            outcomes.update({k: self._alone(k) for k in ready})
        seconds = time.monotonic() - started
        total = sum(self.jobs[k].duration for k in unit) or 1.0
        return [(k, outcomes[k], seconds * self.jobs[k].duration / total) for k in unit]

    def _options(self, k: int) -> TranscribeOptions:
        preset = self.jobs[k].preset
        return with_preset(self.options, preset) if preset else self.options

    def _alone(self, k: int) -> Transcript | JobResult:
        job = self.jobs[k]
        try:
            return workers.transcribe_file(
                Path(job.episode.audio_path), self._options(k), self.engine, episode_id=job.episode.id,
                audio_path=os.path.relpath(job.episode.audio_path, self.audio_root), sha256=job.sha256,
                on_progress=workers.reporter(job.episode.id, None))
        except Exception as e:  # noqa: BLE001 (reported, never raised: the run goes on)
            return workers.failure(job, e)

    def _batch(self, unit: Unit) -> dict[int, Transcript | JobResult]:
        """Short episodes of one preset decoded as one batch (their words are those each gets alone)."""
        jobs = [self.jobs[k] for k in unit]
        files = [(Path(job.episode.audio_path), audio.probe(Path(job.episode.audio_path))) for job in jobs]
        total = sum(info.duration for _, info in files) or 1.0
        reports = [workers.reporter(job.episode.id, None) for job in jobs]

        def progress(seconds: float) -> None:   # a batch moves on as a whole: each episode its share
            for (_, info), report in zip(files, reports):
                if report is not None:
                    report(seconds * info.duration / total)

        found = _transcribe_short(files, self._options(unit[0]), self.engine, progress)
        outcomes = {}
        for k, job, transcript in zip(unit, jobs, found):
            if isinstance(transcript, IndexerError):
                outcomes[k] = workers.failure(job, transcript)
            else:
                outcomes[k] = replace(transcript, episode_id=job.episode.id,
                                      audio_path=os.path.relpath(job.episode.audio_path, self.audio_root))
        return outcomes

    def _speakers(self, k: int, outcome: Transcript | JobResult, seconds: float) -> tuple[int, JobResult]:
        if isinstance(outcome, JobResult):
            return k, outcome
        job = self.jobs[k]
        try:
            transcript, speaker_seconds = workers.with_speakers(job, Path(job.episode.audio_path), outcome,
                                                                self.options.cpu_threads)
        except Exception as e:  # noqa: BLE001
            return k, workers.failure(job, e)
        return k, JobResult(transcript, seconds=seconds + speaker_seconds, speaker_seconds=speaker_seconds)

    def _speakers_only(self, k: int) -> tuple[int, JobResult]:
        """Speakers need only the audio and the words: no transcription again."""
        job = self.jobs[k]
        self.send("started", k, None)
        problem = workers.changed_or_missing(job)
        if problem is not None:
            return k, problem
        try:
            return self._speakers(k, load_transcript(job.existing), 0.0)
        except Exception as e:  # noqa: BLE001
            return k, workers.failure(job, e)


def serve_lanes(jobs: list[Job], options: TranscribeOptions, audio_root: str) -> int:
    """In the lane worker process: every job's result through the pipe given to its initializer."""
    lock = threading.Lock()
    pipe = workers.result_pipe()

    def send(kind: str, k: int, result: JobResult | None) -> None:
        with lock:   # lanes and the speakers thread share the pipe
            pipe.send((kind, k, result))

    return _Lanes(jobs, options, audio_root, send).run()


def transcribe_here(jobs: list[Job], options: TranscribeOptions, audio_root: str,
                    progress=None) -> Iterator[tuple[Job, JobResult]]:
    """The lanes in this process (tests, and a debugger), results in the order they finish."""
    results: list[tuple[int, JobResult]] = []
    _Lanes(jobs, options, audio_root, lambda kind, k, result: kind == "done" and results.append((k, result))).run()
    yield from ((jobs[k], result) for k, result in results)


# --- in the coordinator --------------------------------------------------------

def dispatch_lanes(jobs: list[Job], options: TranscribeOptions, root: str,
                   progress=None) -> Iterator[tuple[Job, JobResult]]:
    """One lane worker process for ``jobs``; yields ``(job, result)`` as results arrive.
    ``progress(episode, seconds)``: the worker's progress, as it reports it."""
    context = multiprocessing.get_context("spawn")  # no fork of loaded model threads
    queue, drain = workers.progress_queue(context, progress)
    try:
        pending = list(jobs)
        while pending:
            suspects, pending = yield from _lane_round(pending, options, root, context, queue)
            if suspects:
                log.warning("the worker process died; retrying %d episode(s) one at a time", len(suspects))
            for job in suspects:   # each in a process of its own: a second death names its culprit
                yield from workers.pool_rounds(1, [job], options, root, context, queue, attempts={job.episode.id: 1})
    finally:
        workers.stop_progress(queue, drain)


def _lane_round(jobs: list[Job], options: TranscribeOptions, root: str, context, queue):
    """One lane worker on ``jobs``; yields results and returns (jobs it died on, jobs it never began)."""
    reader, writer = context.Pipe(duplex=False)
    pool = cf.ProcessPoolExecutor(1, mp_context=context, initializer=workers.worker_init,
                                  initargs=(os.getpid(), queue, writer))
    future = pool.submit(serve_lanes, jobs, options, root)
    writer.close()   # the worker holds the only writing end: its death ends the pipe
    started, finished = set(), set()

    def receive(wait: float) -> Iterator[tuple[Job, JobResult]]:
        while reader.poll(wait):
            try:
                kind, k, result = reader.recv()
            except (EOFError, OSError):   # the worker died (mid-message, perhaps)
                return
            if kind == "started":
                started.add(k)
            else:
                finished.add(k)
                yield jobs[k], result
            wait = 0

    try:
        while not future.done():
            yield from receive(0.2)
        yield from receive(0)
    except KeyboardInterrupt:
        workers.kill_workers(pool)
        with contextlib.suppress(Exception):   # finished while we were waiting: save it rather than lose it
            yield from receive(0)
        raise
    finally:
        if not future.done():
            workers.kill_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        reader.close()
    if future.exception() is None:
        return [], []
    if not isinstance(future.exception(), cf.process.BrokenProcessPool):   # a bug: each job says so
        error = future.exception()
        for k, job in enumerate(jobs):
            if k not in finished:
                yield job, workers.failure(job, error)
        return [], []
    unfinished = [k for k in range(len(jobs)) if k not in finished]
    begun = [k for k in unfinished if k in started] or unfinished   # none begun: all suspect (no endless loop)
    return [jobs[k] for k in begun], [jobs[k] for k in unfinished if k not in begun]
