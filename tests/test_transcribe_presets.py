"""Per-archive and per-episode decoding presets (`preset:`, `noisy:`), and files side by side.

Plumbing on the deterministic fake engine: which options each episode is
transcribed with, what the fingerprint and the run report say.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from helpers import TEST_DATA
from indexer.archive import load_settings, load_sidecar
from indexer.ingest import Ingest, IngestOptions
from indexer.errors import AudioError, SidecarError
from indexer.models import ModelInfo
from indexer.testing import FAKE_ENGINE, FakeEngine
from indexer.transcribe import (CLEAN_PRESET, DEFAULT_PRESET, NOISY_PRESET, PRESETS, TranscribeOptions,
                                transcribe_files, with_preset)
from indexer.transcript import load_transcript

SPEECH = TEST_DATA / "espeak_fr.wav"


def make_archive(root: Path, settings: str = "", sidecars: dict[str, str] | None = None) -> Path:
    (root / "audio").mkdir(parents=True)
    (root / "archive.yaml").write_text(f"language: fr\nengine: {FAKE_ENGINE}\n{settings}")
    shutil.copy(SPEECH, root / "audio" / "calm.wav")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(SPEECH), "-af", "volume=0.8",
                    str(root / "audio" / "bar.wav")], check=True)   # other audio: no copy between the two
    for name, text in (sidecars or {}).items():
        (root / "audio" / f"{name}.yaml").write_text(text)
    return root


def ingest(root: Path):
    return Ingest(root, IngestOptions(progress=False, workers=1)).run()


def used(root: Path, episode: str) -> dict:
    return load_transcript(root / "transcripts" / f"{episode}.json").options


def test_the_noisy_preset_is_slower_decoding_than_the_default():
    assert NOISY_PRESET in PRESETS and NOISY_PRESET != DEFAULT_PRESET
    assert PRESETS[NOISY_PRESET].fingerprint() != PRESETS[DEFAULT_PRESET].fingerprint()
    assert all(p.preset == name for name, p in PRESETS.items())


@pytest.mark.parametrize("text, preset", [
    ("", DEFAULT_PRESET), ("noisy: true\n", NOISY_PRESET), ("noisy: false\n", CLEAN_PRESET),
    ("preset: accurate\n", "accurate"), ("preset: fast\nnoisy: true\n", "fast"),   # an explicit preset wins
])
def test_archive_settings_name_the_preset(tmp_path, text, preset):
    (tmp_path / "archive.yaml").write_text(text)
    assert load_settings(tmp_path).preset == preset
    sidecar = tmp_path / "a.yaml"
    sidecar.write_text(text or "title: T\n")
    assert load_sidecar(sidecar).preset == (preset if text else None)


@pytest.mark.parametrize("text, message", [
    ("preset: turbo\n", "field 'preset' must be one of auto, fast, accurate, got 'turbo'"),
    ("noisy: often\n", "field 'noisy' must be true or false, got 'often'"),
    ("preset: [accurate]\n", "field 'preset' must be"),  # a list: one line, not a TypeError
])
def test_a_bad_preset_names_the_file_and_the_choices(tmp_path, text, message):
    for path, load in ((tmp_path / "archive.yaml", lambda: load_settings(tmp_path)),
                       (tmp_path / "ep.yaml", lambda: load_sidecar(tmp_path / "ep.yaml"))):
        path.write_text(text)
        with pytest.raises(SidecarError) as e:
            load()
        assert message in e.value.one_line() and path.name in e.value.one_line()


def test_with_preset_changes_the_decoding_only():
    base = TranscribeOptions(model="/m", engine=FAKE_ENGINE, language=None, initial_prompt="OWNI", cpu_threads=1)
    noisy = with_preset(base, "accurate")
    assert noisy.beam_size == PRESETS["accurate"].beam_size and noisy.preset == "accurate"
    assert (noisy.model, noisy.engine, noisy.language, noisy.initial_prompt, noisy.cpu_threads) == \
        ("/m", FAKE_ENGINE, None, "OWNI", 1)
    assert noisy.fingerprint() != base.fingerprint()
    assert with_preset(noisy, DEFAULT_PRESET).fingerprint() == base.fingerprint()


def test_a_sidecar_says_which_episode_is_noisy(tmp_path):
    root = make_archive(tmp_path / "a", sidecars={"bar": "title: Au bar\nnoisy: true\n"})
    report = ingest(root)
    presets = {r.episode: (r.status, r.preset) for r in report.results}
    assert presets == {"calm": ("transcribed", DEFAULT_PRESET), "bar": ("transcribed", NOISY_PRESET)}
    assert used(root, "bar")["beam_size"] == PRESETS[NOISY_PRESET].beam_size
    assert used(root, "calm")["beam_size"] == PRESETS[DEFAULT_PRESET].beam_size
    assert f"presets: {NOISY_PRESET} 1, {DEFAULT_PRESET} 1" in report.summary()
    fingerprints = {e: load_transcript(root / "transcripts" / f"{e}.json").fingerprint for e in ("calm", "bar")}
    assert fingerprints["calm"] != fingerprints["bar"]

    again = ingest(root)   # up to date, each with its own fingerprint; the report still says which preset
    assert {r.episode: (r.status, r.preset) for r in again.results} == {
        "calm": ("unchanged", DEFAULT_PRESET), "bar": ("unchanged", NOISY_PRESET)}

    (root / "audio" / "bar.yaml").write_text("title: Au bar\n")   # not noisy after all: decode it again
    third = ingest(root)
    assert {r.episode: (r.status, r.preset) for r in third.results} == {
        "calm": ("unchanged", DEFAULT_PRESET), "bar": ("transcribed", DEFAULT_PRESET)}
    assert load_transcript(root / "transcripts" / "bar.json").fingerprint == fingerprints["calm"]


def test_archive_yaml_noisy_applies_to_every_episode_but_a_sidecar_wins(tmp_path):
    root = make_archive(tmp_path / "a", "noisy: true\n", sidecars={"calm": "preset: fast\n"})
    report = ingest(root)
    assert {r.episode: r.preset for r in report.results} == {"calm": "fast", "bar": NOISY_PRESET}
    assert report.fingerprint == with_preset(TranscribeOptions(engine=FAKE_ENGINE), NOISY_PRESET).fingerprint()
    assert used(root, "bar")["preset"] == NOISY_PRESET and used(root, "calm")["preset"] == "fast"


def test_a_bad_sidecar_preset_fails_that_episode_with_its_reason(tmp_path):
    root = make_archive(tmp_path / "a", sidecars={"bar": "preset: turbo\n"})
    report = ingest(root)
    failed = {r.episode: r.error for r in report.failed}
    assert list(failed) == ["bar"] and "field 'preset' must be one of" in failed["bar"]


class _SideBySide(FakeEngine):
    """A fake engine that can split its cores, and counts the windows running at once."""

    lock = threading.Lock()
    running = 0
    most = 0
    met = threading.Event()   # set once two windows run at once

    def sized_for(self, windows):
        sized = _SideBySide(self.model_info, self.options)
        sized.parallel = min(2, windows)
        sized.sized_for = lambda windows: sized
        return sized

    def transcribe(self, samples, language, prompt=True, seed=None):
        cls = _SideBySide
        with cls.lock:
            cls.running += 1
            cls.most = max(cls.most, cls.running)
            if cls.running == 2:
                cls.met.set()
        # Side by side, a second window arrives while this one waits; one after the other,
        # none does and the wait ends at the hang guard with ``most`` still 1.
        cls.met.wait(timeout=60)
        with cls.lock:
            cls.running -= 1
        return super().transcribe(samples, language, prompt, seed)


def test_several_files_run_side_by_side_and_come_back_in_order(tmp_path):
    files = []
    for name in ("one", "two", "three"):
        files.append(tmp_path / f"{name}.wav")
        shutil.copy(SPEECH, files[-1])
    (tmp_path / "bad.mp3").write_text("not audio")
    options = TranscribeOptions(engine=FAKE_ENGINE)
    engine = _SideBySide(ModelInfo("fake", "ctranslate2", Path("."), "test", True), options)
    results = list(transcribe_files([files[0], tmp_path / "bad.mp3", *files[1:]], options, engine))
    assert [p.name for p, _ in results] == ["bad.mp3", "one.wav", "two.wav", "three.wav"]
    assert isinstance(results[0][1], AudioError)
    assert all(t.segments and t.episode_id == p.stem for p, t in results[1:])
    assert _SideBySide.most == 2   # two cores' worth of windows at once, from different files


def test_a_typo_in_a_sidecar_never_transcribes_again(tmp_path):
    """Found in review: an unreadable sidecar fell back to the run's preset, so the
    episode made with `preset: accurate` was transcribed again, twice."""
    root = make_archive(tmp_path / "archive", sidecars={"bar": "title: Bar\npreset: accurate\n"})
    assert not ingest(root).failed and used(root, "bar")["beam_size"] == 5
    (root / "audio" / "bar.yaml").write_text("title: Bar\npreset: accurate\ntitel: typo\n")
    report = ingest(root)
    assert {r.file: r.status for r in report.results}["bar.wav"] == "failed"   # the sidecar, named
    assert "titel" in report.failed[0].error and "transcri" not in report.failed[0].note
    assert used(root, "bar")["beam_size"] == 5                                  # the transcript is kept
    (root / "audio" / "bar.yaml").write_text("title: Bar\npreset: accurate\n")
    statuses = {r.file: r.status for r in ingest(root).results}
    assert statuses["bar.wav"] == "reindexed" and statuses["calm.wav"] == "unchanged"
