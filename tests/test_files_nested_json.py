"""Issue 25: deeply nested JSON anywhere in an archive gives one line naming the file, never a RecursionError
traceback, and ingest and status are never stuck broken by a damaged cache, report or index metadata.

Red before the fix: each place raised RecursionError out of status, ingest, reindex, quote, export or search.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.hardening import cli, fake_archive, ingest

DEEP = "[" * 30000 + "]" * 30000   # under the sidecar's 64 KB limit

PLACES = {  # where the nested JSON goes, relative to the archive
    "sidecar": "audio/a.json",
    "transcript": "transcripts/a.json",
    "corrections": "corrections/a.json",
    "hash cache": ".indexer/hashes.json",
    "catalog cache": ".indexer/transcripts.json",
    "run report": "runs/ingest-99999999T999999.999999Z.json",
    "index metadata": "index/indexer-index.json",
}
COMMANDS = [("status", "--archive", "{root}"), ("search", "bonjour", "--archive", "{root}"),
            ("quote", "a", "0", "2", "--archive", "{root}"), ("export", "a", "--archive", "{root}"),
            ("reindex", "--archive", "{root}", "-q"), ("ingest", "--archive", "{root}", "-q", "--workers", "1"),
            ("status", "--archive", "{root}"),
            ("ingest", "--archive", "{root}", "-q", "--workers", "1"), ("status", "--archive", "{root}")]


@pytest.mark.parametrize("place", sorted(PLACES))
def test_deeply_nested_json_gives_one_line_never_a_traceback(tmp_path, place):
    root = fake_archive(tmp_path / "archive", {"a.wav": 3.0, "b.wav": 4.5})
    assert not ingest(root).failed
    target = root / PLACES[place]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(DEEP)
    codes = {}
    for command in COMMANDS:
        result = cli(*(part.format(root=root) for part in command))  # fails the test on a traceback
        assert "RecursionError" not in result.output and "Traceback" not in result.output, result.output
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 1:
            error_lines = [line for line in result.output.splitlines() if "error" in line.lower()
                           or "FAILED" in line or "SKIPPED" in line or "PROBLEM" in line]
            assert error_lines, result.output
        codes[command[0]] = result.exit_code
    if place in ("hash cache", "catalog cache", "run report", "index metadata", "transcript"):
        # Caches, reports and metadata only cost work: the ingest repairs them (a transcript is made again,
        # the unreadable one kept aside), and the last commands of the list (ingest, status) are clean.
        assert codes["ingest"] == 0 and codes["status"] == 0
    if place == "sidecar":
        result = cli("ingest", "--archive", root, "-q", "--workers", "1")
        assert result.exit_code == 1 and "a.json" in result.output and "nested" in result.output, result.output


def test_a_nested_sidecar_is_named_with_its_problem(tmp_path):
    from indexer.archive import load_sidecar
    from indexer.errors import SidecarError

    for suffix, text in ((".json", DEEP), (".yaml", DEEP), (".yaml", "title: " + "[" * 2000 + "]" * 2000)):
        sidecar = tmp_path / f"episode{suffix}"
        sidecar.write_text(text)
        with pytest.raises(SidecarError) as caught:
            load_sidecar(sidecar)
        assert "nested" in caught.value.one_line() and sidecar.name in caught.value.one_line()


def test_the_file_helpers_never_raise_recursion_errors(tmp_path: Path):
    from indexer.files import read_json

    (tmp_path / "deep.json").write_text(DEEP)
    (tmp_path / "medium.json").write_text('{"a": ' + "[" * 500 + "]" * 500 + "}")  # loads, but too deep to use
    assert read_json(tmp_path / "deep.json", "default") == "default"
    assert read_json(tmp_path / "medium.json", "default") == "default"
