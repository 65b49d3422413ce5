"""``indexer voices …``: the voices known across the archive."""

from __future__ import annotations

from dataclasses import asdict

import click

from ..errors import printable
from .options import archive_option, echo_json, json_option
from .shell import IndexerGroup, main


@main.group(cls=IndexerGroup)
def voices():
    """The voices the archive knows: a name given once is found in every episode with that voice.

    Example: indexer voices list --archive archive
    """


@voices.command("list")
@archive_option
@json_option("the voices as a list")
def voices_list(archive_dir, as_json):
    """Known voices: episodes, speaking time, speakers named by editors and automatically.

    Example: indexer voices list --archive archive --json
    """
    from ..api import Archive

    table = Archive(archive_dir).voices()
    if as_json:
        echo_json([asdict(r) for r in table])
    else:
        click.echo(repr(table))


def _done(action, line: str, as_json: bool) -> None:
    if as_json:
        echo_json(action.to_dict())
    else:
        click.echo(printable(line))


@voices.command("rename")
@click.argument("name")
@click.argument("new_name")
@archive_option
@json_option("the action recorded")
def voices_rename(name, new_name, archive_dir, as_json):
    """Show the voice NAME as NEW_NAME everywhere (a merge if NEW_NAME is a voice already).

    Example: indexer voices rename Sandra "Sandra Dupont" --archive archive
    """
    from ..api import Archive

    _done(Archive(archive_dir).rename_voice(name, new_name), f"{name} -> {new_name}", as_json)


@voices.command("merge")
@click.argument("names", nargs=-1, required=True)
@click.option("--into", required=True, help="The name shown for all of them.")
@archive_option
@json_option("the action recorded")
def voices_merge(names, into, archive_dir, as_json):
    """One voice from several names (one person named two ways).

    Example: indexer voices merge "S. Dupont" "Sandra D." --into "Sandra Dupont" --archive archive
    """
    from ..api import Archive

    _done(Archive(archive_dir).merge_voices(names, into), f"{', '.join(names)} -> {into}", as_json)


@voices.command("forget")
@click.argument("name")
@archive_option
@json_option("the action recorded")
def voices_forget(name, archive_dir, as_json):
    """Take a voice out of the library: no automatic name from it any more (editors' names stay).

    Example: indexer voices forget Julien --archive archive
    """
    from ..api import Archive

    _done(Archive(archive_dir).forget_voice(name), f"{name} forgotten", as_json)


@voices.command("rebuild")
@archive_option
@click.option("--wait", "wait_for_lock", type=float, default=0.0,
              help="Wait up to this many seconds for a running ingest.")
@json_option("what the rebuild found and changed")
def voices_rebuild(archive_dir, wait_for_lock, as_json):
    """Rebuild the voice library from the corrections, sidecars and transcripts, and re-index the
    episodes whose speaker names changed (ingest does it after every run).

    Example: indexer voices rebuild --archive archive
    """
    from ..api import Archive

    update = Archive(archive_dir).update_voices(wait_for_lock)
    if as_json:
        echo_json(asdict(update))
        return
    for line in update.lines():
        click.echo(printable(line))
