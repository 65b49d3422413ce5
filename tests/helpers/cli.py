"""What the tests of the command line share: a small archive transcribed by the fake engine, and the CLI run
in-process with its standard output and error apart."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner, Result

from indexer import Archive
from indexer.cli import main
from indexer.testing import FAKE_ENGINE
from .media import SPEECH, speech  # noqa: F401  (SPEECH: the CLI tests import it from here)



def fake_archive(root: Path, speakers: str = "off", episodes: int = 2) -> Path:
    """``episodes`` distinct 5-second French recordings (their volume differs), ingested by the fake engine."""
    (root / "audio").mkdir(parents=True)
    (root / "archive.yaml").write_text(f"language: fr\nmodel: base\nengine: {FAKE_ENGINE}\nspeakers: {speakers}\n")
    for n in range(episodes):
        speech(root / "audio" / f"e{n}.wav", 5.0, n)
    report = Archive(root).ingest(workers=1, progress=False)
    assert not report.failed, report.summary()
    return root


def run(*args, env: dict[str, str] | None = None) -> Result:
    """``indexer *args`` in-process; an exception other than an exit is raised, not turned into a result."""
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False, prog_name="indexer")


def leaf_commands(group: click.Group = main, prefix: tuple[str, ...] = ()):
    """Every command as (path, command), the subcommands of groups (`voices list`) included."""
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from leaf_commands(command, prefix + (name,))
        else:
            yield prefix + (name,), command


def param(command: click.Command, name: str) -> click.Parameter | None:
    return next((p for p in command.params if p.name == name), None)
