"""What every command spells the same way: the archive, machine output, choices, deprecated spellings.

The convention (issue 26):

- the archive is ``--archive/-a DIR`` on every command that reads one, else ``$INDEXER_ARCHIVE``, else
  ``./archive`` (as restic's ``--repo``/``RESTIC_REPOSITORY``): most commands already took it so, the
  ``indexer quote`` lines that search prints use it, and the commands' own arguments (a query, an episode,
  times) stay positional without an archive in front of them;
- ``--json`` prints machine output (JSON on standard output) wherever a command has some; ``--format``
  only picks a file format (export, transcribe);
- choice lists are read from the library's registries when first needed, never copied here, and an
  engine may be given by import path (``package.module:Class``) as archive.yaml accepts it;
- an old spelling keeps working for one release, with one line on stderr that names the new one.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable, Iterable

import click
from click.core import ParameterSource

ARCHIVE_ENV = "INDEXER_ARCHIVE"
ARCHIVE_PATH = click.Path(file_okay=False, path_type=Path)


def deprecated(old: str, new: str) -> None:
    """The one line a spelling kept for one release prints (stderr): it still works, and says what to write."""
    click.echo(f"warning: {old} is deprecated and will be removed in the next release; use {new}", err=True)


# One option object for every command (click makes a new parameter each time it decorates).
_ARCHIVE = click.option("--archive", "-a", "archive_dir", type=ARCHIVE_PATH, envvar=ARCHIVE_ENV, show_envvar=True,
                        default=Path("archive"), show_default=True, help="The archive folder.")


def _existing(archive_dir: Path, defaulted: bool = False) -> Path:
    """The archive folder, or one line saying it is not there: a mistyped path is never taken for an empty
    archive (``voices rebuild`` made one, ``voices list`` said "no known voice")."""
    from ..errors import ArchiveNotFoundError

    if not archive_dir.is_dir():
        raise ArchiveNotFoundError("archive folder not found" + (
            " (the default: give --archive DIR or set $INDEXER_ARCHIVE)" if defaulted else ""), archive_dir)
    return archive_dir


def _defaulted() -> bool:
    return click.get_current_context().get_parameter_source("archive_dir") is ParameterSource.DEFAULT


def archive_option(func: Callable) -> Callable:
    """``--archive/-a DIR``, else ``$INDEXER_ARCHIVE``, else ``./archive``: how every command is given its archive."""

    @_ARCHIVE
    @functools.wraps(func)
    def wrapper(*args, archive_dir: Path, **kwargs):
        return func(*args, archive_dir=_existing(archive_dir, _defaulted()), **kwargs)

    return wrapper


class _OldArgument(click.Argument):
    """A positional argument kept for old command lines: shown neither in the usage line nor in the help."""

    def get_usage_pieces(self, ctx: click.Context) -> list[str]:
        return []


def archive_option_and_old_positional(func: Callable) -> Callable:
    """:func:`archive_option`, and the positional ``ARCHIVE`` that ingest, status, watch and reindex took
    before (accepted for one release, with a deprecation line)."""

    @click.argument("old_archive", required=False, cls=_OldArgument, type=ARCHIVE_PATH)
    @_ARCHIVE
    @functools.wraps(func)
    def wrapper(*args, old_archive: Path | None, archive_dir: Path, **kwargs):
        if old_archive is None:
            return func(*args, archive_dir=_existing(archive_dir, _defaulted()), **kwargs)
        ctx = click.get_current_context()
        if ctx.get_parameter_source("archive_dir") is ParameterSource.COMMANDLINE and archive_dir != old_archive:
            raise click.UsageError(f"the archive is given twice ({old_archive} and --archive {archive_dir}): "
                                   "give --archive only")
        deprecated(f"`{ctx.command_path} ARCHIVE`", f"`{ctx.command_path} --archive ARCHIVE`")
        return func(*args, archive_dir=_existing(old_archive), **kwargs)

    return wrapper


def json_option(what: str) -> Callable[[Callable], Callable]:
    """``--json``: print ``what`` as JSON on standard output instead of the text for people."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON (machine output).")


def echo_json(data: Any, indent: int | None = 1) -> None:
    """Machine output: JSON as the archive holds it (UTF-8, no escapes), paths as strings."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=indent, default=str))


class RegistryChoice(click.Choice):
    """The names of a library registry (``ENGINES``, ``PRESETS``, ``FORMATS``…), read when a command is
    parsed or its help shown: ``indexer --help`` imports no stage, and a new entry needs no edit here.

    ``load`` returns the names; ``resolve``, if given, accepts a ``package.module:Class`` too and checks it
    with the library's own loader (a failure is one line: a usage error). ``deprecated`` maps a name still
    accepted, and not listed, to the spelling that replaces it.
    """

    def __init__(self, load: Callable[[], Iterable[str]], resolve: Callable[[str], object] | None = None,
                 deprecated: dict[str, str] | None = None):
        self._load = load
        self.resolve = resolve
        self.deprecated = deprecated or {}
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._load())

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        names = "|".join(self.choices) + ("|module:Class" if self.resolve else "")
        return f"[{names}]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value in self.deprecated:
            deprecated(f"`{param.opts[0] if param else ''} {value}`", self.deprecated[value])
            return value
        if self.resolve is not None and ":" in str(value) and value not in self.choices:
            from ..errors import IndexerError

            try:
                self.resolve(value)
            except IndexerError as e:
                self.fail(e.one_line(), param, ctx)
            return value
        return super().convert(value, param, ctx)


def registry_names(module: str, attribute: str) -> Callable[[], tuple[str, ...]]:
    """A loader of ``module.attribute``'s names (a dict's keys or a tuple), imported on first use."""

    def load() -> tuple[str, ...]:
        import importlib

        return tuple(getattr(importlib.import_module(module), attribute))

    return load


def terminal_safe(text: str) -> str:
    """Text from the archive (sidecars, transcripts, corrections) as printed: its lines stay lines, every
    other control character is escaped (an OSC 52 sequence in a title wrote to the clipboard)."""
    from ..errors import printable

    return printable(text, keep="\n\t")
