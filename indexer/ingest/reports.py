"""What an ingest did: the run report, one result per episode, and the one-line failures.

A run's report is saved under ``ARCHIVE/runs/`` while it works (``finished``
empty) and when it ends; ``indexer status`` reads the last one
(:mod:`indexer.ingest.status`). Every failure is one line: which file, what
is wrong, what to do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..files import atomic_write_json, read_json
from ..errors import AudioError, IndexerError, printable

# diarized: already transcribed, automatic speakers added (or their settings changed)
STATUSES = ("transcribed", "diarized", "copied", "reindexed", "unchanged", "removed", "failed")
RETRY_HINT = "it is tried again on every run"
AUDIO_HINT = "replace it with a recording ffmpeg can read; " + RETRY_HINT


def failure_line(error: IndexerError, path: Path | str) -> str:
    """Which file, what is wrong, what to do."""
    where = error.path or path
    hint = error.hint or (AUDIO_HINT if isinstance(error, AudioError) else RETRY_HINT)
    return printable(f"{where}: {error.message} ({hint})")


def not_indexed(result: "EpisodeResult", error: IndexerError, path: Path | str, consequence: str) -> "EpisodeResult":
    """``result``, failed because indexing it met ``error``: which file, what is wrong, what follows, what to do."""
    return replace(result, status="failed", error=f"{error.path or path}: {error.message}; {consequence} "
                                                  f"({error.hint or 'fix it, then run ingest again'})")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def noisy_part(noisy: int, windows: int) -> str:
    """« , 3 of 40 windows » for the counts of :func:`indexer.transcript.partly_noisy` (0, 0: "")."""
    return f", {noisy} of {windows} windows" if noisy else ""


@dataclass
class EpisodeResult:
    episode: str
    file: str                   # relative to ARCHIVE/audio/
    status: str                 # one of STATUSES
    duration: float = 0.0       # seconds of audio
    seconds: float = 0.0        # wall time of the transcription (and of the speakers stage)
    realtime_factor: float = 0.0
    speaker_seconds: float = 0.0   # the speakers stage's own (in the lane worker it hears beside the decoding)
    segments: int = 0
    suspect: int = 0
    error: str = ""             # failed: which file, what is wrong, what to do
    note: str = ""              # not a failure, but worth a look ("no speech detected")
    preset: str = ""            # the decoding preset of its transcript (archive.yaml, its sidecar, or its noise)
    noise_db: float | None = None   # the noise estimate (transcribe/noise.py), when measured
    noisy: bool = False         # measured noisy: its preset was chosen on the estimate
    # When only some of its windows were (transcribe/noise.py): how many, of how many windows; else 0, 0.
    noisy_windows: int = 0
    windows: int = 0
    words: int = 0
    low_confidence_words: int = 0   # below indexer.quality.LOW_WORD_PROBABILITY
    warning: str = ""           # a poor transcript: the episode, its numbers, what to try (indexer.quality)


@dataclass
class RunReport:
    archive: str
    started: str
    finished: str = ""          # empty in the file while the run works (or if it was killed)
    interrupted: bool = False
    workers: int = 0
    scheduler: str = ""
    fingerprint: str = ""
    speakers_fingerprint: str = ""   # the archive-wide speaker settings (sidecars may change them)
    plan_seconds: float = 0.0   # surveying the archive, before any work
    seconds: float = 0.0        # the whole run
    # Seconds of audio to transcribe and done so far (within files too), the
    # speed so far and the time left at that speed: updated while the run works.
    progress: dict = field(default_factory=dict)
    results: list[EpisodeResult] = field(default_factory=list)
    voices: list[str] = field(default_factory=list)   # the voice library's rebuild: what it found, its problems
    run_id: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ"))

    @property
    def failed(self) -> list[EpisodeResult]:
        return [r for r in self.results if r.status == "failed"]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    def summary(self) -> str:
        """A short table of what the run did, then one line per failure or note."""
        lines = [f"{'':<12}{'episodes':>9}{'audio h':>9}"]
        for status in STATUSES:
            rows = [r for r in self.results if r.status == status]
            if rows:
                lines.append(f"{status:<12}{len(rows):>9}{sum(r.duration for r in rows) / 3600:>9.2f}")
        if len(lines) == 1:
            lines = ["interrupted before any episode was finished" if self.interrupted else "nothing to do"]
        done = [r for r in self.results if r.status == "transcribed"]
        if done:
            audio_s = sum(r.duration for r in done)
            speed = audio_s / self.seconds if self.seconds else 0.0
            where = f"on {self.scheduler}" if self.scheduler else f"{self.workers} worker(s)"
            lines.append(f"{audio_s / 3600:.2f} h of audio transcribed in {_duration(self.seconds)} "
                         f"({speed:.1f}× real time, {where})")
        left = self.progress.get("audio_seconds", 0.0) - self.progress.get("done_seconds", 0.0)
        if self.interrupted and left > 1 and self.progress.get("realtime_factor"):
            lines.append(f"{left / 3600:.2f} h of audio left: about {_duration(self.progress['eta_seconds'])} "
                         f"at {self.progress['realtime_factor']:.1f}× real time")
        presets: dict[str, int] = {}
        for r in done:
            presets[r.preset or "?"] = presets.get(r.preset or "?", 0) + 1
        if len(presets) > 1:
            lines.append("presets: " + ", ".join(f"{name} {n}" for name, n in sorted(presets.items())))
        noisy = [r for r in done if r.noisy and r.noise_db is not None]
        if noisy:
            lines.append("measured noisy (beam search of 5): " + ", ".join(
                f"{printable(r.episode)} ({r.noise_db:.1f} dB{noisy_part(r.noisy_windows, r.windows)})" for r in noisy))
        for r in self.results:
            if r.status != "failed" and r.note and r.status != "unchanged":
                lines.append(f"  note   {printable(r.file or r.episode)}: {printable(r.note)}")
        for r in self.results:
            if r.warning:
                lines.append(f"  WARNING {printable(r.warning)}")
        for r in self.failed:
            lines.append(f"  FAILED {printable(r.error)}")
        for line in self.voices:
            lines.append(f"  voices {printable(line)}")
        if self.interrupted:
            lines.append("  interrupted: finished episodes were saved; run ingest again to continue")
        return "\n".join(lines)

    def path(self, runs_dir: Path) -> Path:
        return runs_dir / f"ingest-{self.run_id}.json"

    def save(self, runs_dir: Path) -> Path:
        path = self.path(runs_dir)
        atomic_write_json(path, asdict(self), ensure_ascii=False, indent=1)
        return path

    @classmethod
    def from_dict(cls, data: dict) -> "RunReport":
        """TypeError if ``data`` is not a report of this version (another version, a hand-edited file)."""
        results = [_typed(EpisodeResult, r) for r in data.get("results", [])]
        if any(r.status not in STATUSES for r in results):
            raise TypeError("unknown episode status")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "results"}
        return _typed(cls, {**known, "results": results})


_JSON_TYPES = {"str": str, "float": (int, float), "int": int, "bool": bool}


def _typed(kind, data):
    """``kind(**data)``, TypeError unless every field has its declared type (str, float, int, bool)."""
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    for name, value in data.items():
        declared = kind.__dataclass_fields__[name].type if name in kind.__dataclass_fields__ else None
        expected = _JSON_TYPES.get(declared)
        if expected is not None and (not isinstance(value, expected) or (declared != "bool" and isinstance(value, bool))):
            raise TypeError(f"field {name!r} is not a {declared}")
    return kind(**data)


def last_report(runs_dir: Path) -> RunReport | None:
    """The most recent run report (names sort by start time), or None."""
    for path in sorted(runs_dir.glob("ingest-*.json"), reverse=True):
        data = read_json(path, None)
        if isinstance(data, dict):
            with contextlib.suppress(TypeError):  # written by another version
                return RunReport.from_dict(data)
    return None


def duration_text(seconds: float) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``."""
    return _duration(seconds)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
