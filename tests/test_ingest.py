"""Ingest (issue 7): incremental, crash-safe, parallel; bad input never stops a batch.

Real files, real ffmpeg, real Whoosh, real worker processes and a real Dask
cluster; what is transcribed goes through the deterministic fake engine
(:mod:`indexer.testing`): these tests are about the batch, not about which
words Whisper hears. Clips are 5-second variants of tests/data/espeak_fr.wav
(same sound, different bytes).
"""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import SAMPLE_ARCHIVE, TEST_DATA
from helpers.hardening import alive, children, wait_for
from indexer import Archive
from indexer.archive import ArchiveLayout
from indexer.errors import ArchiveNotFoundError, ClusterError
from indexer.ingest import Ingest, IngestLock, IngestOptions, RunReport, catalog, saving, upkeep, watch, workers
from indexer.testing import FAKE_ENGINE
from indexer.transcribe import TranscribeOptions, transcribe_file
from indexer.ingest.workers import Job, transcribe_job, worker_plan
from indexer.cli import main
from indexer.transcript import load_transcript

SPEECH = TEST_DATA / "espeak_fr.wav"
OPTIONS = IngestOptions(progress=False, workers=1)


# --- helpers -------------------------------------------------------------------------------

def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """Distinct 5-second French clips in several formats, and 8 s of silence."""
    folder = tmp_path_factory.mktemp("clips")
    shutil.copy(SPEECH, folder / "a.wav")
    ffmpeg("-i", SPEECH, "-af", "volume=0.8", "-c:a", "libmp3lame", "-b:a", "64k", folder / "b.mp3")
    ffmpeg("-i", SPEECH, "-af", "volume=0.6", "-c:a", "aac", folder / "c.m4a")
    ffmpeg("-i", SPEECH, "-af", "volume=0.7", "-c:a", "libmp3lame", "-b:a", "48k", folder / "d.mp3")
    ffmpeg("-i", SPEECH, "-af", "volume=0.9", folder / "e.wav")
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "8", "-c:a", "libmp3lame", "-b:a", "32k",
           folder / "silence.mp3")
    return folder


def new_archive(root: Path, clips: Path, files: dict[str, str]) -> Path:
    """An archive whose audio/ holds ``{name: clip}``; nothing transcribed yet."""
    (root / "audio").mkdir(parents=True)
    # Speakers off: the batch is the subject here (tests/test_speakers.py runs the stage through the batch).
    (root / "archive.yaml").write_text(f"language: fr\nmodel: base\nengine: {FAKE_ENGINE}\nspeakers: off\n")
    for name, clip in files.items():
        target = root / "audio" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(clips / clip, target)
    return root


def ingest(root, **changes):
    return Ingest(root, replace(OPTIONS, **changes)).run()


def by_file(report: RunReport) -> dict[str, str]:
    return {r.file: r.status for r in report.results}


@pytest.fixture
def transcriptions(monkeypatch):
    """Counts real transcriptions (in this process)."""
    calls = []
    real = workers.transcribe_file

    def counting(path, *args, **kwargs):
        calls.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(workers, "transcribe_file", counting)
    return calls


def index_documents(root: Path) -> tuple[Counter, Counter]:
    """(segment documents by (episode, segment id), episode documents by episode) in the index."""
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(root / "index"))
    with ix.searcher() as searcher:
        docs = list(searcher.all_stored_fields())
    ix.close()
    segments = Counter((d["episode"], d["segment"]) for d in docs if d.get("segment") is not None)
    episodes = Counter(_episode_of(d) for d in docs if d.get("segment") is None)
    return segments, episodes


def _episode_of(doc: dict) -> str:
    return doc.get("episode_doc") or doc["episode"]  # the field of episode documents is indexer.index's choice


def episode_document(root: Path, episode_id: str) -> dict:
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(root / "index"))
    with ix.searcher() as searcher:
        (doc,) = [d for d in searcher.all_stored_fields() if d.get("segment") is None and _episode_of(d) == episode_id]
    ix.close()
    return doc


def assert_consistent(root: Path, expected_ids: set[str] | None = None) -> None:
    """What an uninterrupted run leaves: every audio file has a complete transcript,
    the index holds each of its segments and its episode document exactly once,
    and no temporary file is left behind."""
    layout = ArchiveLayout(root)
    ids = expected_ids if expected_ids is not None else {layout.episode_for(p).id for p in layout.audio_files()}
    transcripts = {t.episode_id: t for t in Archive(root).transcripts()}
    assert set(transcripts) == ids
    segments, episodes = index_documents(root)
    assert segments == Counter((t.episode_id, s.id) for t in transcripts.values() for s in t.segments)
    assert episodes == Counter(ids)
    assert not [p for p in root.rglob(".*.tmp")]
    index_files = [p.name for p in (root / "index").iterdir()]
    assert not [n for n in index_files if ".toc." in n or n.endswith(".tmp")], index_files
    for episode_id, transcript in transcripts.items():
        for ext in ("srt", "vtt", "txt"):
            assert layout.transcript_path(episode_id).with_suffix(f".{ext}").is_file()
    assert IngestLock.holder(layout.state_dir / "ingest.lock") is None


def run_reports(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "runs").glob("ingest-*.json"))]


# --- sizing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("workers, cores, memory_gb, expected", [
    (0, 2, 16, (2, 1)), (1, 2, 16, (1, 2)), (5, 2, 16, (2, 1)), (0, 8, 16, (8, 1)), (0, 8, 4, (4, 2)),
    (3, 8, 16, (3, 2)), (0, 1, 16, (1, 1)), (0, 4, 0.5, (1, 4)),
])
def test_worker_plan_never_oversubscribes_the_cores(workers, cores, memory_gb, expected):
    processes, threads = worker_plan(workers, cores, memory_gb)
    assert (processes, threads) == expected and processes * threads <= cores


# --- incremental and idempotent ----------------------------------------------------------------

def test_ingest_is_incremental_and_a_noop_rerun_reads_no_transcript(tmp_path, clips, transcriptions, monkeypatch):
    root = new_archive(tmp_path / "archive", clips, {"a.wav": "a.wav", "b.mp3": "b.mp3", "2011/c.m4a": "c.m4a"})
    first = ingest(root)
    assert by_file(first) == {"a.wav": "transcribed", "b.mp3": "transcribed", "2011/c.m4a": "transcribed"}
    assert sorted(transcriptions) == ["a.wav", "b.mp3", "c.m4a"]
    assert all(r.realtime_factor > 0 and r.duration > 4 and r.segments >= 1 for r in first.results)
    assert_consistent(root)
    saved = run_reports(root)[-1]
    assert saved["finished"] and saved["results"][0]["status"] == "transcribed"
    assert {"status", "duration", "realtime_factor", "error", "seconds"} <= set(saved["results"][0])
    assert "h of audio transcribed" in first.summary() and "episodes" in first.summary()

    # No-op: no transcription, and not one transcript parsed (heads are cached by size and mtime).
    loads = []
    real_load = catalog.load_transcript
    for module in (catalog, saving, upkeep):  # every module of the ingest that reads transcripts
        monkeypatch.setattr(module, "load_transcript", lambda path: loads.append(path) or real_load(path))
    second = ingest(root)
    assert set(by_file(second).values()) == {"unchanged"} and len(transcriptions) == 3 and loads == []

    # Changed audio under the same name: transcribed again; --only and --force.
    shutil.copy(clips / "e.wav", root / "audio" / "a.wav")
    third = ingest(root)
    assert by_file(third) == {"a.wav": "transcribed", "b.mp3": "unchanged", "2011/c.m4a": "unchanged"}
    forced = ingest(root, force=True, only="b*")
    assert by_file(forced) == {"b.mp3": "transcribed"}
    assert len(transcriptions) == 5
    assert_consistent(root)


def test_a_damaged_transcript_is_redone_and_kept_aside(tmp_path, clips, transcriptions):
    root = new_archive(tmp_path / "archive", clips, {"a.wav": "a.wav"})
    ingest(root)
    (root / "transcripts" / "a.json").write_text('{"schema": 1, "segments": [')
    report = ingest(root)
    assert by_file(report) == {"a.wav": "transcribed"}
    assert "kept as .indexer/trash/a.json.unreadable" in report.results[0].note
    assert (root / ".indexer" / "trash" / "a.json.unreadable").read_text().startswith('{"schema": 1')
    assert_consistent(root)


def test_a_sidecar_change_only_reindexes(sample_copy, transcriptions):
    sidecar = sample_copy / "audio" / "metier-community-manager.yaml"
    sidecar.write_text(sidecar.read_text().replace("title: Le métier de community manager",
                                                   "title: Un métier nommé community manager"))
    report = ingest(sample_copy)
    statuses = by_file(report)
    assert statuses.pop("metier-community-manager.mp3") == "reindexed"
    assert statuses and set(statuses.values()) == {"unchanged"}
    assert transcriptions == []
    assert episode_document(sample_copy, "metier-community-manager")["title"] == "Un métier nommé community manager"
    assert_consistent(sample_copy)


def test_rename_delete_and_restore_never_transcribe_again(sample_copy, transcriptions):
    audio = sample_copy / "audio"
    archive = Archive(sample_copy)
    archive.correct("metier-community-manager", 0, "Bonjour, je suis community manager.")
    archive.index.close()

    # Renamed (with its sidecar): the transcript and the editors' corrections follow the file.
    (audio / "2010").mkdir()
    (audio / "metier-community-manager.mp3").rename(audio / "2010" / "Métier CM.mp3")
    (audio / "metier-community-manager.yaml").rename(audio / "2010" / "Métier CM.yaml")
    report = ingest(sample_copy)
    statuses = by_file(report)
    assert statuses["2010/Métier CM.mp3"] == "copied" and statuses["metier-community-manager.mp3"] == "removed"
    renamed = next(r for r in report.results if r.episode == "2010/metier-cm")
    assert renamed.note.startswith("renamed from metier-community-manager.mp3")
    assert (sample_copy / ".indexer" / "trash" / "metier-community-manager.json").is_file()
    assert (sample_copy / "corrections" / "2010" / "metier-cm.json").is_file()
    hits = Archive(sample_copy).search("bonjour", episode="2010/metier-cm", match="words")
    assert [h.text for h in hits] == ["Bonjour, je suis community manager."]
    assert_consistent(sample_copy)

    # Deleted: out of the index; its transcript waits in the trash.
    (audio / "e-reputation-nettoyeurs-du-web.ogg").unlink()
    report = ingest(sample_copy)
    assert by_file(report)["e-reputation-nettoyeurs-du-web.ogg"] == "removed"
    assert "e-reputation-nettoyeurs-du-web" not in Archive(sample_copy).index.episode_ids()
    assert_consistent(sample_copy)

    # Back again: restored from the trash.
    shutil.copy(SAMPLE_ARCHIVE / "audio" / "e-reputation-nettoyeurs-du-web.ogg", audio)
    report = ingest(sample_copy)
    restored = next(r for r in report.results if r.file == "e-reputation-nettoyeurs-du-web.ogg")
    assert restored.status == "copied" and "restored from the trash" in restored.note
    assert transcriptions == []
    assert_consistent(sample_copy)


def test_the_same_audio_under_two_names_is_transcribed_once(tmp_path, clips, transcriptions):
    root = new_archive(tmp_path / "archive", clips, {"b.mp3": "b.mp3", "copie de b.mp3": "b.mp3"})
    report = ingest(root)
    assert by_file(report) == {"b.mp3": "transcribed", "copie de b.mp3": "copied"}
    copied = next(r for r in report.results if r.status == "copied")
    assert copied.note == "same audio as b.mp3: transcript copied, not transcribed again"
    assert transcriptions == ["b.mp3"]
    assert_consistent(root)


def test_an_index_rebuilt_or_lost_is_reconciled(sample_copy):
    Archive(sample_copy).reindex(progress=False)
    assert set(by_file(ingest(sample_copy)).values()) == {"unchanged"}  # the rebuild is trusted
    shutil.rmtree(sample_copy / "index")
    assert set(by_file(ingest(sample_copy)).values()) == {"reindexed"}
    assert_consistent(sample_copy)


# --- bad input ---------------------------------------------------------------------------------

def _zero_length_wav(path):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"")


def test_bad_inputs_are_reported_and_never_stop_the_batch(tmp_path, clips):
    root = new_archive(tmp_path / "archive", clips, {"ancien.mp3": "b.mp3"})
    assert not ingest(root).failed
    before = load_transcript(root / "transcripts" / "ancien.json")
    audio = root / "audio"

    (audio / "ancien.yaml").write_text("title: [jamais fermé\n")           # invalid sidecar, existing episode
    shutil.copy(clips / "d.mp3", audio / "nouveau.mp3")                       # invalid sidecar, new episode
    (audio / "nouveau.yaml").write_text("titre: inconnu\n")
    (audio / "vide.mp3").write_bytes(b"")                                     # empty file
    _zero_length_wav(audio / "zero.wav")                                      # zero-length audio
    (audio / "tronque.mp3").write_bytes((clips / "d.mp3").read_bytes()[:12000])  # truncated mp3
    (audio / "corrompu.mp3").write_bytes(os.urandom(4000))                    # corrupt mp3
    (audio / "notes.mp3").write_text("ceci n'est pas un mp3\n")               # text named .mp3
    shutil.copy(clips / "silence.mp3", audio / "silence.mp3")                 # silence only
    shutil.copy(clips / "a.wav", audio / "Débat à l'école 🎙️ n°2.wav")       # spaces, accents, emoji
    shutil.copy(clips / "c.m4a", audio / "🎙️.m4a")                           # nothing but an emoji
    shutil.copy(clips / "silence.mp3", audio / "tout silence.mp3")            # same audio as silence.mp3
    shutil.copy(clips / "b.mp3", audio / "a b.mp3")                           # same audio as ancien.mp3
    shutil.copy(clips / "e.wav", audio / "a-b.mp3")                           # same episode id as "a b.mp3"
    os.mkfifo(audio / "tube.mp3")                                             # a FIFO would block a reader
    (audio / "lien.mp3").symlink_to(tmp_path / "nulle-part.mp3")              # broken symlink
    (audio / "dossier.mp3").mkdir()                                           # a folder named like audio

    result = CliRunner().invoke(main, ["ingest", "--archive", str(root), "-q", "--workers", "1"])
    assert result.exit_code == 1, result.output
    report = RunReport.from_dict(json.loads(sorted((root / "runs").glob("*.json"))[-1].read_text()))
    failed = {r.file: r.error for r in report.failed}
    expected = {
        "ancien.mp3": "not valid YAML", "nouveau.mp3": "unknown field 'titre'", "vide.mp3": "file is empty",
        "zero.wav": "zero length", "corrompu.mp3": "not a readable audio file",
        "notes.mp3": "not a readable audio file", "a-b.mp3": "same episode id 'a-b' as a b.mp3",
        "tube.mp3": "not a regular file (a named pipe)", "lien.mp3": "broken symbolic link",
        "dossier.mp3": "is a folder",
    }
    assert set(failed) - {"tronque.mp3"} == set(expected)
    for name, problem in expected.items():
        line = failed[name]
        assert problem in line and "(" in line and line.endswith(")"), line  # what is wrong, what to do
        assert line.count("\n") == 0 and (name in line or Path(name).with_suffix(".yaml").name in line)
        assert f"FAILED {line}" in result.output
    assert "transcript saved but not indexed" in failed["nouveau.mp3"]
    assert "the index keeps the previous version" in failed["ancien.mp3"]

    statuses = by_file(report)
    assert statuses["Débat à l'école 🎙️ n°2.wav"] == statuses["🎙️.m4a"] == statuses["silence.mp3"] == "transcribed"
    assert statuses["a b.mp3"] == statuses["tout silence.mp3"] == "copied"
    assert statuses.get("tronque.mp3") in ("transcribed", "failed")
    silence = next(r for r in report.results if r.file == "silence.mp3")
    assert silence.note == "no speech detected: the transcript is empty" and silence.segments == 0
    assert (root / "transcripts" / "debat-a-l-ecole-n2.json").is_file()
    assert (root / "transcripts" / "nouveau.json").is_file()          # the work is kept
    assert load_transcript(root / "transcripts" / "ancien.json") == before   # nothing lost
    assert index_documents(root)[1]["ancien"] == 1

    # Fixed or removed: the next run finishes the job, and exits 0.
    for name in ("vide.mp3", "zero.wav", "corrompu.mp3", "notes.mp3", "a-b.mp3", "tube.mp3", "lien.mp3",
                 "tronque.mp3"):
        (audio / name).unlink()
    (audio / "dossier.mp3").rmdir()
    (audio / "ancien.yaml").write_text("title: Ancien\n")
    (audio / "nouveau.yaml").write_text("title: Nouveau\n")
    result = CliRunner().invoke(main, ["ingest", "--archive", str(root), "-q", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert_consistent(root)


# The interpreter lives under /root (mode 700): import everything as root, then drop to nobody.
AS_NOBODY = r"""
import os, sys
import indexer.api, indexer.ingest.run, indexer.ingest.workers, indexer.ingest.status, indexer.cli, indexer.testing
import indexer.corrections, indexer.index, whoosh.filedb.filestore, whoosh.index
os.setgid(65534)
os.setuid(65534)
indexer.cli.main(["ingest", "--archive", sys.argv[1], "-q"])
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a child as another user")
def test_an_unreadable_file_is_reported(clips):
    """chmod 000 does not stop root, so the ingest runs as nobody (uid 65534)."""
    root = Path(tempfile.mkdtemp(prefix="indexer-perm-"))  # not under pytest's private tmp folder
    try:
        new_archive(root / "archive", clips, {"secret.mp3": "b.mp3"})
        for path in [root, *root.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)
        (root / "archive" / "audio" / "secret.mp3").chmod(0o000)
        result = subprocess.run([sys.executable, "-c", AS_NOBODY, str(root / "archive")], capture_output=True,
                                text=True, cwd=root, timeout=120)
        assert result.returncode == 1, result.stderr
        assert "secret.mp3: permission denied (make it readable by the user running ingest" in result.stdout
        (report,) = run_reports(root / "archive")
        assert report["results"][0]["status"] == "failed"
    finally:
        shutil.rmtree(root)


def test_a_file_deleted_during_the_run(tmp_path, clips, monkeypatch):
    root = new_archive(tmp_path / "archive", clips, {"a.wav": "a.wav", "b.mp3": "b.mp3"})
    survey = Ingest.survey

    def survey_then_delete(self, *args, **kwargs):
        plan = survey(self, *args, **kwargs)
        (root / "audio" / "b.mp3").unlink()
        return plan

    monkeypatch.setattr(Ingest, "survey", survey_then_delete)
    report = ingest(root)
    assert by_file(report) == {"a.wav": "transcribed", "b.mp3": "failed"}
    assert "b.mp3: file not found (deleted or moved during the run" in report.failed[0].error
    monkeypatch.undo()
    assert set(by_file(ingest(root)).values()) == {"unchanged"}
    assert_consistent(root)


# --- crash safety --------------------------------------------------------------------------------

# Runs `indexer ingest` in a child that stops at a known point (writes MARKER,
# then sleeps PAUSE seconds) so the test can kill it exactly there.
PAUSER = r"""
import os, sys, time
root, point, marker, pause = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])

def pause_here():
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(pause)

import indexer.ingest.saving as saving
import indexer.ingest.state as state
import indexer.ingest.workers as workers
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

def on_call(owner, name, when):
    real, calls = getattr(owner, name), []
    def patched(*args, **kwargs):
        calls.append(1)
        if when(len(calls), *args):
            pause_here()
        return real(*args, **kwargs)
    setattr(owner, name, patched)

if point == "transcribing":              # inside the second episode's transcription
    on_call(workers, "transcribe_file", lambda n, *a: n == 2)
elif point == "writing-transcript":      # temporary file written and fsynced, not renamed yet
    on_call(os, "replace", lambda n, src, dst, *a: str(dst).endswith(".json") and "/transcripts/" in str(dst))
elif point == "committing-index":        # segment files written, the new TOC not yet (1st: empty index)
    on_call(whoosh_index.TOC, "write", lambda n, *a: n == 2)
elif point == "renaming-index-toc":      # the new TOC under its temporary name
    on_call(FileStorage, "rename_file", lambda n, self, frm, to, *a: to.endswith(".toc") and "_MAIN_2" in to)
elif point == "recording-index-state":   # index committed, .indexer/indexed.json not written yet
    on_call(state.IndexedState, "save", lambda n, *a: n == 1)
elif point == "saving-in-coordinator":   # worker pool busy; the coordinator saves the first result
    on_call(saving, "save_transcript", lambda n, *a: n == 1)

from indexer.cli import main
main(["ingest", "--archive", root, "-q", *sys.argv[5:]])
"""


def start_paused(root: Path, point: str, pause: float = 3600, args=("--workers", "1")) -> subprocess.Popen:
    marker = root.parent / f"{point}.paused"
    marker.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-c", PAUSER, str(root), point, str(marker), str(pause), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(marker, process, point)
    return process


KILL_POINTS = ["transcribing", "writing-transcript", "committing-index", "renaming-index-toc",
               "recording-index-state"]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_anywhere_then_rerun_ends_as_an_uninterrupted_run(tmp_path, clips, point, caplog):
    root = new_archive(tmp_path / "archive", clips, {"a.wav": "a.wav", "b.mp3": "b.mp3"})
    process = start_paused(root, point)
    process.kill()
    process.wait()
    for path in (root / "transcripts").rglob("*.json"):
        load_transcript(path)  # complete, or absent
    killed = run_reports(root)
    assert len(killed) == 1 and killed[0]["finished"] == ""  # the report of the killed run says so

    with caplog.at_level(logging.INFO, logger="indexer"):
        report = ingest(root)
    assert not report.failed, report.summary()
    assert "an earlier ingest (pid" in caplog.text and "was killed" in caplog.text
    if point == "writing-transcript":
        assert "removed 1 unfinished file(s) left by an interrupted run" in caplog.text
    if point in ("committing-index", "renaming-index-toc"):
        assert "index: removed" in caplog.text
    assert_consistent(root)
    assert "killed before it finished" not in Ingest(root, OPTIONS).status().last_run


@pytest.mark.parametrize("args", [("--workers", "2"), ()], ids=["two-workers", "default-lane-worker"])
def test_sigkill_of_the_coordinator_leaves_no_worker_behind(tmp_path, clips, args):
    root = new_archive(tmp_path / "archive", clips, {"a.wav": "a.wav", "b.mp3": "b.mp3", "c.m4a": "c.m4a"})
    process = start_paused(root, "saving-in-coordinator", args=args)
    workers = children(process.pid)
    assert workers, "the pool has worker processes"
    process.kill()
    process.wait()
    deadline = time.monotonic() + 120  # a hang guard: the workers notice within a second or two
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if alive(pid)], "orphaned workers"
    assert not ingest(root, workers=2 if args else 0).failed
    assert_consistent(root)


def test_ctrl_c_stops_after_saving_the_episode_in_hand(tmp_path, clips):
    root = new_archive(tmp_path / "archive", clips, {"a.wav": "a.wav", "b.mp3": "b.mp3"})
    process = start_paused(root, "recording-index-state", pause=2)
    process.send_signal(signal.SIGINT)  # arrives while a.wav is being indexed
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted: finished episodes were saved" in out
    (saved,) = run_reports(root)
    assert saved["interrupted"] and saved["finished"]
    assert [(r["file"], r["status"]) for r in saved["results"]] == [("a.wav", "transcribed")]
    assert_consistent(root, {"a"})
    report = ingest(root)
    assert by_file(report) == {"a.wav": "unchanged", "b.mp3": "transcribed"}
    assert_consistent(root)


def test_two_ingests_at_once_the_second_waits_or_exits(tmp_path, clips):
    root = new_archive(tmp_path / "archive", clips, {"a.wav": "a.wav", "b.mp3": "b.mp3"})
    first = start_paused(root, "transcribing")
    second = subprocess.run([sys.executable, "-m", "indexer", "ingest", "--archive", str(root), "-q"],
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 1
    assert f"another ingest (pid {first.pid}) is running on this archive (wait for it to finish, or pass " \
           "--wait SECONDS)" in second.stderr
    assert len(run_reports(root)) == 1  # the second wrote nothing

    first.send_signal(signal.SIGINT)  # Ctrl-C in the middle of a transcription
    out, _ = first.communicate(timeout=120)
    assert first.returncode == 130 and "interrupted" in out
    assert_consistent(root, {"a"})

    # --wait: the second starts as soon as the first is done.
    lock = IngestLock(root / ".indexer" / "ingest.lock").__enter__()
    threading.Timer(1.0, lock.__exit__, (None, None, None)).start()
    result = CliRunner().invoke(main, ["ingest", "--archive", str(root), "-q", "--workers", "1", "--wait", "60"])
    assert result.exit_code == 0, result.output
    assert_consistent(root)


# --- Dask ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ship_audio", [None, True])
def test_ingest_through_a_dask_cluster(tmp_path, clips, cluster, ship_audio):
    root = new_archive(tmp_path / "archive", clips, {"a.wav": "a.wav", "sub/b.mp3": "b.mp3"})
    report = ingest(root, scheduler=cluster.scheduler_address, ship_audio=ship_audio)
    assert by_file(report) == {"a.wav": "transcribed", "sub/b.mp3": "transcribed"}, report.summary()
    assert report.scheduler == cluster.scheduler_address and f"on {cluster.scheduler_address}" in report.summary()
    assert all(r.seconds > 0 and r.realtime_factor > 0 for r in report.results)
    assert_consistent(root)


def test_a_worker_without_the_file_asks_for_the_bytes(tmp_path, clips):
    job = Job(ArchiveLayout(tmp_path).episode_for(tmp_path / "audio" / "elsewhere" / "b.mp3"), "0" * 64, 5.2)
    options = TranscribeOptions(engine=FAKE_ENGINE)
    asked = transcribe_job(job, options, str(tmp_path / "audio"), remote=True)
    assert asked.transcript is None and asked.needs_audio
    done = transcribe_job(job, options, str(tmp_path / "audio"), data=(clips / "b.mp3").read_bytes(), remote=True)
    assert done.transcript and done.transcript.audio_path == "elsewhere/b.mp3"
    assert done.transcript.text == transcribe_file(clips / "b.mp3", options).text  # the bytes, whole
    missing = transcribe_job(job, options, str(tmp_path / "audio"))
    assert "file not found (deleted or moved during the run" in missing.error


# --- status, watch, CLI -----------------------------------------------------------------------------

def test_status_counts_what_ingest_would_do(sample_copy):
    found = Ingest(sample_copy, OPTIONS).status()
    transcripts = list(Archive(sample_copy).transcripts())
    n = len(transcripts)
    assert n >= 3 and (found.episodes, found.transcribed, found.indexed, found.pending, found.failed) == (n, n, n, 0, 0)
    assert found.hours == pytest.approx(sum(t.duration for t in transcripts) / 3600, abs=0.001)
    assert found.suspect == sum(s.suspect for t in transcripts for s in t.segments)

    sidecar = sample_copy / "audio" / "metier-community-manager.yaml"
    sidecar.write_text(sidecar.read_text() + "description: changée\n")
    shutil.copy(SPEECH, sample_copy / "audio" / "nouveau.wav")
    (sample_copy / "audio" / "table-ronde-engagement.mp3").unlink()
    found = Ingest(sample_copy, OPTIONS).status()
    assert (found.episodes, found.transcribed, found.indexed, found.pending, found.to_remove) == (n, n - 1, n - 2, 2, 1)
    assert found.pending_episodes == ["metier-community-manager", "nouveau"]

    result = CliRunner().invoke(main, ["status", "--archive", str(sample_copy), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["pending"] == 2
    table = CliRunner().invoke(main, ["status", "--archive", str(sample_copy)]).output
    assert "pending      2 (run `indexer ingest`)" in table and "to remove    1" in table


def test_status_names_the_failures_of_the_last_run(tmp_path, clips):
    root = new_archive(tmp_path / "archive", clips, {})
    (root / "audio" / "vide.mp3").write_bytes(b"")
    ingest(root)
    found = Ingest(root, OPTIONS).status()
    assert found.failed == 1 and "vide.mp3: file is empty" in found.failures[0]
    assert "FAILED" in found.table() and found.last_run.startswith("finished")


def test_watch_ingests_when_something_changed(sample_copy, transcriptions):
    sidecar = sample_copy / "audio" / "metier-community-manager.yaml"
    reports = []

    def on_report(report):
        reports.append(report)
        if len(reports) == 1:
            sidecar.write_text(sidecar.read_text() + "description: changée\n")

    watch(sample_copy, OPTIONS, interval=0.05, rounds=4, on_report=on_report)
    assert [sorted(set(by_file(r).values())) for r in reports] == [["unchanged"], ["reindexed", "unchanged"]]
    assert transcriptions == []


def test_the_archive_facade_ingests_and_reports_its_status(tmp_path, clips):
    root = new_archive(tmp_path / "archive", clips, {"a.wav": "a.wav"})
    archive = Archive(root)
    assert archive.status().pending == 1
    report = archive.ingest(OPTIONS, only="a*")
    assert isinstance(report, RunReport) and by_file(report) == {"a.wav": "transcribed"}
    assert (archive.status().transcribed, archive.status().pending) == (1, 0)
    assert set(by_file(archive.ingest(OPTIONS)).values()) == {"unchanged"}


def test_a_missing_archive_or_cluster_is_an_error_of_its_kind(tmp_path, monkeypatch):
    with pytest.raises(ArchiveNotFoundError, match="archive folder not found"):
        Archive(tmp_path / "nowhere").ingest(OPTIONS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArchiveNotFoundError, match=r"no audio/ folder \(put episodes under ARCHIVE/audio/\)"):
        Archive(tmp_path / "empty").status()
    result = CliRunner().invoke(main, ["reindex", "--archive", str(tmp_path / "empty")])
    assert result.exit_code == 1 and ("archive has no transcripts/ folder "
                                      "(run `indexer ingest --archive ARCHIVE` first)") in result.output
    monkeypatch.setattr(workers, "SCHEDULER_TIMEOUT", "1s")   # nothing listens there: no need to wait 10 s
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        list(workers.dispatch_dask("tcp://127.0.0.1:9", [], TranscribeOptions(), str(tmp_path), None))


def test_a_worker_loads_its_engine_once_and_again_only_for_other_settings(monkeypatch):
    loads = []
    real = workers.load_engine
    monkeypatch.setattr(workers, "load_engine", lambda options: loads.append(options) or real(options))
    cache = workers.ModelCache()
    options = TranscribeOptions(model="base", engine=FAKE_ENGINE, cpu_threads=1)
    first = cache.engine(options)
    assert cache.engine(options) is first and len(loads) == 1
    assert cache.engine(replace(options, cpu_threads=2)) is not first and len(loads) == 2
    assert workers.ModelCache().engine(options) is not first  # one cache per worker process, none shared
