"""The commands and options the documentation shows are those of `indexer --help`, and back.

Every `indexer COMMAND --option` written in a code block or a code span of the
README or of docs/ must be a command of `indexer --help` and an option of
`indexer COMMAND --help`; every command and option of the CLI must appear in
docs/cli.md. A renamed or removed option, or a new one nobody documented,
turns this red. Options of the benchmark scripts shown in the docs must be
options of those scripts.
"""

from __future__ import annotations

import functools
import re
import shlex
from pathlib import Path

import click
from click.testing import CliRunner

from indexer.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CLI_REFERENCE = ROOT / "docs" / "cli.md"

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SHELL_FENCE = re.compile(r"^```(?:bash|sh|shell)\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
# `indexer ingest`, `.venv/bin/indexer ingest`, `python -m indexer ingest`; not `from indexer import`.
COMMAND = re.compile(r"(?:^|(?<=[\s/(]))(?<!from )(?<!import )indexer ([a-z][a-z-]*)")
OPTION = re.compile(r"(?:^|(?<=\s))(--?[a-zA-Z][\w-]*)")
# The end of what a command line says: a comment, a pipe, a redirection, the next command.
LINE_END = re.compile(r"\s#\s|\s\|\s|\s>>?|\s&&\s|;\s")


def _code_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = [line for block in FENCE.findall(text) for line in block.splitlines()]
    lines += SPAN.findall(FENCE.sub("", text))
    return lines


@functools.lru_cache(maxsize=None)
def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="indexer", terminal_width=200)
    assert result.exit_code == 0, f"indexer {' '.join(path)} --help failed: {result.output}"
    return result.output


def _commands(group: click.Group = main, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def _help_options(path: tuple[str, ...]) -> set[str]:
    options_part = _help(path).partition("Options:")[2].partition("Commands:")[0]
    return set(re.findall(r"(?:^|(?<=[\s,]))(--?[a-zA-Z][\w-]*)", options_part))


def _help_commands(path: tuple[str, ...]) -> set[str]:
    listed = _help(path).partition("Commands:")[2]
    return set(re.findall(r"^\s{2}([a-z][a-z-]*)\s", listed, re.M))


def _mentions():
    """(document, command path, options) for every `indexer …` line of the docs."""
    for doc in DOCUMENTS:
        for line in _code_lines(doc):
            for match in COMMAND.finditer(line):
                rest = LINE_END.split(line[match.end():], maxsplit=1)[0]
                path = (match.group(1),)
                words = rest.split()
                if path[0] in _help_commands(()) and isinstance(main.commands[path[0]], click.Group) \
                        and words and re.fullmatch(r"[a-z][a-z-]*", words[0]):
                    path = (*path, words[0])
                yield doc.name, path, set(OPTION.findall(rest)), line.strip()


def test_the_docs_show_commands_at_all():
    mentioned = {path[0] for _, path, _, _ in _mentions()}
    assert {"ingest", "search", "quote", "export"} <= mentioned, mentioned


def test_every_command_and_option_the_docs_show_exists():
    wrong = []
    for doc, path, options, line in _mentions():
        parent = path[:-1]
        if path[-1] not in _help_commands(parent):
            wrong.append(f"{doc}: `indexer {' '.join(path)}` is not a command ({line})")
            continue
        unknown = sorted(options - _help_options(path))
        if unknown:
            wrong.append(f"{doc}: `indexer {' '.join(path)}` has no option {', '.join(unknown)} ({line})")
    assert not wrong, "\n".join(wrong)


def test_the_cli_reference_documents_every_command_and_option():
    reference = CLI_REFERENCE.read_text(encoding="utf-8")
    headings = set(re.findall(r"^#+ .*`indexer ([a-z][a-z -]*?)(?: [A-Z\[.]|…|`)", reference, re.M))
    missing = []
    for path, command in _commands():
        if command.hidden:
            continue
        name = " ".join(path)
        if path[0] not in headings and name not in headings and f"`{name}" not in reference:
            missing.append(f"command `indexer {name}`")
        for option in _help_options(path) - {"--help"}:
            if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", reference):
                missing.append(f"option {option} of `indexer {name}`")
    assert not missing, "docs/cli.md does not document: " + "; ".join(sorted(missing))


def test_benchmark_options_the_docs_show_exist():
    """`python benchmarks/NAME.py --option`: the option is one the script declares."""
    wrong = []
    for doc in DOCUMENTS:
        for line in _code_lines(doc):
            for match in re.finditer(r"benchmarks/(\w+)\.py", line):
                script = ROOT / "benchmarks" / f"{match.group(1)}.py"
                if not script.is_file():
                    wrong.append(f"{doc.name}: {script.name} does not exist ({line.strip()})")
                    continue
                source = script.read_text(encoding="utf-8")
                rest = re.split(r"\s#\s|`|\)|;\s", line[match.end():])[0]
                for option in re.findall(r"(?:^|(?<=\s))(--[a-z][\w-]*)", rest):
                    if f'"{option}"' not in source and f"'{option}'" not in source:
                        wrong.append(f"{doc.name}: {script.name} has no option {option} ({line.strip()})")
    assert not wrong, "\n".join(wrong)


def _shell_commands():
    """(document, arguments) of every `indexer …` command line in the docs' shell blocks."""
    for doc in DOCUMENTS:
        for block in SHELL_FENCE.findall(doc.read_text(encoding="utf-8")):
            for line in block.splitlines():
                match = COMMAND.search(line)
                if match:
                    rest = LINE_END.split(line[match.start() + len("indexer "):], maxsplit=1)[0]
                    # `[--json]` in a synopsis: an optional part, shown as given
                    yield doc.name, [a.strip("[]") for a in shlex.split(rest) if a.strip("[]")], line.strip()


def _parse(args: list[str]) -> list[str]:
    """Parse a command line as the CLI would, without running it; what it uses that `--help` does not show
    (a deprecated spelling kept for one release is hidden from the help)."""
    ctx, group, rest = click.Context(main, info_name="indexer"), main, list(args)
    while True:
        name, *rest = rest
        command = group.get_command(ctx, name)
        if command is None:
            raise click.UsageError(f"no such command {name!r}")
        if isinstance(command, click.Group):
            ctx, group = click.Context(command, info_name=name, parent=ctx), command
            continue
        ctx = command.make_context(name, rest, parent=ctx)
        break
    hidden = []
    for param in command.params:
        given = ctx.get_parameter_source(param.name) == click.core.ParameterSource.COMMANDLINE
        if given and (getattr(param, "hidden", False)
                      or (isinstance(param, click.Argument) and not param.get_usage_pieces(ctx))):
            hidden.append(param.name)
    return hidden


def test_every_command_line_the_docs_show_parses_with_spellings_the_help_shows():
    wrong = []
    commands = list(_shell_commands())
    assert len(commands) > 20, commands
    for doc, args, line in commands:
        try:
            hidden = _parse(args)
        except click.ClickException as e:
            wrong.append(f"{doc}: {line}: {e.format_message()}")
            continue
        if hidden:
            wrong.append(f"{doc}: {line}: uses {', '.join(hidden)}, which `--help` does not show (deprecated?)")
    assert not wrong, "\n".join(wrong)
