"""Saving one episode's transcript (transcribed, or copied from the same audio) and indexing it.

Exports are written before the JSON, and the JSON before the index entry: the
JSON on disk is the marker that an episode's transcription is done.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import replace
from pathlib import Path

from ..archive import Episode, load_sidecar
from ..corrections import effective_episode, load_corrections, save_corrections
from ..errors import IndexerError, printable, writing
from ..quality import EpisodeQuality
from ..transcribe import NOISY_PRESET
from ..transcript import Transcript, export, load_transcript, save_transcript
from .reports import RETRY_HINT, EpisodeResult, failure_line, not_indexed
from .state import RunState
from .workers import Job, JobResult

log = logging.getLogger("indexer")

# Written beside each transcript's JSON for people and players; JSON stays the truth.
EXPORT_FORMATS = ("srt", "vtt", "txt")


class EpisodeWriter:
    """The coordinator's writes for one episode at a time; failures go to the run's report."""

    def __init__(self, state: RunState):
        self.state = state
        self.layout = state.layout

    def save(self, transcript: Transcript) -> str:
        """Exports first, JSON last: the JSON on disk means the episode is done."""
        catalog = self.state.catalog
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

    def _index_episode(self, episode: Episode, transcript: Transcript) -> None:
        indexed = self.state.indexed
        version = indexed.version(episode)  # before reading: a change while indexing shows next run
        meta = load_sidecar(episode.sidecar_path)
        self.state.index.update_episode(effective_episode(self.layout, transcript, meta).entry())
        indexed.episodes[episode.id] = version
        indexed.save()

    def index_or_fail(self, episode: Episode, transcript: Transcript, result: EpisodeResult) -> EpisodeResult:
        """Index one episode; a bad sidecar or a busy index fails it, and keeps the transcript."""
        if self.state.index is None:
            return result
        try:
            with writing(self.layout.state_dir):
                self._index_episode(episode, transcript)
        except IndexerError as e:
            result = not_indexed(result, e, episode.audio_path, "transcript saved but not indexed")
        return result

    def _copy(self, source_path: Path, episode: Episode) -> tuple[Transcript, str]:
        """Same audio as a transcript on disk (a renamed or duplicated file): reuse it."""
        source = load_transcript(source_path, self.layout.transcript_id(source_path))
        copy = replace(source, episode_id=episode.id, audio_path=self.state.rel(episode.audio_path))
        self.save(copy)
        if self.state.catalog.trash_dir in source_path.parents:
            how = "audio came back: transcript restored from the trash"
        elif source.episode_id in self.state.plan.present:
            how = f"same audio as {source.audio_path}: transcript copied, not transcribed again"
        else:
            how = f"renamed from {source.audio_path}: transcript reused, not transcribed again"
        self._carry_corrections(source.episode_id, episode.id)
        return copy, how

    def _carry_corrections(self, old: str, new: str) -> None:
        if old == new or self.layout.corrections_path(new).exists():
            return
        with contextlib.suppress(IndexerError):
            corrections = load_corrections(self.layout.root, old)
            if corrections:
                save_corrections(self.layout.root, new, corrections)

    def copy_and_index(self, source: Path, episode: Episode) -> None:
        try:
            copy, how = self._copy(source, episode)
        except IndexerError as e:  # the source went bad since the survey
            self.state.fail(episode.id, episode.audio_path, f"{episode.audio_path}: cannot reuse "
                            f"{e.one_line()} (it is transcribed on the next run)")
            self.state.catalog.forget(source)
            return
        result = EpisodeResult(episode.id, copy.audio_path, "copied", duration=copy.duration,
                               segments=len(copy.segments), note=how,
                               preset=self.state.plan.presets.get(episode.id, ""))
        self.state.report.results.append(self.index_or_fail(episode, copy, result))

    def copy_duplicate(self, episode: Episode, original: str, sha: str, fingerprint: str) -> None:
        """Same audio as ``original``, transcribed in this run with ``fingerprint``: copy its transcript."""
        head = self.state.catalog.get(original)
        if head is None or head.fingerprint != fingerprint or head.audio_sha256 != sha:
            self.state.fail(episode.id, episode.audio_path,
                            f"{episode.audio_path}: same audio as {original}, which failed (fix that one)")
            return
        self.copy_and_index(self.layout.transcript_path(original), episode)

    def finish_job(self, job: Job, outcome: JobResult) -> EpisodeResult:
        """Save and index what a worker sent back (or record its failure)."""
        rel = self.state.rel(job.episode.audio_path)
        if outcome.transcript is None:
            log.warning("FAILED %s", printable(outcome.error))
            return EpisodeResult(job.episode.id, rel, "failed", duration=job.duration, error=outcome.error,
                                 preset=job.preset)
        transcript = outcome.transcript
        try:
            with writing(self.layout.transcript_path(job.episode.id)):
                notes = [job.why, self.save(transcript)]
            if job.carry_from:
                self._carry_corrections(job.carry_from, job.episode.id)
        except IndexerError as e:  # disk full: this one is lost, what was saved before is intact
            log.warning("FAILED %s", e.one_line())
            return EpisodeResult(job.episode.id, rel, "failed", duration=job.duration,
                                 error=f"{failure_line(e, job.episode.audio_path)}; not saved")
        except OSError as e:  # any other refusal of this one file: the run goes on with the next episode
            line = printable(f"{e.filename or job.episode.audio_path}: cannot save the transcript: "
                             f"{e.strerror or e} ({RETRY_HINT}); not saved")
            log.warning("FAILED %s", line)
            return EpisodeResult(job.episode.id, rel, "failed", duration=job.duration, error=line)
        if not transcript.segments:
            notes.append("no speech detected: the transcript is empty")
        labels = transcript.speaker_labels
        if labels:
            notes.append(f"{len(labels)} automatic speaker(s)")
        seconds = outcome.seconds
        status = "diarized" if job.existing else "transcribed"
        quality = EpisodeQuality.of(transcript)
        # One line in the report's summary (the CLI prints it), not a log line too.
        preset = (transcript.noise or {}).get("preset") or job.preset   # chosen on the noise, or asked
        # Decoded noisy in a few windows only: the hint to ask for the noisy preset still helps.
        noisy_windows, windows = transcript.noisy_windows
        noisy_throughout = preset == NOISY_PRESET and not noisy_windows
        warning = quality.warning(noisy_throughout) if status == "transcribed" and quality.is_poor() else ""
        result = EpisodeResult(
            job.episode.id, rel, status, duration=transcript.duration, seconds=round(seconds, 2),
            realtime_factor=round(transcript.duration / seconds, 2) if seconds else 0.0,
            segments=quality.segments, suspect=quality.suspect_segments,
            note="; ".join(n for n in notes if n), speaker_seconds=round(outcome.speaker_seconds, 2),
            preset=preset,
            noise_db=(transcript.noise or {}).get("snr_db"), noisy=bool((transcript.noise or {}).get("noisy")),
            noisy_windows=noisy_windows, windows=windows,
            words=quality.words, low_confidence_words=quality.low_confidence_words, warning=warning)
        log.info("%s %s: %.0f s of audio in %.0f s, %d segments", status, rel, transcript.duration, seconds,
                 len(transcript.segments))
        return self.index_or_fail(job.episode, transcript, result)
