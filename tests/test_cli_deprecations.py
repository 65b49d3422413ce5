"""The spellings of the last release keep working for one more, each with exactly one line on stderr that
names the new spelling, and the same result as the new spelling."""

import json

import pytest

from helpers.cli import fake_archive, run
from indexer import Archive


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return fake_archive(tmp_path_factory.mktemp("cli-old") / "archive", episodes=1)


def only_notice(result, new: str) -> None:
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("warning: ") and "deprecated" in lines[0] and new in lines[0], lines[0]


@pytest.mark.parametrize("command", ["status", "ingest", "reindex"])
def test_the_positional_archive_still_works(root, command):
    options = [] if command == "status" else ["-q"]
    old = run(command, root, *options, "--json")
    only_notice(old, f"`indexer {command} --archive ARCHIVE`")
    new = run(command, "--archive", root, *options, "--json")
    assert new.exit_code == 0 and new.stderr == ""
    if command == "status":
        assert old.stdout == new.stdout
    else:
        assert json.loads(old.stdout).keys() == json.loads(new.stdout).keys()


def test_watch_with_the_positional_archive(root, monkeypatch):
    watch = Archive.watch
    monkeypatch.setattr(Archive, "watch", lambda self, options, interval, on_report=None:
                        watch(self, options, interval, rounds=1, on_report=on_report))
    only_notice(run("watch", root, "-q", "--workers", "1"), "`indexer watch --archive ARCHIVE`")


def test_quote_format_json_is_now_json(root):
    old = run("quote", "e0", "0", "3", "--archive", root, "--format", "json")
    only_notice(old, "`--json`")
    new = run("quote", "e0", "0", "3", "--archive", root, "--json")
    assert new.stderr == "" and old.stdout == new.stdout and json.loads(old.stdout)["episode"] == "e0"


def test_the_same_archive_twice_is_one_archive_another_is_an_error(root, tmp_path):
    only_notice(run("status", root, "--archive", root), "--archive ARCHIVE")
    result = run("status", root, "--archive", tmp_path)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "the archive is given twice" in result.stderr


def test_the_new_spellings_print_no_notice(root):
    for args in (["status", "-a", root], ["quote", "e0", "0", "3", "-a", root, "--format", "md"],
                 ["export", "e0", "-a", root, "--format", "json"]):
        result = run(*args)
        assert result.exit_code == 0 and result.stderr == "", (args, result.stderr)
