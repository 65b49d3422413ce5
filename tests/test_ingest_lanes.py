"""Ingest's default worker (issue 27): one process on every core, short episodes decoded in batches
across files, the speakers stage beside the decoding; the same transcripts as one episode at a time.

Plumbing on the deterministic fake engine and real worker processes: what is checked is which
episode gets which words, what fails, and what is retried, not what Whisper hears.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import TEST_DATA
from indexer.archive import Episode
from indexer.ingest import Ingest, IngestOptions, lanes
from indexer.ingest.workers import Job, transcribe_job
from indexer.speakers import SpeakerOptions
from indexer.testing import FAKE_ENGINE, FAKE_SPEAKERS, FakeEngine
from indexer.transcribe import TranscribeOptions
from indexer.transcribe.batched import BATCH_CLIPS

SPEECH = TEST_DATA / "espeak_fr.wav"
OPTIONS = TranscribeOptions(engine=FAKE_ENGINE, language="fr")


class CrashingEngine(FakeEngine):
    """The fake engine, except that a window of more than 12 s of sound kills its process (a decoder
    crash, an out-of-memory kill)."""

    def transcribe(self, samples, language, prompt=True, seed=None):
        if len(samples) > 12 * 16000:
            os._exit(3)
        return super().transcribe(samples, language, prompt, seed)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """Five distinct 5-second clips, and a 15-second one."""
    folder = tmp_path_factory.mktemp("lane-clips")
    for n, volume in enumerate((1.0, 0.9, 0.8, 0.7, 0.6)):
        ffmpeg("-i", SPEECH, "-af", f"volume={volume}", folder / f"{'abcde'[n]}.wav")
    ffmpeg("-stream_loop", "2", "-i", SPEECH, folder / "long.wav")
    return folder


def archive(root: Path, clips: Path, names: list[str], engine: str = FAKE_ENGINE, speakers: str = "off") -> Path:
    (root / "audio").mkdir(parents=True)
    (root / "archive.yaml").write_text(f"language: fr\nmodel: base\nengine: {engine}\nspeakers: {speakers}\n"
                                       f"speaker_backend: {FAKE_SPEAKERS}\nembeddings: 'off'\n")
    for name in names:
        shutil.copy(clips / name, root / "audio" / name)
    return root


def job(path: Path, duration: float, preset: str = "", existing: str | None = None, speakers=None) -> Job:
    return Job(Episode(path.stem, path), "0" * 64, duration, path.stat().st_size if path.exists() else 0,
               speakers=speakers, existing=existing, preset=preset)


def words(path: Path) -> list:
    """What a transcript says, and when, and who says it (not when it was made, nor on how many threads)."""
    data = json.loads(path.read_text())
    return [(s["start"], s["end"], s["text"], s.get("speaker"), [tuple(w.values()) for w in s["words"]])
            for s in data["segments"]]


def test_short_episodes_go_in_batches_of_one_preset_and_the_longest_units_first(tmp_path):
    paths = {name: tmp_path / name for name in ("a", "b", "c", "d", "noisy", "long", "speakers")}
    jobs = [job(paths["a"], 30), job(paths["b"], 100), job(paths["c"], 60), job(paths["d"], 20),
            job(paths["noisy"], 40, preset="accurate"), job(paths["long"], 400),
            job(paths["speakers"], 50, existing="x.json")]
    units = lanes.plan_units(jobs, OPTIONS, lanes=2)
    assert units[0] == [5]                                   # the long episode alone, first
    assert sorted(k for unit in units for k in unit) == [0, 1, 2, 3, 4, 5]   # no speakers-only job: no lane
    batches = [unit for unit in units if len(unit) > 1]
    assert batches and all(len(unit) <= BATCH_CLIPS for unit in batches)
    assert [4] in units                                       # its own preset: not batched with the others
    durations = [sum(jobs[k].duration for k in unit) for unit in units]
    assert durations == sorted(durations, reverse=True)
    # Not knowing the language (detected per file) or batching off: one episode per unit.
    for options in (replace(OPTIONS, language=None), replace(OPTIONS, batched=False)):
        assert all(len(unit) == 1 for unit in lanes.plan_units(jobs, options, lanes=2))


def test_batched_episodes_get_the_words_each_gets_alone(tmp_path, clips, monkeypatch):
    paths = [clips / f"{name}.wav" for name in "abcde"]
    jobs = [job(p, 5.1, speakers=SpeakerOptions(backend=FAKE_SPEAKERS)) for p in paths]
    batches = []
    real = lanes._transcribe_short
    monkeypatch.setattr(lanes, "_transcribe_short", lambda files, *a: batches.append(len(files)) or real(files, *a))
    together = dict((j.episode.id, r) for j, r in lanes.transcribe_here(jobs, OPTIONS, str(clips)))
    assert batches and max(batches) == BATCH_CLIPS            # decoded in batches across files
    for j in jobs:
        alone = transcribe_job(j, OPTIONS, str(clips))
        batched = together[j.episode.id]
        assert batched.transcript.episode_id == j.episode.id and batched.transcript.audio_path == f"{j.episode.id}.wav"
        assert batched.transcript.segments == alone.transcript.segments   # words, times, speakers
        assert batched.transcript.diarization == alone.transcript.diarization
        assert batched.transcript.segments and batched.speaker_seconds >= 0


def test_a_bad_file_in_a_batch_fails_alone(tmp_path, clips):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio at all")
    gone = tmp_path / "gone.wav"
    shutil.copy(clips / "a.wav", gone)
    jobs = [job(clips / "a.wav", 5.1), job(bad, 5.1), job(gone, 5.1), job(clips / "b.wav", 5.1)]
    gone.unlink()   # deleted after the survey
    results = {j.episode.id: r for j, r in lanes.transcribe_here(jobs, OPTIONS, str(tmp_path))}
    assert results["a"].transcript is not None and results["b"].transcript is not None
    assert results["bad"].transcript is None and "bad.wav" in results["bad"].error
    assert results["gone"].transcript is None and "file not found" in results["gone"].error


def test_the_default_ingest_writes_what_one_episode_at_a_time_writes(tmp_path, clips):
    names = ["a.wav", "b.wav", "c.wav", "d.wav", "long.wav"]
    lane = archive(tmp_path / "lanes", clips, names, speakers="auto")
    alone = archive(tmp_path / "alone", clips, names, speakers="auto")
    report = Ingest(lane, IngestOptions(progress=False)).run()             # the default: the lane worker
    assert not report.failed, report.summary()
    assert report.workers == 1 and {r.status for r in report.results} == {"transcribed"}
    assert not Ingest(alone, IngestOptions(progress=False, workers=1)).run().failed
    for name in names:
        episode = Path(name).stem
        assert words(lane / "transcripts" / f"{episode}.json") == words(alone / "transcripts" / f"{episode}.json")
    assert report.progress["done_seconds"] == report.progress["audio_seconds"]


def test_a_file_that_kills_the_worker_is_reported_and_the_others_saved(tmp_path, clips, caplog):
    root = archive(tmp_path / "archive", clips, ["a.wav", "b.wav", "c.wav", "long.wav"],
                   engine=f"{__name__}:CrashingEngine")
    # First in the archive's order: it and a.wav are decoded as one batch, the longest first.
    (root / "audio" / "long.wav").rename(root / "audio" / "0-long.wav")
    report = Ingest(root, IngestOptions(progress=False)).run()
    statuses = {r.file: r.status for r in report.results}
    assert statuses == {"a.wav": "transcribed", "b.wav": "transcribed", "c.wav": "transcribed",
                        "0-long.wav": "failed"}, report.summary()   # its batch-mate is not blamed
    (failed,) = report.failed
    assert "0-long.wav: the worker process died on it twice" in failed.error
    assert "retrying 2 episode(s) one at a time" in caplog.text
    assert sorted(p.name for p in (root / "transcripts").glob("*.json")) == ["a.json", "b.json", "c.json"]
