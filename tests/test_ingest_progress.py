"""Progress in seconds of audio: within a long file, across worker processes, with
a real-time factor and a time left in the run report, the summary and the status.

Plumbing on the deterministic fake engine: what is measured is how far the
decoding went, not what it heard.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from helpers import TEST_DATA
from indexer import Archive, audio
from indexer.archive import Episode
from indexer.ingest import Ingest, IngestOptions
from indexer.ingest.progress import RunProgress
from indexer.ingest.reports import RunReport
from indexer.ingest.status import progress_line
from indexer.ingest.workers import Job, dispatch_pool
from indexer.testing import FAKE_ENGINE
from indexer.transcribe import TranscribeOptions, transcribe_file

SPEECH = TEST_DATA / "espeak_fr.wav"
OPTIONS = TranscribeOptions(engine=FAKE_ENGINE, window_seconds=20.0)   # short windows: a long file is several


def long_file(target: Path, repeats: int = 16) -> Path:
    """The clip again and again: about 80 seconds, four windows of at most 20 s."""
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", str(repeats - 1), "-i", str(SPEECH),
                    "-af", "apad=pad_dur=2", str(target)], check=True)
    return target


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_long_file_reports_progress_window_by_window(tmp_path):
    path = long_file(tmp_path / "long.wav")
    duration = audio.probe(path).duration
    steps: list[float] = []
    transcribe_file(path, OPTIONS, on_progress=steps.append)
    assert len(steps) >= 4                       # not one figure at the end: one per window at least
    assert abs(sum(steps) - duration) < 1.0      # all of the audio, counted once
    assert max(steps) < duration / 2


def test_run_progress_counts_seconds_speed_and_time_left():
    clock = Clock()
    progress = RunProgress(300.0, enabled=False, clock=clock)
    progress.expect("a", 100.0)
    progress.expect("b", 200.0)
    clock.now += 10
    progress.advance("a", 60.0)
    progress.advance("b", 40.0)
    progress.advance("a", 90.0)                  # never more than the episode's length
    figures = progress.figures()
    assert figures == {"audio_seconds": 300.0, "done_seconds": 140.0, "realtime_factor": 14.0,
                       "eta_seconds": round(160 / 14, 1)}
    progress.finish("b")                         # a finished (or failed) episode counts whole
    assert progress.figures()["done_seconds"] == 300.0 and progress.figures()["eta_seconds"] == 0.0


def test_worker_processes_report_progress_inside_their_files(tmp_path):
    files = [long_file(tmp_path / f"{name}.wav") for name in ("one", "two")]
    jobs = [Job(Episode(f.stem, f), "sha", audio.probe(f).duration) for f in files]
    seen: list[tuple[str, float]] = []
    results = list(dispatch_pool(2, jobs, replace(OPTIONS, cpu_threads=1), str(tmp_path),
                                 progress=lambda episode, seconds: seen.append((episode, seconds))))
    assert sorted(job.episode.id for job, _ in results) == ["one", "two"]
    assert all(result.transcript is not None for _, result in results)
    assert {episode for episode, _ in seen} == {"one", "two"}   # from both workers, before their results
    assert all(0 < seconds for _, seconds in seen)


def make_archive(root: Path) -> Path:
    (root / "audio").mkdir(parents=True)
    (root / "archive.yaml").write_text(f"language: fr\nengine: {FAKE_ENGINE}\nspeakers: off\n")
    long_file(root / "audio" / "long.wav")
    shutil.copy(SPEECH, root / "audio" / "short.wav")
    return root


def test_the_run_report_has_the_speed_and_time_left(tmp_path):
    root = make_archive(tmp_path / "a")
    report = Ingest(root, IngestOptions(progress=False, workers=2)).run()
    total = sum(r.duration for r in report.results)
    assert report.progress["audio_seconds"] == round(total, 1) == report.progress["done_seconds"]
    assert report.progress["realtime_factor"] > 0 and report.progress["eta_seconds"] == 0.0
    saved = RunReport.from_dict(__import__("json").loads(report.path(root / "runs").read_text()))
    assert saved.progress == report.progress
    assert "× real time" in report.summary()


def test_an_interrupted_run_says_what_is_left_and_status_shows_a_run_in_progress():
    report = RunReport("archive", "2026-12-06T10:00:00+00:00", interrupted=True, progress={
        "audio_seconds": 7200.0, "done_seconds": 1800.0, "realtime_factor": 15.0, "eta_seconds": 360.0})
    assert "1.50 h of audio left: about 6.0 min at 15.0× real time" in report.summary()
    assert progress_line(report) == "0.50 of 2.00 h of audio (25 %), 15.0× real time, about 6.0 min left"


def test_status_while_an_ingest_runs_shows_its_progress(tmp_path, monkeypatch):
    root = make_archive(tmp_path / "a")
    report = RunReport(str(root), "2026-12-06T10:00:00+00:00", progress={
        "audio_seconds": 7200.0, "done_seconds": 3600.0, "realtime_factor": 12.0, "eta_seconds": 300.0})
    report.save(root / "runs")
    from indexer.ingest import guard

    monkeypatch.setattr(guard.IngestLock, "holder", staticmethod(lambda path: 4242))
    status = Archive(root).status()
    assert status.progress == "1.00 of 2.00 h of audio (50 %), 12.0× real time, about 5.0 min left"
    assert "progress     1.00 of 2.00 h" in status.table()
