"""The ``indexer`` group: errors become one line on stderr and a non-zero exit status, never a traceback."""

from __future__ import annotations

import functools
import logging
import sys
from typing import Callable

import click

from ..errors import IndexerError, storage_error

log = logging.getLogger("indexer")


def _usage_error(error: click.UsageError, ctx: click.Context) -> None:
    """A bad command line: one line naming the problem and where help is (exit 2, as click's usage page)."""
    if isinstance(error, getattr(click.exceptions, "NoArgsIsHelpError", ())):
        raise error  # `indexer voices` alone: the help is what was asked for
    where = error.ctx.command_path if error.ctx is not None else ctx.command_path
    click.echo(f"error: {error.format_message()} (see `{where} --help`)", err=True)
    sys.exit(error.exit_code)


class IndexerGroup(click.Group):
    """Turns IndexerError, a bad command line (and Ctrl-C) into one line instead of a traceback or a usage page."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:  # the group's own options (`indexer --nope`)
            _usage_error(e, ctx)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except IndexerError as e:
            click.echo(f"error: {e.one_line()}", err=True)
            sys.exit(1)
        except click.UsageError as e:
            _usage_error(e, ctx)
        except OSError as e:  # a write the library did not expect to fail: still one line
            error = storage_error(e)
            if error is None:
                raise
            click.echo(f"error: {error.one_line()}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


def verbosity_options(func: Callable) -> Callable:
    @click.option("--quiet", "-q", is_flag=True, help="No progress bars, errors only.")
    @click.option("--verbose", "-v", is_flag=True, help="Log what is done, step by step.")
    @functools.wraps(func)
    def wrapper(*args, quiet: bool, verbose: bool, **kwargs):
        level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
        logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr)
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        return func(*args, progress=not quiet, **kwargs)
    return wrapper


@click.group(cls=IndexerGroup)
@click.version_option(package_name="indexer")
def main():
    """Transcribe French talks with Whisper and search them with Whoosh, offline.

    Every command takes the archive as --archive DIR (or -a DIR), else
    $INDEXER_ARCHIVE, else ./archive; --json prints machine output.
    """
