"""Command line: a thin shell over the same API the notebooks import.

Each command builds a library object and calls one method. Errors of the
package become one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

from .errors import IndexerError

log = logging.getLogger("indexer")


class IndexerGroup(click.Group):
    """Turns IndexerError (and Ctrl-C) into one line instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except IndexerError as e:
            click.echo(f"error: {e.one_line()}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


def archive_option(func):
    return click.option(
        "--archive", "archive_dir", type=click.Path(file_okay=False, path_type=Path),
        default=Path("archive"), show_default=True, help="Archive folder.",
    )(func)


def verbosity_options(func):
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
    """Transcribe French talks with Whisper and search them with Whoosh, offline."""


@main.command()
def models():
    """List the Whisper models available offline and where they live.

    Example: indexer models
    """
    from .models import list_models

    for info in list_models():
        click.echo(f"{info.name:<12} {info.format:<12} {info.source:<28} {info.path}")


if __name__ == "__main__":  # pragma: no cover
    main()
