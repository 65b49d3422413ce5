"""Commands that read the index and the transcripts: ``search``, ``similar``, ``quote``, ``export``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import click
from click.core import ParameterSource

from ..errors import printable
from .options import (RegistryChoice, archive_option, echo_json, json_option, registry_names, terminal_safe)
from .shell import main


def _date_range(ctx, param, value):
    """--date 2013, --date 2010..2011, --date 2010-06.. (open end), --date ..2011."""
    if value is None:
        return None
    start, dots, end = value.partition("..")
    return (start or None, end or None) if dots else value


def _timecode(ctx, param, value):
    from ..archive import parse_timecode

    if value is None:
        return None
    try:
        return parse_timecode(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not seconds or hh:mm:ss") from None


def search_filter_options(func: Callable) -> Callable:
    """Filters shared by `search` and `similar`: the same as typed ones (speaker:, episode:, date:)."""
    func = click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True,
                        help="Number of hits.")(func)
    func = click.option("--speaker", help="Only segments of this speaker (name or part of it).")(func)
    func = click.option("--episode", "episodes", multiple=True,
                        help="Only this episode id (repeatable; '2011/*' for a prefix).")(func)
    func = click.option("--date", callback=_date_range, metavar="FROM[..TO]",
                        help="Only episodes of this date or period: 2013, 2010..2011, 2012-06.., ..2011.")(func)
    func = click.option("--exclude-suspect", is_flag=True, help="Leave out segments flagged suspect.")(func)
    func = json_option("the hits as a list (with `matched`, `found_by`, `quote`)")(func)
    return func


def _print_hits(hits, as_json: bool, nothing: str) -> None:
    from ..search import hit_lines

    for line in hits.warnings:
        click.echo(f"warning: {printable(line)}", err=True)
    if as_json:
        click.echo(hits.to_json())
        return
    mark = (lambda s: click.style(s, bold=True)) if sys.stdout.isatty() else (lambda s: f"*{s}*")
    for hit in hits:
        click.echo("\n".join(hit_lines(hit, mark)))
    if not hits:
        click.echo(nothing, err=True)


def _match_modes() -> tuple[str, ...]:
    from ..search.options import MATCH_ALIASES, MATCH_MODES

    return (*MATCH_MODES, *MATCH_ALIASES)


@main.command()
@click.argument("query")
@archive_option
@search_filter_options
@click.option("--match", type=RegistryChoice(_match_modes), default="hybrid", show_default=True,
              help="hybrid: words (every word first, then most, then approximate ones) fused with meaning; "
                   "words: words only; meaning: meaning only; all: every word, strictly. (any: hybrid.)")
def search(query, archive_dir, limit, speaker, episodes, date, exclude_suspect, as_json, match):
    """Search the transcripts of an archive, by words and by meaning.

    QUERY uses Whoosh's syntax: "phrases", OR, NOT, speaker:, episode:,
    chapter:, date:[2010 TO 2011], commun*, communauter~. Plain words are
    graded (segments with all of them first, then most of them, then close
    forms) and fused with the segments nearest in meaning, each hit saying
    how it matched. Typed filters (speaker:, date:…) and --speaker, --date,
    --episode give the same hits. Each hit ends with its `indexer quote` line.

    Example: indexer search 'les gens qui surveillent les commentaires' --archive archive --date 2010..2012
    """
    from ..api import Archive

    hits = Archive(archive_dir).search(query, limit=limit, speaker=speaker, episode=list(episodes) or None,
                                       date=date, exclude_suspect=exclude_suspect, match=match)
    _print_hits(hits, as_json, f"no hit for {query}")


@main.command()
@click.argument("episode")
@click.argument("start", callback=_timecode)
@click.argument("end", required=False, callback=_timecode)
@archive_option
@search_filter_options
def similar(episode, start, end, archive_dir, limit, speaker, episodes, date, exclude_suspect, as_json):
    """More like this: moments of the archive about the same thing as EPISODE from START to END.

    START and END are seconds or hh:mm:ss (as `indexer quote` takes them); the
    moment itself is never returned.

    Example: indexer similar 2011/entretien-moderation 00:00:25 00:00:32 --archive archive --limit 5
    """
    from ..api import Archive

    hits = Archive(archive_dir).similar(episode, start, end if end is not None else start, limit=limit,
                                        speaker=speaker, episode_filter=list(episodes) or None,
                                        date=date, exclude_suspect=exclude_suspect)
    _print_hits(hits, as_json, f"nothing like {episode} at {start}")


# How `indexer quote` prints a quote for people, by --format name (machine output is --json).
QUOTE_PRINTS: dict[str, Callable] = {
    "txt": lambda quote, clip_link: quote.to_text() + "\n",
    "md": lambda quote, clip_link: quote.to_markdown(clip_link),
}


@main.command()
@click.argument("episode")
@click.argument("start", callback=_timecode)
@click.argument("end", callback=_timecode)
@archive_option
@click.option("--clip", "clip_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the audio clip here (.mp3, .wav, .ogg or .m4a), citation in its tags.")
@click.option("--format", "output_format", type=RegistryChoice(lambda: QUOTE_PRINTS, deprecated={"json": "`--json`"}),
              default="txt", show_default=True, help="How to print the quote for people.")
@json_option("the quote (words with their times, citation, clip span)")
def quote(episode, start, end, archive_dir, clip_path, output_format, as_json):
    """Quote an episode between START and END: exact words, speaker and citation.

    START and END are seconds (754.2) or hh:mm:ss (00:12:34.2); the quote snaps
    to the words overlapping that range (corrections included).

    Example: indexer quote metier-community-manager 00:00:05 00:00:11 --archive archive --clip extrait.mp3 --format md
    """
    from ..api import Archive

    as_json = as_json or output_format == "json"
    if as_json and output_format not in ("json", "txt"):
        raise click.UsageError(f"--json and --format {output_format} ask for two outputs: give one")
    archive = Archive(archive_dir)
    found = archive.quote(episode, start, end)
    if clip_path is not None:
        found.export(archive.layout.output_path(clip_path))
    if as_json:
        click.echo(terminal_safe(found.to_json()))
    else:
        click.echo(terminal_safe(QUOTE_PRINTS[output_format](found, str(clip_path) if clip_path else None)), nl=False)


@main.command()
@click.argument("episode")
@archive_option
@click.option("--format", "fmt", type=RegistryChoice(registry_names("indexer.display.page", "FORMATS")), default="md",
              show_default=True, help="html/md: a readable page with chapters, speakers and timecodes; "
                                      "srt/vtt: subtitles; txt: plain text; json: the corrected transcript.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.option("--copy-audio", is_flag=True,
              help="html with --out: copy the audio next to the page (default: link it by a relative path).")
@json_option("the corrected transcript (the same as --format json)")
def export(episode, archive_dir, fmt, out_path, copy_audio, as_json):
    """Export an episode's transcript, corrections applied, as a page or subtitles.

    The page (html or md) has the title, date, speakers, description and source
    link of the sidecar, a heading per chapter and a paragraph per speaker turn,
    each with its [hh:mm:ss] timecode. The html page is the transcript player:
    the audio plays with the words highlighted, a click on a word seeks there, a
    selection shows the citation; it opens from disk, with no server and no network.

    Example: indexer export table-ronde-engagement --archive archive --format html --out table-ronde.html
    """
    from ..api import Archive
    from ..display.page import PageOptions

    if as_json:
        if click.get_current_context().get_parameter_source("fmt") is ParameterSource.COMMANDLINE and fmt != "json":
            raise click.UsageError(f"--json and --format {fmt} ask for two formats: give one")
        fmt = "json"
    text = Archive(archive_dir).export_page(episode, fmt, out=out_path, options=PageOptions(copy_audio=copy_audio))
    if out_path is None:
        click.echo(terminal_safe(text), nl=False)
    else:
        click.echo(printable(f"{episode}: {fmt} written to {out_path}"))
