"""Issue 25: a reindex never replaces a good index with an empty or incomplete one; reindex, ingest and
corrections share one lock discipline; a killed reindex leaves no helper process and no rebuild folder.

Every test here failed on the code before the fix (run against it with PYTHONPATH). The archives are
transcribed by the fake engine; locks, Whoosh, processes and permissions are real.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.archives import search_transcript
from helpers.hardening import (HANG_GUARD, alive, as_nobody, assert_clean_failure, children, cli, fake_archive,
                               ingest, open_to_all, shared_folder, speech, start_paused, wait_for)
from indexer import Archive
from indexer.transcript import save_transcript


def episodes_in_index(root: Path) -> list[str]:
    index = Archive(root).index
    try:
        return index.episode_ids()
    finally:
        index.close()


def test_an_empty_transcripts_folder_never_empties_the_index(tmp_path):
    root = fake_archive(tmp_path / "archive", {"a.wav": 3.0, "b.wav": 4.5})
    assert not ingest(root).failed
    (root / "transcripts").rename(tmp_path / "saved")   # an unmounted share
    (root / "transcripts").mkdir()
    result = cli("reindex", "--archive", root, "-q")
    assert_clean_failure(result, "transcripts", "2 episode(s)", "kept", "--allow-empty")
    assert episodes_in_index(root) == ["a", "b"]
    (root / "transcripts").rmdir()
    (tmp_path / "saved").rename(root / "transcripts")
    assert Archive(root).status().pending == 0

    # The transcripts are really gone: asked for, the empty index replaces the full one, and it says so.
    for path in (root / "transcripts").iterdir():
        path.unlink()
    result = cli("reindex", "--archive", root, "-q", "--allow-empty")
    assert result.exit_code == 0, result.output
    assert "the index is now empty: it held 2 episode(s)" in result.output
    assert episodes_in_index(root) == []


@pytest.mark.parametrize("unreadable", ["transcripts", "corrections"])
def test_unreadable_transcripts_or_corrections_keep_the_index(unreadable):
    with shared_folder() as folder:
        root = fake_archive(folder / "archive", {"a.wav": 3.0, "b.wav": 4.5})
        assert not ingest(root).failed
        Archive(root).correct("a", 0, "une phrase corrigée à la main")
        open_to_all(root)
        (root / unreadable).chmod(0o000)
        done = as_nobody("reindex", "--archive", root, "-q")
        (root / unreadable).chmod(0o777)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "Traceback" not in done.stderr and "the index in place is kept" in done.stderr, done.stderr
        assert f"{unreadable}" in done.stderr and "ermission denied" in done.stderr, done.stderr
        assert episodes_in_index(root) == ["a", "b"]
        assert [h.episode for h in Archive(root).search("corrigée", match="words")] == ["a"]


def test_reindex_and_ingest_never_run_together(tmp_path):
    root = fake_archive(tmp_path / "archive", {"a.wav": 3.0, "b.wav": 4.5})
    assert not ingest(root).failed
    speech(root / "audio" / "c.wav", 4.0, variant=7)

    # An ingest at work (inside a transcription): reindex stops with one line naming it.
    process, go = start_paused(tmp_path, "indexer.ingest.workers:transcribe_file", "lambda n, *a: True",
                               "ingest", "--archive", root, "-q", "--workers", "1")
    result = cli("reindex", "--archive", root, "-q")
    assert_clean_failure(result, f"another ingest (pid {process.pid}) is running on this archive", "--wait")
    go.touch()
    assert process.wait(timeout=HANG_GUARD) == 0, process.stderr.read()

    # A reindex at work (its new index written, not swapped in yet): ingest stops with one line naming it.
    speech(root / "audio" / "d.wav", 3.5, variant=8)
    process, go = start_paused(tmp_path, "indexer.index.rebuild:write_meta", "lambda n, folder: '-rebuild-' in str(folder)",
                               "reindex", "--archive", root, "-q")
    result = cli("ingest", "--archive", root, "-q", "--workers", "1")
    assert_clean_failure(result, f"a reindex (pid {process.pid}) is running on this archive")
    go.touch()
    assert process.wait(timeout=HANG_GUARD) == 0, process.stderr.read()
    assert not ingest(root).failed
    assert episodes_in_index(root) == ["a", "b", "c", "d"]


def test_a_correction_saved_during_a_reindex_stays_in_the_index(tmp_path):
    root = fake_archive(tmp_path / "archive", {"a.wav": 3.0, "b.wav": 4.5})
    assert not ingest(root).failed
    # The new index is written (every transcript and overlay read), not swapped in yet.
    process, go = start_paused(tmp_path, "indexer.index.rebuild:write_meta", "lambda n, folder: '-rebuild-' in str(folder)",
                               "reindex", "--archive", root, "-q")
    Archive(root).correct("a", 0, "une correction faite pendant la reconstruction")
    go.touch()
    assert process.wait(timeout=HANG_GUARD) == 0, process.stderr.read()
    assert [h.episode for h in Archive(root).search("reconstruction", match="words")] == ["a"]
    assert Archive(root).status().pending == 0


# Reindex with two Whoosh writer processes, stopped once both helpers are at work.
KILLED_REINDEX = r"""
import os, sys, time
from whoosh.multiproc import MpWriter
from indexer import Archive
from indexer.index import IndexOptions
root, marker = sys.argv[1:3]
real = MpWriter._enqueue

def enqueue(self):
    real(self)
    if len(self.tasks) == 2:
        with open(marker, "w") as f:
            f.write("both helpers started")
        time.sleep(3600)

MpWriter._enqueue = enqueue
Archive(root, IndexOptions(procs=2)).reindex(progress=False)
"""


def test_a_killed_reindex_leaves_no_helper_and_no_rebuild_folder(tmp_path):
    root = tmp_path / "archive"
    for n in range(4):
        rows = [(k, k + 1, f"segment {k} de l'épisode {n} sur les réseaux", None, []) for k in range(120)]
        save_transcript(search_transcript(f"ep{n}", rows), root / "transcripts" / f"ep{n}.json")
    Archive(root).reindex(progress=False)
    marker = tmp_path / "started"
    process = subprocess.Popen([sys.executable, "-c", KILLED_REINDEX, str(root), str(marker)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(marker, process, "both indexing helpers")
    helpers = children(process.pid)
    assert len(helpers) >= 2, helpers
    process.send_signal(signal.SIGKILL)
    process.wait()
    try:
        deadline = time.monotonic() + 60  # a hang guard: the helpers notice within a second
        while any(alive(pid) for pid in helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in helpers if alive(pid)], "helpers outlived the killed reindex"
    finally:
        for pid in helpers:  # the code before the fix left them: end them here
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    result = cli("reindex", "--archive", root, "-q")
    assert result.exit_code == 0, result.output
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".index-")]
    assert not [p.name for p in root.iterdir() if p.name.startswith(".index-")]
    assert episodes_in_index(root) == ["ep0", "ep1", "ep2", "ep3"]
