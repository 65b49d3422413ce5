"""Each command's help example is a command line of today: it parses, and uses no deprecated spelling."""

import shlex

import pytest

from helpers.cli import leaf_commands


@pytest.mark.parametrize("path, command", list(leaf_commands()), ids=lambda v: " ".join(v) if isinstance(v, tuple)
                         else "")
def test_the_example_parses_with_the_new_spellings(path, command):
    (example,) = [line.strip() for line in command.help.splitlines() if line.strip().startswith("Example: indexer ")]
    words = shlex.split(example.removeprefix("Example: indexer "))
    assert tuple(words[:len(path)]) == path, example
    ctx = command.make_context(" ".join(path), words[len(path):])
    assert ctx.params.get("old_archive") is None, f"{example}: give the archive as --archive"
    assert ctx.params.get("output_format") != "json", f"{example}: machine output is --json"
