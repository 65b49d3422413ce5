"""Ingest's default worker (issue 27): one process on every core, the longest episodes first, the
speakers stage beside the decoding; the same transcripts as one episode at a time.

Plumbing on the deterministic fake engine and real worker processes: what is checked is which
episode gets which words, what fails, and what is retried, not what Whisper hears.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import TEST_DATA, hearing
from indexer.archive import Episode
from indexer.ingest import Ingest, IngestOptions, lanes
from indexer.ingest.workers import Job, transcribe_job
from indexer.speakers import SpeakerOptions
from indexer.testing import FAKE_ENGINE, FAKE_SPEAKERS, FakeEngine
from indexer.transcribe import TranscribeOptions

SPEECH = TEST_DATA / "espeak_fr.wav"
OPTIONS = TranscribeOptions(engine=FAKE_ENGINE, language="fr")


class CrashingEngine(FakeEngine):
    """The fake engine in two lanes, except that a window of more than 12 s of sound kills its process
    (a decoder crash, an out-of-memory kill)."""

    parallel = 2

    def transcribe(self, samples, language, prompt=True, seed=None):
        if len(samples) > 12 * 16000:
            os._exit(3)
        return super().transcribe(samples, language, prompt, seed)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """Five distinct 5-second clips, a 15-second one, and a quiet 5-second one (peak 0.13, the others ≥ 0.39)."""
    folder = tmp_path_factory.mktemp("lane-clips")
    for n, volume in enumerate((1.0, 0.9, 0.8, 0.7, 0.6)):
        ffmpeg("-i", SPEECH, "-af", f"volume={volume}", folder / f"{'abcde'[n]}.wav")
    ffmpeg("-stream_loop", "2", "-i", SPEECH, folder / "long.wav")
    ffmpeg("-i", SPEECH, "-af", "volume=0.2", folder / "quiet.wav")
    return folder


def archive(root: Path, clips: Path, names: list[str], engine: str = FAKE_ENGINE, speakers: str = "off",
            backend: str = FAKE_SPEAKERS) -> Path:
    (root / "audio").mkdir(parents=True)
    (root / "archive.yaml").write_text(f"language: fr\nmodel: base\nengine: {engine}\nspeakers: {speakers}\n"
                                       f"speaker_backend: {backend}\nembeddings: 'off'\n")
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


def test_the_lanes_take_the_longest_episodes_first(tmp_path):
    jobs = [job(tmp_path / "a", 30), job(tmp_path / "b", 100), job(tmp_path / "speakers", 500, existing="x.json"),
            job(tmp_path / "c", 60), job(tmp_path / "long", 400)]
    assert lanes.longest_first(jobs) == [4, 1, 3, 0]   # a speakers-only job needs no lane


def test_each_episode_gets_the_words_it_gets_alone(tmp_path, clips):
    jobs = [job(clips / f"{name}.wav", 5.1, speakers=SpeakerOptions(backend=FAKE_SPEAKERS)) for name in "abcde"]
    jobs.append(job(clips / "long.wav", 15.4, preset="accurate"))
    together = dict((j.episode.id, r) for j, r in lanes.transcribe_here(jobs, OPTIONS, str(clips)))
    assert set(together) == {j.episode.id for j in jobs}
    for j in jobs:
        alone = transcribe_job(j, OPTIONS, str(clips))
        lane = together[j.episode.id].transcript
        assert lane.episode_id == j.episode.id and lane.audio_path == f"{j.episode.id}.wav"
        assert lane.segments == alone.transcript.segments   # words, times, speakers
        assert lane.diarization == alone.transcript.diarization and lane.segments
        assert lane.options == alone.transcript.options      # the episode's own preset


def test_the_speakers_stage_hears_a_lone_episode_while_it_is_decoded(clips):
    """A lone episode's speakers stage used to run on one core after its decoding, the other idle (issue 27:
    the one-hour file). Now the stage hears the audio while the lanes decode it."""
    hearing.start()
    options = replace(OPTIONS, engine=hearing.DECODING_UNTIL_HEARD)
    speakers = SpeakerOptions(backend=hearing.LISTENING)
    ((_, result),) = lanes.transcribe_here([job(clips / "long.wav", 15.4, speakers=speakers)], options, str(clips))
    assert hearing.DecodingUntilHeard.waited_in_vain == 0 and result.transcript.segments
    assert result.transcript.diarization is not None and result.transcript.speaker_labels
    assert result.speaker_seconds > 0 and result.seconds > 0


def test_what_was_heard_on_a_stale_duration_is_heard_again_on_the_transcripts(clips):
    """The survey's duration can come from a cache that another ffmpeg, or a replaced file, made stale: a
    named turn "to the end" then ends where the transcript ends, as when the stage ran after the decoding."""
    speakers = SpeakerOptions(mode="off", named_turns=(("Ana", 0.0, -1.0),), backend=FAKE_SPEAKERS)
    stale = job(clips / "long.wav", 4.0, speakers=speakers)
    ((_, lane),) = lanes.transcribe_here([stale], OPTIONS, str(clips))
    alone = transcribe_job(stale, OPTIONS, str(clips)).transcript
    assert lane.transcript.duration > 15
    assert lane.transcript.diarization == alone.diarization and lane.transcript.diarization.voiceprints


@pytest.mark.parametrize("speakers", [None, SpeakerOptions(backend=FAKE_SPEAKERS)], ids=["no-speakers", "speakers"])
def test_a_bad_file_fails_alone(tmp_path, clips, speakers):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio at all")
    gone = tmp_path / "gone.wav"
    shutil.copy(clips / "a.wav", gone)
    jobs = [job(path, 5.1, speakers=speakers) for path in (clips / "a.wav", bad, gone, clips / "b.wav")]
    gone.unlink()   # deleted after the survey
    results = {j.episode.id: r for j, r in lanes.transcribe_here(jobs, OPTIONS, str(tmp_path))}
    assert results["a"].transcript is not None and results["b"].transcript is not None
    assert results["bad"].transcript is None and "bad.wav" in results["bad"].error
    assert results["gone"].transcript is None and "file not found" in results["gone"].error
    assert all(r.transcript.diarization is not None for r in (results["a"], results["b"]) if speakers)


def test_an_episode_whose_speakers_stage_fails_is_reported_and_the_others_saved(clips):
    deaf = SpeakerOptions(backend=hearing.DEAF)
    jobs = [job(clips / "a.wav", 5.1, speakers=SpeakerOptions(backend=FAKE_SPEAKERS)),
            job(clips / "b.wav", 5.1, speakers=deaf), job(clips / "c.wav", 5.1)]
    results = {j.episode.id: r for j, r in lanes.transcribe_here(jobs, OPTIONS, str(clips))}
    assert results["b"].transcript is None
    assert "b.wav" in results["b"].error and "the speaker network broke" in results["b"].error
    assert results["a"].transcript.diarization is not None and results["c"].transcript.segments


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
    # First in the archive's order: decoded first, beside a.wav in the other lane.
    (root / "audio" / "long.wav").rename(root / "audio" / "0-long.wav")
    report = Ingest(root, IngestOptions(progress=False)).run()
    statuses = {r.file: r.status for r in report.results}
    assert statuses == {"a.wav": "transcribed", "b.wav": "transcribed", "c.wav": "transcribed",
                        "0-long.wav": "failed"}, report.summary()   # a.wav, beside it, is not blamed
    (failed,) = report.failed
    assert "0-long.wav: the worker process died on it twice" in failed.error
    # How many had begun when it died (the crashing file, and a.wav or more beside it) depends on timing.
    assert re.search(r"retrying [1-4] episode\(s\) one at a time", caplog.text), caplog.text
    assert sorted(p.name for p in (root / "transcripts").glob("*.json")) == ["a.json", "b.json", "c.json"]


def test_a_file_whose_hearing_kills_the_worker_is_the_one_reported(tmp_path, clips, caplog):
    """A file that kills the worker while the speakers stage hears it (here the last one, heard while it is
    decoded) is the one retried alone and reported; the others are saved."""
    root = archive(tmp_path / "archive", clips, ["a.wav", "b.wav", "quiet.wav", "long.wav"],
                   engine="helpers.hearing:SlowEngine", speakers="auto", backend="helpers.hearing:KillingBackend")
    report = Ingest(root, IngestOptions(progress=False)).run()
    statuses = {r.file: r.status for r in report.results}
    assert statuses == {"a.wav": "transcribed", "b.wav": "transcribed", "long.wav": "transcribed",
                        "quiet.wav": "failed"}, report.summary()
    (failed,) = report.failed
    assert "quiet.wav: the worker process died on it twice" in failed.error
    # One death in a lane worker: quiet.wav, and the episode whose hearing may still wait behind it, are
    # retried alone (how many depends on timing); no second lane worker dies on it.
    retries = re.findall(r"retrying ([12]) episode\(s\) one at a time", caplog.text)
    assert len(retries) == 1, caplog.text
