"""The voice library through real ingests: the fake Whisper engine and a fake speaker backend
(:class:`indexer.testing.FakeSpeakerBackend`: a person is a faint tone added to real speech), so that
who is who is known exactly while VAD, the stage, transcripts, the library and the index are real."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import SAMPLE_ARCHIVE
from indexer import Archive, audio
from indexer.corrections import effective_episode
from indexer.ingest import Ingest, IngestOptions
from indexer.speakers import SpeakerOptions
from indexer.testing import FAKE_ENGINE, FAKE_SPEAKERS, mark_voice
from indexer.transcript import load_transcript
from helpers import write_samples as write_wav

SR = 16_000


@pytest.fixture(scope="module")
def sentences():
    """Real (synthetic) speech from the sample archive, sentence by sentence: VAD finds it."""
    found = []
    for ref in sorted((SAMPLE_ARCHIVE / "reference").rglob("*.json")):
        data = json.loads(ref.read_text())
        wav = audio.decode(SAMPLE_ARCHIVE / data["audio"])
        found += [wav[int(s["start"] * SR):int(s["end"] * SR)] for s in data["sentences"]]
    return found


def conversation(sentences, people: list[int], seed: int, per_turn: int = 2) -> np.ndarray:
    """Each person in turn says ``per_turn`` sentences, marked as that person; twice round."""
    pieces, k = [np.zeros(SR // 2, np.float32)], seed
    for _ in range(2):
        for person in people:
            for _ in range(per_turn):
                pieces += [mark_voice(sentences[k % len(sentences)], person), np.zeros(SR // 2, np.float32)]
                k += 1
    return np.concatenate(pieces)


def ingest(root, from_settings: bool = False):
    """One ingest with the fake speaker backend (by option, or as archive.yaml's ``speaker_backend``)."""
    speakers = None if from_settings else SpeakerOptions(backend=FAKE_SPEAKERS)
    report = Ingest(root, IngestOptions(progress=False, workers=1, speakers=speakers)).run()
    return report, {r.episode: r.status for r in report.results}


def names(root, episode_id):
    return {label: (n.name, n.source) for label, n in
            effective_episode(Archive(root).layout, episode_id).names.items()}


def test_ingest_names_a_known_voice_in_new_and_existing_episodes_without_transcribing_again(tmp_path, sentences):
    root = tmp_path / "archive"
    (root / "audio").mkdir(parents=True)
    (root / "archive.yaml").write_text(f"language: fr\nengine: {FAKE_ENGINE}\n")
    write_wav(root / "audio" / "a.wav", conversation(sentences, [0, 1], 0))
    write_wav(root / "audio" / "b.wav", conversation(sentences, [2, 1], 7))
    report, statuses = ingest(root)
    assert statuses == {"a": "transcribed", "b": "transcribed"}, report.summary()
    a = load_transcript(root / "transcripts" / "a.json")
    assert a.speaker_labels == ["S1", "S2"] and set(a.diarization.voiceprints) == {"S1", "S2"}

    archive = Archive(root)
    archive.name_speakers("a", {"S2": "Julien"})          # person 1
    report, statuses = ingest(root)
    assert statuses == {"a": "reindexed", "b": "reindexed"}, report.summary()   # nothing transcribed again
    assert names(root, "b") == {"S2": ("Julien", "automatic")}
    assert any("1 speaker(s) named automatically" in line for line in report.voices)
    assert "voices 1 known voice(s)" in report.summary()
    assert {h.episode for h in Archive(root).search("speaker:julien", limit=100)} == {"a", "b"}

    # A new episode where Julien speaks first: named at its first ingest.
    write_wav(root / "audio" / "c.wav", conversation(sentences, [1, 3], 3))
    report, statuses = ingest(root)
    assert statuses["c"] == "transcribed" and names(root, "c") == {"S1": ("Julien", "automatic")}
    assert archive.voices()["Julien"].automatic == 2

    # Transcribed again from scratch: the editor's name is still on Julien's voice.
    report = Ingest(root, IngestOptions(progress=False, workers=1, force=True,
                                        speakers=SpeakerOptions(backend=FAKE_SPEAKERS))).run()
    assert names(root, "a") == {"S2": ("Julien", "named")}
    assert names(root, "b") == {"S2": ("Julien", "automatic")}
    report, statuses = ingest(root)
    assert set(statuses.values()) == {"unchanged"}, report.summary()


def test_named_turns_in_a_sidecar_enrol_their_voices(tmp_path, sentences):
    root = tmp_path / "archive"
    (root / "audio").mkdir(parents=True)
    (root / "archive.yaml").write_text(f"language: fr\nengine: {FAKE_ENGINE}\nspeaker_backend: {FAKE_SPEAKERS}\n")
    first = conversation(sentences, [4], 0, per_turn=3)
    write_wav(root / "audio" / "solo.wav", first)
    (root / "audio" / "solo.yaml").write_text("speakers: [Claire Dubois]\n")        # the only speaker
    write_wav(root / "audio" / "panel.wav", conversation(sentences, [5, 4], 5))
    report, statuses = ingest(root, from_settings=True)
    assert statuses == {"solo": "transcribed", "panel": "transcribed"}, report.summary()
    solo = load_transcript(root / "transcripts" / "solo.json")
    assert solo.speaker_labels == [] and set(solo.diarization.voiceprints) == {"Claire Dubois"}
    assert names(root, "panel") == {"S2": ("Claire Dubois", "automatic")}
    assert Archive(root).voices()["Claire Dubois"].confirmed == 1
    # The sidecar gets turns instead: the prints are taken again (no transcription).
    (root / "audio" / "solo.yaml").write_text(
        f"speakers: [{{name: Claire Dubois, start: 0, end: {len(first) / SR / 2:.1f}}}]\n")
    report, statuses = ingest(root, from_settings=True)
    assert statuses["solo"] == "diarized", report.summary()
    assert names(root, "panel") == {"S2": ("Claire Dubois", "automatic")}
