"""Readable transcript pages: an episode as HTML or Markdown, like oral-history archives publish them.

A page (the layout of OHMS and similar viewers) has the episode's title, date,
speakers, description and source link, a table of contents of the chapters,
then one heading per chapter and one paragraph per speaker turn, each opened by
its ``[hh:mm:ss]`` timecode. A long turn is cut into paragraphs of about
:attr:`PageOptions.paragraph_seconds`, so a reader is never far from a timecode.

Pages are built from the *effective* transcript (editors' corrections applied,
see :mod:`indexer.corrections`: its segments carry who speaks), cut into chapters
and speaker turns by :mod:`indexer.sections` (the domain side: no HTML there).

The HTML page is the transcript player of :mod:`indexer.display.player` (audio,
words highlighted as they play, selection → citation), standalone: script and
styles inline, the audio linked by a path relative to the page. Without
JavaScript the same text shows as static paragraphs (``<noscript>``).

Formats by name, like :data:`indexer.transcript.EXPORTERS`: ``html`` and ``md``
here, ``srt``, ``vtt``, ``txt`` and ``json`` through
:func:`indexer.transcript.get_exporter` (:func:`render` takes any of them).
Transcript text and sidecar fields are escaped in both page formats.
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..archive import ArchiveLayout, EpisodeMeta, atomic_write_text, safe_url
from ..corrections import CORRECTED_FLAG, effective_episode
from ..errors import FormatError, writing
from ..quotes import EpisodeContext
from ..sections import Paragraph, Section, SectionOptions, sections
from ..transcript import EXPORTERS, Segment, Transcript, get_exporter, hms
from .i18n import _, sidecar_date
from .markdown import md_escape, md_url
from .player import player_html
from .player_audio import page_audio
from .player_data import AudioSource, PlayerOptions, player_data


@dataclass(frozen=True)
class PageOptions(SectionOptions):  # paragraph_seconds, chapter_tolerance: see indexer.sections
    copy_audio: bool = False         # html written to a file: copy the audio next to it (else a relative link)
    player_height: str = "65vh"      # of the player's scrolling transcript (its quote panel fits below)


def _facts(transcript: Transcript, meta: EpisodeMeta) -> list[tuple[str, str]]:
    """The facts a page opens with, as (message id, text): date, speakers, duration, source; the unknown
    left out. The date as the sidecar has it (the HTML page shows it the display language's way)."""
    facts = [("page.date", meta.date), ("page.speakers", ", ".join(_speakers(transcript, meta))),
             ("page.duration", hms(transcript.duration, round_up=True)), ("page.source", safe_url(meta.source_url))]
    return [(label, value) for label, value in facts if value]


def _speakers(transcript: Transcript, meta: EpisodeMeta) -> list[str]:
    names = list(meta.speakers)
    for seg in transcript.segments:
        if seg.speaker and seg.speaker not in names:
            names.append(seg.speaker)
    return names


# --- HTML ----------------------------------------------------------------------------

_CSS = """
.indexer-page { font-family: Georgia, serif; max-width: 46em; margin: 2em auto; line-height: 1.55; }
.indexer-page .meta { color: #555; }
.indexer-page .meta dt { float: left; clear: left; width: 7em; }
.indexer-page .meta dd { margin-left: 7em; }
.indexer-page .timecode { font-family: monospace; color: #666; text-decoration: none; margin-right: .4em; }
.indexer-page .speaker { font-weight: bold; margin-right: .3em; }
.indexer-page .suspect { text-decoration: underline dotted #c60; }
.indexer-page nav li { list-style: none; }
"""


def to_html(transcript: Transcript, meta: EpisodeMeta, options: PageOptions | None = None, *,
            audio: AudioSource | None = None, machine: Transcript | None = None) -> str:
    """A standalone HTML page (UTF-8, inline CSS and script, nothing loaded from elsewhere):
    the episode's facts, then the transcript player (:mod:`indexer.display.player`) playing ``audio``,
    with the static transcript in ``<noscript>``. ``machine``: the transcript before corrections."""
    esc = html.escape
    options = options or PageOptions()
    title = meta.title or transcript.episode_id
    parts = [f"<h1>{esc(title)}</h1>"]
    shown = {"page.date": lambda v: f"<time datetime='{esc(v)}'>{esc(sidecar_date(v))}</time>",
             "page.source": lambda url: f"<a href='{esc(url)}'>{esc(url)}</a>"}
    facts = "".join(f"<dt>{esc(_(label))}</dt><dd>{shown.get(label, esc)(value)}</dd>"
                    for label, value in _facts(transcript, meta))
    parts.append(f"<dl class='meta'>{facts}</dl>")
    if meta.description:
        parts.append(f"<p class='description'>{esc(meta.description)}</p>")
    found = sections(transcript, meta, options)
    titled = [(n, s) for n, s in enumerate(found) if s.title]
    if titled:
        items = "".join(f"<li><a href='#chapter-{n}'>[{hms(s.start)}] {esc(s.title)}</a></li>" for n, s in titled)
        parts.append(f"<nav><h2>{_('page.chapters')}</h2><ol>{items}</ol></nav>")
    player_options = PlayerOptions(height=options.player_height)
    data = player_data(EpisodeContext.build(transcript, meta, machine=machine), machine=machine,
                       audio=audio, options=player_options, player_id="page")
    parts.append(player_html(data, player_options))
    parts.append(f"<noscript>{_static_transcript(found)}</noscript>")
    lang = esc(meta.language or transcript.language or "fr")
    return (f"<!DOCTYPE html>\n<html lang='{lang}'>\n<head>\n<meta charset='utf-8'>\n"
            f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<article class='indexer-page'>\n" + "\n".join(parts) + "\n</article>\n</body>\n</html>\n")


def _static_transcript(found: list[Section]) -> str:
    """The transcript as plain paragraphs (what a browser without JavaScript shows)."""
    esc = html.escape
    parts = []
    for n, section in enumerate(found):
        body = []
        if section.title:
            body.append(f"<h2 id='chapter-{n}'>{esc(section.title)} "
                        f"<small class='timecode'>[{hms(section.start)}]</small></h2>")
        for paragraph in section.paragraphs:
            anchor = f"t-{int(paragraph.start)}"
            who = f"<span class='speaker'>{esc(paragraph.speaker)} :</span> " if paragraph.speaker else ""
            texts = " ".join(_segment_html(seg) for seg in paragraph.segments)
            body.append(f"<p class='turn' id='{anchor}' data-start='{paragraph.start:.2f}'>"
                        f"<a class='timecode' href='#{anchor}'>[{hms(paragraph.start)}]</a> {who}{texts}</p>")
        parts.append(f"<section class='chapter'>{''.join(body)}</section>")
    return "".join(parts)


def _segment_html(seg: Segment) -> str:
    classes = ["segment"] + (["suspect"] if seg.suspect else []) + (["corrected"] if CORRECTED_FLAG in seg.flags else [])
    hint = f" title='{_('page.uncertain')}'" if seg.suspect else ""
    return (f"<span class='{' '.join(classes)}' data-segment='{seg.id}' data-start='{seg.start:.2f}'{hint}>"
            f"{html.escape(seg.text.strip())}</span>")


# --- Markdown ------------------------------------------------------------------------

def to_markdown(transcript: Transcript, meta: EpisodeMeta, options: PageOptions | None = None) -> str:
    """A Markdown page: ``#`` title, facts, ``##`` chapter headings, ``**[hh:mm:ss] Speaker :**`` paragraphs."""
    title = meta.title or transcript.episode_id
    lines = [f"# {md_escape(title)}", ""]
    for label, value in _facts(transcript, meta):
        shown = f"<{md_url(value)}>" if label == "page.source" else md_escape(sidecar_date(value) if label == "page.date" else value)
        lines.append(f"- **{md_escape(_(label))} :** {shown}")
    lines.append("")
    if meta.description:
        # One paragraph, and not read as a list item or a heading underline.
        description = md_escape(" ".join(meta.description.split()))
        description = re.sub(r"^(\d+)([.)])", r"\1\\\2", re.sub(r"^([-+=])", r"\\\1", description))
        lines += [description, ""]
    for section in sections(transcript, meta, options):
        if section.title:
            lines += [f"## {md_escape(section.title)} [{hms(section.start)}]", ""]
        for paragraph in section.paragraphs:
            who = f" {md_escape(paragraph.speaker)} :" if paragraph.speaker else ""
            text = " ".join(md_escape(seg.text.strip()) for seg in paragraph.segments)
            lines += [f"**\\[{hms(paragraph.start)}\\]{who}** {text}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# --- formats ---------------------------------------------------------------------------

PAGE_FORMATS: dict[str, Callable[..., str]] = {"html": to_html, "md": to_markdown}
FORMATS: tuple[str, ...] = tuple(sorted(set(PAGE_FORMATS) | set(EXPORTERS)))


def render_page(transcript: Transcript, meta: EpisodeMeta, fmt: str = "html",
                options: PageOptions | None = None, **player) -> str:
    """The page of ``transcript`` in ``fmt``: ``html`` or ``md``; ``player``: the html player's
    ``audio`` and ``machine`` transcript (see :func:`to_html`)."""
    try:
        page = PAGE_FORMATS[fmt]
    except KeyError:
        raise FormatError(f"unknown page format {fmt!r}; valid formats: {', '.join(sorted(PAGE_FORMATS))}") \
            from None
    return page(transcript, meta, options, **player) if fmt == "html" else page(transcript, meta, options)


def render(transcript: Transcript, meta: EpisodeMeta, fmt: str, options: PageOptions | None = None,
           **player) -> str:
    """``fmt`` is a page format (html, md) or an export format (srt, vtt, txt, json)."""
    if fmt in PAGE_FORMATS:
        return render_page(transcript, meta, fmt, options, **player)
    if fmt not in EXPORTERS:
        raise FormatError(f"unknown export format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    return get_exporter(fmt)(transcript)


def export_episode(layout: ArchiveLayout, episode_id: str, fmt: str = "html", out: str | Path | None = None,
                   options: PageOptions | None = None) -> str:
    """The effective transcript of one episode in ``fmt``; also written to ``out`` if given."""
    if fmt not in FORMATS:  # before reading anything
        raise FormatError(f"unknown export format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    shown = effective_episode(layout, episode_id)
    machine = shown.machine
    out = layout.output_path(out) if out is not None else None
    player = {}
    if fmt == "html":
        audio_path = layout.audio_file(machine.audio_path)
        if out is not None and audio_path is not None and audio_path.is_file() and options and options.copy_audio:
            audio_path = _copy_beside(audio_path, Path(out).parent)
        player = {"audio": page_audio(audio_path, Path(out).parent if out is not None else None),
                  "machine": machine}
    text = render(shown.transcript, shown.meta, fmt, options, **player)
    if out is not None:
        atomic_write_text(Path(out), text, sweep=True)  # and what a killed export left beside it
    return text


def _copy_beside(audio_path: Path, folder: Path) -> Path:
    """The audio copied into ``folder``; an identical copy already there is kept, and another
    recording of the same name is never replaced (two episodes can share a file name)."""
    import filecmp

    from ..errors import StorageError

    with writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / audio_path.name
        if target.exists() and not filecmp.cmp(audio_path, target, shallow=False):
            raise StorageError(f"holds another recording named {audio_path.name}: export this page to another "
                               "folder", folder)
        if not target.exists():
            shutil.copy2(audio_path, target)
    return target


__all__ = ["FORMATS", "PAGE_FORMATS", "PageOptions", "Paragraph", "Section", "export_episode", "md_escape",
           "render", "render_page", "sections", "to_html", "to_markdown"]
