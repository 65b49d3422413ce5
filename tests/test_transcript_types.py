"""Types instead of strings in the transcript (issue 26): segment flags are a StrEnum, the diarization a
dataclass; both are written as the same JSON as before, and transcripts written before load unchanged."""

from __future__ import annotations

import json

import pytest

from indexer.transcript import (Diarization, Flag, Segment, SpeakerTurn, Transcript, Word, flag_segments,
                                load_transcript, save_transcript)

# A diarization as the speakers stage has written it since schema 2, with a key this version does not know.
WRITTEN = {
    "backend": "campplus", "fingerprint": "abc123", "mode": "auto", "labels": ["S1", "S2"],
    "turns": [[0.0, 4.5, "S1"], [4.5, 9.0, "S2"]],
    "voiceprints": {"S1": {"embedding": [0.1, 0.2], "seconds": 4.5}},
    "future": {"kept": True},
}


def _transcript_data(**changes) -> dict:
    segment = {"id": 0, "start": 0.0, "end": 4.5, "text": "Bonjour.", "speaker": "S1",
               "words": [{"start": 0.0, "end": 4.5, "word": " Bonjour.", "probability": 0.9, "speaker": "S1"}],
               "avg_logprob": -0.2, "no_speech_prob": 0.0, "compression_ratio": 1.0,
               "flags": ["suspect", "repeated", "a-flag-from-a-later-version"]}
    data = {"episode_id": "ep", "audio_path": "ep.wav", "audio_sha256": "0" * 64, "duration": 9.0,
            "language": "fr", "model": "base", "engine": "faster-whisper", "options": {}, "segments": [segment],
            "created": "2026-01-01T00:00:00", "fingerprint": "f", "diarization": WRITTEN, "noise": None,
            "schema": 3}
    return {**data, **changes}


def test_a_written_transcript_loads_into_types_and_is_written_back_the_same(tmp_path):
    path = tmp_path / "ep.json"
    path.write_text(json.dumps(_transcript_data(), ensure_ascii=False), encoding="utf-8")
    transcript = load_transcript(path, "ep")
    d = transcript.diarization
    assert isinstance(d, Diarization) and d.backend == "campplus" and d.labels == ("S1", "S2")
    assert d.turns == (SpeakerTurn("S1", 0.0, 4.5), SpeakerTurn("S2", 4.5, 9.0))
    assert transcript.speaker_labels == ["S1", "S2"]
    flags = transcript.segments[0].flags
    assert flags[:2] == [Flag.SUSPECT, Flag.REPEATED] and all(isinstance(f, Flag) for f in flags[:2])
    assert flags[2] == "a-flag-from-a-later-version" and transcript.segments[0].suspect
    again = tmp_path / "again.json"
    save_transcript(transcript, again)
    assert json.loads(again.read_text(encoding="utf-8")) == _transcript_data()


def test_transcripts_without_diarization_or_from_schema_1_still_load(tmp_path):
    path = tmp_path / "ep.json"
    old = _transcript_data(diarization=None, schema=1)
    for segment in old["segments"]:
        del segment["speaker"]
        for word in segment["words"]:
            del word["speaker"]
    del old["diarization"]
    path.write_text(json.dumps(old), encoding="utf-8")
    transcript = load_transcript(path)
    assert transcript.diarization is None and transcript.speaker_labels == []
    assert transcript.to_dict()["diarization"] is None


def test_names_are_written_only_when_there_are_some():
    d = Diarization.from_dict({k: v for k, v in WRITTEN.items() if k != "future"})
    assert "names" not in d.to_dict()
    named = Diarization(d.backend, labels=d.labels, names={"S1": {"name": "Ana", "source": "named"}})
    assert named.to_dict()["names"] == {"S1": {"name": "Ana", "source": "named"}}
    assert Diarization.from_dict(named.to_dict()) == named


def test_a_dict_given_as_diarization_is_read_as_one():
    transcript = Transcript("ep", "ep.wav", "0" * 64, 9.0, "fr", "base", "fw", {}, diarization=WRITTEN)
    assert isinstance(transcript.diarization, Diarization) and transcript.diarization.mode == "auto"
    assert transcript.to_dict()["diarization"] == WRITTEN


def test_flags_are_made_as_flags_and_written_as_their_names():
    looping = [Segment(i, i, i + 1.0, "encore", [Word(i, i + 1.0, " encore", 0.1)]) for i in range(5)]
    flagged = flag_segments(looping)
    assert flagged[0].flags == [Flag.REPEATED, Flag.SUSPECT, Flag.LOW_CONFIDENCE_WORDS]
    assert json.loads(json.dumps(flagged[0].flags)) == ["repeated", "suspect", "low-confidence-words"]
    assert repr(tuple(flagged[0].flags)) == "('repeated', 'suspect', 'low-confidence-words')"  # tables show names


@pytest.mark.parametrize("value", ["suspect", "split-speaker", "corrected", "speaker-corrected", "phantom"])
def test_every_flag_written_by_the_package_is_a_flag(value):
    assert Flag(value) == value
