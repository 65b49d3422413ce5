"""The survey: what changed since the last run (new, changed, copied, up-to-date episodes), before any work.

Cheap on an unchanged archive: audio hashes are cached by size and mtime, and
transcripts are known by their cached heads (:mod:`indexer.ingest.catalog`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import stat
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

from .. import audio
from ..archive import Episode, EpisodeMeta, episode_id, is_episode_id, load_sidecar, sidecar_for
from ..files import MAX_NAME_BYTES, HashCache
from ..errors import AudioError, IndexerError
from ..progress import progress_bar
from ..speakers import SpeakerOptions, for_episode
from ..transcribe.noise import noise_flip_note
from .options import RunConfig
from .reports import RETRY_HINT
from .state import Plan, RunState
from .workers import Job


class Survey:
    """Decides per audio file: transcribe, keep (maybe reindex), or copy a transcript."""

    def __init__(self, config: RunConfig, state: RunState):
        self.config = config
        self.options = config.options
        self.layout = config.layout
        self.state = state

    def plan(self, probe: bool = True) -> Plan:
        """``probe``: measure the files to transcribe whose duration is not known yet (see
        :meth:`_measure`); without it their duration is what is known (0.0 when nothing is)."""
        plan, state, catalog = Plan(), self.state, self.state.catalog
        default_preset = self.config.transcribe.preset
        files = [(path, episode_id(path.relative_to(self.layout.audio_dir))) for path in self.layout.audio_files()]
        owners = self._id_owners(files)
        job_ids: dict[tuple[str, str], str] = {}   # (audio, decoding): the episode transcribing it
        for path, eid in files:
            if not self._matches(path, eid):
                continue
            plan.present.add(eid)
            if not _fits(eid):
                state.fail(eid, path, f"{path}: file name too long: its transcript would be named "
                                      f"{eid.rpartition('/')[2][:40]}….json, over {MAX_NAME_BYTES} bytes "
                                      f"(rename the file to at most {MAX_NAME_BYTES - len('.json')} bytes before "
                                      "its extension)")
                continue
            if owners[eid] != path:
                state.fail(eid, path, f"{path}: gives the same episode id {eid!r} as "
                                      f"{state.rel(owners[eid])}, which keeps it (rename this file)")
                continue
            try:
                st = _check_file(path)
                sha = _sha(state.hashes, path)
            except IndexerError as e:
                state.fail(eid, path, e)
                continue
            episode = Episode(eid, path, sidecar_for(path))
            head = None if self.options.force else catalog.get(eid)
            meta = _sidecar_meta(episode)
            if meta is None and head and head.audio_sha256 == sha:
                # An unreadable sidecar says nothing about decoding or speakers: keep the transcript
                # (its indexing fails with the sidecar's error) rather than transcribe it again.
                plan.presets[eid] = default_preset
                plan.current.append(episode)
                continue
            speakers = self._speakers_for(meta)
            preset_name = plan.presets[eid] = (meta and meta.preset) or default_preset
            options = self.config.options_for(preset_name)
            fingerprint, kept = options.fingerprint(), options.fingerprints_kept()
            why = carry_from = ""   # a transcript made again though its fingerprint holds: why, and whose
            seconds = 0.0           # the audio's duration, when a transcript of it says
            if head and head.audio_sha256 == sha and head.fingerprint in kept:
                if not head.choice_holds(options):   # the noise threshold moved across its recorded estimate
                    why, seconds = noise_flip_note(options, head.noise_db, head.noise_windows), head.duration
                elif head.speakers == speakers.fingerprint():
                    plan.current.append(episode)
                    continue
                else:  # transcribed, but its speakers are missing or from other settings
                    plan.jobs.append(Job(episode, sha, head.duration, st.st_size, speakers=speakers,
                                         existing=str(self.layout.transcript_path(eid)), preset=preset_name))
                    continue
            if (sha, fingerprint) in job_ids:
                plan.duplicates.append((episode, job_ids[(sha, fingerprint)], sha))
                continue
            if not why and not self.options.force and (source := catalog.with_content(sha, kept)):
                found = catalog.heads[source]
                if found.choice_holds(options):
                    plan.copies.append((episode, source))
                    continue
                # Renamed (or back from the trash) as the threshold moved: made again, its corrections kept.
                why, carry_from, seconds = (noise_flip_note(options, found.noise_db, found.noise_windows),
                                             found.episode_id, found.duration)
            duration = state.probes.known(path, st) or seconds
            plan.jobs.append(Job(episode, sha, duration, st.st_size, speakers=speakers, preset=preset_name,
                                 why=why, carry_from=carry_from))
            job_ids[(sha, fingerprint)] = eid
        if probe:
            self._measure(plan)
        return plan

    def _measure(self, plan: Plan) -> None:
        """The duration of every file to transcribe that is not known yet (ffprobe; a file ffmpeg cannot
        read fails here, before any work). Measured once (cached by size and mtime: a rerun after Ctrl-C
        measures nothing again), several at a time, behind a bar when there are many."""
        state, unknown = self.state, [job for job in plan.jobs if not job.duration and not job.existing]
        if not unknown:
            return
        measured: dict[str, float | IndexerError] = {}
        bar = progress_bar(len(unknown), "measuring", "file", self.options.progress and len(unknown) > 20)
        pool = ThreadPoolExecutor(PROBES_AT_ONCE)  # ffprobe runs in its own process: threads only wait
        try:
            futures = {pool.submit(_probe, job.episode.audio_path): job for job in unknown}
            for future in as_completed(futures):
                job = futures[future]
                measured[job.episode.id] = found = future.result()
                if not isinstance(found, IndexerError):  # remembered at once: Ctrl-C keeps what was measured
                    with contextlib.suppress(OSError):  # changed since: measured again next time
                        state.probes.remember(job.episode.audio_path, found, _stat_if(job))
                bar.update(1)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: the files not started are left for later
            bar.close()
        jobs = []
        for job in plan.jobs:
            found = measured.get(job.episode.id, job.duration)
            if isinstance(found, IndexerError):
                state.fail(job.episode.id, job.episode.audio_path, found)
            else:
                jobs.append(replace(job, duration=found) if found != job.duration else job)
        plan.jobs = jobs

    def _matches(self, path: Path, episode_id: str) -> bool:
        pattern = self.options.only
        return not pattern or fnmatch.fnmatch(episode_id, pattern) or fnmatch.fnmatch(path.name, pattern) \
            or fnmatch.fnmatch(str(path.relative_to(self.layout.audio_dir)), pattern)

    def _id_owners(self, files: list[tuple[Path, str]]) -> dict[str, Path]:
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
            head = self.state.catalog.get(eid) if len(paths) > 1 else None
            made_from = [p for p in paths if head is not None and head.audio_path == self.state.rel(p)]
            owners[eid] = (made_from or paths)[0]
        return owners

    def _speakers_for(self, meta: EpisodeMeta | None) -> SpeakerOptions:
        """The episode's speaker settings: archive.yaml's, unless its sidecar has turns,
        one speaker, several names (the count) or its own ``speakers: auto | off | N``."""
        base = self.config.speakers
        options = replace(base, cpu_threads=base.cpu_threads or self.config.transcribe.cpu_threads)
        return for_episode(options, meta) if meta is not None else options


# ffprobe processes at once. Each costs ~65 ms of CPU, mostly its start (1,000 files of 1.5 s: 63 CPU s),
# the same one at a time or four; four use both cores when they are free (benchmarks/many_new_files.py).
PROBES_AT_ONCE = max(2, 2 * (os.cpu_count() or 1))


def _probe(path: Path) -> float | IndexerError:
    try:
        return audio.probe(path).duration
    except IndexerError as e:
        return e


def _stat_if(job: Job) -> os.stat_result:
    """The file's stat, OSError if it changed size since the survey (its duration is then not remembered)."""
    st = job.episode.audio_path.stat()
    if job.size and st.st_size != job.size:
        raise OSError("changed")
    return st


def _fits(episode_id: str) -> bool:
    """The episode's files (``<name>.json``, ``.srt``…) can be named: a 250-byte audio name is legal, 252 is not."""
    return is_episode_id(episode_id) and len(episode_id.rpartition("/")[2].encode()) + len(".json") <= MAX_NAME_BYTES


def _sidecar_meta(episode: Episode) -> EpisodeMeta | None:
    """The episode's sidecar, read once for the survey (its preset and speaker settings);
    None when it cannot be read: it fails when the episode is indexed, with its error."""
    try:
        return load_sidecar(episode.sidecar_path)
    except IndexerError:
        return None


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
