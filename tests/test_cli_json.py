"""--json is machine output on every command that prints a result: valid JSON on standard output, nothing
else there, and the same data as the library's (the hits, the quote, the status, the run report)."""

import json

import pytest

from helpers.cli import SPEECH, fake_archive, leaf_commands, param, run
from indexer import Archive
from indexer.testing import FAKE_ENGINE


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return Archive(fake_archive(tmp_path_factory.mktemp("cli-json") / "archive"))


def machine(result) -> object:
    """The JSON a command printed; it must have succeeded and printed only that on standard output."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_command_has_json():
    assert [path for path, command in leaf_commands() if not param(command, "as_json")] == []
    for _, command in leaf_commands():
        assert param(command, "as_json").opts == ["--json"]


@pytest.mark.parametrize("args", [
    ["search", "bonjour"], ["similar", "e0", "0", "3"], ["quote", "e0", "0", "3"], ["export", "e0"], ["status"],
    ["reindex", "-q"], ["ingest", "-q", "--workers", "1"], ["voices", "list"], ["voices", "rebuild"],
], ids=" ".join)
def test_each_command_prints_valid_json(archive, args):
    machine(run(*args, "--archive", archive.root, "--json"))


def test_the_json_is_the_library_data(archive):
    root = archive.root
    word = archive.transcript("e0").segments[0].text.split()[0].strip(".,")   # a word it holds, whichever
    hits = archive.search(word, match="words")
    assert hits and machine(run("search", word, "--match", "words", "-a", root, "--json")) == hits.to_dicts()
    assert machine(run("quote", "e0", "0", "3", "-a", root, "--json")) == archive.quote("e0", 0, 3).to_dict()
    assert machine(run("export", "e0", "-a", root, "--json")) == json.loads(archive.export_page("e0", "json"))
    status = machine(run("status", "-a", root, "--json"))
    assert status["episodes"] == 2 and status["transcribed"] == 2 and status["pending"] == 0


def test_the_voice_commands_print_json(tmp_path):
    """name-speakers, then the voices it makes renamed, merged and forgotten (real speaker voices)."""
    root = fake_archive(tmp_path / "archive", speakers="2")
    where = ["--archive", root, "--json"]
    named = machine(run("name-speakers", "e0", "S1=Sandra", *where))
    assert [(c["before"], c["after"]) for c in named] == [("S1", "Sandra")]
    run("name-speakers", "e1", "S1=Sandra", "-a", root)
    assert machine(run("voices", "rebuild", *where))["voices"] == 1
    assert [row["name"] for row in machine(run("voices", "list", *where))] == ["Sandra"]
    assert machine(run("voices", "rename", "Sandra", "Sandra L.", *where))["kind"] == "rename"
    assert machine(run("voices", "merge", "Sandra L.", "--into", "Sandra", *where))["into"] == "Sandra"
    assert machine(run("voices", "forget", "Sandra", *where))["kind"] == "forget"


def test_transcribe_prints_one_object_per_file(tmp_path):
    (tmp_path / "talk.wav").write_bytes(SPEECH.read_bytes())
    rows = machine(run("transcribe", tmp_path / "talk.wav", "--engine", FAKE_ENGINE, "--speakers", "off",
                       "--out", tmp_path / "out", "--format", "json,srt", "--json"))
    assert [(r["file"], r["segments"] > 0, len(r["written"])) for r in rows] == [(str(tmp_path / "talk.wav"), True, 2)]


def test_models_lists_every_registry():
    from indexer.embeddings import EMBEDDING_MODELS
    from indexer.speakers import BACKENDS

    rows = machine(run("models", "--json"))
    assert [r["name"] for r in rows if r["kind"] == "speakers"] == list(BACKENDS)
    assert [r["name"] for r in rows if r["kind"] == "embeddings"] == list(EMBEDDING_MODELS)
    (campp,) = [r for r in rows if r["name"] == "campp"]
    assert not campp["installed"] or campp["runtime"].startswith(("ONNX Runtime", "PyTorch"))   # what runs it


def test_watch_prints_one_json_object_per_run(archive, monkeypatch):
    watch = Archive.watch
    # One look, not a loop until Ctrl-C (the first look always ingests).
    monkeypatch.setattr(Archive, "watch", lambda self, options, interval, on_report=None:
                        watch(self, options, interval, rounds=1, on_report=on_report))
    result = run("watch", "-a", archive.root, "-q", "--workers", "1", "--json")
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["archive"] == str(archive.root)
