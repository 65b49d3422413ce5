"""Every command is given its archive the same way: --archive DIR or -a DIR, else $INDEXER_ARCHIVE, else
./archive; a folder that is not there is one line naming it, whichever way it was given."""

from pathlib import Path

import pytest

from helpers.cli import SPEECH, leaf_commands, param, run

# The other arguments each command needs to reach its archive.
ARGUMENTS = {
    ("export",): ["e0"],
    ("ingest",): ["-q"],
    ("name-speakers",): ["e0", "S1=Sandra"],
    ("quote",): ["e0", "0", "2"],
    ("reindex",): ["-q"],
    ("search",): ["bonjour"],
    ("similar",): ["e0", "0", "2"],
    ("status",): [],
    ("voices", "forget"): ["Sandra"],
    ("voices", "list"): [],
    ("voices", "merge"): ["Sandra", "--into", "Sandra L."],
    ("voices", "rebuild"): [],
    ("voices", "rename"): ["Sandra", "Sandra L."],
    ("watch",): ["-q"],
}
READ_NO_ARCHIVE = {("transcribe",), ("models",)}   # files in, files out; what is installed


def test_the_table_covers_every_command():
    assert {path for path, _ in leaf_commands()} == set(ARGUMENTS) | READ_NO_ARCHIVE


@pytest.mark.parametrize("path", sorted(ARGUMENTS), ids=" ".join)
def test_every_command_declares_the_same_archive_option(path):
    command = dict(leaf_commands())[path]
    option = param(command, "archive_dir")
    assert option is not None and sorted(option.opts) == ["--archive", "-a"]
    assert option.envvar == "INDEXER_ARCHIVE" and option.default == Path("archive")


@pytest.mark.parametrize("path", sorted(ARGUMENTS), ids=" ".join)
def test_every_command_finds_a_missing_archive_the_same_four_ways(path, tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    monkeypatch.chdir(tmp_path)  # no ./archive here
    ways = {"--archive": (["--archive", missing], None), "-a": (["-a", missing], None),
            "env": ([], {"INDEXER_ARCHIVE": str(missing)}), "default": ([], {"INDEXER_ARCHIVE": ""})}
    for way, (archive_args, env) in ways.items():
        result = run(*path, *ARGUMENTS[path], *archive_args, env=env)
        where = "archive" if way == "default" else str(missing)
        assert result.exit_code == 1, (way, result.output)
        assert result.stderr.splitlines() == [result.stderr.strip()], (way, result.stderr)
        assert result.stderr.startswith(f"error: {where}: archive folder not found"), (way, result.stderr)
    assert not missing.exists()  # never made on the way (voices rebuild made it)


def test_the_four_ways_give_the_same_archive(tmp_path, monkeypatch):
    root = tmp_path / "archive"
    (root / "audio").mkdir(parents=True)
    (root / "audio" / "e0.wav").write_bytes(SPEECH.read_bytes())
    monkeypatch.chdir(tmp_path)
    outputs = [run("status", "--json", *args, env=env) for args, env in (
        (["--archive", root], None), (["-a", root], None), ([], {"INDEXER_ARCHIVE": str(root)}),
        ([], {"INDEXER_ARCHIVE": ""}))]
    assert all(r.exit_code == 0 and r.stderr == "" for r in outputs), [r.output for r in outputs]
    texts = {r.stdout.replace(str(root), "archive") for r in outputs}   # the default is the relative ./archive
    assert len(texts) == 1 and '"pending": 1' in texts.pop()


def test_the_command_line_wins_over_the_environment(tmp_path):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    (here / "audio").mkdir(parents=True)
    result = run("status", "--archive", here, "--json", env={"INDEXER_ARCHIVE": str(elsewhere)})
    assert result.exit_code == 0 and str(here) in result.stdout and str(elsewhere) not in result.stdout
