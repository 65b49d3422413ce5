"""The threat model in one place (issue 15): hostile but fair input, file-system
states and caller-supplied ids.

Every test here reproduced a defect before its fix. Real components throughout
(real files, ffmpeg, Whoosh index on disk, the real CLI); only the Whisper model
is replaced, by a deterministic fake that writes the file's name as its text,
because recognition is not the subject here. Disk-full and read-only cases use
a small tmpfs and a read-only bind mount, and are skipped where the test may
not mount.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import write_wav
from helpers.archives import build_search_archive, search_transcript
from helpers.hardening import cli
from indexer import Archive, audio
from indexer.archive import load_settings, load_sidecar, parse_sidecar
from indexer.ingest import Ingest, IngestOptions, workers
from indexer.errors import IndexerError, SidecarError
from indexer.quotes import EpisodeContext, QuoteBasket
from indexer.transcript import Segment, Transcript, load_transcript, save_transcript

OPTIONS = IngestOptions(progress=False, workers=1)


# --- helpers ---------------------------------------------------------------------------------

@pytest.fixture
def fake_whisper(monkeypatch):
    """Transcription without the model: one segment per second of audio, naming the file.

    Returns the list of file names it was asked to transcribe.
    """
    calls = []

    def transcribe_file(path, options=None, engine=None, episode_id=None, audio_path=None, sha256=None,
                        progress=False, on_progress=None):
        path = Path(path)
        calls.append(path.name)
        info = audio.probe(path)
        seconds = max(1, int(info.duration))
        text = f"Transcription du fichier {path.stem} sur les communautés."
        segments = [Segment(id=i, start=float(i), end=float(i + 1), text=text) for i in range(seconds)]
        return Transcript(episode_id=episode_id or path.stem, audio_path=audio_path or str(path),
                          audio_sha256=sha256, duration=round(info.duration, 3), language="fr", model="fake",
                          engine="fake", options={}, segments=segments, created="2026-01-01T00:00:00",
                          fingerprint=options.fingerprint())

    monkeypatch.setattr(workers.MODELS, "engine", lambda options: None)
    monkeypatch.setattr(workers, "transcribe_file", transcribe_file)
    return calls


def make_archive(root: Path, files: dict[str, float]) -> Path:
    """An archive whose audio/ holds ``{name: seconds}`` of distinct tones (distinct lengths, distinct bytes)."""
    (root / "audio").mkdir(parents=True, exist_ok=True)
    for name, seconds in files.items():
        write_wav(root / "audio" / name, seconds)
    return root


def ingest(root: Path, **changes):
    return Ingest(root, replace(OPTIONS, **changes)).run()


def assert_one_line_error(result, *words):
    """Exit 1, and stderr is one line starting with "error:" that holds ``words``."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in result.output and "Aborted" not in result.output


@pytest.fixture
def ingested(tmp_path, fake_whisper):
    """An archive of three short episodes, ingested with the fake transcription (transcripts + index)."""
    root = make_archive(tmp_path / "archive", {"alpha.wav": 2.0, "2011/beta.wav": 3.0, "gamma.wav": 4.0})
    (root / "audio" / "alpha.yaml").write_text("title: Alpha\nsource_url: https://example.org/alpha\n")
    report = ingest(root)
    assert not report.failed, report.summary()
    return root


# --- 1. an episode id collision must not overwrite a transcript -----------------------------------

def test_a_new_file_with_the_id_of_an_existing_transcript_fails_and_overwrites_nothing(tmp_path, fake_whisper):
    root = make_archive(tmp_path / "archive", {"debat-2.wav": 2.0})
    assert not ingest(root).failed
    Archive(root).correct("debat-2", 0, "Texte corrigé par l'éditrice.")
    path = root / "transcripts" / "debat-2.json"
    before = path.read_bytes()

    write_wav(root / "audio" / "Débat #2.wav", 3.0)  # folds to the same id, sorts first
    report = ingest(root)
    assert path.read_bytes() == before
    assert [r.file for r in report.failed] == ["Débat #2.wav"]
    assert "Débat #2.wav" in report.failed[0].error and "rename" in report.failed[0].error
    assert "debat-2.wav" not in report.failed[0].error.split(":")[0]

    # --only on either file: never a flip-flop of the transcript
    for pattern in ("Débat*", "debat-2.wav", "debat-2"):
        report = ingest(root, only=pattern)
        assert path.read_bytes() == before, pattern
    result = cli("ingest", "--archive", root, "-q", "--workers", "1", "--only", "Débat*")
    assert result.exit_code == 1 and "Débat #2.wav" in result.output
    assert path.read_bytes() == before
    assert Archive(root).corrections("debat-2")[0].after == "Texte corrigé par l'éditrice."


def test_two_new_files_with_one_id_keep_failing_the_same_one(tmp_path, fake_whisper):
    root = make_archive(tmp_path / "archive", {"debat-2.wav": 2.0, "Débat #2.wav": 3.0})
    first = ingest(root)
    assert [r.file for r in first.failed] == ["debat-2.wav"]  # the first in order keeps the id
    kept = (root / "transcripts" / "debat-2.json").read_bytes()
    assert [r.file for r in ingest(root).failed] == ["debat-2.wav"]
    assert [r.file for r in ingest(root, only="debat-2.wav").failed] == ["debat-2.wav"]
    assert (root / "transcripts" / "debat-2.json").read_bytes() == kept


# --- 2. episode ids must not leave the archive -------------------------------------------------------

BAD_IDS = ["../other/transcripts/c1", "2011/../../../other/transcripts/c1", "/etc/passwd", "2011/./beta",
           "alpha/", "", "al\x00pha", "Alpha", "alpha.json", "2011//beta", "~/x"]

METHODS = {
    "transcript": lambda a, i: a.transcript(i),
    "episode": lambda a, i: a.episode(i),
    "correct": lambda a, i: a.correct(i, 0, "X"),
    "set_speaker": lambda a, i: a.set_speaker(i, 0, "X"),
    "corrections": lambda a, i: a.corrections(i),
    "quote": lambda a, i: a.quote(i, 0.0, 1.0),
    "export_page": lambda a, i: a.export_page(i, "md"),
    "update_index": lambda a, i: a.update_index(i),
    "player": lambda a, i: a.player(i),
}


@pytest.fixture
def two_archives(tmp_path):
    """``archive`` (indexed) and a sibling ``other`` whose transcript c1 must stay untouched."""
    episodes = {"alpha": (None, True, [(0, 2, "Bonjour la communauté.", None, [])]),
                "2011/beta": (None, True, [(0, 2, "Au revoir.", None, [])])}
    root = build_search_archive(tmp_path / "archive", episodes)
    Archive(root).reindex(progress=False)
    other = tmp_path / "other"
    save_transcript(search_transcript("c1", [(0, 2, "Texte d'une autre archive.", None, [])]),
                    other / "transcripts" / "c1.json")
    return root, other


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_every_archive_method_refuses_an_id_outside_the_grammar(two_archives, method, bad_id):
    root, other = two_archives
    snapshot = {p: p.read_bytes() for p in other.rglob("*") if p.is_file()}
    with pytest.raises(IndexerError) as caught:
        METHODS[method](Archive(root), bad_id)
    assert "episode id" in caught.value.one_line() and "\n" not in caught.value.one_line()
    assert {p: p.read_bytes() for p in other.rglob("*") if p.is_file()} == snapshot
    assert not (root / "corrections").exists() and not (root.parent / "corrections").exists()


def test_the_reported_repro_cannot_write_into_another_archive(two_archives):
    root, other = two_archives
    before = (other / "transcripts" / "c1.json").read_bytes()
    with pytest.raises(IndexerError):
        Archive(root).correct("2011/../../../other/transcripts/c1", 0, "X")
    assert (other / "transcripts" / "c1.json").read_bytes() == before
    assert not (other / "corrections").exists() and not (root.parent / "corrections").exists()


@pytest.mark.parametrize("command", ["export", "quote"])
def test_cli_export_and_quote_refuse_ids_outside_the_archive(two_archives, command):
    root, _ = two_archives
    extra = ["0", "1"] if command == "quote" else []
    result = cli(command, "../../other/transcripts/c1", *extra, "--archive", root)
    assert_one_line_error(result, "../../other/transcripts/c1", "episode id")
    assert "autre archive" not in result.output


def test_a_transcript_linked_to_a_file_outside_the_archive_is_refused(two_archives):
    root, other = two_archives
    (root / "transcripts" / "link.json").symlink_to(other / "transcripts" / "c1.json")
    for call in (lambda a: a.transcript("link"), lambda a: a.export_page("link", "md"),
                 lambda a: a.quote("link", 0.0, 1.0)):
        with pytest.raises(IndexerError) as caught:
            call(Archive(root))
        assert "outside" in caught.value.one_line()


def test_an_audio_path_in_a_transcript_cannot_point_outside_the_archive(two_archives):
    root, other = two_archives
    write_wav(other / "secret.wav", 2.0)
    transcript = load_transcript(root / "transcripts" / "alpha.json")
    save_transcript(replace(transcript, audio_path="../../other/secret.wav"), root / "transcripts" / "alpha.json")
    q = Archive(root).quote("alpha", 0.0, 1.0)
    assert q.audio_path is None or Path(q.audio_path).resolve().is_relative_to((root / "audio").resolve())


# --- 3. a corrupt index: one line, and ingest rebuilds it from the transcripts ------------------------

def _truncate_index(root: Path, suffix: str) -> Path:
    files = sorted((root / "index").glob(f"*{suffix}"), key=lambda p: p.stat().st_size, reverse=True)
    assert files, f"no {suffix} file in the index"
    with open(files[0], "r+b") as f:
        f.truncate(files[0].stat().st_size // 3)
    return files[0]


@pytest.mark.parametrize("suffix", [".toc", ".seg"])
def test_a_corrupt_index_gives_one_line_to_search_and_status(ingested, suffix):
    _truncate_index(ingested, suffix)
    assert_one_line_error(cli("search", "communautés", "--archive", ingested), "index", "reindex")
    result = cli("status", "--archive", ingested)
    assert result.exit_code == 0, result.output
    assert "index" in result.output and "unreadable" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("suffix", [".toc", ".seg"])
def test_ingest_rebuilds_a_corrupt_index_from_the_transcripts(ingested, suffix, fake_whisper, caplog):
    _truncate_index(ingested, suffix)
    fake_whisper.clear()
    result = cli("ingest", "--archive", ingested, "-q", "--workers", "1")
    assert result.exit_code == 0, result.output
    rebuilt = [r for r in caplog.records if "rebuil" in r.getMessage()]
    assert len(rebuilt) == 1 and "\n" not in rebuilt[0].getMessage(), [r.getMessage() for r in caplog.records]
    hits = Archive(ingested).search("transcription")
    assert {h.episode for h in hits} == {"alpha", "2011/beta", "gamma"}
    assert not fake_whisper  # nothing transcribed again


def test_reindex_skips_and_names_unreadable_transcripts(ingested):
    (ingested / "transcripts" / "gamma.json").write_text('{"schema": 1, "segments": [')
    (ingested / "transcripts" / "zeta.json").write_bytes(b"\xff\xfe garbage")
    result = cli("reindex", "--archive", ingested, "-q")
    assert result.exit_code == 1, result.output
    assert "gamma.json" in result.output and "zeta.json" in result.output
    assert "Traceback" not in result.output
    # Issue 25: an incomplete rebuild never replaces the index in place, which keeps gamma's last version.
    assert "the index in place is kept" in result.output
    assert {h.episode for h in Archive(ingested).search("transcription")} == {"alpha", "2011/beta", "gamma"}


# --- 4. YAML alias bombs and oversized sidecars -------------------------------------------------------

ALIAS_BOMB = """title: bombe
chapters:
  - start: 0
    title: a
    x0: &a0 ["l", "l", "l", "l", "l", "l", "l", "l", "l"]
    x1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
    x2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
    x3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
    x4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
    x5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
    x6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
    x7: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]
    x8: &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]
date: *a8
"""


def test_a_yaml_alias_bomb_in_a_sidecar_is_refused(tmp_path):
    sidecar = tmp_path / "bombe.yaml"
    sidecar.write_text(ALIAS_BOMB)
    with pytest.raises(SidecarError) as caught:
        load_sidecar(sidecar)
    assert "alias" in caught.value.one_line() and "bombe.yaml" in caught.value.one_line()
    (tmp_path / "archive.yaml").write_text("language: &l fr\nmodel: *l\n")
    with pytest.raises(SidecarError, match="alias"):
        load_settings(tmp_path)


def test_an_oversized_sidecar_is_refused_before_parsing(tmp_path):
    sidecar = tmp_path / "gros.yaml"
    sidecar.write_text("title: gros\ndescription: " + "x" * 2_000_000 + "\n")
    with pytest.raises(SidecarError) as caught:
        load_sidecar(sidecar)
    assert "too large" in caught.value.one_line() and "gros.yaml" in caught.value.one_line()


# --- 6. disk full, read-only archive, a wrong archive.yaml -------------------------------------------

@contextlib.contextmanager
def mounted(*args):
    """``mount *args`` on a fresh folder, unmounted afterwards; skip where mounting is not permitted."""
    target = Path(f"/tmp/indexer-hostile-{uuid.uuid4().hex[:8]}")
    target.mkdir()
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        target.rmdir()
        pytest.skip(f"cannot mount here ({done.stderr.strip() or 'not permitted'})")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)
        with contextlib.suppress(OSError):
            target.rmdir()


def test_a_full_disk_gives_one_line_per_episode_and_loses_nothing(tmp_path, fake_whisper):
    with mounted("-t", "tmpfs", "-o", "size=4m", "tmpfs") as disk:
        root = make_archive(disk / "archive", {"court.wav": 2.0})
        assert not ingest(root).failed
        kept = (root / "transcripts" / "court.json").read_bytes()
        write_wav(root / "audio" / "long.wav", 60.0)  # ~1 MB of audio, a transcript of 60 segments
        filler = disk / "filler"
        free = shutil.disk_usage(disk).free
        filler.write_bytes(b"\0" * max(0, free - 24 * 1024))
        result = cli("ingest", "--archive", root, "-q", "--workers", "1")
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        failures = [line for line in result.output.splitlines() if "No space left" in line or "disk full" in line]
        assert failures and all("long" in line or "archive" in line for line in failures), result.output
        assert (root / "transcripts" / "court.json").read_bytes() == kept
        assert not list((root / "transcripts").glob(".*.tmp"))
        filler.unlink()
        report = ingest(root)
        assert not report.failed, report.summary()
        assert len(load_transcript(root / "transcripts" / "long.json").segments) == 60


def test_a_read_only_archive_reads_and_refuses_writes_in_one_line(ingested, fake_whisper):
    with mounted("--bind", "-o", "ro", str(ingested)) as ro:
        if os.access(ro, os.W_OK) and not _really_read_only(ro):
            pytest.skip("the bind mount is writable here")
        result = cli("status", "--archive", ro)
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
        result = cli("search", "transcription", "--archive", ro)
        assert result.exit_code == 0 and "Alpha" in result.output, result.output
        assert cli("export", "alpha", "--archive", ro).exit_code == 0
        assert cli("quote", "alpha", "0", "1", "--archive", ro).exit_code == 0
        (ingested / "audio" / "new.wav").parent.mkdir(exist_ok=True)
        for args in (["ingest", "--archive", ro, "-q", "--workers", "1"], ["reindex", "--archive", ro, "-q"]):
            assert_one_line_error(cli(*args), "read-only")
        with pytest.raises(IndexerError, match="read-only"):
            Archive(ro).correct("alpha", 0, "X")


def _really_read_only(path: Path) -> bool:
    try:
        (path / ".probe").write_text("x")
    except OSError:
        return True
    (path / ".probe").unlink()
    return False


def test_a_number_as_language_in_archive_yaml_is_one_upfront_error(tmp_path, fake_whisper):
    root = make_archive(tmp_path / "archive", {"a.wav": 2.0, "b.wav": 3.0})
    (root / "archive.yaml").write_text("language: 12\n")
    assert_one_line_error(cli("ingest", "--archive", root, "-q", "--workers", "1"), "archive.yaml", "language")
    assert not fake_whisper
    (root / "archive.yaml").write_text("language: xx\n")  # the right shape: checked against Whisper's list
    result = cli("ingest", "--archive", root, "-q", "--workers", "1")
    assert result.exit_code == 1 and "Traceback" not in result.output
    failures = [line for line in result.output.splitlines() if "FAILED" in line]
    assert len(failures) == 1 and "archive.yaml" in failures[0] and "'xx'" in failures[0], result.output
    assert not fake_whisper


# --- 7. links: http(s) only, everywhere ---------------------------------------------------------------

def test_javascript_links_are_never_rendered(tmp_path):
    sidecar = tmp_path / "a.yaml"
    sidecar.write_text("title: A\nsource_url: 'javascript:alert(document.cookie)'\n")
    with pytest.raises(SidecarError, match="source_url"):
        load_sidecar(sidecar)
    meta = parse_sidecar({"title": "A", "source_url": "https://example.org/a"}, sidecar)
    transcript = search_transcript("a", [(0, 2, "Bonjour la communauté.", None, [])])
    for url in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<script>", "vbscript:x",
                "//evil.example/x", "file:///etc/passwd"):
        hostile = replace(meta, source_url=url)
        q = EpisodeContext.build(transcript, hostile).quote(0.0, 2.0)
        rendered = [q.to_markdown(), QuoteBasket([q]).to_markdown(), q.to_json(), _pages(transcript, hostile)]
        for text in rendered:
            assert url.strip() not in text and "javascript:" not in text.lower(), text
    q = EpisodeContext.build(transcript, meta).quote(0.0, 2.0)
    assert "(https://example.org/a)" in q.to_markdown()


def _pages(transcript, meta) -> str:
    from indexer.display.page import to_html, to_markdown

    return to_html(transcript, meta) + to_markdown(transcript, meta)


# --- 8. control characters in printed names --------------------------------------------------------------

def test_a_newline_in_a_file_name_cannot_forge_a_log_line(tmp_path, fake_whisper):
    root = make_archive(tmp_path / "archive", {"ok.wav": 2.0})
    forged = root / "audio" / "x.mp3\n  transcribed       1     0.00\nfake\x1b[2K.mp3"
    forged.write_text("not audio")
    result = cli("ingest", "--archive", root, "-q", "--workers", "1")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert sum(line.strip().startswith("FAILED") for line in lines) == 1, result.output
    assert not any(line.startswith("  transcribed") or line.startswith("fake") for line in lines), result.output
    assert "\x1b" not in result.output and "\\n" in result.output
    status = cli("status", "--archive", root).output
    assert "\x1b" not in status and not any(line.startswith("fake") for line in status.splitlines()), status


# --- 9. smaller ------------------------------------------------------------------------------------------------

def test_a_negative_chapter_start_is_refused(tmp_path):
    for bad in ({"chapters": [{"start": -5, "title": "avant"}]},
                {"chapters": [{"start": "-00:00:05", "title": "avant"}]},
                {"speakers": [{"name": "A", "start": -3, "end": 5}]}):
        with pytest.raises(SidecarError, match="negative|seconds"):
            parse_sidecar(bad, tmp_path / "a.yaml")


def test_a_run_stopped_by_an_unknown_model_reports_a_failure(tmp_path, fake_whisper):
    root = make_archive(tmp_path / "archive", {"a.wav": 2.0})
    (root / "archive.yaml").write_text("model: inconnu-xl\n")
    result = cli("ingest", "--archive", root, "-q", "--workers", "1")
    assert result.exit_code == 1 and "inconnu-xl" in result.output
    report = json.loads(sorted((root / "runs").glob("ingest-*.json"))[-1].read_text())
    assert report["finished"] and any("inconnu-xl" in r["error"] for r in report["results"])
    status = cli("status", "--archive", root, "--json")
    data = json.loads(status.output)
    assert data["failed"] == 1 and "inconnu-xl" in " ".join(data["failures"]), data
    assert "nothing to do" not in data["last_run"]


def test_a_truncated_mp3_gets_its_decoded_length(tmp_path):
    full = tmp_path / "full.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=10", "-c:a",
                    "libmp3lame", "-b:a", "64k", str(full)], check=True)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 10])
    assert audio.probe(full).duration == pytest.approx(10.0, abs=0.2)
    assert audio.probe(cut).duration == pytest.approx(1.0, abs=0.3)


def test_status_names_corrupt_transcripts(ingested):
    (ingested / "transcripts" / "gamma.json").write_text("{ not json")
    result = cli("status", "--archive", ingested)
    assert result.exit_code == 0
    assert "gamma.json" in result.output, result.output
    data = json.loads(cli("status", "--archive", ingested, "--json").output)
    assert any("gamma.json" in p for p in data["problems"]), data


# --- found in the review after the merges: outputs, copies, names, limits ------------------------------

@pytest.mark.parametrize("folder", ["audio", "transcripts", "index", ".indexer"])
def test_an_export_or_a_clip_never_overwrites_the_archive(ingested, folder):
    target = ingested / folder / "alpha.wav"
    before = {p: p.read_bytes() for p in ingested.rglob("*") if p.is_file()}
    assert_one_line_error(cli("export", "alpha", "--archive", ingested, "--format", "html", "--out", target),
                          "belongs to the archive")
    assert_one_line_error(cli("quote", "alpha", "0", "1", "--archive", ingested, "--clip", target),
                          "belongs to the archive")
    assert {p: p.read_bytes() for p in ingested.rglob("*") if p.is_file()} == before


def test_copy_audio_never_replaces_another_recording_of_the_same_name(ingested, tmp_path):
    pages = tmp_path / "pages"
    assert cli("export", "alpha", "--archive", ingested, "--format", "html", "--out", pages / "a.html",
               "--copy-audio").exit_code == 0
    copied = (pages / "alpha.wav").read_bytes()
    write_wav(ingested / "audio" / "2012" / "alpha.wav", 5.0)        # another recording, the same file name
    assert not ingest(ingested).failed
    result = cli("export", "2012/alpha", "--archive", ingested, "--format", "html", "--out", pages / "b.html",
                 "--copy-audio")
    assert_one_line_error(result, "another recording named alpha.wav")
    assert (pages / "alpha.wav").read_bytes() == copied


@pytest.mark.parametrize("name", ["Eve\n\n99\n00:00:00,000 --> 00:09:00,000\nFORGED", "Eve\x1b[2J", None, "  "])
def test_a_speaker_name_with_control_characters_is_refused(ingested, name):
    with pytest.raises(IndexerError) as caught:
        Archive(ingested).set_speaker("alpha", 0, name)
    assert "\n" not in caught.value.one_line().replace("\\n", "")
    assert not (ingested / "corrections").exists()
