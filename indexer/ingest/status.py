"""What the archive holds and what ``ingest`` would do (:class:`ArchiveStatus`), without taking the lock."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import audio
from ..errors import IndexerError, printable
from .guard import IngestLock
from .reports import RunReport, duration_text, last_report, now
from .state import RunState

if TYPE_CHECKING:
    from .run import Ingest


@dataclass
class ArchiveStatus:
    archive: str
    episodes: int               # audio files
    hours: float                # of audio, all episodes
    transcribed: int            # transcript up to date with the audio and the options
    indexed: int                # and in the index as it is now
    pending: int                # would be transcribed, copied or indexed by `ingest`
    to_remove: int              # in the archive, audio gone: `ingest` removes them from the index
    failed: int                 # in the last run
    suspect: int                # segments flagged suspect, in up-to-date transcripts
    running: int | None = None  # pid of an ingest running now
    last_run: str = ""
    pending_episodes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)   # of the last run
    problems: list[str] = field(default_factory=list)   # seen now, before any run
    presets: dict[str, int] = field(default_factory=dict)   # up-to-date transcripts by decoding preset
    noisy: list[str] = field(default_factory=list)   # episodes measured noisy: "id (18.2 dB)"
    progress: str = ""          # of the run going on now: audio done, real-time factor, time left

    def table(self) -> str:
        rows = [("archive", self.archive), ("episodes", f"{self.episodes} ({self.hours:.2f} h of audio)"),
                ("transcribed", self.transcribed), ("indexed", self.indexed),
                ("pending", f"{self.pending}" + (" (run `indexer ingest`)" if self.pending else "")),
                ("to remove", self.to_remove), ("failed", f"{self.failed} (last run)"),
                ("suspect", f"{self.suspect} segments"),
                ("presets", ", ".join(f"{name} {n}" for name, n in self.presets.items()) or "–"),
                ("last run", self.last_run or "never")]
        if self.progress:
            rows.append(("progress", self.progress))
        lines = [f"{name:<12} {printable(value)}" for name, value in rows]
        lines += [f"  FAILED {printable(error)}" for error in self.failures]
        lines += [f"  PROBLEM {printable(problem)}" for problem in self.problems]
        if self.noisy:
            lines.append(f"  noisy   {len(self.noisy)} episode(s) measured noisy, decoded with beam search: "
                         + printable(", ".join(self.noisy)))
        return "\n".join(lines)


def run_line(report: RunReport | None, holder: int | None) -> str:
    """The last run in one line, for the status: running, killed, interrupted or finished."""
    if holder:
        return f"running now (pid {holder})"
    if report is None:
        return ""
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items())) or "nothing to do"
    if not report.finished:
        return f"started {report.started}, killed before it finished ({counts}); run ingest again"
    state = "interrupted" if report.interrupted else "finished"
    return f"{state} {report.finished}: {counts}"


def progress_line(report: RunReport) -> str:
    """The run's progress as its report last saved it: audio done, speed, time left."""
    p = report.progress
    if not p.get("audio_seconds"):
        return ""
    line = (f"{p['done_seconds'] / 3600:.2f} of {p['audio_seconds'] / 3600:.2f} h of audio "
            f"({100 * p['done_seconds'] / p['audio_seconds']:.0f} %)")
    if p.get("realtime_factor"):
        line += f", {p['realtime_factor']:.1f}× real time"
    if p.get("eta_seconds") is not None:
        line += f", about {duration_text(p['eta_seconds'])} left"
    return line


def archive_status(ingest: "Ingest") -> ArchiveStatus:
    """What the archive holds and what ``ingest`` would do. Takes no lock and
    writes no archive data (only the caches: a new file is hashed once)."""
    layout = ingest.layout
    state = RunState.start(layout, RunReport(str(layout.root), now()))
    catalog = state.catalog
    catalog.refresh()
    plan = state.plan = ingest.survey(state, probe=False)
    with contextlib.suppress(OSError):  # a read-only archive: no cache, still a status
        state.hashes.save()
        catalog.save()
    problems = [r.error for r in state.report.failed]
    problems += [f"{line} (the next ingest transcribes its episode again)"
                 for path, line in sorted(catalog.unreadable.items())
                 if layout.transcripts_dir in path.parents]
    from ..index import TranscriptIndex, index_exists

    current = {e.id: e for e in plan.current}
    try:
        index = TranscriptIndex.open(layout.index_dir, create=False)
        state.indexed.reconcile(index, current)
        index.close()
    except IndexerError as e:
        if index_exists(layout.index_dir):  # no index yet is not a problem: ingest makes it
            problems.append(e.one_line())
    indexed = state.indexed.episodes
    up_to_date = {i for i, e in current.items() if state.indexed.is_current(e)}
    last = last_report(layout.runs_dir)
    holder = IngestLock.holder(layout.ingest_lock_path)
    gone = sorted((set(indexed) | catalog.episode_ids()) - plan.present) if not ingest.options.only else []
    failed_last = {r.episode for r in last.failed} if last else set()  # counted as failed, not pending
    heads = [catalog.get(i) for i in current]
    presets: dict[str, int] = {}
    for head in heads:
        presets[head.preset or "?"] = presets.get(head.preset or "?", 0) + 1
    noisy = [f"{h.episode_id} ({h.noise_db:.1f} dB)" for h in heads if h.noisy and h.noise_db is not None]
    pending = sorted(({j.episode.id for j in plan.jobs} | {e.id for e, _ in plan.copies}
                      | {e.id for e, *_ in plan.duplicates} | (set(current) - up_to_date)) - failed_last)
    return ArchiveStatus(
        archive=str(layout.root), episodes=len(plan.present), hours=round(_seconds(state) / 3600, 3),
        transcribed=len(current), indexed=len(up_to_date), pending=len(pending), to_remove=len(gone),
        failed=len(last.failed) if last else 0, suspect=sum(catalog.get(i).suspect for i in current),
        running=holder, last_run=run_line(last, holder), pending_episodes=pending,
        failures=[r.error for r in last.failed] if last else [],
        problems=problems, presets=dict(sorted(presets.items())), noisy=sorted(noisy),
        progress=progress_line(last) if holder and last else "")


def _seconds(state: RunState) -> float:
    """Seconds of audio of every episode: from its transcript when there is one, else measured."""
    catalog, plan = state.catalog, state.plan
    seconds = sum(catalog.get(e.id).duration for e in plan.current)
    for job in plan.jobs:
        head = catalog.get(job.episode.id)
        if head is not None:
            seconds += head.duration
        else:
            with contextlib.suppress(IndexerError):
                seconds += audio.probe(job.episode.audio_path).duration
    return seconds + sum(catalog.heads[source].duration for _, source in plan.copies)
