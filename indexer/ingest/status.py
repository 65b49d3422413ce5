"""What the archive holds and what ``ingest`` would do (:class:`ArchiveStatus`), without taking the lock."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from ..errors import IndexerError, printable
from ..quality import EpisodeQuality, worst
from .guard import IngestLock
from .options import RunConfig
from .reports import RunReport, duration_text, last_report, now
from .state import RunState
from .survey import Survey


@dataclass
class ArchiveStatus:
    archive: str
    episodes: int               # audio files
    hours: float                # of audio, all episodes whose duration is known
    transcribed: int            # transcript up to date with the audio and the options
    indexed: int                # and in the index as it is now
    pending: int                # would be transcribed, copied or indexed by `ingest`
    to_remove: int              # in the archive, audio gone: `ingest` removes them from the index
    failed: int                 # in the last run
    suspect: int                # segments flagged suspect, in up-to-date transcripts
    segments: int = 0           # in up-to-date transcripts
    words: int = 0
    low_confidence_words: int = 0   # below indexer.quality.LOW_WORD_PROBABILITY
    worst: list[dict] = field(default_factory=list)   # the worst episodes (EpisodeQuality, shares), worst first
    running: int | None = None  # pid of an ingest running now
    last_run: str = ""
    pending_episodes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)   # of the last run
    problems: list[str] = field(default_factory=list)   # seen now, before any run
    unmeasured: int = 0         # new files whose duration is not known yet (ingest measures them)
    presets: dict[str, int] = field(default_factory=dict)   # up-to-date transcripts by decoding preset
    # episodes measured noisy: "id (18.2 dB)", "id (23.1 dB, 3 of 40 windows)" when only some windows were
    noisy: list[str] = field(default_factory=list)
    progress: str = ""          # of the run going on now: audio done, real-time factor, time left

    def table(self) -> str:
        unmeasured = f"; {self.unmeasured} new file(s) not measured yet" if self.unmeasured else ""
        rows = [("archive", self.archive), ("episodes", f"{self.episodes} ({self.hours:.2f} h of audio{unmeasured})"),
                ("transcribed", self.transcribed), ("indexed", self.indexed),
                ("pending", f"{self.pending}" + (" (run `indexer ingest`)" if self.pending else "")),
                ("to remove", self.to_remove), ("failed", f"{self.failed} (last run)"),
                *self._quality_rows(),
                ("presets", ", ".join(f"{name} {n}" for name, n in self.presets.items()) or "–"),
                ("last run", self.last_run or "never")]
        if self.progress:
            rows.append(("progress", self.progress))
        lines = [f"{name:<12} {printable(value)}" for name, value in rows]
        lines += [f"  FAILED {printable(error)}" for error in self.failures]
        lines += [f"  PROBLEM {printable(problem)}" for problem in self.problems]
        if self.noisy:
            lines.append(f"  noisy   {len(self.noisy)} episode(s) measured noisy, decoded with beam search of 5: "
                         + printable(", ".join(self.noisy)))
        return "\n".join(lines)

    def _quality_rows(self) -> list[tuple[str, str]]:
        """Suspect segments and unsure words over the archive, then the worst episodes by name."""
        suspect = f"{self.suspect} segments"
        if self.segments:
            suspect += (f" of {self.segments} ({self.suspect / self.segments:.1%}); {self.low_confidence_words} of "
                        f"{self.words} words low-confidence ({self.low_confidence_words / max(self.words, 1):.1%})")
        worst = [("worst" if i == 0 else "", f"{q['episode']}: {q['description']}"
                  + (" (poor: try the noisy preset, check the audio)" if q["poor"] else ""))
                 for i, q in enumerate(self.worst)]
        return [("suspect", suspect), *worst]


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


def archive_status(config: RunConfig) -> ArchiveStatus:
    """What the archive holds and what ``ingest`` would do. Takes no lock and
    writes no archive data (only the caches: a new file is hashed once)."""
    layout = config.layout
    state = RunState.start(layout, RunReport(str(layout.root), now()))
    catalog = state.catalog
    catalog.refresh()
    plan = state.plan = Survey(config, state).plan(probe=False)
    with contextlib.suppress(OSError):  # a read-only archive: no cache, still a status
        state.hashes.save()
        catalog.save()
        state.probes.save()
    problems = [r.error for r in state.report.failed]
    problems += [line if path == layout.transcripts_dir else f"{line} (the next ingest transcribes its episode again)"
                 for path, line in sorted(catalog.unreadable.items())
                 if path == layout.transcripts_dir or layout.transcripts_dir in path.parents]
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
    gone = sorted((set(indexed) | catalog.episode_ids()) - plan.present) if not config.options.only else []
    failed_last = {r.episode for r in last.failed} if last else set()  # counted as failed, not pending
    heads = [catalog.get(i) for i in current]
    qualities = [head.quality for head in heads]
    presets: dict[str, int] = {}
    for head in heads:
        presets[head.decoding] = presets.get(head.decoding, 0) + 1
    noisy = [h.noisy_note for h in heads if h.noisy and h.noise_db is not None]
    pending = sorted(({j.episode.id for j in plan.jobs} | {e.id for e, _ in plan.copies}
                      | {e.id for e, *_ in plan.duplicates} | (set(current) - up_to_date)) - failed_last)
    seconds, unmeasured = _seconds(state)
    return ArchiveStatus(
        archive=str(layout.root), episodes=len(plan.present), hours=round(seconds / 3600, 3), unmeasured=unmeasured,
        transcribed=len(current), indexed=len(up_to_date), pending=len(pending), to_remove=len(gone),
        failed=len(last.failed) if last else 0, suspect=sum(q.suspect_segments for q in qualities),
        segments=sum(q.segments for q in qualities), words=sum(q.words for q in qualities),
        low_confidence_words=sum(q.low_confidence_words for q in qualities), worst=_worst(qualities),
        running=holder, last_run=run_line(last, holder), pending_episodes=pending,
        failures=[r.error for r in last.failed] if last else [],
        problems=problems, presets=dict(sorted(presets.items())), noisy=sorted(noisy),
        progress=progress_line(last) if holder and last else "")


def _worst(qualities: list[EpisodeQuality]) -> list[dict]:
    """The three worst episodes, as ``status --json`` gives them."""
    return [{"episode": q.episode, "suspect_share": round(q.suspect_share, 4),
             "low_confidence_share": round(q.low_confidence_share, 4), "segments": q.segments,
             "suspect_segments": q.suspect_segments, "words": q.words, "low_confidence_words": q.low_confidence_words,
             "poor": q.is_poor(), "description": q.describe()} for q in worst(qualities)]


def _seconds(state: RunState) -> tuple[float, int]:
    """Seconds of audio of every episode (from its transcript, else as measured by an earlier run), and how
    many files are not measured yet. Status measures nothing itself: with 10,000 new files it took 7 min 39 s
    to probe them one by one; ingest measures them once (:meth:`Survey._measure`)."""
    catalog, plan = state.catalog, state.plan
    seconds = sum(catalog.get(e.id).duration for e in plan.current)
    unmeasured = 0
    for job in plan.jobs:
        head = catalog.get(job.episode.id)
        duration = head.duration if head is not None else job.duration
        seconds += duration
        unmeasured += not duration
    return seconds + sum(catalog.heads[source].duration for _, source in plan.copies), unmeasured
