"""Quality that shows: each episode's share of suspect segments and of low-confidence words, in the
ingest's report (one warning line per poor episode), in ``status`` (the worst episodes by name), and in
the overview statistics.

The transcripts come from the fake engine (indexer.testing): a clip of speech gives clean segments, the
same speech under loud white noise gives what Whisper gives on noise, a weak log-probability (suspect)
and unsure words, deterministically.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import TEST_DATA

from indexer import Archive, stats
from indexer.cli import main
from indexer.ingest import RunReport
from indexer.quality import EpisodeQuality, QualityOptions, worst
from indexer.testing import FAKE_ENGINE
from indexer.transcript import Segment, Transcript, Word

SPEECH = TEST_DATA / "espeak_fr.wav"
NOISY = "2013/bar-bruyant"
CLEAN = ("2013/entretien", "2014/conference")


@pytest.fixture(scope="module")
def noisy_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("noise") / "bar.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(SPEECH), "-f", "lavfi", "-i",
                    "anoisesrc=color=white:amplitude=0.3:sample_rate=16000:seed=7", "-filter_complex",
                    "[0:a]aresample=16000[v];[v][1:a]amix=inputs=2:duration=first:normalize=0",
                    "-ac", "1", str(path)], check=True)
    return path


def fake_archive(root: Path, noisy_clip: Path, sidecar: str = "") -> Path:
    (root / "audio" / "2013").mkdir(parents=True)
    (root / "audio" / "2014").mkdir(parents=True)
    (root / "archive.yaml").write_text(f"language: fr\nengine: {FAKE_ENGINE}\nspeakers: off\n", encoding="utf-8")
    shutil.copy(SPEECH, root / "audio" / f"{CLEAN[0]}.wav")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(SPEECH), "-af", "volume=0.7",
                    str(root / "audio" / f"{CLEAN[1]}.wav")], check=True)
    shutil.copy(noisy_clip, root / "audio" / f"{NOISY}.wav")
    if sidecar:
        (root / "audio" / f"{NOISY}.yaml").write_text(sidecar, encoding="utf-8")
    return root


@pytest.fixture
def ingested(tmp_path, noisy_clip):
    root = fake_archive(tmp_path / "archive", noisy_clip)
    result = CliRunner().invoke(main, ["ingest", "--archive", str(root), "-q", "--workers", "1"])
    return root, result


def test_ingest_warns_once_per_poor_episode_naming_it_and_what_to_try(ingested):
    root, result = ingested
    assert result.exit_code == 0, result.output  # a warning is not a failure
    warnings = [line for line in result.output.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, result.output
    assert NOISY in warnings[0] and "suspect" in warnings[0]
    # Measured noisy, so already decoded with beam search: the noisy preset would change nothing.
    assert "check the audio" in warnings[0] and "noisy preset" not in warnings[0]
    assert not any(episode in warnings[0] for episode in CLEAN)
    # The library does not print: the line is in the run report, where the CLI took it.
    report = RunReport.from_dict(json.loads(next((root / "runs").glob("ingest-*.json")).read_text()))
    by_id = {r.episode: r for r in report.results}
    assert by_id[NOISY].warning == warnings[0].strip().removeprefix("WARNING ")
    assert by_id[NOISY].suspect == by_id[NOISY].segments > 0
    assert by_id[NOISY].low_confidence_words > 0 and by_id[NOISY].words == 4 * by_id[NOISY].segments
    assert all(not by_id[e].warning and by_id[e].suspect == 0 for e in CLEAN)


@pytest.mark.parametrize("sidecar, advised", [("noisy: true\n", False), ("noisy: false\n", True)])
def test_the_noisy_preset_is_advised_only_where_it_was_not_used(tmp_path, noisy_clip, sidecar, advised):
    root = fake_archive(tmp_path / "archive", noisy_clip, sidecar=sidecar)
    report = Archive(root).ingest(progress=False, workers=1)
    warning = next(r.warning for r in report.results if r.episode == NOISY)
    assert warning.startswith(f"{NOISY}: ") and "check the audio" in warning
    assert ("noisy preset" in warning) == advised
    assert f"WARNING {warning}" in report.summary()


def test_status_names_the_worst_episodes(ingested):
    root, _ = ingested
    status = Archive(root).status()
    assert [q["episode"] for q in status.worst][:1] == [NOISY] and status.worst[0]["poor"]
    assert status.worst[0]["suspect_share"] == 1.0
    assert status.segments > status.suspect > 0 and status.words > status.low_confidence_words > 0
    table = status.table()
    assert f"worst        {NOISY}: " in table and "low-confidence" in table
    out = CliRunner().invoke(main, ["status", "--archive", str(root), "--json"])
    assert json.loads(out.output)["worst"][0]["episode"] == NOISY


def test_status_reads_quality_from_an_older_cache_by_reading_the_transcripts_again(ingested):
    root, _ = ingested
    cache_path = root / ".indexer" / "transcripts.json"
    cache = json.loads(cache_path.read_text())
    for entry in cache.values():  # as a version without quality wrote it
        del entry[2]["words"], entry[2]["low_confidence_words"]
    cache_path.write_text(json.dumps(cache))
    status = Archive(root).status()
    assert status.words > 0 and status.worst[0]["episode"] == NOISY


def test_the_overview_shows_quality_in_french(ingested):
    root, _ = ingested
    archive = Archive(root)
    summary = stats.overview(archive)
    assert summary.worst_episodes[0].episode == NOISY
    assert 0 < summary.quality.suspect_share < 1 and 0 < summary.quality.low_confidence_share < 1
    html = summary._repr_html_()
    assert "qualité" in html and "les moins sûrs" in html and NOISY in html
    assert "100,0\u00a0%" in html  # « 100,0 % » of the noisy episode's segments
    table = stats.episode_quality(archive)
    assert list(table["episode"])[0] == NOISY and list(table["poor"]) == [True, False, False]
    shown = stats.quality_view(table)._repr_html_()
    assert "segments suspects" in shown and "à revoir" in shown and "100,0\u00a0%" in shown


def transcript(segments: list[tuple[list[str], list[float]]], episode="e") -> Transcript:
    return Transcript(episode, f"{episode}.wav", "0" * 64, 10.0, "fr", "test", "test", {}, [
        Segment(i, i, i + 1, "x", [Word(i, i + 1, " x", p) for p in probs], flags=flags)
        for i, (flags, probs) in enumerate(segments)])


def test_quality_shares_and_thresholds():
    q = EpisodeQuality.of(transcript([(["low-logprob", "suspect"], [0.1, 0.9]), ([], [0.39, 0.4, 0.95]),
                                      ([], [])]))
    assert (q.segments, q.suspect_segments, q.words, q.low_confidence_words) == (3, 1, 5, 2)
    assert q.suspect_share == pytest.approx(1 / 3) and q.low_confidence_share == pytest.approx(0.4)
    assert q.is_poor() and not q.is_poor(QualityOptions(max_suspect_share=0.5, max_low_confidence_share=0.5))
    assert q.describe() == "1 of 3 segments suspect (33.3%), 40.0% of 5 words low-confidence"
    assert EpisodeQuality.of(transcript([])).suspect_share == 0.0
    clean = EpisodeQuality("a", 10, 0, 100, 1)
    bad = EpisodeQuality("b", 10, 5, 100, 50)
    assert worst([clean, EpisodeQuality("c"), bad]) == [bad, clean]


def test_the_overview_notebook_shows_each_episodes_quality(executed_notebooks):
    nb = executed_notebooks["03-archive-overview.ipynb"].nb
    (cell,) = [c for c in nb.cells if c.get("id") == "quality-code"]
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "épisode(s) à revoir sur 4" in printed, printed
    html = "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)
    assert "<table class='indexer-quality'>" in html and html.count("<tr>") == 5  # the header, 4 episodes
    assert "mots peu sûrs" in html and "\u00a0%" in html
    overview = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", [])
                       if "indexer-overview" in o.get("data", {}).get("text/html", ""))
    assert "des segments suspects" in overview and "des mots peu sûrs" in overview
