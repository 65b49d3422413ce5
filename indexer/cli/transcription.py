"""Commands that transcribe: ``transcribe`` (files), ``ingest`` and ``watch`` (an archive), ``models``."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import click

from ..errors import printable
from .options import (RegistryChoice, archive_option_and_old_positional, echo_json, json_option, registry_names)
from .shell import main, verbosity_options


def _engine_class(name: str) -> type:
    from ..transcribe.engines import engine_class

    return engine_class(name)


def transcribe_options(func: Callable) -> Callable:
    """Decoding options shared by `transcribe` and `ingest`."""
    func = click.option("--model", default=None, help="Model name (base) or path to a CT2 dir / .pt checkpoint.")(func)
    func = click.option("--engine", type=RegistryChoice(registry_names("indexer.transcribe", "ENGINES"),
                                                         resolve=_engine_class), default=None,
                        help="Transcription engine, or an engine class by import path [default: faster-whisper, "
                             "or archive.yaml's].")(func)
    func = click.option("--language", default=None, help="Language code, or 'auto' to detect [default: fr].")(func)
    func = click.option("--preset", type=RegistryChoice(registry_names("indexer.transcribe", "PRESETS")),
                        default=None,
                        help="auto = beam 2, beam 5 where a window (a few minutes) measures noisy (default); "
                             "fast = beam 2 always; accurate = beam 5, slower. A sidecar's preset: or noisy: still "
                             "wins for its episode.")(func)
    func = click.option("--threads", type=int, default=0, help="CPU threads per engine (0 = all cores).")(func)
    return func


class FormatList(RegistryChoice):
    """Comma-separated names of one registry (``json,srt``)."""

    name = "formats"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self.choices) + "],…"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        names = tuple(name.strip() for name in str(value).split(",") if name.strip())
        return tuple(super(FormatList, self).convert(name, param, ctx) for name in names) or self.choices


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@transcribe_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to write the transcripts.")
@click.option("--format", "formats", type=FormatList(registry_names("indexer.transcript", "EXPORTERS")),
              default="", help="Comma-separated file formats to write [default: all of them].")
@click.option("--glossary", multiple=True, help="A name or term to spell right (repeatable).")
@click.option("--speakers", "speakers_mode", default="auto", show_default=True,
              help="Automatic speakers: auto (count found), off, or the number of speakers.")
@json_option("one object per file (segments, duration, files written, error)")
@verbosity_options
def transcribe(files, model, engine, language, preset, threads, out_dir, formats, glossary, speakers_mode,
               as_json, progress):
    """Transcribe audio files into timed transcripts, with automatic speakers S1, S2…

    Writes one file per format (--format, all of them by default) into --out;
    reads no archive.

    Example: indexer transcribe talk.mp3 --out transcripts --format json,srt --speakers 2
    """
    from ..archive import parse_speakers_mode
    from ..speakers import SpeakerOptions
    from ..transcribe import TranscribeOptions, TranscriptWriter, glossary_prompt, with_choices

    speakers = SpeakerOptions(mode=parse_speakers_mode(speakers_mode, field_name="--speakers"),
                              cpu_threads=threads or 0)
    # Missing speaker weights fail here, before any transcription.
    writer = TranscriptWriter(out_dir, formats, speakers)
    options = with_choices(TranscribeOptions(initial_prompt=glossary_prompt(glossary)), model=model, engine=engine,
                           language=language, preset_name=preset, threads=threads or 0)
    failures, rows = 0, []
    for outcome in writer.write(files, options, progress=progress):
        if outcome.error is not None:
            failures += 1
            click.echo(f"error: {outcome.error.one_line()}", err=True)
            rows.append({"file": str(outcome.path), "error": outcome.error.one_line()})
        else:
            transcript = outcome.transcript
            rows.append({"file": str(outcome.path), "segments": len(transcript.segments),
                         "duration": transcript.duration, "written": [str(p) for p in outcome.written]})
            if not as_json:
                click.echo(printable(f"{outcome.path}: {len(transcript.segments)} segments, "
                                     f"{transcript.duration:.0f} s -> " + ", ".join(map(str, outcome.written))))
    if as_json:
        echo_json(rows)
    if failures:
        click.echo(f"{failures} of {len(files)} file(s) failed", err=True)
        sys.exit(1)


def ingest_run_options(func: Callable) -> Callable:
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
    from ..ingest import IngestOptions

    # One bar for the whole run, on a terminal only (cron and logs get plain lines).
    return IngestOptions(transcribe=transcribe, progress=progress and sys.stderr.isatty(), index=not no_index,
                         **kwargs)


@main.command()
@archive_option_and_old_positional
@transcribe_options
@click.option("--force", is_flag=True, help="Transcribe again even episodes that are up to date.")
@click.option("--only", metavar="PATTERN", help="Only episodes whose id or file name matches this glob.")
@ingest_run_options
@click.option("--wait", "wait_for_lock", type=float, default=0.0,
              help="Seconds to wait if another ingest holds the archive.")
@json_option("the run report (as saved in ARCHIVE/runs/)")
@verbosity_options
def ingest(archive_dir, model, engine, language, preset, threads, force, only, workers, scheduler, ship_audio,
           wait_for_lock, no_index, as_json, progress):
    """Transcribe and index every new or changed episode of an archive.

    Safe to repeat at any time: unchanged episodes are skipped, a crash or a bad
    file loses nothing, and a rerun continues where the last one stopped. The
    exit status is 1 if any file failed (each is named in the report), 130 if
    interrupted. The run report is written to ARCHIVE/runs/.

    Example: indexer ingest --archive archive --workers 2
    """
    from ..api import Archive
    from ..ingest import options_from_settings
    from ..transcribe import with_choices

    archive = Archive(archive_dir)
    base = options_from_settings(archive.settings) if archive_dir.is_dir() else None
    transcribe = with_choices(base, model=model, engine=engine, language=language, preset_name=preset,
                              threads=threads or 0) if base else None
    report = archive.ingest(_ingest_options(transcribe, progress, no_index, force=force, only=only, workers=workers,
                                            scheduler=scheduler, ship_audio=ship_audio, wait_for_lock=wait_for_lock))
    if as_json:
        echo_json(asdict(report))
    else:
        click.echo(report.summary())
    if report.interrupted or report.failed:
        sys.exit(130 if report.interrupted else 1)


@main.command()
@archive_option_and_old_positional
@click.option("--every", "interval", type=click.FloatRange(min=1.0), default=300.0, show_default=True,
              help="Seconds between two looks at the archive.")
@ingest_run_options
@json_option("each run's report, one JSON object per line")
@verbosity_options
def watch(archive_dir, interval, workers, scheduler, ship_audio, no_index, as_json, progress):
    """Ingest new or changed files as they appear, until stopped (Ctrl-C or SIGTERM).

    Looks at the archive every --every seconds and runs an ingest when a file
    was added, changed or removed (and has stopped changing). Settings come
    from ARCHIVE/archive.yaml.

    Example: indexer watch --archive archive --every 600
    """
    from ..api import Archive

    options = _ingest_options(progress=progress, no_index=no_index, workers=workers, scheduler=scheduler,
                              ship_audio=ship_audio)
    show = (lambda report: echo_json(asdict(report), indent=None)) if as_json else (
        lambda report: click.echo(report.summary()))
    Archive(archive_dir).watch(options, interval, on_report=show)


@main.command()
@json_option("the models")
def models(as_json):
    """List the models available offline and where they live: Whisper, speaker voices, sentence embeddings.

    Example: indexer models --json
    """
    from ..embeddings import EMBEDDING_MODELS
    from ..errors import IndexerError
    from ..models import list_models
    from ..speakers import BACKENDS

    rows = [{"kind": "whisper", "name": info.name, "format": info.format, "source": info.source,
             "path": str(info.path)} for info in list_models()]
    for name, backend in BACKENDS.items():
        try:
            backend.check_installed()
            note = getattr(backend, "runtime_note", None)
            rows.append({"kind": "speakers", "name": name, "installed": True, **({"runtime": note()} if note else {})})
        except IndexerError as e:
            rows.append({"kind": "speakers", "name": name, "installed": False, "error": e.one_line()})
    for name, model in EMBEDDING_MODELS.items():
        rows.append({"kind": "embeddings", "name": name, "requirement": getattr(model, "requirement", "")})
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        if row["kind"] == "whisper":
            click.echo(f"{row['name']:<12} {row['format']:<12} {row['source']:<28} {row['path']}")
        elif row["kind"] == "speakers":
            click.echo(f"{'speakers':<12} {row['name']:<12} " + (
                f"installed{'; ' + row['runtime'] if row.get('runtime') else ''}" if row["installed"]
                else f"missing: {row['error']}"))
        else:
            click.echo(f"{'embeddings':<12} {row['name']:<12} {row['requirement']}")
