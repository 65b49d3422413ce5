"""Transcription away from the coordinator: worker processes, or a Dask cluster.

:func:`transcribe_job` runs in a worker and never raises: every outcome comes
back as a :class:`JobResult`. The coordinator (:mod:`indexer.ingest.run`) is the
only writer; :func:`dispatch_pool` and :func:`dispatch_dask` yield ``(job,
result)`` pairs to it as they arrive, in any order.

A worker loads its engine once (:class:`ModelCache`) and reuses it for every episode; it ignores
Ctrl-C and SIGTERM (the coordinator decides) and ends when the coordinator is
gone, even if it was SIGKILLed.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

from ..archive import Episode
from ..errors import ClusterError, IndexerError
from ..locks import die_with_parent
from .reports import RETRY_HINT, failure_line
from ..speakers import Heard, SpeakerOptions, hear, load_backend, with_heard
from ..transcribe import TranscribeOptions, load_engine, transcribe_file, with_preset
from ..transcript import Transcript, load_transcript

log = logging.getLogger("indexer")

MAX_ATTEMPTS = 2  # transcriptions whose worker process died are retried once
WORKER_MEMORY_GB = 1.0  # a worker with the base model peaks at ~0.45 GB; leave room for larger models


@dataclass(frozen=True)
class Job:
    episode: Episode            # without meta: sidecars matter to the index (and to Whisper only by `preset`)
    sha256: str
    duration: float
    size: int = 0
    speakers: SpeakerOptions | None = None   # the episode's speaker settings (None: no stage)
    existing: str | None = None             # a current transcript: add speakers only, no transcription
    preset: str = ""            # the sidecar's decoding preset when it has one ("": the run's)
    why: str = ""               # why a transcript on disk is made again, when that is not obvious (the report's note)
    carry_from: str = ""        # the episode whose corrections this one takes (renamed as it is made again)


@dataclass
class JobResult:
    transcript: Transcript | None
    error: str = ""             # one line, when transcript is None
    seconds: float = 0.0        # measured where the work ran
    needs_audio: bool = False   # a Dask worker cannot read the path: send the bytes
    speaker_seconds: float = 0.0   # the speakers stage's own (in the lane worker it hears beside the decoding)


# --- sizing --------------------------------------------------------------------

def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _memory_gb() -> float:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (ValueError, OSError, AttributeError):
        return 4.0


def worker_plan(workers: int, cores: int | None = None, memory_gb: float | None = None) -> tuple[int, int]:
    """(processes, threads each) with processes × threads ≤ cores.

    By default one single-threaded process per core, as memory allows: on 2
    cores, 2 × 1 ingests the sample archive ~1.45× faster than 1 × 2 (decoding,
    VAD and Python between the engine's calls do not use the second thread;
    benchmarks/results/ingest.md).
    """
    cores = cores or available_cores()
    memory_gb = memory_gb if memory_gb is not None else _memory_gb()
    workers = workers or max(1, min(cores, int(memory_gb // WORKER_MEMORY_GB)))
    workers = max(1, min(workers, cores))
    return workers, max(1, cores // workers)


# --- in the worker -------------------------------------------------------------

class ModelCache:
    """The models one worker process has loaded: its transcription engine and its speaker backend.

    Loading a model takes seconds; a worker keeps the last one of each kind and
    reuses it for every episode with the same settings. One instance per
    process (:data:`MODELS`): worker processes each import this module, so each
    has its own; the lock covers the threads of a Dask worker.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._held: dict[str, tuple[tuple, object]] = {}   # kind: (settings it was loaded with, model)

    def engine(self, options: TranscribeOptions):
        key = (options.model, options.engine, options.fingerprint(), options.cpu_threads)
        return self._get("engine", key, lambda: load_engine(options))

    def backend(self, options: SpeakerOptions):
        return self._get("backend", (options.backend, options.cpu_threads), lambda: load_backend(options))

    def _get(self, kind: str, key: tuple, load):
        with self._lock:
            held = self._held.get(kind)
            if held is None or held[0] != key:
                held = self._held[kind] = (key, load())
            return held[1]


MODELS = ModelCache()


def speaker_options(job: Job, threads: int) -> SpeakerOptions:
    """The job's speaker settings, on the worker's ``threads`` unless they name their own."""
    options = job.speakers or SpeakerOptions(mode="off")
    if options.runs and threads and not options.cpu_threads:
        options = replace(options, cpu_threads=threads)
    return options


def hear_episode(job: Job, path: Path, duration: float, threads: int) -> tuple[Heard | None, float]:
    """The audio part of the job's speakers stage (:func:`indexer.speakers.hear`), and its seconds."""
    options = speaker_options(job, threads)
    started = time.monotonic()
    backend = MODELS.backend(options) if options.runs else None
    return hear(path, duration, options, backend), time.monotonic() - started


def with_speakers(job: Job, path: Path, transcript: Transcript, threads: int) -> tuple[Transcript, float]:
    """The speakers stage on a transcript (``off``: its automatic labels removed)."""
    heard, seconds = hear_episode(job, path, transcript.duration, threads)
    return with_heard(transcript, heard), seconds


def _dask_threads() -> int:
    """Engine threads on a Dask worker: its machine's cores shared by its task threads."""
    try:
        from distributed import get_worker

        return max(1, available_cores() // max(1, get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 0


_PROGRESS = None   # in a pool's worker process: the queue to the coordinator (see worker_init)
_RESULTS = None    # in a lane worker process: the pipe its results go through (see lanes.py)
PROGRESS_EVERY = 1.0   # seconds between a worker's reports: a few small messages, whatever the file


def reporter(episode: str, progress):
    """``on_progress(seconds)`` for one episode: straight to ``progress(episode, seconds)`` in this
    process, or gathered and sent through the pool's queue about once a second."""
    if progress is not None:
        return lambda seconds: progress(episode, seconds)
    if _PROGRESS is None:
        return None
    pending = [0.0, -PROGRESS_EVERY]   # the first figure goes at once (a short file may take < 1 s)
    lock = threading.Lock()

    def report(seconds: float) -> None:
        with lock:
            pending[0] += seconds
            if time.monotonic() - pending[1] >= PROGRESS_EVERY:
                _PROGRESS.put((episode, pending[0]))
                pending[:] = [0.0, time.monotonic()]

    return report


def transcribe_job(job: Job, options: TranscribeOptions, audio_root: str, data: bytes | None = None,
                   remote: bool = False, existing: str | None = None, progress=None) -> JobResult:
    """Runs in a worker (process, or Dask task); never raises.

    ``data``: the audio itself, for a Dask worker without the archive mounted.
    ``remote``: on Dask, a missing file asks the coordinator for the bytes.
    ``existing``: the JSON of ``job.existing`` (sent with the audio to such a worker).
    ``progress(episode, seconds)``: seconds of its audio decoded (in the coordinator's
    process; a pool's workers report through their queue instead).
    """
    started = time.monotonic()
    path = Path(job.episode.audio_path)
    tmp = None
    try:
        options = job_options(job, options)
        if remote and not options.cpu_threads:
            options = replace(options, cpu_threads=_dask_threads())
        if data is not None:
            fd, tmp = tempfile.mkstemp(prefix="indexer-", suffix=path.suffix)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            path = Path(tmp)
        elif remote and (not path.is_file() or (job.size and path.stat().st_size != job.size)):
            return JobResult(None, needs_audio=True)   # not this file here: the coordinator sends it
        elif (problem := changed_or_missing(job)) is not None:
            return problem
        if job.existing:
            # Speakers need only the audio and the words: no transcription again.
            if existing is not None:
                import json

                transcript = Transcript.from_dict(json.loads(existing), job.existing)
            elif remote and not Path(job.existing).is_file():
                return JobResult(None, needs_audio=True)
            else:
                transcript = load_transcript(job.existing)
            transcript, speaker_seconds = with_speakers(job, path, transcript, options.cpu_threads)
            return JobResult(transcript, seconds=speaker_seconds, speaker_seconds=speaker_seconds)
        engine = MODELS.engine(options)
        started = time.monotonic()  # the real-time factor is the transcription's, not the model load's
        transcript = transcribe_episode(job, path, options, engine, audio_root, progress)
        transcript, speaker_seconds = with_speakers(job, path, transcript, options.cpu_threads)
        return JobResult(transcript, seconds=time.monotonic() - started, speaker_seconds=speaker_seconds)
    except Exception as e:  # a worker must report, not die: the run goes on
        return failure(job, e, time.monotonic() - started)
    finally:
        if tmp:
            os.unlink(tmp)


def job_options(job: Job, options: TranscribeOptions) -> TranscribeOptions:
    """The run's options with the decoding of the job's own preset (a sidecar's), if it has one."""
    return with_preset(options, job.preset) if job.preset else options


def transcribe_episode(job: Job, path: Path, options: TranscribeOptions, engine, audio_root: str,
                       progress=None) -> Transcript:
    """The job's audio at ``path`` transcribed as its episode: its id, its path relative to the
    archive's audio, its known sha256, and its progress reported (see :func:`reporter`)."""
    return transcribe_file(path, options, engine, episode_id=job.episode.id,
                           audio_path=os.path.relpath(job.episode.audio_path, audio_root),
                           sha256=job.sha256, on_progress=reporter(job.episode.id, progress))


def changed_or_missing(job: Job) -> JobResult | None:
    """The failure of a job whose file is gone or changed since the survey (None: it is as planned)."""
    path = Path(job.episode.audio_path)
    if not path.is_file():
        return failure(job, FileNotFoundError())
    if job.size and path.stat().st_size != job.size:
        return JobResult(None, f"{path}: changed during the run (the next run transcribes the new version)")
    return None


def failure(job: Job, error: BaseException, seconds: float = 0.0) -> JobResult:
    """A job's failure as its one line."""
    if isinstance(error, FileNotFoundError):
        return JobResult(None, f"{job.episode.audio_path}: file not found (deleted or moved during the run; "
                               "the next run accounts for it)", seconds)
    if isinstance(error, IndexerError):
        return JobResult(None, failure_line(error, job.episode.audio_path), seconds)
    log.debug("unexpected failure on %s", job.episode.audio_path, exc_info=error)
    return JobResult(None, f"{job.episode.audio_path}: unexpected {type(error).__name__}: {error} "
                           f"(please report it; {RETRY_HINT})", seconds)


def worker_init(parent: int, progress=None, results=None) -> None:
    """Workers leave signals to the coordinator, and end when it is gone (even SIGKILLed);
    ``progress``: the queue their progress goes to; ``results``: a lane worker's pipe."""
    global _PROGRESS, _RESULTS
    _PROGRESS, _RESULTS = progress, results
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(ImportError):
        # tqdm (used quietly by the engines) would make a named semaphore per
        # worker; a worker killed on Ctrl-C would leave it to the resource
        # tracker, which then warns about a "leak". A thread lock is enough here.
        from tqdm import tqdm

        tqdm.set_lock(threading.RLock())

    die_with_parent(parent)


def result_pipe():
    """In a lane worker: the writing end of its pipe to the coordinator."""
    return _RESULTS


# --- dispatching ---------------------------------------------------------------

def kill_workers(pool: cf.ProcessPoolExecutor) -> None:
    # No public API before Python 3.14 (terminate_workers); a running job
    # would otherwise be waited for, and a 3-hour file is a long wait.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.kill()


def _drain(queue, progress) -> None:
    """The coordinator's end of the workers' progress queue (None ends it)."""
    while (item := queue.get()) is not None:
        with contextlib.suppress(Exception):   # a progress figure never stops a run
            progress(*item)


def dispatch_pool(workers: int, jobs: list[Job], options: TranscribeOptions,
                  root: str, progress=None) -> Iterator[tuple[Job, JobResult]]:
    """A local pool of spawned processes; a job whose worker died is retried once.
    ``progress(episode, seconds)``: the workers' progress, as they report it."""
    context = multiprocessing.get_context("spawn")  # no fork of loaded model threads
    queue, drain = progress_queue(context, progress)
    try:
        yield from pool_rounds(workers, jobs, options, root, context, queue)
    finally:
        stop_progress(queue, drain)


def progress_queue(context, progress):
    """The workers' progress queue and the coordinator's thread that reads it (both None without ``progress``)."""
    queue = context.SimpleQueue() if progress else None
    drain = threading.Thread(target=_drain, args=(queue, progress), daemon=True, name="progress") if queue else None
    if drain:
        drain.start()
    return queue, drain


def stop_progress(queue, drain) -> None:
    if drain:
        queue.put(None)
        drain.join(timeout=5)


def pool_rounds(workers, jobs, options, root, context, queue,
                attempts: dict[str, int] | None = None) -> Iterator[tuple[Job, JobResult]]:
    """``jobs`` in a pool of ``workers`` processes, one job each at a time; ``attempts``: the deaths
    each episode already caused."""
    attempts = dict(attempts or {})
    pending = list(jobs)
    while pending:
        pool = cf.ProcessPoolExecutor(min(workers, len(pending)), mp_context=context,
                                      initializer=worker_init, initargs=(os.getpid(), queue))
        futures = {pool.submit(transcribe_job, job, options, root): job for job in pending}
        pending, given = [], set()
        try:
            for future in cf.as_completed(futures):
                job = futures[future]
                try:
                    outcome = future.result()
                except cf.process.BrokenProcessPool:
                    attempts[job.episode.id] = attempts.get(job.episode.id, 0) + 1
                    if attempts[job.episode.id] < MAX_ATTEMPTS:
                        pending.append(job)
                        continue
                    outcome = JobResult(None, f"{job.episode.audio_path}: the worker process died on it twice "
                                              "(out of memory? try --workers 1; " + RETRY_HINT + ")")
                given.add(future)
                yield job, outcome
        except KeyboardInterrupt:
            kill_workers(pool)
            # Finished while we were waiting: save it rather than lose it.
            for future, job in futures.items():
                if future.done() and future not in given and not future.cancelled() and not future.exception():
                    yield job, future.result()
            raise
        finally:
            if not all(f.done() for f in futures):
                kill_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
        if pending:
            log.warning("a worker process died; retrying %d episode(s) in a new pool", len(pending))


SCHEDULER_TIMEOUT = "10s"   # how long a Dask client tries to reach the scheduler before one clear error


def dispatch_dask(address: str, jobs: list[Job], options: TranscribeOptions, root: str,
                  ship_audio: bool | None) -> Iterator[tuple[Job, JobResult]]:
    """Transcribe on a Dask cluster; the coordinator still writes transcripts and index.

    Workers read the audio by path when they can (same archive mounted at the
    same path); otherwise (or with ``ship_audio``) the bytes are sent. A few
    jobs per worker thread are in flight at a time, so shipped audio never
    piles up in memory.
    """
    try:
        from distributed import Client, as_completed
    except ImportError as e:
        raise ClusterError("--scheduler needs dask.distributed", hint='pip install "indexer[cluster]"') from e
    try:
        client = Client(address, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError) as e:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {e}",
                           hint="start it with `dask scheduler`, and workers with `dask worker ADDRESS`") from e
    with client:
        in_flight = max(2, 2 * sum(client.nthreads().values()))
        queue = list(jobs)
        running: dict = {}
        completed = as_completed()

        def submit(job: Job, ship: bool) -> JobResult | None:
            """Send one job; a file that cannot be read for shipping fails at once."""
            data = existing = None
            if ship:
                try:
                    data = client.scatter(Path(job.episode.audio_path).read_bytes())
                    if job.existing:
                        existing = Path(job.existing).read_text(encoding="utf-8")
                except OSError as e:
                    return JobResult(None, f"{job.episode.audio_path}: cannot read: {e.strerror} "
                                           "(deleted during the run? the next run accounts for it)")
            future = client.submit(transcribe_job, job, options, root, data, True, existing, pure=False)
            running[future] = (job, ship)
            completed.add(future)
            return None

        def submit_more() -> Iterator[tuple[Job, JobResult]]:
            while queue and len(running) < in_flight:
                job = queue.pop(0)
                failure = submit(job, bool(ship_audio))
                if failure:
                    yield job, failure

        try:
            yield from submit_more()
            for future in completed:
                job, shipped = running.pop(future)
                try:
                    outcome = future.result()
                except Exception as e:  # the task raised, or its worker died 3 times (KilledWorker)
                    outcome = JobResult(None, f"{job.episode.audio_path}: Dask worker failed: "
                                              f"{type(e).__name__}: {e} ({RETRY_HINT})")
                future.release()
                if outcome.needs_audio and not shipped and ship_audio is not False:
                    outcome = submit(job, True)  # this worker has no such file: send the bytes
                elif outcome.needs_audio:
                    outcome = JobResult(None, f"{job.episode.audio_path}: a Dask worker cannot read this path "
                                              "(mount the archive at the same path on every worker, or let "
                                              "ingest ship the audio)")
                if outcome is not None:
                    yield job, outcome
                yield from submit_more()
        finally:
            if running:
                client.cancel(list(running))


def dispatch(jobs: list[Job], workers: int, options: TranscribeOptions, remote_options: TranscribeOptions,
             root: str, scheduler: str | None = None, ship_audio: bool | None = None,
             progress=None) -> Iterator[tuple[Job, JobResult]]:
    """On a Dask cluster (``remote_options``: its workers size their own threads), in this process
    (one worker), or in a pool of ``workers`` processes. ``progress(episode, seconds)``: seconds
    of an episode's audio decoded, as the work goes (on Dask: none; each result counts whole)."""
    if scheduler:
        yield from dispatch_dask(scheduler, jobs, remote_options, root, ship_audio)
    elif workers == 1:
        for job in jobs:
            yield job, transcribe_job(job, options, root, progress=progress)
    else:
        yield from dispatch_pool(workers, jobs, options, root, progress)
