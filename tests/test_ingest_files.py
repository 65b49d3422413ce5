"""Issues 25 and 23: what the archive writes. A legal 250-byte file name never crashes ingest (temporary names
fit in 255 bytes) and the run report stays truthful; every file written follows the umask (0644 under 022,
not mkstemp's 0600); an export killed mid-write leaves no hidden temporary file behind for good.

Red before the fix: Errno 36 ended the run (later episodes never transcribed, the report said "finished,
failed 0"); transcripts, reports, pages, clips and quotes were 0600; the .tmp of a killed export stayed.
"""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import pytest

from helpers.hardening import HANG_GUARD, cli, fake_archive, ingest, start_paused
from indexer import Archive
from indexer.quotes import QuoteBasket


def test_a_250_byte_file_name_is_ingested_and_a_longer_one_fails_alone(tmp_path):
    longest = "x" * 246 + ".wav"    # 250 bytes: its transcript is <246 x>.json, 251 bytes
    too_long = "y" * 251 + ".wav"   # 255 bytes: legal, but <251 y>.json would be 256
    root = fake_archive(tmp_path / "archive", {longest: 3.0, too_long: 3.5, "z.wav": 4.0})
    result = cli("ingest", "--archive", root, "-q", "--workers", "1")
    assert result.exit_code == 1, result.output
    failures = [line for line in result.output.splitlines() if "FAILED" in line]
    assert len(failures) == 1 and "file name too long" in failures[0] and "y" * 40 in failures[0], result.output
    transcripts = root / "transcripts"
    assert (transcripts / ("x" * 246 + ".json")).is_file() and (transcripts / ("x" * 246 + ".srt")).is_file()
    assert (transcripts / "z.json").is_file()   # the episodes after it are transcribed
    assert not [p for p in transcripts.iterdir() if p.name.startswith(".")]
    (report,) = [json.loads(p.read_text()) for p in (root / "runs").glob("ingest-*.json")]
    assert report["finished"] and [r["status"] for r in report["results"]].count("failed") == 1
    assert sorted(Archive(root).index.episode_ids()) == ["x" * 246, "z"]


def test_a_run_stopped_by_a_bug_is_reported_as_failed(tmp_path, monkeypatch):
    from indexer.ingest import saving

    root = fake_archive(tmp_path / "archive", {"a.wav": 3.0})

    def bug(self, job, outcome):
        raise RuntimeError("a bug in saving")

    monkeypatch.setattr(saving.EpisodeWriter, "finish_job", bug)
    with pytest.raises(RuntimeError):
        ingest(root)
    (report,) = [json.loads(p.read_text()) for p in (root / "runs").glob("ingest-*.json")]
    assert report["finished"]
    (failure,) = [r for r in report["results"] if r["status"] == "failed"]
    assert "unexpected RuntimeError: a bug in saving" in failure["error"]
    assert "failed" in Archive(root).status().last_run or Archive(root).status().failed == 1


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_every_file_written_follows_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        root = fake_archive(tmp_path / "archive", {"a.wav": 3.0, "b.wav": 4.5})
        assert not ingest(root).failed
        archive = Archive(root)
        archive.correct("a", 0, "une phrase corrigée")
        archive.reindex(progress=False)
        out = tmp_path / "out"
        archive.export_page("a", "html", out=out / "a.html")
        archive.export_page("a", "md", out=out / "a.md")
        quote = archive.quote("a", 0.0, 2.0)
        quote.export(out / "a.mp3")
        QuoteBasket([quote]).export(out / "article")
    finally:
        os.umask(previous)
    written = [p for folder in (root, out) for p in folder.rglob("*") if not p.is_symlink()]
    assert {p.relative_to(root).parts[0] for p in written if root in p.parents} >= {
        "transcripts", "index", "runs", ".indexer", "corrections", "audio"}
    wrong = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in written
             if (stat.S_IMODE(p.stat().st_mode) & 0o666) != (0o666 & ~umask)}
    assert not wrong, wrong


def test_an_export_killed_while_writing_leaves_no_temporary_file(tmp_path):
    root = fake_archive(tmp_path / "archive", {"a.wav": 3.0})
    assert not ingest(root).failed
    out = tmp_path / "pages" / "a.html"
    # Killed with its page written to a temporary file beside the target, not renamed yet.
    process, _ = start_paused(tmp_path, "os:replace", "lambda n, src, dst, *a: str(dst).endswith('a.html')",
                              "export", "a", "--archive", root, "--format", "html", "--out", out)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=HANG_GUARD)
    assert [p.name for p in out.parent.iterdir()] and not out.exists()  # the killed export's temporary file
    result = cli("export", "a", "--archive", root, "--format", "html", "--out", out)
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.parent.iterdir()] == ["a.html"]


def test_temporary_names_fit_whatever_the_name(tmp_path: Path):
    from indexer.files import atomic_write_text

    for name in ("é" * 126 + ".xy", "a" * 255):
        atomic_write_text(tmp_path / name, "ok")
        assert (tmp_path / name).read_text() == "ok"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(("é" * 126 + ".xy", "a" * 255))
