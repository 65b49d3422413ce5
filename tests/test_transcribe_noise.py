"""Noise handled without being told: the estimate, the preset chosen on it, and
where the choice shows (transcript, run report, status, overview).

Plumbing on the deterministic fake engine (which words it hears does not
matter here); the noise is real: pink noise mixed into a recorded clip by ffmpeg.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
import subprocess
from pathlib import Path

import numpy as np
import pytest

from helpers import TEST_DATA, write_samples
from indexer import Archive, audio
from indexer.corrections import load_corrections, save_corrections
from indexer.corrections.edits import text_correction
from indexer.ingest import Ingest, IngestOptions
from indexer.testing import FAKE_ENGINE, FakeEngine
from indexer.transcribe import (PRESETS, TranscribeOptions, choose_preset, estimate_snr, load_engine,
                                transcribe_file, with_preset)
from indexer.transcribe.noise import choice_still_holds
from indexer.transcript import load_transcript

SPEECH = TEST_DATA / "espeak_fr.wav"


def noisy_copy(target: Path, amplitude: float = 0.2) -> Path:
    """The clip under pink noise (about 12 dB by the estimate; the clean clip: 99)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(SPEECH), "-filter_complex",
                    f"anoisesrc=color=pink:amplitude={amplitude}:sample_rate=16000:seed=7[n];"
                    "[0:a]aresample=16000[v];[v][n]amix=inputs=2:duration=first:normalize=0", str(target)],
                   check=True)
    return target


def make_archive(root: Path, settings: str = "", sidecars: dict[str, str] | None = None) -> Path:
    (root / "audio").mkdir(parents=True)
    (root / "archive.yaml").write_text(f"language: fr\nengine: {FAKE_ENGINE}\n{settings}")
    shutil.copy(SPEECH, root / "audio" / "calm.wav")
    noisy_copy(root / "audio" / "bar.wav")
    for name, text in (sidecars or {}).items():
        (root / "audio" / f"{name}.yaml").write_text(text)
    return root


def ingest(root: Path):
    return Ingest(root, IngestOptions(progress=False, workers=1)).run()


def test_the_estimate_falls_with_the_noise(tmp_path):
    clean = audio.decode(SPEECH)
    light, heavy = (audio.decode(noisy_copy(tmp_path / f"{a}.wav", a)) for a in (0.05, 0.2))
    assert estimate_snr(clean) > estimate_snr(light) > estimate_snr(heavy)
    assert estimate_snr(heavy) < TranscribeOptions().noisy_below_db < estimate_snr(clean)
    assert estimate_snr(np.zeros(16000 * 3, np.float32)) is None      # silence: nothing to choose on
    assert estimate_snr(clean[:4000]) is None                          # too short to tell


def test_auto_chooses_beam_search_for_noisy_audio_only(tmp_path):
    auto = TranscribeOptions()
    assert auto.preset == "auto" and PRESETS["auto"] == auto
    heavy = audio.decode(noisy_copy(tmp_path / "n.wav"))
    chosen, choice = choose_preset(auto, heavy)
    assert chosen.beam_size == PRESETS["accurate"].beam_size and chosen.preset == "accurate"
    assert choice.noisy and choice.automatic and choice.preset == "accurate" and choice.snr_db < auto.noisy_below_db
    same, clean_choice = choose_preset(auto, audio.decode(SPEECH))
    assert same == auto and not clean_choice.noisy and clean_choice.preset == "auto"


@pytest.mark.parametrize("name", ["fast", "accurate"])
def test_a_preset_asked_for_by_name_is_never_overridden(tmp_path, name):
    asked = with_preset(TranscribeOptions(), name)
    chosen, choice = choose_preset(asked, audio.decode(noisy_copy(tmp_path / "n.wav")))
    assert chosen == asked and not choice.automatic and not choice.noisy and choice.preset == name
    assert choice.snr_db is not None     # still measured and recorded


def test_the_transcript_records_the_estimate_and_keeps_the_requested_fingerprint(tmp_path):
    options = TranscribeOptions(engine=FAKE_ENGINE)
    transcript = transcribe_file(noisy_copy(tmp_path / "bar.wav"), options)
    assert transcript.noise["noisy"] and transcript.noise["preset"] == "accurate"
    assert transcript.noise["snr_db"] < options.noisy_below_db
    assert transcript.options["beam_size"] == PRESETS["accurate"].beam_size   # decoded as chosen
    assert transcript.fingerprint == options.fingerprint()   # up to date for the options asked
    calm = transcribe_file(SPEECH, options)
    assert not calm.noise["noisy"] and calm.options["beam_size"] == PRESETS["fast"].beam_size
    assert calm.noise["snr_db"] > options.noisy_below_db


def test_ingest_chooses_per_episode_and_shows_it(tmp_path):
    root = make_archive(tmp_path / "a")
    report = ingest(root)
    results = {r.episode: r for r in report.results}
    assert (results["bar"].preset, results["bar"].noisy) == ("accurate", True)
    assert (results["calm"].preset, results["calm"].noisy) == ("auto", False)
    assert results["bar"].noise_db < TranscribeOptions().noisy_below_db < results["calm"].noise_db
    assert "measured noisy (beam search of 5): bar (" in report.summary()
    saved = load_transcript(root / "transcripts" / "bar.json")
    assert saved.noise["noisy"] and saved.options["beam_size"] == PRESETS["accurate"].beam_size

    status = Archive(root).status()
    assert status.presets == {"accurate": 1, "auto": 1}
    assert len(status.noisy) == 1 and status.noisy[0].startswith("bar (")
    table = status.table()
    assert "presets      accurate 1, auto 1" in table and "measured noisy" in table and "bar (" in table

    overview = Archive(root).overview()
    assert overview.presets == {"accurate": 1, "auto": 1}
    assert [(episode, preset) for episode, _, preset in overview.noisy] == [("bar", "accurate")]
    html = overview._repr_html_()
    assert "bruit mesuré" in html and "bar (" in html and "\u00a0dB" in html and "," in html

    assert {r.episode: r.status for r in ingest(root).results} == {"calm": "unchanged", "bar": "unchanged"}


@pytest.mark.parametrize("where", ["sidecar", "archive.yaml"])
def test_noisy_false_in_a_sidecar_or_archive_yaml_wins(tmp_path, where):
    root = make_archive(tmp_path / "a", "noisy: false\n" if where == "archive.yaml" else "",
                        {"bar": "noisy: false\n"} if where == "sidecar" else None)
    results = {r.episode: r for r in ingest(root).results}
    assert (results["bar"].preset, results["bar"].noisy) == ("fast", False)
    saved = load_transcript(root / "transcripts" / "bar.json")
    assert saved.options["beam_size"] == PRESETS["fast"].beam_size and not saved.noise["automatic"]
    assert saved.noise["snr_db"] < TranscribeOptions().noisy_below_db


def test_noisy_true_wins_over_a_clean_estimate(tmp_path):
    root = make_archive(tmp_path / "a", sidecars={"calm": "noisy: true\n"})
    results = {r.episode: r for r in ingest(root).results}
    assert (results["calm"].preset, results["calm"].noisy) == ("accurate", False)
    assert load_transcript(root / "transcripts" / "calm.json").options["beam_size"] == 5


def lowered(root: Path, bar_db: float) -> IngestOptions:
    """The archive's options with a threshold just under bar's estimate (bar: no longer noisy)."""
    options = replace(Ingest(root, IngestOptions(progress=False)).config.transcribe, noisy_below_db=bar_db - 1)
    return IngestOptions(progress=False, workers=1, transcribe=options)


def test_a_new_threshold_keeps_the_fingerprint_and_remakes_only_the_episodes_it_flips(tmp_path):
    root = make_archive(tmp_path / "a")
    first = {r.episode: r for r in ingest(root).results}
    assert (first["bar"].noisy, first["calm"].noisy) == (True, False)
    bar_db = first["bar"].noise_db
    # A threshold under bar's estimate: bar is no longer noisy, calm stays clean. The fingerprint
    # does not move (no archive is transcribed again wholesale), the recorded choice does.
    lower = lowered(root, bar_db)
    assert lower.transcribe.fingerprint() == TranscribeOptions(engine=FAKE_ENGINE, language="fr").fingerprint()
    planned = Ingest(root, lower).status()  # before the run
    assert (planned.transcribed, planned.pending, planned.pending_episodes) == (1, 1, ["bar"])
    again = {r.episode: r for r in Ingest(root, lower).run().results}
    assert (again["calm"].status, again["bar"].status) == ("unchanged", "transcribed")
    assert (again["bar"].preset, again["bar"].noisy) == ("auto", False)
    assert f"transcribed again: measured {bar_db:.1f} dB" in again["bar"].note
    assert load_transcript(root / "transcripts" / "bar.json").options["beam_size"] == PRESETS["fast"].beam_size
    settled = Ingest(root, lower).run().results
    assert {r.episode: r.status for r in settled} == {"calm": "unchanged", "bar": "unchanged"}
    # Back to the default threshold: bar is noisy again, and only bar is made again.
    back = {r.episode: r.status for r in ingest(root).results}
    assert back == {"calm": "unchanged", "bar": "transcribed"}


@pytest.mark.parametrize("case", ["renamed", "duplicated"])
def test_a_flip_keeps_a_renamed_episodes_corrections_and_makes_shared_audio_once(tmp_path, case):
    root = make_archive(tmp_path / "a")
    if case == "duplicated":   # two files of the same audio, both transcribed before the threshold moves
        shutil.copy(root / "audio" / "bar.wav", root / "audio" / "bar2.wav")
    bar_db = {r.episode: r for r in ingest(root).results}["bar"].noise_db
    if case == "renamed":
        transcript = load_transcript(root / "transcripts" / "bar.json")
        save_corrections(root, "bar", [text_correction(transcript, transcript, 0, "Texte corrigé à la main")])
        (root / "audio" / "bar.wav").rename(root / "audio" / "baz.wav")
    results = {r.episode: r for r in Ingest(root, lowered(root, bar_db)).run().results}
    if case == "renamed":   # made again (its recorded choice no longer holds), the editor's words carried
        assert results["baz"].status == "transcribed" and "transcribed again: measured" in results["baz"].note
        assert [c.after for c in load_corrections(root, "baz")] == ["Texte corrigé à la main"]
    else:                   # one transcription for the two files of the same audio
        assert sorted(r.status for e, r in results.items() if e in ("bar", "bar2")) == ["copied", "transcribed"]


def test_the_choice_is_judged_on_the_record_and_never_for_a_named_preset():
    auto = TranscribeOptions()
    assert choice_still_holds(auto, 12.0, True) and choice_still_holds(auto, 40.0, False)
    assert not choice_still_holds(auto, 12.0, False) and not choice_still_holds(auto, 40.0, True)
    assert choice_still_holds(auto, None, False)                       # too short to measure: nothing chosen
    for name in ("fast", "accurate"):                                  # asked for by name: nothing to judge
        assert choice_still_holds(with_preset(auto, name), 12.0, False)


def test_a_transcript_recorded_before_the_noisy_key_is_not_made_again(tmp_path):
    root = make_archive(tmp_path / "a")
    ingest(root)
    path = root / "transcripts" / "bar.json"
    data = json.loads(path.read_text())
    assert data["noise"].pop("noisy") is True   # as the first version of the choice wrote it
    path.write_text(json.dumps(data))   # a changed file: indexed again, not transcribed again
    assert {r.episode: r.status for r in ingest(root).results} == {"calm": "unchanged", "bar": "reindexed"}


def test_transcripts_made_greedily_before_beam_2_stay_current_until_forced(tmp_path):
    """The clean decoding became beam 2: an archive transcribed greedily by the version before is not
    transcribed again wholesale at its next ingest (TranscribeOptions.fingerprints_kept), status says
    which transcripts were made greedily, and --force (with --only) makes them again."""
    root = make_archive(tmp_path / "a")
    defaults = Ingest(root, IngestOptions(progress=False)).config.transcribe
    assert defaults.beam_size == 2
    before = IngestOptions(progress=False, workers=1, transcribe=replace(defaults, beam_size=1))
    first = {r.episode: r for r in Ingest(root, before).run().results}
    assert (first["bar"].noisy, first["calm"].noisy) == (True, False)
    assert (_used(root, "calm")["beam_size"], _used(root, "bar")["beam_size"]) == (1, 5)
    status = Ingest(root, IngestOptions(progress=False)).status()
    assert status.pending == 0 and status.presets == {"accurate": 1, "auto (greedy)": 1}, status.presets
    overview = Archive(root).overview()                  # and the notebook's overview, in French
    assert overview.greedy == 1 and "1 en décodage glouton" in overview._repr_html_()
    assert {r.episode: r.status for r in ingest(root).results} == {"calm": "unchanged", "bar": "unchanged"}
    # Renamed: its transcript is still one of this audio with current settings, so it is copied.
    (root / "audio" / "calm.wav").rename(root / "audio" / "calme.wav")
    shutil.copy(root / "audio" / "calme.wav", root / "audio" / "autre.wav")   # and the same audio again
    moved = {r.episode: r.status for r in ingest(root).results}
    assert (moved["calme"], moved["autre"]) == ("copied", "copied") and _used(root, "calme")["beam_size"] == 1
    forced = Ingest(root, IngestOptions(progress=False, workers=1, force=True, only="calme")).run()
    assert {r.episode: r.status for r in forced.results}["calme"] == "transcribed"
    assert _used(root, "calme")["beam_size"] == 2 and _used(root, "bar")["beam_size"] == 5
    assert Ingest(root, IngestOptions(progress=False)).status().presets == {"accurate": 1, "auto": 1,
                                                                           "auto (greedy)": 1}
    # A new copy of that audio takes the transcript made with today's settings, not autre's greedy one.
    shutil.copy(root / "audio" / "calme.wav", root / "audio" / "zcopie.wav")
    assert {r.episode: r.status for r in ingest(root).results}["zcopie"] == "copied"
    assert _used(root, "zcopie")["beam_size"] == 2


def _used(root: Path, episode: str) -> dict:
    return load_transcript(root / "transcripts" / f"{episode}.json").options


# Windows of 30 s, so that a two-minute file is judged four times (the default is 120 s).
WINDOWED = replace(TranscribeOptions(engine=FAKE_ENGINE, language="fr"), window_seconds=30.0)


def mixed_file(path: Path, tmp: Path) -> Path:
    """A minute in a quiet studio, then a minute in a bar: the clip again and again, clean then under noise."""
    clean, noisy = audio.decode(SPEECH), audio.decode(noisy_copy(tmp / "noisy-clip.wav"))
    minute = 60 * audio.SAMPLE_RATE
    return write_samples(path, np.concatenate([np.resize(clean, minute), np.resize(noisy, minute)]))


class BatchRecorder(FakeEngine):
    """The fake engine, decoding batches of clips, and noting each batch's beam width and size."""

    calls: list

    def transcribe_clips(self, clips, language, on_step=None, seeds=None):
        self.calls.append((self.options.beam_size, len(clips)))
        return [list(self._segments(np.asarray(c, dtype=np.float32))) for c in clips]


def test_each_window_is_judged_on_its_own_noise_and_a_batch_never_mixes_two_decodings(tmp_path):
    engine = load_engine(replace(WINDOWED, engine="test_transcribe_noise:BatchRecorder"))
    engine.calls = []
    transcript = transcribe_file(mixed_file(tmp_path / "mixed.wav", tmp_path), WINDOWED, engine)
    windows = transcript.noise["windows"]
    assert len(windows) >= 4 and [w["start"] for w in windows] == sorted(w["start"] for w in windows)
    judged = [w["noisy"] for w in windows]
    assert judged[0] is False and judged[-1] is True and judged == sorted(judged), judged   # the studio, then the bar
    for w in windows:
        assert (w["snr_db"] < WINDOWED.noisy_below_db) == w["noisy"], w
    assert transcript.noise["noisy"] and transcript.noise["automatic"] and transcript.noise["preset"] == "accurate"
    assert transcript.noise["snr_db"] == min(w["snr_db"] for w in windows)    # the noisiest part
    assert transcript.noisy_windows == (sum(judged), len(judged))
    assert transcript.options["beam_size"] == 5 and transcript.fingerprint == WINDOWED.fingerprint()
    # Each window decoded as judged, in batches of windows judged alike.
    clean, noisy = PRESETS["fast"].beam_size, PRESETS["accurate"].beam_size
    decoded = {beam: sum(n for b, n in engine.calls if b == beam) for beam in (clean, noisy)}
    assert decoded == {clean: judged.count(False), noisy: judged.count(True)}, engine.calls
    assert all(n <= 2 for _, n in engine.calls)
    # A file of one window records no windows: its transcript is as before the per-window choice.
    short = transcribe_file(noisy_copy(tmp_path / "bar.wav"), WINDOWED)
    assert "windows" not in short.noise and short.noisy_windows == (0, 0) and short.noise["noisy"]


def test_a_file_noisy_in_part_shows_its_windows_and_a_new_threshold_judges_each(tmp_path):
    root = make_archive(tmp_path / "a")
    mixed_file(root / "audio" / "plateau.wav", tmp_path)
    run = IngestOptions(progress=False, workers=1, transcribe=WINDOWED)
    report = Ingest(root, run).run()
    plateau = {r.episode: r for r in report.results}["plateau"]
    saved = load_transcript(root / "transcripts" / "plateau.json")
    noisy, total = saved.noisy_windows
    assert 0 < noisy < total and plateau.noisy and (plateau.noisy_windows, plateau.windows) == (noisy, total)
    assert f"plateau ({plateau.noise_db:.1f} dB, {noisy} of {total} windows)" in report.summary()
    status = Ingest(root, run).status()
    assert f"plateau ({plateau.noise_db:.1f} dB, {noisy} of {total} windows)" in status.noisy
    assert any(n.startswith("bar (") and "windows" not in n for n in status.noisy)
    html = Archive(root).overview()._repr_html_()
    assert f"{noisy} fenêtres sur {total}" in html or f"{noisy} fenêtre sur {total}" in html
    assert Archive(root).overview().partly_noisy == {"plateau": (noisy, total)}
    # A threshold between its clean and its noisy windows changes nothing; one over its clean windows'
    # estimates flips them (though the episode, noisy in part, was noisy already), and one under its
    # noisiest window's flips that: each time the episode is made again.
    estimates = [w["snr_db"] for w in saved.noise["windows"]]
    between = max(db for _, db, was in saved.noise_windows if was) + 1
    assert between < min(db for _, db, was in saved.noise_windows if not was)
    kept = IngestOptions(progress=False, workers=1, transcribe=replace(WINDOWED, noisy_below_db=between))
    assert {r.episode: r.status for r in Ingest(root, kept).run().results}["plateau"] == "unchanged"
    higher = IngestOptions(progress=False, workers=1, transcribe=replace(WINDOWED, noisy_below_db=max(estimates) + 1))
    raised = {r.episode: r for r in Ingest(root, higher).run().results}["plateau"]
    start, clean_db = next((start, db) for start, db, was in saved.noise_windows if not was)   # the first clean one
    assert raised.status == "transcribed"
    assert (f"transcribed again: the window at 00:{int(start) // 60:02d}:{int(start) % 60:02d} measured "
            f"{clean_db:.1f} dB, under {max(estimates) + 1:g} dB: beam search of 5") in raised.note
    all_noisy = load_transcript(root / "transcripts" / "plateau.json").noise_windows
    assert all(was for *_, was in all_noisy)
    lower = IngestOptions(progress=False, workers=1, transcribe=replace(WINDOWED, noisy_below_db=min(estimates) - 1))
    again = {r.episode: r for r in Ingest(root, lower).run().results}["plateau"]
    assert again.status == "transcribed" and (   # every window was noisy: the first one flips first
        f"the window at 00:00:00 measured {all_noisy[0][1]:.1f} dB, not under {min(estimates) - 1:g} dB") in again.note
    remade = load_transcript(root / "transcripts" / "plateau.json")
    assert not remade.noise["noisy"] and remade.options["beam_size"] == PRESETS["fast"].beam_size


def test_the_choice_is_judged_window_by_window_on_the_record():
    auto = TranscribeOptions()
    windows = [(0.0, 99.0, False), (118.5, 12.0, True), (240.0, None, False)]
    assert choice_still_holds(auto, 12.0, True, windows)
    assert not choice_still_holds(replace(auto, noisy_below_db=10), 12.0, True, windows)    # the bar, clean now
    assert not choice_still_holds(replace(auto, noisy_below_db=100), 12.0, True, windows)   # the studio, noisy
    assert choice_still_holds(with_preset(auto, "fast"), 12.0, True, windows)               # nothing to judge


def test_a_window_without_speech_is_not_judged_and_splits_no_batch(tmp_path):
    """A hiss tail (steady hiss reads about 1 dB) after a clean minute: nothing there to decode, so
    the episode stays clean and its windows are batched as before."""
    clean = np.resize(audio.decode(SPEECH), 60 * audio.SAMPLE_RATE)
    hiss = np.random.default_rng(7).normal(0, 0.001, 120 * audio.SAMPLE_RATE).astype(np.float32)
    path = write_samples(tmp_path / "tail.wav", np.concatenate([clean, hiss]))
    engine = load_engine(replace(WINDOWED, engine="test_transcribe_noise:BatchRecorder"))
    engine.calls = []
    transcript = transcribe_file(path, WINDOWED, engine)
    windows = transcript.noise["windows"]
    assert any(w["snr_db"] is None for w in windows) and not any(w["noisy"] for w in windows), windows
    assert not transcript.noise["noisy"] and transcript.noise["preset"] == "auto"
    assert transcript.options["beam_size"] == PRESETS["fast"].beam_size
    assert {beam for beam, _ in engine.calls} == {PRESETS["fast"].beam_size}


def test_a_poor_episode_noisy_in_a_few_windows_is_still_told_to_try_the_noisy_preset(tmp_path, monkeypatch):
    from indexer.quality import EpisodeQuality

    root = make_archive(tmp_path / "a")
    mixed_file(root / "audio" / "plateau.wav", tmp_path)
    monkeypatch.setattr(EpisodeQuality, "is_poor", lambda self: True)   # every transcript judged poor
    report = Ingest(root, IngestOptions(progress=False, workers=1, transcribe=WINDOWED)).run()
    warnings = {r.episode: r.warning for r in report.results}
    assert "try the noisy preset" in warnings["plateau"] and "try the noisy preset" in warnings["calm"]
    assert warnings["bar"] and "try the noisy preset" not in warnings["bar"]   # beam 5 throughout already


def test_a_damaged_cache_entry_for_the_windows_is_read_again(tmp_path):
    root = make_archive(tmp_path / "a")
    mixed_file(root / "audio" / "plateau.wav", tmp_path)
    run = IngestOptions(progress=False, workers=1, transcribe=WINDOWED)
    Ingest(root, run).run()
    cache = root / ".indexer" / "transcripts.json"
    data = json.loads(cache.read_text())
    entries = data if isinstance(data, dict) else {}
    heads = [v[2] for v in (entries.get("heads", entries)).values() if isinstance(v, list) and len(v) == 3]
    assert any(h["noise_windows"] for h in heads)
    for damage in ([[1, 2, 3]], "xy", {"a": 1}, [["ab"]], [[0.0, "12", True]]):
        for h in heads:
            h["noise_windows"] = damage
        cache.write_text(json.dumps(data))
        status = Ingest(root, run).status()
        assert status.pending == 0 and any("windows)" in n for n in status.noisy), (damage, status.noisy)


def test_a_window_reads_as_its_noisiest_stretch_so_a_bar_after_a_studio_minute_is_caught(tmp_path):
    from indexer.transcribe.noise import window_snr

    samples = audio.decode(mixed_file(tmp_path / "mixed.wav", tmp_path))   # 2 minutes: one window by default
    threshold = TranscribeOptions().noisy_below_db
    assert estimate_snr(samples) > threshold          # over the whole window, the studio's pauses set the floor
    assert window_snr(samples) < threshold < window_snr(samples[:60 * audio.SAMPLE_RATE])
    assert window_snr(samples[:30 * audio.SAMPLE_RATE]) == estimate_snr(samples[:30 * audio.SAMPLE_RATE])
    transcript = transcribe_file(tmp_path / "mixed.wav", TranscribeOptions(engine=FAKE_ENGINE))
    assert "windows" not in transcript.noise and transcript.noise["noisy"]
    assert transcript.noise["snr_db"] == window_snr(samples) and transcript.options["beam_size"] == 5


def test_a_file_noisy_in_part_gives_the_same_batches_and_words_on_one_lane_or_two(tmp_path):
    path = mixed_file(tmp_path / "mixed.wav", tmp_path)
    made = {}
    for lanes in (1, 2):
        engine = load_engine(replace(WINDOWED, engine="test_transcribe_noise:BatchRecorder"))
        engine.calls, engine.parallel = [], lanes
        transcript = transcribe_file(path, WINDOWED, engine)
        made[lanes] = (sorted(engine.calls), [(s.start, s.end, s.text) for s in transcript.segments],
                       transcript.noise)
    assert made[1] == made[2] and made[1][2]["noisy"]


def test_a_speech_window_ending_on_a_long_hiss_tail_reads_clean(tmp_path):
    """45 s of room tone alone read about 1 dB (noise over noise): only stretches with speech are judged."""
    from indexer.transcribe.noise import window_snr

    clean = np.resize(audio.decode(SPEECH), 100 * audio.SAMPLE_RATE)
    hiss = np.random.default_rng(3).normal(0, 0.001, 48 * audio.SAMPLE_RATE).astype(np.float32)
    path = write_samples(tmp_path / "outro.wav", np.concatenate([clean, hiss]))   # one window by default
    samples = audio.decode(path)
    threshold = TranscribeOptions().noisy_below_db
    assert window_snr(samples) < threshold    # every stretch judged: the hiss tail alone reads noisy
    transcript = transcribe_file(path, TranscribeOptions(engine=FAKE_ENGINE))
    assert not transcript.noise["noisy"] and transcript.noise["snr_db"] > threshold
    assert transcript.options["beam_size"] == PRESETS["fast"].beam_size
