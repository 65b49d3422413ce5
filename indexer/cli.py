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


def transcribe_options(func):
    """Decoding options shared by `transcribe` and `ingest`."""
    func = click.option("--model", default=None, help="Model name (base) or path to a CT2 dir / .pt checkpoint.")(func)
    func = click.option("--engine", type=click.Choice(["faster-whisper", "openai-whisper"]), default=None,
                        help="Transcription engine [default: faster-whisper].")(func)
    func = click.option("--language", default=None, help="Language code, or 'auto' to detect [default: fr].")(func)
    func = click.option("--preset", type=click.Choice(["fast", "accurate"]), default=None,
                        help="fast = greedy (default); accurate = beam search, slower.")(func)
    func = click.option("--threads", type=int, default=0, help="CPU threads per engine (0 = all cores).")(func)
    return func


def build_options(base, model, engine, language, preset_name, threads):
    """Apply command-line choices over archive or preset defaults."""
    from dataclasses import replace

    from .transcribe import preset

    options = preset(preset_name) if preset_name else base
    changes = {"cpu_threads": threads}
    if preset_name and base is not None:
        changes.update(model=base.model, engine=base.engine, language=base.language,
                       initial_prompt=base.initial_prompt)
    if model:
        changes["model"] = model
    if engine:
        changes["engine"] = engine
    if language:
        changes["language"] = None if language == "auto" else language
    return replace(options, **changes)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@transcribe_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to write the transcripts.")
@click.option("--format", "formats", default="json,srt,vtt,txt", show_default=True,
              help="Comma-separated export formats: json, srt, vtt, txt.")
@click.option("--glossary", multiple=True, help="A name or term to spell right (repeatable).")
@verbosity_options
def transcribe(files, model, engine, language, preset, threads, out_dir, formats, glossary, progress):
    """Transcribe audio files into timed transcripts.

    Example: indexer transcribe talk.mp3 --out transcripts --format json,srt
    """
    from .transcribe import TranscribeOptions, glossary_prompt, load_engine, transcribe_file
    from .transcript import export, get_exporter

    names = [f.strip() for f in formats.split(",") if f.strip()]
    for name in names:
        get_exporter(name)  # fail before any work on a bad format name
    options = build_options(TranscribeOptions(initial_prompt=glossary_prompt(glossary)),
                            model, engine, language, preset, threads)
    loaded = None
    failures = 0
    for path in files:
        try:
            from .audio import probe

            probe(path)  # a bad file fails in a second, before the model loads
            loaded = loaded or load_engine(options)
            result = transcribe_file(path, options, loaded, progress=progress)
            written = export(result, names, out_dir, stem=Path(path).stem)
            click.echo(f"{path}: {len(result.segments)} segments, {result.duration:.0f} s -> "
                       + ", ".join(str(w) for w in written))
        except IndexerError as e:
            failures += 1
            click.echo(f"error: {e.one_line()}", err=True)
    if failures:
        click.echo(f"{failures} of {len(files)} file(s) failed", err=True)
        sys.exit(1)


@main.command()
@click.argument("archive_dir", metavar="ARCHIVE", type=click.Path(file_okay=False, path_type=Path))
@transcribe_options
@click.option("--force", is_flag=True, help="Transcribe again even episodes that are up to date.")
@click.option("--only", metavar="PATTERN", help="Only episodes whose id or file name matches this glob.")
@click.option("--workers", type=int, default=0, help="Worker processes (0 = sized to the machine).")
@click.option("--scheduler", metavar="ADDRESS", help="Run transcriptions on a Dask cluster (tcp://host:8786).")
@click.option("--wait", "wait_for_lock", type=float, default=0.0,
              help="Seconds to wait if another ingest holds the archive.")
@click.option("--no-index", is_flag=True, help="Write transcripts only; do not update the search index.")
@verbosity_options
def ingest(archive_dir, model, engine, language, preset, threads, force, only, workers, scheduler,
           wait_for_lock, no_index, progress):
    """Transcribe and index every new or changed episode of an archive.

    Safe to repeat at any time: unchanged episodes are skipped, a crash or a bad
    file loses nothing, and a rerun continues where the last one stopped.

    Example: indexer ingest archive --workers 2
    """
    from .archive import load_settings
    from .batch import Ingest, IngestOptions, options_from_settings

    base = options_from_settings(load_settings(archive_dir)) if archive_dir.is_dir() else None
    transcribe = build_options(base, model, engine, language, preset, threads) if base else None
    options = IngestOptions(force=force, only=only, workers=workers, scheduler=scheduler, progress=progress,
                            index=not no_index, wait_for_lock=wait_for_lock, transcribe=transcribe)
    report = Ingest(archive_dir, options).run()
    click.echo(report.summary())
    if report.failed or report.interrupted:
        sys.exit(1 if report.failed else 130)


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
