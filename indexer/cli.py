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

from .errors import IndexerError, printable, storage_error

log = logging.getLogger("indexer")


class IndexerGroup(click.Group):
    """Turns IndexerError (and Ctrl-C) into one line instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except IndexerError as e:
            click.echo(f"error: {e.one_line()}", err=True)
            sys.exit(1)
        except OSError as e:  # a write the library did not expect to fail: still one line
            error = storage_error(e)
            if error is None:
                raise
            click.echo(f"error: {error.one_line()}", err=True)
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


def transcribe_options(func):
    """Decoding options shared by `transcribe` and `ingest`."""
    func = click.option("--model", default=None, help="Model name (base) or path to a CT2 dir / .pt checkpoint.")(func)
    func = click.option("--engine", type=click.Choice(["faster-whisper", "openai-whisper"]), default=None,
                        help="Transcription engine [default: faster-whisper].")(func)
    func = click.option("--language", default=None, help="Language code, or 'auto' to detect [default: fr].")(func)
    func = click.option("--preset", type=click.Choice(["auto", "fast", "accurate"]), default=None,
                        help="auto = greedy, beam search for episodes measured noisy (default); fast = greedy; "
                             "accurate = beam search, slower. A sidecar's preset: or noisy: still wins for "
                             "its episode.")(func)
    func = click.option("--threads", type=int, default=0, help="CPU threads per engine (0 = all cores).")(func)
    return func


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@transcribe_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to write the transcripts.")
@click.option("--format", "formats", default="json,srt,vtt,txt", show_default=True,
              help="Comma-separated export formats: json, srt, vtt, txt.")
@click.option("--glossary", multiple=True, help="A name or term to spell right (repeatable).")
@click.option("--speakers", "speakers_mode", default="auto", show_default=True,
              help="Automatic speakers: auto (count found), off, or the number of speakers.")
@verbosity_options
def transcribe(files, model, engine, language, preset, threads, out_dir, formats, glossary, speakers_mode,
               progress):
    """Transcribe audio files into timed transcripts, with automatic speakers S1, S2…

    Example: indexer transcribe talk.mp3 --out transcripts --format json,srt --speakers 2
    """
    from .archive import parse_speakers_mode
    from .speakers import SpeakerOptions
    from .transcribe import TranscribeOptions, TranscriptWriter, glossary_prompt, with_choices

    speakers = SpeakerOptions(mode=parse_speakers_mode(speakers_mode, field_name="--speakers"),
                              cpu_threads=threads or 0)
    # A bad format name or missing speaker weights fail here, before any transcription.
    writer = TranscriptWriter(out_dir, [f.strip() for f in formats.split(",") if f.strip()], speakers)
    options = with_choices(TranscribeOptions(initial_prompt=glossary_prompt(glossary)), model=model, engine=engine,
                           language=language, preset_name=preset, threads=threads or 0)
    failures = 0
    for outcome in writer.write(files, options, progress=progress):
        if outcome.error is not None:
            failures += 1
            click.echo(f"error: {outcome.error.one_line()}", err=True)
        else:
            click.echo(printable(f"{outcome.path}: {len(outcome.transcript.segments)} segments, "
                                 f"{outcome.transcript.duration:.0f} s -> " + ", ".join(map(str, outcome.written))))
    if failures:
        click.echo(f"{failures} of {len(files)} file(s) failed", err=True)
        sys.exit(1)


def ingest_run_options(func):
    """Options shared by `ingest` and `watch`."""
    func = click.option("--workers", type=int, default=0, help="Worker processes (0 = sized to the machine).")(func)
    func = click.option("--scheduler", metavar="ADDRESS",
                        help="Run transcriptions on a Dask cluster (tcp://host:8786).")(func)
    func = click.option("--ship-audio", is_flag=True, default=None,
                        help="With --scheduler: always send the audio to the workers (by default only to "
                             "workers that cannot read it at the same path).")(func)
    func = click.option("--no-index", is_flag=True,
                        help="Write transcripts only; do not update the search index.")(func)
    return func


def _ingest_options(transcribe=None, progress=True, no_index=False, **kwargs):
    from .ingest import IngestOptions

    # One bar for the whole run, on a terminal only (cron and logs get plain lines).
    return IngestOptions(transcribe=transcribe, progress=progress and sys.stderr.isatty(), index=not no_index,
                         **kwargs)


@main.command()
@click.argument("archive_dir", metavar="ARCHIVE", type=click.Path(file_okay=False, path_type=Path))
@transcribe_options
@click.option("--force", is_flag=True, help="Transcribe again even episodes that are up to date.")
@click.option("--only", metavar="PATTERN", help="Only episodes whose id or file name matches this glob.")
@ingest_run_options
@click.option("--wait", "wait_for_lock", type=float, default=0.0,
              help="Seconds to wait if another ingest holds the archive.")
@verbosity_options
def ingest(archive_dir, model, engine, language, preset, threads, force, only, workers, scheduler, ship_audio,
           wait_for_lock, no_index, progress):
    """Transcribe and index every new or changed episode of an archive.

    Safe to repeat at any time: unchanged episodes are skipped, a crash or a bad
    file loses nothing, and a rerun continues where the last one stopped. The
    exit status is 1 if any file failed (each is named in the report), 130 if
    interrupted. The run report is written to ARCHIVE/runs/.

    Example: indexer ingest archive --workers 2
    """
    from .api import Archive
    from .ingest import options_from_settings
    from .transcribe import with_choices

    archive = Archive(archive_dir)
    base = options_from_settings(archive.settings) if archive_dir.is_dir() else None
    transcribe = with_choices(base, model=model, engine=engine, language=language, preset_name=preset,
                              threads=threads or 0) if base else None
    report = archive.ingest(_ingest_options(transcribe, progress, no_index, force=force, only=only, workers=workers,
                                            scheduler=scheduler, ship_audio=ship_audio, wait_for_lock=wait_for_lock))
    click.echo(report.summary())
    if report.interrupted or report.failed:
        sys.exit(130 if report.interrupted else 1)


@main.command()
def models():
    """List the Whisper models available offline and where they live.

    Example: indexer models
    """
    from .errors import ModelNotFoundError
    from .models import list_models
    from .speakers.voice import weights_path

    for info in list_models():
        click.echo(f"{info.name:<12} {info.format:<12} {info.source:<28} {info.path}")
    try:
        click.echo(f"{'speakers':<12} {'resemblyzer':<12} {'PyPI resemblyzer==0.1.4':<28} {weights_path()}")
    except ModelNotFoundError as e:
        click.echo(f"{'speakers':<12} missing: {e.one_line()}")


@main.command("name-speakers")
@click.argument("episode")
@click.argument("names", nargs=-1, required=True)
@archive_option
def name_speakers(episode, names, archive_dir):
    """Name the automatic speakers of an episode: LABEL=NAME pairs.

    Stored in corrections/ (they survive re-transcription) and reindexed.

    Example: indexer name-speakers table-ronde S1="Claire Dubois" S2="Julien Morel" --archive archive
    """
    from .api import Archive
    from .errors import SpeakerNameError

    pairs = {}
    for item in names:
        label, eq, name = item.partition("=")
        if not eq:
            raise SpeakerNameError(f"expected LABEL=NAME, got {item!r}", hint='e.g. S1="Claire Dubois"')
        pairs[label.strip()] = name
    for correction in Archive(archive_dir).name_speakers(episode, pairs):
        click.echo(f"{correction.before} = {correction.after}")


def _date_range(ctx, param, value):
    """--date 2013, --date 2010..2011, --date 2010-06.. (open end), --date ..2011."""
    if value is None:
        return None
    start, dots, end = value.partition("..")
    return (start or None, end or None) if dots else value


def search_filter_options(func):
    """Filters shared by `search` and `similar`: the same as typed ones (speaker:, episode:, date:)."""
    func = click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True,
                        help="Number of hits.")(func)
    func = click.option("--speaker", help="Only segments of this speaker (name or part of it).")(func)
    func = click.option("--episode", "episodes", multiple=True,
                        help="Only this episode id (repeatable; '2011/*' for a prefix).")(func)
    func = click.option("--date", callback=_date_range, metavar="FROM[..TO]",
                        help="Only episodes of this date or period: 2013, 2010..2011, 2012-06.., ..2011.")(func)
    func = click.option("--exclude-suspect", is_flag=True, help="Leave out segments flagged suspect.")(func)
    func = click.option("--json", "as_json", is_flag=True,
                        help="Print the hits as a JSON list (with `matched`, `found_by`, `quote`).")(func)
    return func


def _print_hits(hits, as_json: bool, nothing: str) -> None:
    from .search import hit_lines, hits_json

    for line in hits.warnings:
        click.echo(f"warning: {printable(line)}", err=True)
    if as_json:
        click.echo(hits_json(hits))
        return
    mark = (lambda s: click.style(s, bold=True)) if sys.stdout.isatty() else (lambda s: f"*{s}*")
    for hit in hits:
        click.echo("\n".join(hit_lines(hit, mark)))
    if not hits:
        click.echo(nothing, err=True)


@main.command()
@click.argument("query")
@archive_option
@search_filter_options
@click.option("--match", type=click.Choice(["hybrid", "words", "meaning", "all", "any"]), default="hybrid",
              show_default=True,
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
    from .api import Archive

    hits = Archive(archive_dir).search(query, limit=limit, speaker=speaker, episode=list(episodes) or None,
                                       date=date, exclude_suspect=exclude_suspect, match=match)
    _print_hits(hits, as_json, f"no hit for {query}")


@main.command()
@click.argument("episode")
@click.argument("start", callback=lambda ctx, param, value: _timecode(ctx, param, value))
@click.argument("end", required=False, callback=lambda ctx, param, value: None if value is None else _timecode(
    ctx, param, value))
@archive_option
@search_filter_options
def similar(episode, start, end, archive_dir, limit, speaker, episodes, date, exclude_suspect, as_json):
    """More like this: moments of the archive about the same thing as EPISODE from START to END.

    START and END are seconds or hh:mm:ss (as `indexer quote` takes them); the
    moment itself is never returned.

    Example: indexer similar 2011/entretien-moderation 00:00:25 00:00:32 --archive archive --limit 5
    """
    from .api import Archive

    hits = Archive(archive_dir).similar(episode, start, end if end is not None else start, limit=limit,
                                        speaker=speaker, episode_filter=list(episodes) or None,
                                        date=date, exclude_suspect=exclude_suspect)
    _print_hits(hits, as_json, f"nothing like {episode} at {start}")


@main.command()
@click.argument("archive_arg", metavar="[ARCHIVE]", required=False,
                type=click.Path(file_okay=False, path_type=Path))
@archive_option
@click.option("--allow-empty", is_flag=True,
              help="The transcripts are really gone: let an empty index replace one that is not.")
@click.option("--wait", "wait_for_lock", type=float, default=0.0,
              help="Seconds to wait if an ingest holds the archive.")
@verbosity_options
def reindex(archive_arg, archive_dir, allow_empty, wait_for_lock, progress):
    """Rebuild the search index from the transcripts on disk.

    The old index stays searchable until the new one is complete, and is kept
    if the new one would miss a transcript that cannot be read, or would be
    empty while the old one is not (an unmounted folder). Needed after an
    upgrade that changes the index schema. Waits for no ingest: it stops with
    a message if one is running (or waits, --wait SECONDS).

    Example: indexer reindex archive   (or: indexer reindex --archive archive)
    """
    from .api import Archive
    from .errors import StoreKeptError

    archive = Archive(archive_arg or archive_dir)
    try:
        result = archive.reindex(progress=progress, allow_empty=allow_empty, wait=wait_for_lock)
    except StoreKeptError as e:
        for line in e.skipped:
            click.echo(f"  SKIPPED {printable(line)}", err=True)
        raise
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


def _timecode(ctx, param, value):
    from .archive import parse_timecode

    try:
        return parse_timecode(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not seconds or hh:mm:ss") from None


@main.command()
@click.argument("episode")
@click.argument("start", callback=_timecode)
@click.argument("end", callback=_timecode)
@archive_option
@click.option("--clip", "clip_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the audio clip here (.mp3, .wav, .ogg or .m4a), citation in its tags.")
@click.option("--format", "output_format", type=click.Choice(["md", "json", "txt"]), default="txt",
              show_default=True, help="How to print the quote.")
def quote(episode, start, end, archive_dir, clip_path, output_format):
    """Quote an episode between START and END: exact words, speaker and citation.

    START and END are seconds (754.2) or hh:mm:ss (00:12:34.2); the quote snaps
    to the words overlapping that range (corrections included).

    Example: indexer quote metier-community-manager 00:00:05 00:00:11 --archive archive --clip extrait.mp3 --format md
    """
    from .api import Archive

    archive = Archive(archive_dir)
    found = archive.quote(episode, start, end)
    if clip_path is not None:
        found.export(archive.layout.output_path(clip_path))
    if output_format == "json":
        click.echo(_terminal_safe(found.to_json()))
    elif output_format == "md":
        click.echo(_terminal_safe(found.to_markdown(str(clip_path) if clip_path else None)), nl=False)
    else:
        click.echo(_terminal_safe(found.to_text()))


def _terminal_safe(text: str) -> str:
    """Text from the archive (sidecars, transcripts, corrections) as printed: its lines stay lines, every
    other control character is escaped (an OSC 52 sequence in a title wrote to the clipboard)."""
    return printable(text, keep="\n\t")


# --- status, watch and export ---------------------------------------------------

@main.command()
@click.argument("archive_dir", metavar="ARCHIVE", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status(archive_dir, as_json):
    """Show what an archive holds and what `ingest` still has to do.

    Episodes and hours of audio, how many are transcribed and indexed, pending
    (new or changed since the last ingest), failed in the last run, and
    segments flagged suspect. Reads only: safe while an ingest runs.

    Example: indexer status archive --json
    """
    import json
    from dataclasses import asdict

    from .api import Archive

    found = Archive(archive_dir).status()
    click.echo(json.dumps(asdict(found), ensure_ascii=False, indent=1) if as_json else found.table())


@main.command()
@click.argument("archive_dir", metavar="ARCHIVE", type=click.Path(file_okay=False, path_type=Path))
@click.option("--every", "interval", type=click.FloatRange(min=1.0), default=300.0, show_default=True,
              help="Seconds between two looks at the archive.")
@ingest_run_options
@verbosity_options
def watch(archive_dir, interval, workers, scheduler, ship_audio, no_index, progress):
    """Ingest new or changed files as they appear, until stopped (Ctrl-C or SIGTERM).

    Looks at the archive every --every seconds and runs an ingest when a file
    was added, changed or removed (and has stopped changing). Settings come
    from ARCHIVE/archive.yaml.

    Example: indexer watch archive --every 600
    """
    from .api import Archive

    options = _ingest_options(progress=progress, no_index=no_index, workers=workers, scheduler=scheduler,
                              ship_audio=ship_audio)
    Archive(archive_dir).watch(options, interval, on_report=lambda report: click.echo(report.summary()))


@main.command()
@click.argument("episode")
@archive_option
@click.option("--format", "fmt", type=click.Choice(["html", "md", "srt", "vtt", "txt", "json"]), default="md",
              show_default=True, help="html/md: a readable page with chapters, speakers and timecodes; "
                                      "srt/vtt: subtitles; txt: plain text; json: the corrected transcript.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.option("--copy-audio", is_flag=True,
              help="html with --out: copy the audio next to the page (default: link it by a relative path).")
def export(episode, archive_dir, fmt, out_path, copy_audio):
    """Export an episode's transcript, corrections applied, as a page or subtitles.

    The page (html or md) has the title, date, speakers, description and source
    link of the sidecar, a heading per chapter and a paragraph per speaker turn,
    each with its [hh:mm:ss] timecode. The html page is the transcript player:
    the audio plays with the words highlighted, a click on a word seeks there, a
    selection shows the citation; it opens from disk, with no server and no network.

    Example: indexer export table-ronde-engagement --archive archive --format html --out table-ronde.html
    """
    from .api import Archive
    from .display.page import PageOptions

    text = Archive(archive_dir).export_page(episode, fmt, out=out_path, options=PageOptions(copy_audio=copy_audio))
    if out_path is None:
        click.echo(_terminal_safe(text), nl=False)
    else:
        click.echo(printable(f"{episode}: {fmt} written to {out_path}"))


@main.group(cls=IndexerGroup)
def voices():
    """The voices the archive knows: a name given once is found in every episode with that voice.

    Example: indexer voices list --archive archive
    """


@voices.command("list")
@archive_option
@click.option("--json", "as_json", is_flag=True, help="Print the voices as a JSON list.")
def voices_list(archive_dir, as_json):
    """Known voices: episodes, speaking time, speakers named by editors and automatically.

    Example: indexer voices list --archive archive --json
    """
    import json
    from dataclasses import asdict

    from .api import Archive

    table = Archive(archive_dir).voices()
    click.echo(json.dumps([asdict(r) for r in table], ensure_ascii=False, indent=1) if as_json else repr(table))


@voices.command("rename")
@click.argument("name")
@click.argument("new_name")
@archive_option
def voices_rename(name, new_name, archive_dir):
    """Show the voice NAME as NEW_NAME everywhere (a merge if NEW_NAME is a voice already).

    Example: indexer voices rename Sandra "Sandra Dupont" --archive archive
    """
    from .api import Archive

    Archive(archive_dir).rename_voice(name, new_name)
    click.echo(printable(f"{name} -> {new_name}"))


@voices.command("merge")
@click.argument("names", nargs=-1, required=True)
@click.option("--into", required=True, help="The name shown for all of them.")
@archive_option
def voices_merge(names, into, archive_dir):
    """One voice from several names (one person named two ways).

    Example: indexer voices merge "S. Dupont" "Sandra D." --into "Sandra Dupont" --archive archive
    """
    from .api import Archive

    Archive(archive_dir).merge_voices(names, into)
    click.echo(printable(f"{', '.join(names)} -> {into}"))


@voices.command("forget")
@click.argument("name")
@archive_option
def voices_forget(name, archive_dir):
    """Take a voice out of the library: no automatic name from it any more (editors' names stay).

    Example: indexer voices forget Julien --archive archive
    """
    from .api import Archive

    Archive(archive_dir).forget_voice(name)
    click.echo(printable(f"{name} forgotten"))


@voices.command("rebuild")
@archive_option
@click.option("--wait", "wait_for_lock", type=float, default=0.0,
              help="Wait up to this many seconds for a running ingest.")
def voices_rebuild(archive_dir, wait_for_lock):
    """Rebuild the voice library from the corrections, sidecars and transcripts, and re-index the
    episodes whose speaker names changed (ingest does it after every run).

    Example: indexer voices rebuild --archive archive
    """
    from .api import Archive

    update = Archive(archive_dir).update_voices(wait_for_lock)
    for line in update.lines():
        click.echo(printable(line))


if __name__ == "__main__":  # pragma: no cover
    main()
