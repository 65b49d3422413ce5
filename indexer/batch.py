"""Ingest: bring transcripts and index up to date with the audio, safely.

A run plans first (cheap: hashes are cached by size and mtime), then
transcribes in worker processes (or on a Dask cluster) while this process,
the only writer, saves each transcript atomically and indexes it. Any crash
leaves each transcript complete or absent; the next run redoes exactly what
is missing. Bad files are reported and skipped, never fatal to the run.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import fcntl
import fnmatch
import json
import logging
import multiprocessing
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterator

from . import audio
from .archive import ArchiveLayout, ArchiveSettings, Episode, HashCache, atomic_write_text, load_settings
from .errors import IndexerError, LockError
from .transcribe import TranscribeOptions, glossary_prompt, load_engine, preset, transcribe_file
from .transcript import Transcript, export, load_transcript, save_transcript

log = logging.getLogger("indexer")

# Written beside each transcript's JSON for people and players; JSON stays the truth.
EXPORT_FORMATS = ("srt", "vtt", "txt")


@dataclass(frozen=True)
class IngestOptions:
    force: bool = False                   # re-transcribe even up-to-date episodes
    only: str | None = None               # glob on episode ids or file names
    workers: int = 0                      # 0: sized to the machine
    scheduler: str | None = None          # tcp://host:8786 for a Dask cluster
    progress: bool = True
    index: bool = True                    # also keep the search index up to date
    wait_for_lock: float = 0.0            # seconds to wait for another ingest
    transcribe: TranscribeOptions | None = None   # None: from archive.yaml


def options_from_settings(settings: ArchiveSettings) -> TranscribeOptions:
    return replace(preset(settings.preset), model=settings.model, engine=settings.engine,
                   language=settings.language, initial_prompt=glossary_prompt(settings.glossary))


def worker_plan(workers: int, cores: int | None = None) -> tuple[int, int]:
    """(processes, threads each) with processes × threads ≤ cores."""
    cores = cores or os.cpu_count() or 1
    workers = workers or max(1, cores // 2)
    workers = max(1, min(workers, cores))
    return workers, max(1, cores // workers)


# --- the run's records ---------------------------------------------------------

@dataclass
class EpisodeResult:
    episode: str
    file: str
    status: str                 # transcribed | reindexed | unchanged | copied | removed | failed
    duration: float = 0.0
    seconds: float = 0.0
    realtime_factor: float = 0.0
    segments: int = 0
    suspect: int = 0
    error: str = ""


@dataclass
class RunReport:
    archive: str
    started: str
    finished: str = ""
    interrupted: bool = False
    results: list[EpisodeResult] = field(default_factory=list)

    @property
    def failed(self) -> list[EpisodeResult]:
        return [r for r in self.results if r.status == "failed"]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    def summary(self) -> str:
        lines = []
        done = [r for r in self.results if r.status == "transcribed"]
        hours = sum(r.duration for r in done) / 3600
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts().items())) or "nothing to do"
        lines.append(f"{counts}; {hours:.2f} h of audio transcribed")
        for r in self.failed:
            lines.append(f"  FAILED {r.file}: {r.error}")
        if self.interrupted:
            lines.append("  interrupted: finished episodes were saved; run ingest again to continue")
        return "\n".join(lines)

    def save(self, runs_dir: Path) -> Path:
        stamp = self.started.replace(":", "").replace("-", "")
        path = runs_dir / f"ingest-{stamp}.json"
        atomic_write_text(path, json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n")
        return path


@dataclass(frozen=True)
class Job:
    episode: Episode
    sha256: str
    duration: float


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)                              # to transcribe
    existing: list[tuple[Episode, Transcript]] = field(default_factory=list)    # up to date
    duplicates: list[tuple[Episode, str]] = field(default_factory=list)        # same audio as episode id


# --- the lock ------------------------------------------------------------------

class IngestLock:
    """One ingest per archive. The OS frees a flock when its owner dies, so a
    killed run never blocks the next; the pid written inside says who held it."""

    def __init__(self, path: Path, wait: float = 0.0):
        self.path = path
        self.wait = wait
        self.fd: int | None = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "?"
                    os.close(self.fd)
                    raise LockError(f"another ingest (pid {holder}) is running on this archive",
                                    self.path.parent.parent, "wait for it to finish, or pass --wait SECONDS")
                time.sleep(0.5)
        previous = os.pread(self.fd, 64, 0).decode(errors="replace").strip()
        if previous.isdigit() and not _pid_alive(int(previous)):
            log.warning("recovered the lock of an ingest that died (pid %s); its finished work is kept", previous)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


# --- workers -------------------------------------------------------------------

_ENGINE = None
_ENGINE_KEY = None


def _engine_for(options: TranscribeOptions):
    """One loaded engine per worker process, reused for every episode."""
    global _ENGINE, _ENGINE_KEY
    key = (options.model, options.engine, options.fingerprint(), options.cpu_threads)
    if _ENGINE_KEY != key:
        _ENGINE, _ENGINE_KEY = load_engine(options), key
    return _ENGINE


def transcribe_job(job: Job, options: TranscribeOptions, audio_root: str) -> tuple[Transcript | None, str]:
    """Runs in a worker: (transcript, "") or (None, one-line error). Never raises."""
    try:
        transcript = transcribe_file(job.episode.audio_path, options, _engine_for(options),
                                     episode_id=job.episode.id,
                                     audio_path=os.path.relpath(job.episode.audio_path, audio_root),
                                     sha256=job.sha256)
        return transcript, ""
    except IndexerError as e:
        return None, e.message + (f" ({e.hint})" if e.hint else "")
    except Exception as e:  # a worker must report, not die: the run goes on
        log.debug("unexpected failure on %s", job.episode.audio_path, exc_info=True)
        return None, f"unexpected {type(e).__name__}: {e}"


# --- the run -------------------------------------------------------------------

class Ingest:
    """Plans and runs one ingest of an archive."""

    def __init__(self, root: str | Path, options: IngestOptions | None = None):
        self.layout = ArchiveLayout(Path(root))
        self.options = options or IngestOptions()
        if not self.layout.root.is_dir():
            raise IndexerError("archive folder not found", self.layout.root)
        if not self.layout.audio_dir.is_dir():
            raise IndexerError("archive has no audio/ folder", self.layout.root,
                               "put episodes under ARCHIVE/audio/")
        settings = load_settings(self.layout.root)
        base = self.options.transcribe or options_from_settings(settings)
        workers, threads = worker_plan(self.options.workers)
        self.workers = workers
        self.transcribe_options = replace(base, cpu_threads=base.cpu_threads or threads)
        self.state_path = self.layout.state_dir / "indexed.json"

    # Index state: which version of each episode's inputs the index holds.
    def _load_indexed(self) -> dict[str, str]:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}

    def _save_indexed(self, state: dict[str, str]) -> None:
        atomic_write_text(self.state_path, json.dumps(state, sort_keys=True))

    def index_version(self, episode: Episode) -> str:
        """Changes when the transcript, sidecar or corrections change (stat only: cheap)."""
        parts = []
        for path in (self.layout.transcript_path(episode.id), episode.sidecar_path,
                     self.layout.root / "corrections" / f"{episode.id}.json"):
            if path is not None and path.is_file():
                st = path.stat()
                parts.append(f"{st.st_size}:{st.st_mtime_ns}")
            else:
                parts.append("-")
        return "|".join(parts)

    def _matches(self, path: Path, episode_id: str) -> bool:
        pattern = self.options.only
        return not pattern or fnmatch.fnmatch(episode_id, pattern) or fnmatch.fnmatch(path.name, pattern) \
            or fnmatch.fnmatch(str(path.relative_to(self.layout.audio_dir)), pattern)

    def _existing_transcript(self, episode_id: str) -> Transcript | None:
        path = self.layout.transcript_path(episode_id)
        if not path.is_file():
            return None
        try:
            return load_transcript(path)
        except IndexerError as e:
            log.warning("%s; it will be transcribed again", e.one_line())
            return None

    def plan(self, report: RunReport, hashes: HashCache) -> Plan:
        """Decide per episode: transcribe, keep (maybe reindex), or copy a duplicate."""
        fingerprint = self.transcribe_options.fingerprint()
        plan = Plan()
        by_sha: dict[str, str] = {}
        for path in self.layout.audio_files():
            rel = str(path.relative_to(self.layout.audio_dir))
            try:
                episode = self.layout.episode_for(path)
                if not self._matches(path, episode.id):
                    continue
                audio.check_readable(path)
                sha = hashes.sha256(path)
            except IndexerError as e:
                report.results.append(EpisodeResult("", rel, "failed", error=e.one_line()))
                continue
            except OSError as e:  # deleted or unreadable between listing and reading
                report.results.append(EpisodeResult("", rel, "failed", error=f"{path}: {e.strerror}"))
                continue
            existing = None if self.options.force else self._existing_transcript(episode.id)
            if existing and existing.audio_sha256 == sha and existing.fingerprint == fingerprint:
                plan.existing.append((episode, existing))
            elif sha in by_sha:
                plan.duplicates.append((episode, by_sha[sha]))
            else:
                try:
                    info = audio.probe(path)
                except IndexerError as e:
                    report.results.append(EpisodeResult(episode.id, rel, "failed", error=e.one_line()))
                    continue
                plan.jobs.append(Job(episode, sha, info.duration))
            by_sha.setdefault(sha, episode.id)
        return plan

    def _reuse_by_content(self, jobs: list[Job], report: RunReport) -> list[Job]:
        """A renamed (or duplicated) file keeps the transcript of its content."""
        fingerprint = self.transcribe_options.fingerprint()
        known: dict[str, Path] = {}
        if self.layout.transcripts_dir.is_dir() and not self.options.force:
            for path in self.layout.transcripts_dir.rglob("*.json"):
                try:
                    head = json.loads(path.read_text(encoding="utf-8"))
                    if head.get("fingerprint") == fingerprint:
                        known.setdefault(head.get("audio_sha256"), path)
                except (OSError, ValueError, AttributeError):
                    continue
        remaining = []
        for job in jobs:
            source = known.get(job.sha256)
            if source is None or source == self.layout.transcript_path(job.episode.id):
                remaining.append(job)
                continue
            transcript = self._copy_transcript(load_transcript(source), job.episode)
            report.results.append(EpisodeResult(job.episode.id, transcript.audio_path, "copied",
                                                duration=transcript.duration, segments=len(transcript.segments),
                                                error=f"same audio as {source.relative_to(self.layout.transcripts_dir)}"))
        return remaining

    def _open_index(self):
        from .index import TranscriptIndex

        return TranscriptIndex.open(self.layout.index_dir)

    def _index_episode(self, index, episode: Episode, transcript: Transcript, indexed: dict[str, str]) -> None:
        from .corrections import apply_corrections, load_corrections

        effective = apply_corrections(transcript, load_corrections(self.layout.root, episode.id))
        index.update_episode(effective, episode.meta)
        indexed[episode.id] = self.index_version(episode)
        self._save_indexed(indexed)

    def _remove_deleted(self, index, present: set[str], indexed: dict[str, str], report: RunReport) -> None:
        """Audio gone: drop it from the index; keep its transcript in the trash."""
        if self.options.only:
            return
        for episode_id in sorted(set(indexed) - present):
            if index is not None:
                index.delete_episode(episode_id)
            source = self.layout.transcript_path(episode_id)
            if source.is_file():
                trash = self.layout.state_dir / "trash" / f"{episode_id}.json"
                trash.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(source), trash)
            indexed.pop(episode_id, None)
            self._save_indexed(indexed)
            report.results.append(EpisodeResult(episode_id, "", "removed"))

    def run(self) -> RunReport:
        report = RunReport(str(self.layout.root), _now())
        with IngestLock(self.layout.state_dir / "ingest.lock", self.options.wait_for_lock):
            hashes = HashCache(self.layout.state_dir / "hashes.json")
            try:
                self._run(report, hashes)
            except KeyboardInterrupt:
                report.interrupted = True
            finally:
                hashes.save()
                report.finished = _now()
                report.save(self.layout.runs_dir)
        return report

    def _run(self, report: RunReport, hashes: HashCache) -> None:
        plan = self.plan(report, hashes)
        plan.jobs = self._reuse_by_content(plan.jobs, report)
        index = self._open_index() if self.options.index else None
        indexed = self._load_indexed()
        present = {e.id for e, _ in plan.existing} | {j.episode.id for j in plan.jobs} \
            | {e.id for e, _ in plan.duplicates} | {r.episode for r in report.results if r.episode}

        # Transcripts that exist but are not (or not currently) in the index.
        for episode, transcript in plan.existing:
            status = "unchanged"
            if index is not None and indexed.get(episode.id) != self.index_version(episode):
                self._index_episode(index, episode, transcript, indexed)
                status = "reindexed"
            report.results.append(EpisodeResult(episode.id, transcript.audio_path, status,
                                                duration=transcript.duration))
        self._remove_deleted(index, present, indexed, report)

        for job, transcript, error, seconds in self._transcribe_all(plan.jobs):
            rel = str(job.episode.audio_path.relative_to(self.layout.audio_dir))
            if transcript is None:
                report.results.append(EpisodeResult(job.episode.id, rel, "failed", duration=job.duration,
                                                    error=f"{job.episode.audio_path}: {error}"))
                continue
            save_transcript(transcript, self.layout.transcript_path(job.episode.id))
            export(transcript, EXPORT_FORMATS, self.layout.transcripts_dir)
            if index is not None:
                self._index_episode(index, job.episode, transcript, indexed)
            report.results.append(EpisodeResult(
                job.episode.id, rel, "transcribed", duration=transcript.duration, seconds=round(seconds, 2),
                realtime_factor=round(transcript.duration / seconds, 2) if seconds else 0.0,
                segments=len(transcript.segments), suspect=sum(s.suspect for s in transcript.segments),
                error="" if transcript.segments else "no speech detected"))

        for episode, original in plan.duplicates:
            source = self._existing_transcript(original)
            rel = str(episode.audio_path.relative_to(self.layout.audio_dir))
            if source is None:
                report.results.append(EpisodeResult(episode.id, rel, "failed",
                                                    error=f"{episode.audio_path}: same audio as {original}, "
                                                          "which failed"))
                continue
            copy = self._copy_transcript(source, episode)
            if index is not None:
                self._index_episode(index, episode, copy, indexed)
            report.results.append(EpisodeResult(episode.id, rel, "copied", duration=copy.duration,
                                                segments=len(copy.segments), error=f"same audio as {original}"))

    def _copy_transcript(self, source: Transcript, episode: Episode) -> Transcript:
        """Same audio under another name: reuse the transcript, never re-transcribe."""
        copy = replace(source, episode_id=episode.id,
                       audio_path=str(episode.audio_path.relative_to(self.layout.audio_dir)))
        save_transcript(copy, self.layout.transcript_path(episode.id))
        return copy

    def _transcribe_all(self, jobs: list[Job]) -> Iterator[tuple[Job, Transcript | None, str, float]]:
        """Yield (job, transcript, error, seconds) as results arrive, in any order."""
        if not jobs:
            return
        total_hours = sum(j.duration for j in jobs) / 3600
        bar = _run_bar(total_hours, self.options.progress)
        started = time.monotonic()
        done = 0.0
        try:
            for job, transcript, error, seconds in self._dispatch(jobs):
                done += job.duration
                bar.update(job.duration / 3600)
                bar.set_postfix_str(f"{done / max(time.monotonic() - started, 1e-6):.1f}× real time")
                yield job, transcript, error, seconds
        finally:
            bar.close()

    def _dispatch(self, jobs: list[Job]):
        options, root = self.transcribe_options, str(self.layout.audio_dir)
        if self.options.scheduler:
            yield from _dispatch_dask(self.options.scheduler, jobs, options, root)
            return
        if self.workers == 1:
            for job in jobs:
                started = time.monotonic()
                transcript, error = transcribe_job(job, options, root)
                yield job, transcript, error, time.monotonic() - started
            return
        context = multiprocessing.get_context("spawn")  # no fork of loaded model threads
        with cf.ProcessPoolExecutor(self.workers, mp_context=context) as pool:
            started = {}
            futures = {}
            for job in jobs:
                future = pool.submit(transcribe_job, job, options, root)
                futures[future] = job
                started[future] = time.monotonic()
            try:
                for future in cf.as_completed(futures):
                    job = futures[future]
                    try:
                        transcript, error = future.result()
                    except Exception as e:  # a worker process died (out of memory, killed)
                        transcript, error = None, f"worker died: {type(e).__name__}: {e}"
                    yield job, transcript, error, time.monotonic() - started[future]
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise


def _dispatch_dask(address: str, jobs: list[Job], options: TranscribeOptions, root: str):
    try:
        from distributed import Client, as_completed
    except ImportError as e:
        raise IndexerError("--scheduler needs dask.distributed",
                           hint='pip install "indexer[cluster]"') from e
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as e:
        raise IndexerError(f"cannot reach the Dask scheduler at {address}: {e}") from e
    with client:
        futures = {client.submit(transcribe_job, job, options, root, pure=False): job for job in jobs}
        started = time.monotonic()
        for future in as_completed(futures):
            job = futures[future]
            try:
                transcript, error = future.result()
            except Exception as e:
                transcript, error = None, f"Dask worker failed: {type(e).__name__}: {e}"
            yield job, transcript, error, time.monotonic() - started


class _NullBar:
    def update(self, n):
        pass

    def set_postfix_str(self, text):
        pass

    def close(self):
        pass


def _run_bar(total_hours: float, enabled: bool):
    if not enabled:
        return _NullBar()
    from tqdm.auto import tqdm

    return tqdm(total=round(total_hours, 3), unit="h", desc="ingest",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} h audio "
                           "[{elapsed}<{remaining}{postfix}]")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
