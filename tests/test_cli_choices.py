"""Choice lists are the library's registries, read when needed (a new entry needs no CLI edit); an engine may
be a class by import path as in archive.yaml; a bad command line is one line, never a usage page."""

import pytest

from helpers.cli import SPEECH, leaf_commands, param, run
from indexer.cli.options import RegistryChoice
from indexer.cli.searching import QUOTE_PRINTS
from indexer.display.page import FORMATS
from indexer.search.options import MATCH_ALIASES, MATCH_MODES
from indexer.transcribe import ENGINES, PRESETS
from indexer.transcript import EXPORTERS

COMMANDS = dict(leaf_commands())


def choices(path, name):
    return tuple(param(COMMANDS[path], name).type.choices)


def test_choices_are_the_registries():
    for path in (("transcribe",), ("ingest",)):
        assert choices(path, "engine") == tuple(ENGINES)
        assert choices(path, "preset") == tuple(PRESETS)
    assert choices(("transcribe",), "formats") == tuple(EXPORTERS)
    assert choices(("export",), "fmt") == tuple(FORMATS)
    assert choices(("search",), "match") == (*MATCH_MODES, *MATCH_ALIASES)
    assert choices(("quote",), "output_format") == tuple(QUOTE_PRINTS)


def test_no_command_copies_a_choice_list():
    import click

    for path, command in COMMANDS.items():
        for p in command.params:
            if isinstance(p.type, click.Choice):
                assert isinstance(p.type, RegistryChoice), (path, p.name)


def test_a_new_registry_entry_is_a_choice_at_once(monkeypatch):
    monkeypatch.setitem(ENGINES, "my-engine", object)
    assert "my-engine" in choices(("ingest",), "engine")
    assert "my-engine" in run("ingest", "--help").stdout


def test_an_engine_by_import_path_is_accepted_and_checked(tmp_path):
    (tmp_path / "talk.wav").write_bytes(SPEECH.read_bytes())
    done = run("transcribe", tmp_path / "talk.wav", "--engine", "indexer.testing:FakeEngine", "--speakers", "off",
               "--out", tmp_path, "--format", "txt")
    assert done.exit_code == 0 and (tmp_path / "talk.txt").is_file(), done.output
    bad = run("transcribe", tmp_path / "talk.wav", "--engine", "no_such_module:Engine", "--out", tmp_path)
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1
    assert "cannot load engine 'no_such_module:Engine'" in bad.stderr


@pytest.mark.parametrize("args, says", [
    (["transcribe", "x.wav", "--format", "docx"], "'docx' is not one of 'json', 'srt', 'vtt', 'txt'"),
    (["transcribe", "x.wav", "--engine", "whisperx"], "'whisperx' is not one of"),
    (["ingest", "--preset", "fastest"], "'fastest' is not one of 'auto', 'fast', 'accurate'"),
    (["quote", "e0", "douze", "14"], "'douze' is not seconds or hh:mm:ss"),
    (["search", "x", "--match", "some"], "'some' is not one of"),
    (["search"], "Missing argument 'QUERY'"),
    (["status", "--no-such-option"], "--no-such-option"),
    (["no-such-command"], "No such command 'no-such-command'"),
    (["voices", "no-such-command"], "No such command 'no-such-command'"),
    (["--no-such-option"], "--no-such-option"),
    (["voices", "--no-such-option"], "--no-such-option"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_a_bad_command_line_is_one_line(args, says):
    result = run(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert says in result.stderr and "--help" in result.stderr
