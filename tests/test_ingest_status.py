"""Issue 25: new files are measured (ffprobe) once, several at a time, behind a bar when there are many;
status answers from what is known and names an unreadable transcripts/ folder.

Before: every status and every run probed each pending file again, one at a time (10,000 files of 1.5 s:
status 7 min 39 s; an ingest restarted after Ctrl-C probed for 10.5 min before its first transcript), and
status said "transcribed 0" without a word when transcripts/ could not be read. The probe is replaced by
a counter here where its count is the subject; the ingest is stopped after its survey.
"""

from __future__ import annotations

import threading

import pytest

from helpers.hardening import HANG_GUARD, as_nobody, fake_archive, ingest, open_to_all, shared_folder
from indexer import Archive, audio
from indexer.ingest import workers as ingest_workers


@pytest.fixture
def counted_probes(monkeypatch):
    """Calls of indexer.audio.probe (the real one runs)."""
    calls = []
    real = audio.probe

    def probe(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(audio, "probe", probe)
    return calls


@pytest.fixture
def stop_after_survey(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C at the first transcription: the survey is done

    monkeypatch.setattr(ingest_workers, "transcribe_file", interrupted)


def test_new_files_are_measured_once_and_status_measures_none(tmp_path, counted_probes, stop_after_survey):
    root = fake_archive(tmp_path / "archive", {"a.wav": 3.0, "b.wav": 4.0, "c.wav": 4.5})
    status = Archive(root).status()
    assert counted_probes == [] and status.pending == 3
    assert "3 new file(s) not measured yet" in status.table()
    assert ingest(root).interrupted and len(counted_probes) == 3
    assert ingest(root).interrupted and len(counted_probes) == 3   # a rerun after Ctrl-C measures nothing again
    status = Archive(root).status()
    assert len(counted_probes) == 3 and status.unmeasured == 0 and status.hours == pytest.approx(11.5 / 3600, abs=1e-3)


def test_new_files_are_measured_several_at_a_time(tmp_path, monkeypatch, stop_after_survey):
    root = fake_archive(tmp_path / "archive", {"a.wav": 3.0, "b.wav": 4.0})
    both_measuring = threading.Barrier(2, timeout=60)  # a hang guard: one at a time never gets past it
    real = audio.probe

    def probe(path):
        both_measuring.wait()
        return real(path)

    monkeypatch.setattr(audio, "probe", probe)
    report = ingest(root)
    assert report.interrupted and not report.failed, report.summary()


def test_measuring_many_files_shows_a_bar(tmp_path, monkeypatch, stop_after_survey, capsys):
    (tmp_path / "archive" / "audio").mkdir(parents=True)
    for n in range(25):
        (tmp_path / "archive" / "audio" / f"e{n:02d}.wav").write_bytes(b"RIFF" + bytes([n]) * 64)
    monkeypatch.setattr(audio, "probe", lambda path: audio.AudioInfo(path, 1.5, "pcm_s16le", 16000, 1))
    assert ingest(tmp_path / "archive", progress=True).interrupted
    assert "measuring" in capsys.readouterr().err


def test_status_names_an_unreadable_transcripts_folder():
    with shared_folder() as folder:
        root = fake_archive(folder / "archive", {"a.wav": 3.0, "b.wav": 4.5})
        assert not ingest(root).failed
        open_to_all(root)
        (root / "transcripts").chmod(0o000)
        done = as_nobody("status", "--archive", root)
        (root / "transcripts").chmod(0o777)
        assert done.returncode == 0, done.stderr
        problems = [line for line in done.stdout.splitlines() if "PROBLEM" in line]
        assert problems and "transcripts" in problems[0] and "ermission denied" in problems[0], done.stdout
