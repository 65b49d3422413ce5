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

This module orchestrates; the transcription itself (worker processes, Dask)
is in :mod:`indexer.workers`, the run reports and the status in
:mod:`indexer.runs`, and the clean-up of a killed index writer in
:func:`indexer.index.recover_index`.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import json
import logging
import os
import shutil
import signal
import stat
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterator

from .. import audio
from ..archive import (ArchiveLayout, ArchiveSettings, Episode, EpisodeMeta, HashCache, atomic_write_text,
                      episode_id, is_episode_id, load_settings, load_sidecar, pid_alive, sidecar_for)
from ..corrections import corrections_path, load_corrections, save_corrections, with_corrections
from ..errors import AudioError, IndexCorruptError, IndexerError, LockError, printable, storage_error, writing
from ..progress import progress_bar
from ..speakers import SpeakerOptions, for_episode
from .reports import (RETRY_HINT, ArchiveStatus, EpisodeResult, RunReport, failure_line, last_report, now,
                   run_line)
from ..transcribe import TranscribeOptions, glossary_prompt, with_preset
from ..transcript import Transcript, export, load_transcript, save_transcript
from .workers import (Job, JobResult, available_cores, dispatch_dask, dispatch_pool, transcribe_job,
                      worker_plan)

__all__ = [  # also re-exported from runs and workers, where they live, for callers of this module
    "ArchiveStatus", "EpisodeResult", "Ingest", "IngestLock", "IngestOptions", "Job", "JobResult", "RunReport",
    "available_cores", "options_from_settings", "transcribe_job", "watch", "worker_plan",
]

log = logging.getLogger("indexer")

# Written beside each transcript's JSON for people and players; JSON stays the truth.
EXPORT_FORMATS = ("srt", "vtt", "txt")


@dataclass(frozen=True)
class IngestOptions:
    force: bool = False                   # re-transcribe even up-to-date episodes
    only: str | None = None               # glob on episode ids or file names
    workers: int = 0                      # 0: sized to the machine
    scheduler: str | None = None          # tcp://host:8786 for a Dask cluster
    ship_audio: bool | None = None        # Dask: send the audio bytes (None: only to workers that lack the file)
    progress: bool = True
    index: bool = True                    # also keep the search index up to date
    wait_for_lock: float = 0.0            # seconds to wait for another ingest
    transcribe: TranscribeOptions | None = None   # None: from archive.yaml
    speakers: SpeakerOptions | None = None        # None: from archive.yaml (`speakers: auto | off | N`)


def options_from_settings(settings: ArchiveSettings) -> TranscribeOptions:
    return with_preset(replace(TranscribeOptions(), model=settings.model, engine=settings.engine,
                               language=settings.language, initial_prompt=glossary_prompt(settings.glossary)),
                       settings.preset)


# --- the survey's results ----------------------------------------------------

@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)                            # to transcribe (or add speakers to)
    current: list[Episode] = field(default_factory=list)                     # transcript up to date
    copies: list[tuple[Episode, Path]] = field(default_factory=list)         # same audio as a transcript on disk
    duplicates: list[tuple[Episode, str, str]] = field(default_factory=list)  # (episode, job's id, sha): same audio
    present: set[str] = field(default_factory=set)                          # ids of every audio file, even bad
    presets: dict[str, str] = field(default_factory=dict)                   # episode id: its decoding preset


# --- what the transcripts hold, without reading them every run -----------------

@dataclass(frozen=True)
class TranscriptHead:
    episode_id: str
    audio_path: str
    audio_sha256: str
    fingerprint: str
    duration: float
    segments: int
    suspect: int
    speakers: str = ""      # fingerprint of the speaker settings its labels come from ("" none)

    @classmethod
    def of(cls, t: Transcript) -> "TranscriptHead":
        return cls(t.episode_id, t.audio_path, t.audio_sha256, t.fingerprint, t.duration,
                   len(t.segments), sum(s.suspect for s in t.segments),
                   (t.diarization or {}).get("fingerprint", ""))


class TranscriptCatalog:
    """The head of every transcript (and trashed transcript), cached by (size, mtime).

    Parsing a one-hour transcript takes tens of milliseconds; a no-op run over
    a thousand episodes must not pay that a thousand times.
    """

    def __init__(self, layout: ArchiveLayout, cache_path: Path):
        self.layout = layout
        self.cache_path = cache_path
        self.trash_dir = layout.trash_dir
        self.heads: dict[Path, TranscriptHead] = {}
        self.unreadable: dict[Path, str] = {}
        self._by_content: dict[tuple[str, str], list[Path]] | None = None
        self._dirty = False
        try:
            self._cache = json.loads(cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._cache = {}  # a lost cache only costs reading the transcripts once

    def refresh(self) -> None:
        seen = set()
        for folder in (self.layout.transcripts_dir, self.trash_dir):
            if not folder.is_dir():
                continue
            for path in folder.rglob("*.json"):
                if path.name.startswith("."):
                    continue
                key = str(path.relative_to(self.layout.root))
                try:
                    st = path.stat()
                except OSError:
                    continue
                seen.add(key)
                cached = self._cache.get(key)
                if cached and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
                    self.heads[path] = TranscriptHead(**cached[2])
                    continue
                try:
                    self.remember(path, load_transcript(path), st)
                except IndexerError as e:
                    self.unreadable[path] = e.one_line()
        for key in set(self._cache) - seen:
            del self._cache[key]
            self._dirty = True
        self._by_content = None

    def remember(self, path: Path, transcript: Transcript, st: os.stat_result | None = None) -> None:
        st = st or path.stat()
        head = TranscriptHead.of(transcript)
        self.heads[path] = head
        self.unreadable.pop(path, None)
        self._cache[str(path.relative_to(self.layout.root))] = [st.st_size, st.st_mtime_ns, asdict(head)]
        self._by_content = None
        self._dirty = True

    def forget(self, path: Path) -> None:
        self.heads.pop(path, None)
        self._cache.pop(str(path.relative_to(self.layout.root)), None)
        self._by_content = None
        self._dirty = True

    def get(self, episode_id: str) -> TranscriptHead | None:
        return self.heads.get(self.layout.transcript_path(episode_id))

    def episode_ids(self) -> set[str]:
        """Ids of the transcripts under transcripts/ (not the trash); files not named by an id are left alone."""
        root = self.layout.transcripts_dir
        ids = {p.relative_to(root).with_suffix("").as_posix() for p in self.heads if root in p.parents}
        return {i for i in ids if is_episode_id(i)}

    def with_content(self, sha256: str, fingerprint: str) -> Path | None:
        """A transcript of this audio made with these options: transcripts/ first, then the trash."""
        if self._by_content is None:
            self._by_content = {}
            for path in sorted(self.heads, key=lambda p: (self.trash_dir in p.parents, str(p))):
                head = self.heads[path]
                self._by_content.setdefault((head.audio_sha256, head.fingerprint), []).append(path)
        found = self._by_content.get((sha256, fingerprint))
        return found[0] if found else None

    def save(self) -> None:
        if self._dirty:
            atomic_write_text(self.cache_path, json.dumps(self._cache, ensure_ascii=False))
            self._dirty = False


# --- the lock and the signals --------------------------------------------------

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
        announced = False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "?"
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    self.fd = None
                    raise LockError(f"another ingest (pid {holder}) is running on this archive",
                                    self.path.parent.parent, "wait for it to finish, or pass --wait SECONDS")
                if not announced:
                    log.info("another ingest (pid %s) is running on this archive; waiting up to %.0f s",
                             holder, self.wait)
                    announced = True
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        previous = os.pread(self.fd, 64, 0).decode(errors="replace").strip()
        if previous.isdigit() and int(previous) != os.getpid() and not pid_alive(int(previous)):
            log.warning("an earlier ingest (pid %s) was killed; its finished work is kept and the rest "
                        "is redone now", previous)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    @staticmethod
    def holder(path: Path) -> int | None:
        """Pid of the ingest holding the lock now, None if it is free."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None
        except BlockingIOError:
            text = os.pread(fd, 64, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        finally:
            os.close(fd)


class _Interrupts:
    """Ctrl-C (SIGINT) and SIGTERM stop the run, but never inside ``shield()``:
    what is being saved there (a transcript and its index entry) is finished
    first. A second signal inside a shield stops at once."""

    def __init__(self):
        self.depth = 0
        self.pending = False
        self._saved: dict[int, object] = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()

    def _handle(self, signum, frame):
        if self.depth and not self.pending:
            self.pending = True
            log.warning("stopping once the episode being saved is complete")
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def shield(self):
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth and self.pending:
                self.pending = False
                raise KeyboardInterrupt


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
        self.settings = settings
        workers, threads = worker_plan(self.options.workers)
        self.workers = workers
        self.transcribe_options = replace(base, cpu_threads=base.cpu_threads or threads)
        self.remote_options = base  # Dask workers size their own threads
        self.speaker_options = self.options.speakers or SpeakerOptions(mode=settings.speakers)
        self._presets: dict[str, TranscribeOptions] = {self.transcribe_options.preset: self.transcribe_options}
        self._episode_presets: dict[str, str] = {}   # this run's plan.presets
        self.state_path = self.layout.state_dir / "indexed.json"
        self._index_build = ""
        self._interrupts = _Interrupts()

    # -- index state: which version of each episode's inputs the index holds --

    def _load_indexed(self) -> tuple[str, dict[str, str]]:
        try:
            data = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return "", {}
        if isinstance(data, dict) and isinstance(data.get("episodes"), dict):
            return str(data.get("build", "")), data["episodes"]
        return "", {}

    def _save_indexed(self, state: dict[str, str]) -> None:
        atomic_write_text(self.state_path, json.dumps({"build": self._index_build, "episodes": state},
                                                      sort_keys=True))

    def _input_paths(self, episode: Episode) -> tuple[Path, Path | None, Path]:
        return (self.layout.transcript_path(episode.id), episode.sidecar_path,
                self.layout.corrections_path(episode.id))

    def index_version(self, episode: Episode) -> str:
        """Changes when the transcript, sidecar or corrections change (stat only: cheap)."""
        parts = []
        for path in self._input_paths(episode):
            try:
                st = path.stat() if path is not None else None
            except OSError:
                st = None
            parts.append(f"{st.st_size}:{st.st_mtime_ns}" if st else "-")
        return "|".join(parts)

    def _reconcile(self, index, episodes: dict[str, Episode]) -> dict[str, str]:
        """The saved state, made to agree with what the index really holds.

        An episode the state does not know is marked "?" (indexed again if its
        audio is there, removed if not). After a rebuild (``indexer reindex``),
        an episode whose inputs are older than the rebuild is known to be current.
        """
        saved_build, indexed = self._load_indexed()
        build, built_at = _index_build(self.layout.index_dir)
        self._index_build = build
        in_index = set(index.episode_ids())
        if saved_build != build:
            indexed = {}
            for indexed_id in in_index:
                episode = episodes.get(indexed_id)
                fresh = episode is not None and all(
                    p is None or not p.exists() or p.stat().st_mtime < built_at for p in self._input_paths(episode))
                indexed[indexed_id] = self.index_version(episode) if fresh else "?"
        else:
            indexed = {e: v for e, v in indexed.items() if e in in_index}
            indexed.update({e: "?" for e in in_index - set(indexed)})
        return indexed

    # -- the survey ----------------------------------------------------------

    def _matches(self, path: Path, episode_id: str) -> bool:
        pattern = self.options.only
        return not pattern or fnmatch.fnmatch(episode_id, pattern) or fnmatch.fnmatch(path.name, pattern) \
            or fnmatch.fnmatch(str(path.relative_to(self.layout.audio_dir)), pattern)

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.layout.audio_dir))

    def _fail(self, report: RunReport, episode_id: str, path: Path, error: IndexerError | str,
              duration: float = 0.0) -> None:
        if isinstance(error, IndexerError):
            error = failure_line(error, path)
        report.results.append(EpisodeResult(episode_id, self._rel(path), "failed", duration=duration,
                                            error=error))

    def options_for(self, preset_name: str) -> TranscribeOptions:
        """The run's options with the decoding of ``preset_name``."""
        if preset_name not in self._presets:
            self._presets[preset_name] = with_preset(self.transcribe_options, preset_name)
        return self._presets[preset_name]

    @staticmethod
    def _sidecar_meta(episode: Episode) -> EpisodeMeta | None:
        """The episode's sidecar, read once for the survey (its preset and speaker settings);
        None when it cannot be read: it fails when the episode is indexed, with its error."""
        try:
            return load_sidecar(episode.sidecar_path)
        except IndexerError:
            return None

    def survey(self, report: RunReport, hashes: HashCache, catalog: TranscriptCatalog,
               probe: bool = True) -> Plan:
        """Decide per audio file: transcribe, keep (maybe reindex), or copy a transcript.

        ``probe``: measure the files to transcribe (ffprobe; a file ffmpeg cannot
        read fails here, before any work).
        """
        plan = Plan()
        files = [(path, episode_id(path.relative_to(self.layout.audio_dir))) for path in self.layout.audio_files()]
        owners = self._id_owners(files, catalog)
        job_ids: dict[tuple[str, str], str] = {}   # (audio, decoding): the episode transcribing it
        for path, eid in files:
            if not self._matches(path, eid):
                continue
            plan.present.add(eid)
            if owners[eid] != path:
                self._fail(report, eid, path, f"{path}: gives the same episode id {eid!r} as "
                                              f"{self._rel(owners[eid])}, which keeps it (rename this file)")
                continue
            try:
                st = _check_file(path)
                sha = _sha(hashes, path)
            except IndexerError as e:
                self._fail(report, eid, path, e)
                continue
            episode = Episode(eid, path, sidecar_for(path))
            head = None if self.options.force else catalog.get(eid)
            meta = self._sidecar_meta(episode)
            if meta is None and head and head.audio_sha256 == sha:
                # An unreadable sidecar says nothing about decoding or speakers: keep the transcript
                # (its indexing fails with the sidecar's error) rather than transcribe it again.
                plan.presets[eid] = self.transcribe_options.preset
                plan.current.append(episode)
                continue
            speakers = self._speakers_for(meta)
            preset_name = plan.presets[eid] = (meta and meta.preset) or self.transcribe_options.preset
            fingerprint = self.options_for(preset_name).fingerprint()
            if head and head.audio_sha256 == sha and head.fingerprint == fingerprint:
                if head.speakers == speakers.fingerprint():
                    plan.current.append(episode)
                else:  # transcribed, but its speakers are missing or from other settings
                    plan.jobs.append(Job(episode, sha, head.duration, st.st_size, speakers=speakers,
                                         existing=str(self.layout.transcript_path(eid)), preset=preset_name))
            elif (sha, fingerprint) in job_ids:
                plan.duplicates.append((episode, job_ids[(sha, fingerprint)], sha))
            elif not self.options.force and (source := catalog.with_content(sha, fingerprint)):
                plan.copies.append((episode, source))
            elif not probe:
                plan.jobs.append(Job(episode, sha, 0.0, st.st_size, speakers=speakers, preset=preset_name))
                job_ids[(sha, fingerprint)] = eid
            else:
                try:
                    info = audio.probe(path)
                except IndexerError as e:
                    self._fail(report, eid, path, e)
                    continue
                plan.jobs.append(Job(episode, sha, info.duration, st.st_size, speakers=speakers, preset=preset_name))
                job_ids[(sha, fingerprint)] = eid
        return plan

    def _id_owners(self, files: list[tuple[Path, str]], catalog: TranscriptCatalog) -> dict[str, Path]:
        """The file that keeps each episode id when several fold to it.

        The one its transcript was made from, so a new file can never replace
        an existing transcript (and its corrections); else the first in order.
        Decided over every file, before ``--only``, so that a subset run
        decides the same way.
        """
        by_id: dict[str, list[Path]] = {}
        for path, eid in files:
            by_id.setdefault(eid, []).append(path)
        owners = {}
        for eid, paths in by_id.items():
            head = catalog.get(eid) if len(paths) > 1 else None
            made_from = [p for p in paths if head is not None and head.audio_path == self._rel(p)]
            owners[eid] = (made_from or paths)[0]
        return owners

    def _speakers_for(self, meta: EpisodeMeta | None) -> SpeakerOptions:
        """The episode's speaker settings: archive.yaml's, unless its sidecar has turns,
        one speaker, several names (the count) or its own ``speakers: auto | off | N``."""
        options = replace(self.speaker_options, cpu_threads=self.speaker_options.cpu_threads or
                          self.transcribe_options.cpu_threads)
        return for_episode(options, meta) if meta is not None else options

    # -- writing -------------------------------------------------------------

    def _save(self, transcript: Transcript, catalog: TranscriptCatalog) -> str:
        """Exports first, JSON last: the JSON on disk means the episode is done."""
        path = self.layout.transcript_path(transcript.episode_id)
        note = ""
        if path in catalog.unreadable:
            kept = self.layout.trash_path(transcript.episode_id, ".json.unreadable")
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), kept)
            note = f"the unreadable transcript was kept as {kept.relative_to(self.layout.root)}"
        export(transcript, EXPORT_FORMATS, self.layout.transcripts_dir)
        save_transcript(transcript, path)
        catalog.remember(path, transcript)
        return note

    def _index_episode(self, index, episode: Episode, transcript: Transcript, indexed: dict[str, str]) -> None:
        version = self.index_version(episode)  # before reading: a change while indexing shows next run
        meta = load_sidecar(episode.sidecar_path)
        index.update_episode(with_corrections(self.layout.root, transcript), meta)
        indexed[episode.id] = version
        self._save_indexed(indexed)

    def _index_or_fail(self, index, episode, transcript, indexed, result: EpisodeResult) -> EpisodeResult:
        """Index one episode; a bad sidecar or a busy index fails it, and keeps the transcript."""
        if index is None:
            return result
        try:
            with writing(self.layout.state_dir):
                self._index_episode(index, episode, transcript, indexed)
        except IndexerError as e:
            result = replace(result, status="failed",
                             error=f"{e.path or episode.audio_path}: {e.message}; transcript saved but not "
                                   f"indexed ({e.hint or 'fix it, then run ingest again'})")
        return result

    def _copy(self, source_path: Path, episode: Episode, catalog: TranscriptCatalog, present: set[str]):
        """Same audio as a transcript on disk (a renamed or duplicated file): reuse it."""
        source = load_transcript(source_path)
        rel = self._rel(episode.audio_path)
        copy = replace(source, episode_id=episode.id, audio_path=rel)
        self._save(copy, catalog)
        if catalog.trash_dir in source_path.parents:
            how = "audio came back: transcript restored from the trash"
        elif source.episode_id in present:
            how = f"same audio as {source.audio_path}: transcript copied, not transcribed again"
        else:
            how = f"renamed from {source.audio_path}: transcript reused, not transcribed again"
        self._carry_corrections(source.episode_id, episode.id)
        return copy, how

    def _carry_corrections(self, old: str, new: str) -> None:
        if old == new or corrections_path(self.layout.root, new).exists():
            return
        with contextlib.suppress(IndexerError):
            corrections = load_corrections(self.layout.root, old)
            if corrections:
                save_corrections(self.layout.root, new, corrections)

    def _trash(self, episode_id: str, catalog: TranscriptCatalog) -> None:
        """Audio gone: keep the transcript in .indexer/trash (reused if the audio comes back)."""
        source = self.layout.transcript_path(episode_id)
        for ext in EXPORT_FORMATS:
            source.with_suffix(f".{ext}").unlink(missing_ok=True)
        if source.is_file():
            target = self.layout.trash_path(episode_id)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            catalog.forget(source)
            with contextlib.suppress(IndexerError, OSError):
                catalog.remember(target, load_transcript(target))

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
                IngestLock(self.layout.state_dir / "ingest.lock", self.options.wait_for_lock), self._interrupts:
            hashes = HashCache(self.layout.state_dir / "hashes.json", self.layout.root)
            catalog = TranscriptCatalog(self.layout, self.layout.state_dir / "transcripts.json")
            try:
                with writing(self.layout.root):
                    self._run(report, hashes, catalog, started)
            except KeyboardInterrupt:
                report.interrupted = True
            except IndexerError as e:
                report.results.append(EpisodeResult("", "", "failed", error=f"{failure_line(e, self.layout.root)}; "
                                                                             "the run stopped here"))
            finally:
                for cache in (hashes, catalog):
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

    def _run(self, report: RunReport, hashes: HashCache, catalog: TranscriptCatalog, started: float) -> None:
        self._recover()
        catalog.refresh()
        plan = self.survey(report, hashes, catalog)
        self._episode_presets = plan.presets
        if plan.jobs and not self.options.scheduler:
            self._check_engine(plan.jobs)  # a wrong --model fails once, not once per episode
        index = self._open_index() if self.options.index else None
        episodes = {e.id: e for e in plan.current} | {e.id: e for e, _ in plan.copies}
        indexed = self._reconcile(index, episodes) if index is not None else {}
        hashes.save()
        report.plan_seconds = round(time.monotonic() - started, 3)
        report.save(self.layout.runs_dir)  # visible in runs/ (unfinished) while the run works
        shield = self._interrupts.shield

        for episode, source in plan.copies:
            with shield():
                self._copy_and_index(source, episode, catalog, plan.present, index, indexed, report)
        self._refresh_index(index, plan.current, catalog, indexed, report)
        self._remove_deleted(index, plan.present, indexed, catalog, report)
        report.save(self.layout.runs_dir)

        last_save = time.monotonic()
        for job, outcome in self._transcribe_all(plan.jobs):
            with shield():
                report.results.append(self._finish_job(job, outcome, index, indexed, catalog))
                if time.monotonic() - last_save > 5:
                    report.save(self.layout.runs_dir)
                    last_save = time.monotonic()

        for episode, original, sha in plan.duplicates:
            head = catalog.get(original)
            source = self.layout.transcript_path(original)
            with shield():
                expected = self.options_for(plan.presets[original]).fingerprint()
                if head is None or head.fingerprint != expected or head.audio_sha256 != sha:
                    self._fail(report, episode.id, episode.audio_path,
                               f"{episode.audio_path}: same audio as {original}, which failed (fix that one)")
                    continue
                self._copy_and_index(source, episode, catalog, plan.present, index, indexed, report)

    def _copy_and_index(self, source: Path, episode: Episode, catalog, present, index, indexed, report) -> None:
        try:
            copy, how = self._copy(source, episode, catalog, present)
        except IndexerError as e:  # the source went bad since the survey
            self._fail(report, episode.id, episode.audio_path, f"{episode.audio_path}: cannot reuse "
                       f"{e.one_line()} (it is transcribed on the next run)")
            catalog.forget(source)
            return
        result = EpisodeResult(episode.id, copy.audio_path, "copied", duration=copy.duration,
                               segments=len(copy.segments), note=how,
                               preset=self._episode_presets.get(episode.id, ""))
        report.results.append(self._index_or_fail(index, episode, copy, indexed, result))

    def _finish_job(self, job: Job, outcome: JobResult, index, indexed, catalog) -> EpisodeResult:
        rel = self._rel(job.episode.audio_path)
        if outcome.transcript is None:
            log.warning("FAILED %s", printable(outcome.error))
            return EpisodeResult(job.episode.id, rel, "failed", duration=job.duration, error=outcome.error,
                                 preset=job.preset)
        transcript = outcome.transcript
        try:
            with writing(self.layout.transcript_path(job.episode.id)):
                notes = [self._save(transcript, catalog)]
        except IndexerError as e:  # disk full: this one is lost, what was saved before is intact
            log.warning("FAILED %s", e.one_line())
            return EpisodeResult(job.episode.id, rel, "failed", duration=job.duration,
                                 error=f"{failure_line(e, job.episode.audio_path)}; not saved")
        if not transcript.segments:
            notes.append("no speech detected: the transcript is empty")
        labels = transcript.speaker_labels
        if labels:
            notes.append(f"{len(labels)} automatic speaker(s)")
        seconds = outcome.seconds
        status = "diarized" if job.existing else "transcribed"
        result = EpisodeResult(
            job.episode.id, rel, status, duration=transcript.duration, seconds=round(seconds, 2),
            realtime_factor=round(transcript.duration / seconds, 2) if seconds else 0.0,
            segments=len(transcript.segments), suspect=sum(s.suspect for s in transcript.segments),
            note="; ".join(n for n in notes if n), speaker_seconds=round(outcome.speaker_seconds, 2),
            preset=job.preset)
        log.info("%s %s: %.0f s of audio in %.0f s, %d segments", status, rel, transcript.duration, seconds,
                 len(transcript.segments))
        return self._index_or_fail(index, job.episode, transcript, indexed, result)

    def _refresh_index(self, index, current: list[Episode], catalog: TranscriptCatalog,
                       indexed: dict[str, str], report: RunReport) -> None:
        """Up-to-date transcripts: index those whose transcript, sidecar or corrections changed."""
        stale = []
        for episode in current:
            head = catalog.get(episode.id)
            result = EpisodeResult(episode.id, self._rel(episode.audio_path), "unchanged",
                                   duration=head.duration, segments=head.segments, suspect=head.suspect,
                                   preset=self._episode_presets.get(episode.id, ""))
            if index is not None and indexed.get(episode.id) != self.index_version(episode):
                stale.append((episode, result))
            else:
                report.results.append(result)
        batch_size = index.options.commit_every if index is not None else 1
        for start in range(0, len(stale), batch_size):
            items, done = [], []
            with self._interrupts.shield():
                for episode, result in stale[start:start + batch_size]:
                    version = self.index_version(episode)
                    try:
                        transcript = load_transcript(self.layout.transcript_path(episode.id))
                        meta = load_sidecar(episode.sidecar_path)
                        items.append((with_corrections(self.layout.root, transcript), meta))
                        done.append((episode, result, version))
                    except IndexerError as e:
                        report.results.append(replace(
                            result, status="failed",
                            error=f"{e.path or episode.audio_path}: {e.message}; not re-indexed, the index keeps "
                                  f"the previous version ({e.hint or 'fix it, then run ingest again'})"))
                try:
                    index.update_episodes(items)
                except IndexerError as e:
                    for episode, result, _ in done:
                        report.results.append(replace(result, status="failed", error=f"{e.one_line()}; "
                                                      f"{episode.id} not re-indexed"))
                    continue
                for episode, result, version in done:
                    indexed[episode.id] = version
                    report.results.append(replace(result, status="reindexed"))
                self._save_indexed(indexed)

    def _remove_deleted(self, index, present: set[str], indexed: dict[str, str], catalog: TranscriptCatalog,
                        report: RunReport) -> None:
        """Audio gone: drop the episode from the index; keep its transcript in the trash."""
        if self.options.only:
            return
        gone = sorted((set(indexed) | catalog.episode_ids()) - present)
        if gone and not present:
            report.results.append(EpisodeResult(
                "", "", "failed", error=f"{self.layout.audio_dir}: no audio file at all, but {len(gone)} "
                                        "episode(s) in the archive; nothing removed (is the audio folder mounted? "
                                        "delete the transcripts by hand if the archive is really empty)"))
            return
        for eid in gone:
            head = catalog.get(eid)
            with self._interrupts.shield():
                try:
                    if index is not None:
                        index.delete_episode(eid)
                except IndexerError as e:
                    report.results.append(EpisodeResult(eid, "", "failed",
                                                        error=f"{e.one_line()}; {eid} not removed from the index"))
                    continue
                self._trash(eid, catalog)
                if indexed.pop(eid, None) is not None:
                    self._save_indexed(indexed)
            report.results.append(EpisodeResult(eid, head.audio_path if head else "", "removed",
                                                duration=head.duration if head else 0.0,
                                                note="audio gone: removed from the index, transcript kept in "
                                                     ".indexer/trash"))

    def _check_language(self, language: str | None, settings: ArchiveSettings) -> None:
        """An unknown language fails once, before any work, not once per episode (checked only when there
        is work: the list comes with faster-whisper, 0.2 s to import, which a no-op run does without)."""
        from ..errors import EngineError, SidecarError
        from ..transcribe import whisper_languages

        if language is None or language in whisper_languages():
            return
        if language == settings.language:
            raise SidecarError(f"field 'language': Whisper knows no language {language!r} (use a code such as "
                               "'fr' or 'en', or 'auto')", self.layout.root / "archive.yaml")
        raise EngineError(f"Whisper knows no language {language!r}", hint="use a code such as 'fr' or 'en', or auto")

    def _check_engine(self, jobs: list[Job]) -> None:
        from ..models import resolve_model
        from ..speakers import backend_class
        from ..transcribe import engine_class

        if any(not job.existing for job in jobs):
            self._check_language(self.transcribe_options.language, self.settings)
            engine_class(self.transcribe_options.engine)
            resolve_model(self.transcribe_options.model)
        if any(job.speakers and job.speakers.enabled for job in jobs):
            backend_class(self.speaker_options.backend)
            if self.speaker_options.backend == "resemblyzer":
                from ..voice import weights_path

                weights_path()

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

    # -- transcription -------------------------------------------------------

    def _transcribe_all(self, jobs: list[Job]) -> Iterator[tuple[Job, JobResult]]:
        """(job, result) as results arrive, in any order, behind one progress bar."""
        if not jobs:
            return
        total_hours = sum(j.duration for j in jobs) / 3600
        bar = progress_bar(total_hours, "ingest", "h", self.options.progress,
                           bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} h audio "
                                      "[{elapsed}<{remaining}{postfix}]")
        started = time.monotonic()
        done = 0.0
        redirect = contextlib.nullcontext()
        if self.options.progress:
            from tqdm.contrib.logging import logging_redirect_tqdm

            redirect = logging_redirect_tqdm()  # log lines above the bar, not through it
        with redirect, contextlib.closing(self._dispatch(jobs)) as outcomes:
            try:
                for job, outcome in outcomes:
                    done += job.duration
                    bar.update(job.duration / 3600)
                    bar.set_postfix_str(f"{done / max(time.monotonic() - started, 1e-6):.1f}× real time")
                    yield job, outcome
            finally:
                bar.close()

    def _dispatch(self, jobs: list[Job]) -> Iterator[tuple[Job, JobResult]]:
        root = str(self.layout.audio_dir)
        if self.options.scheduler:
            yield from dispatch_dask(self.options.scheduler, jobs, self.remote_options, root,
                                     self.options.ship_audio)
        elif self.workers == 1:
            for job in jobs:
                yield job, transcribe_job(job, self.transcribe_options, root)
        else:
            yield from dispatch_pool(self.workers, jobs, self.transcribe_options, root)

    # -- status --------------------------------------------------------------

    def status(self) -> ArchiveStatus:
        """What the archive holds and what ``ingest`` would do. Takes no lock and
        writes no archive data (only the caches: a new file is hashed once)."""
        report = RunReport(str(self.layout.root), now())
        hashes = HashCache(self.layout.state_dir / "hashes.json", self.layout.root)
        catalog = TranscriptCatalog(self.layout, self.layout.state_dir / "transcripts.json")
        catalog.refresh()
        plan = self.survey(report, hashes, catalog, probe=False)
        with contextlib.suppress(OSError):  # a read-only archive: no cache, still a status
            hashes.save()
            catalog.save()
        indexed: dict[str, str] = {}
        problems = [r.error for r in report.failed]
        problems += [f"{line} (the next ingest transcribes its episode again)"
                     for path, line in sorted(catalog.unreadable.items())
                     if self.layout.transcripts_dir in path.parents]
        from ..index import TranscriptIndex, index_exists

        try:
            index = TranscriptIndex.open(self.layout.index_dir, create=False)
            indexed = self._reconcile(index, {e.id: e for e in plan.current})
            index.close()
        except IndexerError as e:
            if index_exists(self.layout.index_dir):  # no index yet is not a problem: ingest makes it
                problems.append(e.one_line())
        current = {e.id: e for e in plan.current}
        up_to_date = {i for i, e in current.items() if indexed.get(i) == self.index_version(e)}
        seconds = sum(catalog.get(i).duration for i in current)
        for job in plan.jobs:
            head = catalog.get(job.episode.id)
            if head is not None:
                seconds += head.duration
            else:
                with contextlib.suppress(IndexerError):
                    seconds += audio.probe(job.episode.audio_path).duration
        seconds += sum(catalog.heads[source].duration for _, source in plan.copies)
        last = last_report(self.layout.runs_dir)
        holder = IngestLock.holder(self.layout.state_dir / "ingest.lock")
        gone = sorted((set(indexed) | catalog.episode_ids()) - plan.present) if not self.options.only else []
        failed_last = {r.episode for r in last.failed} if last else set()  # counted as failed, not pending
        pending = sorted(({j.episode.id for j in plan.jobs} | {e.id for e, _ in plan.copies}
                          | {e.id for e, *_ in plan.duplicates} | (set(current) - up_to_date)) - failed_last)
        return ArchiveStatus(
            archive=str(self.layout.root), episodes=len(plan.present), hours=round(seconds / 3600, 3),
            transcribed=len(current), indexed=len(up_to_date), pending=len(pending), to_remove=len(gone),
            failed=len(last.failed) if last else 0, suspect=sum(catalog.get(i).suspect for i in current),
            running=holder, last_run=run_line(last, holder), pending_episodes=pending,
            failures=[r.error for r in last.failed] if last else [],
            problems=problems)


@contextlib.contextmanager
def _os_errors_as_audio_errors(path: Path, other_hint: str | None = None):
    """One wording for a file that vanished or cannot be read, wherever it happens."""
    try:
        yield
    except FileNotFoundError:
        if path.is_symlink():
            raise AudioError(f"broken symbolic link (to {os.readlink(path)})", path,
                             "fix or remove the link") from None
        raise AudioError("file not found (deleted during the run?)", path,
                         "nothing to do if it was deleted on purpose") from None
    except PermissionError:
        raise AudioError("permission denied", path,
                         "make it readable by the user running ingest, e.g. chmod a+r") from None
    except OSError as e:
        raise AudioError(f"cannot read: {e.strerror}", path, other_hint) from e


def _check_file(path: Path) -> os.stat_result:
    """A regular, non-empty file; never open a FIFO (it would block the run)."""
    with _os_errors_as_audio_errors(path):
        st = path.stat()
    if stat.S_ISDIR(st.st_mode):
        raise AudioError("is a folder named like an audio file", path, "rename the folder")
    if not stat.S_ISREG(st.st_mode):
        kind = "named pipe" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device"
        raise AudioError(f"not a regular file (a {kind})", path,
                         "remove it; only audio files belong under audio/")
    if st.st_size == 0:
        raise AudioError("file is empty (0 bytes)", path, "copy the recording again; " + RETRY_HINT)
    return st


def _sha(hashes: HashCache, path: Path) -> str:
    with _os_errors_as_audio_errors(path, RETRY_HINT):
        return hashes.sha256(path)


def _index_build(index_dir: Path) -> tuple[str, float]:
    """(build id, time it was built) of the index: a rebuild changes the id."""
    from ..index import META_FILE

    path = index_dir / META_FILE
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("build", "")), path.stat().st_mtime
    except (OSError, ValueError, AttributeError):
        return "", 0.0


# --- watching ------------------------------------------------------------------

def _snapshot(layout: ArchiveLayout) -> dict[str, tuple[int, int]]:
    """(size, mtime) of everything an ingest reads: audio, sidecars, settings, corrections."""
    found = {}
    for folder in (layout.audio_dir, layout.corrections_dir):
        if folder.is_dir():
            for path in folder.rglob("*"):
                with contextlib.suppress(OSError):
                    st = path.lstat()
                    found[str(path)] = (st.st_size, st.st_mtime_ns)
    with contextlib.suppress(OSError):
        st = (layout.root / "archive.yaml").stat()
        found["archive.yaml"] = (st.st_size, st.st_mtime_ns)
    return found


def watch(root: str | Path, options: IngestOptions | None = None, interval: float = 300.0,
          rounds: int | None = None, on_report=None) -> None:
    """Ingest whenever the archive's inputs change, looking every ``interval`` seconds.

    The first look always ingests; later ones only when a file was added,
    changed or removed and has not changed again for a few seconds (a copy in
    progress). Another ingest holding the archive just postpones the round.
    """
    layout = ArchiveLayout(Path(root))
    settle = min(interval, 10.0)
    done_for: dict | None = None
    n = 0
    while rounds is None or n < rounds:
        n += 1
        seen = _snapshot(layout)
        if seen != done_for:
            if done_for is not None:
                time.sleep(settle)
                if _snapshot(layout) != seen:
                    continue  # still being copied: look again after the pause
            try:
                report = Ingest(root, options).run()
            except LockError as e:
                log.info("%s; trying again in %.0f s", e.one_line(), interval)
            else:
                done_for = seen if not report.interrupted else None
                if on_report:
                    on_report(report)
                if report.interrupted:
                    raise KeyboardInterrupt
        if rounds is None or n < rounds:
            time.sleep(interval)