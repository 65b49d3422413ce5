"""One worker process on every core: what ``ingest`` runs locally by default.

The worker holds one engine split into a lane per core (one single-threaded
window each, as ``indexer transcribe`` splits them) and streams its results
back as they finish:

* each lane takes the longest episode left (an episode's windows go side by
  side when a lane is free), so that the last minutes are not one core
  working alone;
* the speakers stage hears each episode's audio in a thread of its own
  (:func:`indexer.speakers.hear`) after its decoding, while the lanes decode
  the next episodes, and the last episodes the lanes take while they are
  decoded: a lone episode's stage no longer runs on one core after its
  decoding, the other idle; its model is loaded while the lanes begin, and
  the turns go onto the words once both are done
  (:func:`indexer.speakers.with_heard`);
* every model is loaded once, not once per worker process: two worker
  processes of one thread each, the default before, loaded the Whisper and
  speaker models twice and held twice the memory (3.2 GB against 2.0 summed
  over the processes on four 2-minute episodes, benchmarks/results/speed-ingest.md).

Episodes are not batched across files (``indexer transcribe a b c`` no longer does either):
on real speech (the June set) two episodes decoded as one batch did not get
the words each gets alone (28 of 37 segments of one differed), so a transcript
would depend on which episodes were new in the same run and on the number of
cores. Each episode goes through :func:`~indexer.transcribe.transcribe_file`
as before, and gets the same words, times and speakers.

The coordinator (:func:`dispatch_lanes`) receives ``(started | done, job,
result)`` messages through a pipe. If the worker dies, the episodes it had
begun are retried one at a time in a fresh process (a file that kills its
worker twice is reported, and the episode decoded beside it is not blamed),
and the others in a new lane worker.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Iterator

from ..speakers import Heard, heard_for, with_heard
from ..transcribe import expected_windows
from ..transcribe.engines import sized
from ..transcribe.options import TranscribeOptions
from ..transcript import Transcript, load_transcript, recorded_duration
from . import workers
from .workers import MODELS, Job, JobResult

log = logging.getLogger("indexer")


def longest_first(jobs: list[Job]) -> list[int]:
    """The jobs to transcribe, the longest first (speakers-only jobs need no lane)."""
    return sorted((k for k, job in enumerate(jobs) if not job.existing), key=lambda k: -jobs[k].duration)


# --- in the worker -------------------------------------------------------------

class _Lanes:
    """The worker's side: ``send(kind, k, result)`` for each job ``k`` of ``jobs``."""

    def __init__(self, jobs: list[Job], options: TranscribeOptions, audio_root: str, send):
        self.jobs, self.options, self.audio_root, self.send = jobs, options, audio_root, send
        windows = sum(expected_windows(job.duration, options) for job in jobs if not job.existing)
        self.engine = sized(MODELS.engine(options), max(1, windows)) if windows else None
        self.lanes = max(1, getattr(self.engine, "parallel", 1))
        self._beside: set[int] = set()               # episodes heard while they are decoded (run sets them)
        self._hearing: dict[int, cf.Future] = {}     # their hearings, begun with their decoding
        self._speakers_pool: cf.ThreadPoolExecutor | None = None

    def run(self) -> int:
        """Every job's result sent; returns how many."""
        sent = 0
        with cf.ThreadPoolExecutor(self.lanes, thread_name_prefix="lane") as lanes, \
                cf.ThreadPoolExecutor(1, thread_name_prefix="speakers") as speakers:
            pending = set()
            speaking = next((job for job in self.jobs if job.speakers and job.speakers.runs), None)
            if speaking is not None:   # loaded while the lanes begin, not after the first episode
                speakers.submit(MODELS.backend, workers.speaker_options(speaking, self.options.cpu_threads))
            order = longest_first(self.jobs)
            # The speakers stage hears an episode after its decoding, beside the next episodes' decoding;
            # the last episodes the lanes take are heard while they are decoded: their stage no longer runs
            # at the end on one core, the other idle (the hour of real people under ingest: 376 s against
            # 408 s, benchmarks/results/speed-hearing-longreal.md). Not every episode from the start: on
            # seven 2-minute files that was slower in three runs of three (93.5 against 86.2 s, +12 % CPU,
            # speed-hearing-where.md).
            self._speakers_pool, self._hearing = speakers, {}
            self._beside = {k for k in order[-self.lanes:] if self._speaking(k)}
            for k, job in enumerate(self.jobs):
                if job.existing:
                    pending.add(speakers.submit(self._speakers_only, k))
            decoding = {lanes.submit(self._transcribe, k) for k in order}
            decoded: dict[cf.Future, tuple[int, Transcript, float]] = {}   # hearing future -> its words
            while decoding or pending or decoded:
                done, _ = cf.wait(decoding | pending | set(decoded), return_when=cf.FIRST_COMPLETED)
                for future in done:
                    if future in decoding:
                        decoding.discard(future)
                        k, outcome, started = future.result()
                        hearing = self._hearing.pop(k, None)   # heard beside its decoding
                        if isinstance(outcome, JobResult):
                            if hearing is not None:   # no words to put it on
                                hearing.cancel()
                            self.send("done", k, outcome)
                            sent += 1
                        elif hearing is not None:
                            decoded[hearing] = (k, outcome, started)
                        elif self._speaking(k):   # heard now, beside the next episodes' decoding
                            decoded[speakers.submit(self._hear, k, outcome.duration)] = (k, outcome, started)
                        else:
                            self.send("done", *self._with_heard(k, outcome, started, (None, 0.0)))
                            sent += 1
                    elif future in decoded:
                        self.send("done", *self._with_heard(*decoded.pop(future), future.result()))
                        sent += 1
                    else:
                        pending.discard(future)
                        self.send("done", *future.result())
                        sent += 1
        return sent

    def _speaking(self, k: int) -> bool:
        """The episode has a speakers stage to hear (speakers off: its words are finished at once)."""
        speakers = self.jobs[k].speakers
        return speakers is not None and speakers.runs

    def _transcribe(self, k: int) -> tuple[int, Transcript | JobResult, float]:
        """One episode through a lane: (k, transcript or failure, when it began: time.monotonic())."""
        started = time.monotonic()
        self.send("started", k, None)
        if k in self._beside:
            self._hearing[k] = self._speakers_pool.submit(self._hear, k)
        job = self.jobs[k]
        problem = workers.changed_or_missing(job)
        if problem is not None:
            return k, problem, started
        try:
            transcript = workers.transcribe_episode(job, Path(job.episode.audio_path),
                                                    workers.job_options(job, self.options), self.engine,
                                                    self.audio_root)
        except Exception as e:  # noqa: BLE001 (reported, never raised: the run goes on)
            return k, workers.failure(job, e), started
        return k, transcript, started

    def _hear(self, k: int, duration: float | None = None) -> tuple[Heard | None, float] | JobResult:
        """The audio part of an episode's speakers stage: (what was heard, seconds), or its failure. Its lane
        has begun it (the coordinator counts it begun until it is done: a worker death names it a suspect).
        ``duration``: the transcript's; beside the decoding, the survey's (see _with_heard)."""
        job = self.jobs[k]
        try:
            return workers.hear_episode(job, Path(job.episode.audio_path),
                                        recorded_duration(job.duration) if duration is None else duration,
                                        self.options.cpu_threads)
        except Exception as e:  # noqa: BLE001 (reported with the episode, never raised)
            return workers.failure(job, e)

    def _with_heard(self, k: int, transcript: Transcript, started: float,
                    heard: tuple[Heard | None, float] | JobResult) -> tuple[int, JobResult]:
        """The episode's result: its words with what was heard. Its seconds run from ``started`` (its
        decoding's start, or its hearing's for a speakers-only job) until both are done; ``speaker_seconds``:
        the hearing's own."""
        if isinstance(heard, JobResult):
            return k, heard
        found, speaker_seconds = heard
        job = self.jobs[k]
        try:
            again: list[float] = []   # the seconds of a hearing made again

            def hear_again(duration: float) -> Heard | None:
                # The survey's duration (a cached probe) is not the transcript's.
                heard_now, seconds = workers.hear_episode(job, Path(job.episode.audio_path), duration,
                                                          self.options.cpu_threads)
                again.append(seconds)
                return heard_now

            transcript = with_heard(transcript, heard_for(transcript, found, hear_again))
            speaker_seconds += sum(again)
        except Exception as e:  # noqa: BLE001
            return k, workers.failure(job, e)
        return k, JobResult(transcript, seconds=time.monotonic() - started, speaker_seconds=speaker_seconds)

    def _speakers_only(self, k: int) -> tuple[int, JobResult]:
        """Speakers need only the audio and the words: no transcription again."""
        job = self.jobs[k]
        self.send("started", k, None)
        problem = workers.changed_or_missing(job)
        if problem is not None:
            return k, problem
        started = time.monotonic()
        try:
            transcript = load_transcript(job.existing)
        except Exception as e:  # noqa: BLE001
            return k, workers.failure(job, e)
        return self._with_heard(k, transcript, started, self._hear(k, transcript.duration))


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
