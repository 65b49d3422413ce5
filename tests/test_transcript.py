"""The transcript data model: JSON round trip, flags, exports."""

import json

import pytest

from indexer.errors import FormatError, TranscriptError
from indexer.transcript import (
    FlagOptions, Segment, Transcript, Word, export, flag_segments, format_timestamp,
    load_transcript, save_transcript, to_srt, to_txt, to_vtt,
)


def make_transcript(segments=None):
    segments = segments or [
        Segment(0, 0.5, 2.25, "Bonjour à tous.", [Word(0.5, 1.0, " Bonjour", 0.9), Word(1.0, 2.25, " à tous.", 0.8)],
                avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.1),
        Segment(1, 2.5, 3661.5, "Le community manager anime la communauté.", [], speaker="Sandra"),
    ]
    return Transcript("2011/episode-1", "2011/Episode 1.mp3", "ab" * 32, 3662.0, "fr", "base",
                      "faster-whisper", {"beam_size": 1}, segments, "2026-11-30T00:00:00+00:00", "f" * 16)


def test_json_round_trip(tmp_path):
    original = make_transcript()
    path = save_transcript(original, tmp_path / "t" / "ep.json")
    data = json.loads(path.read_text())
    assert data["schema"] == 3
    assert set(data["segments"][0]) >= {"id", "start", "end", "text", "speaker", "avg_logprob", "no_speech_prob",
                                        "compression_ratio", "flags", "words"}
    assert set(data["segments"][0]["words"][0]) == {"start", "end", "word", "probability", "speaker"}
    assert data["diarization"] is None
    assert load_transcript(path) == original
    assert not list(path.parent.glob(".*tmp"))  # the atomic write leaves no temporary file


def test_unknown_schema_is_a_clear_error(tmp_path):
    path = tmp_path / "ep.json"
    data = make_transcript().to_dict()
    data["schema"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(TranscriptError, match="schema 99"):
        load_transcript(path)


@pytest.mark.parametrize("content, message", [("{not json", "not valid JSON"), ('{"schema": 1}', "missing")])
def test_broken_transcript_files(tmp_path, content, message):
    path = tmp_path / "ep.json"
    path.write_text(content)
    with pytest.raises(TranscriptError, match=message) as info:
        load_transcript(path)
    assert str(path) in str(info.value)


def test_timestamps_and_exports(tmp_path):
    t = make_transcript()
    assert format_timestamp(3661.5) == "01:01:01.500"
    assert format_timestamp(3661.5, decimal=",") == "01:01:01,500"
    srt = to_srt(t)
    assert srt.startswith("1\n00:00:00,500 --> 00:00:02,250\nBonjour à tous.\n")
    assert "Sandra: Le community manager" in srt
    vtt = to_vtt(t)
    assert vtt.startswith("WEBVTT\n") and "00:00:02.500 --> 01:01:01.500" in vtt
    assert to_txt(t).splitlines() == ["Bonjour à tous.", "Sandra: Le community manager anime la communauté."]
    written = export(t, ["json", "srt", "vtt", "txt"], tmp_path)
    assert [p.name for p in written] == ["episode-1.json", "episode-1.srt", "episode-1.vtt", "episode-1.txt"]
    assert all(p.parent == tmp_path / "2011" for p in written)


def test_unknown_export_format_lists_valid_ones(tmp_path):
    with pytest.raises(FormatError, match="valid formats: json, srt, txt, vtt"):
        export(make_transcript(), ["docx"], tmp_path)


def seg(i, text, **kw):
    return Segment(i, i * 2.0, i * 2.0 + 2, text, **kw)


def test_flags_mark_but_never_delete():
    segments = [seg(0, "Bonjour.")] + [seg(i, "Merci.") for i in range(1, 6)] + [
        seg(6, "Sous-titres réalisés par la communauté d'Amara.org"),
        seg(7, "la la la la la la la la la la", compression_ratio=3.1),
        seg(8, "euh", avg_logprob=-1.4),
        seg(9, "Oui, oui.", words=[Word(18, 19, " Oui,", 0.2)]),
        seg(10, "C'est vrai.", no_speech_prob=0.95, avg_logprob=-0.7),
        Segment(11, 30.0, 58.0, "Une phrase de huit mots, et puis plus rien."),
    ]
    flagged = flag_segments(segments)
    assert [s.text for s in flagged] == [s.text for s in segments]
    flags = {s.id: s.flags for s in flagged}
    assert flags[0] == []
    assert all("repeated" in flags[i] and "suspect" in flags[i] for i in range(1, 6))
    assert "phantom" in flags[6] and "compression" in flags[7] and "low-logprob" in flags[8]
    assert flags[9] == ["low-confidence-words"]  # low-confidence words alone do not make it suspect
    assert "no-speech" in flags[10] and "suspect" in flags[10]
    assert flags[11] == ["sparse", "suspect"]  # 28 s for 9 words: speech was skipped


def test_people_may_repeat_themselves_a_little():
    segments = [seg(i, "Tout à fait.") for i in range(3)]
    assert all(s.flags == [] for s in flag_segments(segments, FlagOptions(max_repeats=3)))
    assert all("repeated" in s.flags for s in flag_segments(segments, FlagOptions(max_repeats=2)))


def test_flagging_twice_does_not_duplicate_flags():
    once = flag_segments([seg(0, "Merci d'avoir regardé !")])
    twice = flag_segments(once)
    assert twice[0].flags == once[0].flags == ["phantom", "suspect"]
