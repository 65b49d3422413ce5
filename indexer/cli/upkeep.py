"""Commands that look after an archive: ``status``, ``reindex``, ``name-speakers``."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click

from ..errors import printable
from .options import archive_option, archive_option_and_old_positional, echo_json, json_option
from .shell import main, verbosity_options


@main.command()
@archive_option_and_old_positional
@json_option("the status as one object")
def status(archive_dir, as_json):
    """Show what an archive holds and what `ingest` still has to do.

    Episodes and hours of audio, how many are transcribed and indexed, pending
    (new or changed since the last ingest), failed in the last run, and
    segments flagged suspect. Reads only: safe while an ingest runs.

    Example: indexer status --archive archive --json
    """
    from ..api import Archive

    found = Archive(archive_dir).status()
    if as_json:
        echo_json(asdict(found))
    else:
        click.echo(found.table())


@main.command()
@archive_option_and_old_positional
@click.option("--allow-empty", is_flag=True,
              help="The transcripts are really gone: let an empty index replace one that is not.")
@click.option("--wait", "wait_for_lock", type=float, default=0.0,
              help="Seconds to wait if an ingest holds the archive.")
@json_option("what was indexed and what was skipped")
@verbosity_options
def reindex(archive_dir, allow_empty, wait_for_lock, as_json, progress):
    """Rebuild the search index from the transcripts on disk.

    The old index stays searchable until the new one is complete, and is kept
    if the new one would miss a transcript that cannot be read, or would be
    empty while the old one is not (an unmounted folder). Needed after an
    upgrade that changes the index schema. Waits for no ingest: it stops with
    a message if one is running (or waits, --wait SECONDS).

    Example: indexer reindex --archive archive
    """
    from ..api import Archive
    from ..errors import StoreKeptError

    archive = Archive(archive_dir)
    try:
        result = archive.reindex(progress=progress, allow_empty=allow_empty, wait=wait_for_lock)
    except StoreKeptError as e:
        for line in e.skipped:
            click.echo(f"  SKIPPED {printable(line)}", err=True)
        raise
    if as_json:
        echo_json(asdict(result))
    else:
        click.echo(f"indexed {result.segments} segments in {printable(archive.layout.index_dir)}")
        if result.replaced and not result.episodes:
            click.echo(f"the index is now empty: it held {result.replaced} episode(s), and "
                       f"{printable(archive.layout.transcripts_dir)} holds no transcript")
    for line in result.skipped:
        click.echo(f"  SKIPPED {printable(line)}", err=True)
    if result.skipped:
        click.echo(f"{len(result.skipped)} transcript(s) could not be indexed: fix or remove them, then run "
                   "reindex again", err=True)
        sys.exit(1)


@main.command("name-speakers")
@click.argument("episode")
@click.argument("names", nargs=-1, required=True)
@archive_option
@json_option("the corrections recorded")
def name_speakers(episode, names, archive_dir, as_json):
    """Name the automatic speakers of an episode: LABEL=NAME pairs.

    Stored in corrections/ (they survive re-transcription) and reindexed.

    Example: indexer name-speakers table-ronde S1="Claire Dubois" S2="Julien Morel" --archive archive
    """
    from ..api import Archive
    from ..errors import SpeakerNameError

    pairs = {}
    for item in names:
        label, eq, name = item.partition("=")
        if not eq:
            raise SpeakerNameError(f"expected LABEL=NAME, got {item!r}", hint='e.g. S1="Claire Dubois"')
        pairs[label.strip()] = name
    corrections = Archive(archive_dir).name_speakers(episode, pairs)
    if as_json:
        echo_json([correction.to_dict() for correction in corrections])
        return
    for correction in corrections:
        click.echo(f"{correction.before} = {correction.after}")
