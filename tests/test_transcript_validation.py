"""Issue 25: a transcript's content is checked on load (types, finite times, its episode id matching its
file), and so are corrections; a hand-edited mistake is one line naming the file and the field, the batch
goes on, and a transcript never speaks for another episode.

Red before the fix: TypeError tracebacks (ingest, reindex, quote, export, player), NaN times accepted and an
html export crashing, status silent, and a transcript hijacking the episode it named.
"""

from __future__ import annotations

import json
import math

import pytest

from helpers.hardening import cli, fake_archive, ingest
from indexer import Archive
from indexer.errors import IndexerError


@pytest.fixture
def archive(tmp_path):
    root = fake_archive(tmp_path / "archive", {"a.wav": 3.0, "b.wav": 4.5})
    assert not ingest(root).failed
    return root


def edit_json(path, change):
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")  # NaN and Infinity as Python writes them


def set_segment(field, value):
    def change(data):
        data["segments"][0][field] = value
    return change


def set_word(field, value):
    def change(data):
        data["segments"][0]["words"][0][field] = value
    return change


BAD_TRANSCRIPTS = {
    "string start": (set_segment("start", "12.5"), "segments[0].start"),
    "null end": (set_segment("end", None), "segments[0].end"),
    "NaN start": (set_segment("start", math.nan), "segments[0].start"),
    "infinite word end": (set_word("end", math.inf), "segments[0].words[0].end"),
    "string word probability": (set_word("probability", "0.9"), "segments[0].words[0].probability"),
    "segments not a list": (lambda data: data.update(segments={"0": 1}), "segments"),
}


@pytest.mark.parametrize("case", sorted(BAD_TRANSCRIPTS))
def test_a_hand_edited_transcript_is_one_line_naming_the_field(archive, case):
    change, field = BAD_TRANSCRIPTS[case]
    edit_json(archive / "transcripts" / "a.json", change)
    status = cli("status", "--archive", archive)
    assert status.exit_code == 0 and "PROBLEM" in status.output and field in status.output, status.output
    for command in (["quote", "a", "0", "2"], ["export", "a", "--format", "html"], ["export", "a", "--format", "srt"]):
        result = cli(*command, "--archive", archive)
        assert result.exit_code == 1, result.output
        (line,) = result.output.strip().splitlines()
        assert line.startswith("error: ") and "a.json" in line and field in line, line
    result = cli("reindex", "--archive", archive, "-q")
    assert result.exit_code == 1 and "SKIPPED" in result.output and field in result.output, result.output
    with pytest.raises(IndexerError, match="a.json"):
        Archive(archive).player("a")
    # The batch goes on: a is transcribed again (the edited file kept aside), b is untouched.
    result = cli("ingest", "--archive", archive, "-q", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert list((archive / ".indexer" / "trash").glob("a.json.unreadable"))
    assert Archive(archive).status().pending == 0


BAD_CORRECTIONS = {
    "string segment_id": ("segment_id", "0"),
    "boolean segment_id": ("segment_id", True),
    "NaN start": ("start", math.nan),
    "number as text": ("after", 12),
}


@pytest.mark.parametrize("case", sorted(BAD_CORRECTIONS))
def test_a_hand_edited_correction_is_one_line_naming_the_field(archive, case):
    field, value = BAD_CORRECTIONS[case]
    Archive(archive).correct("a", 0, "une phrase corrigée")
    edit_json(archive / "corrections" / "a.json", lambda data: data["corrections"][0].update({field: value}))
    for command in (["quote", "a", "0", "2", "--archive", archive], ["export", "a", "--archive", archive],
                    ["ingest", "--archive", archive, "-q", "--workers", "1"], ["reindex", "--archive", archive, "-q"]):
        result = cli(*command)
        assert result.exit_code == 1, result.output
        assert "corrections/a.json" in result.output and f"'{field}'" in result.output, result.output
    assert Archive(archive).search("corrigée")  # the index keeps the last good version


def test_a_transcript_never_speaks_for_another_episode(archive):
    """transcripts/a.json saying it is episode b: before, b's documents were replaced by a's words, every ingest
    said "reindexed 1" and status showed pending 1 forever."""
    segments = {e: len(Archive(archive).transcript(e).segments) for e in ("a", "b")}
    assert segments["a"] != segments["b"]
    edit_json(archive / "transcripts" / "a.json", lambda data: data.update(episode_id="b"))
    status = cli("status", "--archive", archive)
    assert "PROBLEM" in status.output and "a.json" in status.output and "'b'" in status.output, status.output
    assert not ingest(archive).failed
    index = Archive(archive).index
    assert {e: index.episode_doc_count(e) for e in ("a", "b")} == segments
    again = ingest(archive)
    assert {r.status for r in again.results} == {"unchanged"}, again.summary()
    assert Archive(archive).status().pending == 0
    assert Archive(archive).transcript("b").episode_id == "b"
