"""The transcript player: read and listen at once, select words, get a cited quote.

Display code, apart from the domain types it shows (:mod:`indexer.quotes`,
:mod:`indexer.pages`). Three parts:

* :func:`player_data` — a pure function from an episode (its effective
  transcript, machine transcript and metadata) to the one JSON document the
  player receives: words with times, probabilities and marks, segments with
  flags, speakers, chapters, sections (chapter → speaker turn) and the
  citation fields. Everything the page shows is in it, as data.
* :func:`player_html` — that document embedded in an HTML fragment with
  ``static/player.js`` and ``static/player.css`` inlined (no network, no CDN).
  The script sets every text with ``textContent``; the JSON is escaped so
  that ``</script>`` in a title cannot end its ``<script>`` element.
* :class:`Player` — what ``archive.player()``, ``hit.player()`` and
  ``quote.player()`` return: HTML in Jupyter, and, given a ``basket``, a small
  anywidget bridge through which the page adds quotes to a
  :class:`~indexer.quotes.QuoteBasket` in the kernel.

Audio is never inlined for long files. In Jupyter the ``<audio>`` element
gets a path relative to the notebook, which JupyterLab rewrites to its
``files/`` route; that only works for files under the server's root, so
when the audio is elsewhere (or no server is found) a clip of at most
:attr:`PlayerOptions.embed_seconds` around the start is inlined instead and
the player says so. Exported pages link the audio by a relative path.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import os
import uuid
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable
from urllib.parse import quote as url_quote

from .archive import ArchiveLayout, EpisodeMeta, safe_url
from .corrections import CORRECTED_FLAG, normalise_token
from .errors import IndexerError, QuoteError
from .quotes import CITATION_FIELDS, EpisodeContext, QuoteOptions, _FIELD
from .transcript import Transcript

log = logging.getLogger("indexer")

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PlayerOptions:
    low_confidence: float = QuoteOptions.low_confidence  # words below this are marked, as in quotes
    citation_format: str = QuoteOptions.citation_format
    # Longest clip inlined (base64) when the audio cannot be served by Jupyter:
    # 10 minutes of 48 kbit/s mp3 is 3.6 MB, 4.8 MB as base64 in the notebook.
    embed_seconds: float = 600.0
    embed_before: float = 30.0          # seconds of the clip before the start asked for
    height: str = "28em"                # of the scrolling transcript


@dataclass(frozen=True)
class AudioSource:
    """What the ``<audio>`` element plays: ``src`` from ``offset`` (episode seconds) to ``end``."""

    src: str = ""
    offset: float = 0.0
    end: float | None = None            # None: to the end of the episode
    note: str = ""                      # shown above the transcript (e.g. "a clip only")


# --- the data -----------------------------------------------------------------------------

def player_data(ctx: EpisodeContext, *, machine: Transcript | None = None, start: float | None = None,
                end: float | None = None, marked: Iterable[int] = (), select: tuple[int, int] | None = None,
                audio: AudioSource | None = None, options: PlayerOptions | None = None,
                player_id: str = "") -> dict:
    """The JSON document of the player for one episode (pure: reads no file).

    ``ctx`` holds the effective transcript (corrections applied); ``machine``
    the machine transcript, to tell corrected words from the machine's (without
    it every word of a corrected segment is marked). ``start``/``end`` is where
    the player opens, ``marked`` the indices (in ``ctx.words``) of words to mark
    (a hit's matches), ``select`` a first/last word index range shown as the
    current quote.
    """
    from .pages import sections  # pages imports this module for its HTML page

    options = options or PlayerOptions()
    _check_citation_format(options.citation_format)
    meta = ctx.meta
    segments = ctx.transcript.segments
    machine_words = _machine_words(machine)
    speakers: list[str] = []

    def speaker_index(name: str | None) -> int | None:
        if not name:
            return None
        if name not in speakers:
            speakers.append(name)
        return speakers.index(name)

    marked = frozenset(marked)
    words = []
    for k, (w, s, who) in enumerate(zip(ctx.words, ctx.segment_of, _word_speakers(ctx))):
        seg = segments[s]
        corrected = CORRECTED_FLAG in seg.flags and \
            machine_words.get((round(w.start, 3), round(w.end, 3))) != normalise_token(w.word)
        words.append({
            "text": w.word.strip(), "space": w.word[:1].isspace(),
            "start": round(w.start, 3), "end": round(w.end, 3), "p": round(w.probability, 3),
            "low": w.probability < options.low_confidence, "corrected": corrected, "marked": k in marked,
            "segment": s, "speaker": speaker_index(who),
        })
    first_word: dict[int, int] = {}
    for k, s in enumerate(ctx.segment_of):
        first_word.setdefault(s, k)
    counts: dict[int, int] = {}
    for s in ctx.segment_of:
        counts[s] = counts.get(s, 0) + 1
    position = {id(seg): i for i, seg in enumerate(segments)}
    chapters = sorted(meta.chapters, key=lambda c: c.start)
    return {
        "schema": SCHEMA_VERSION, "id": player_id,
        "episode": ctx.episode_id, "title": meta.title or ctx.episode_id, "date": meta.date,
        "source_url": safe_url(meta.source_url), "language": meta.language or ctx.transcript.language or "fr",
        "duration": round(ctx.duration, 3),
        "citation_format": options.citation_format, "low_confidence": options.low_confidence,
        "start": start, "end": end, "select": list(select) if select else None,
        "audio": {"src": audio.src, "offset": audio.offset, "end": audio.end, "note": audio.note}
        if audio and audio.src else {"src": "", "offset": 0.0, "end": None, "note": audio.note if audio else ""},
        "speakers": speakers,
        "chapters": [{"start": c.start, "title": c.title} for c in chapters],
        "segments": [{"id": seg.id, "start": seg.start, "end": seg.end,
                      "speaker": speaker_index(seg.speaker or meta.speaker_at(seg.start, seg.end)),
                      "flags": list(seg.flags), "suspect": seg.suspect, "corrected": CORRECTED_FLAG in seg.flags,
                      "estimated": i in ctx.estimated,
                      "first": first_word.get(i, 0), "count": counts.get(i, 0)}
                     for i, seg in enumerate(segments)],
        "sections": [{"title": section.title, "start": section.start,
                      "paragraphs": [{"speaker": speaker_index(p.speaker), "start": p.start,
                                      "segments": [position[id(seg)] for seg in p.segments]}
                                     for p in section.paragraphs]}
                     for section in sections(ctx.transcript, meta)],
        "words": words,
    }


def _word_speakers(ctx: EpisodeContext) -> Iterable[str | None]:
    """Who says each word, as :meth:`EpisodeContext.span` decides it (the segment's speaker, else the
    sidecar's turn overlapping the word most). Only the turns overlapping a word's segment are looked
    at: player_data of two hours with 40 turns takes 0.14 s instead of 0.49 s (median of 5), same answers."""
    meta, segments = ctx.meta, ctx.transcript.segments
    local: dict[int, EpisodeMeta] = {}
    for w, s in zip(ctx.words, ctx.segment_of):
        seg = segments[s]
        if seg.speaker:
            yield seg.speaker
        elif seg.start <= w.start and w.end <= seg.end:
            if s not in local:
                local[s] = replace(meta, turns=tuple(t for t in meta.turns if t.end > seg.start and t.start < seg.end))
            yield local[s].speaker_at(w.start, w.end)
        else:
            yield meta.speaker_at(w.start, w.end)


def _machine_words(machine: Transcript | None) -> dict[tuple[float, float], str]:
    if machine is None:
        return {}
    return {(round(w.start, 3), round(w.end, 3)): normalise_token(w.word)
            for seg in machine.segments for w in seg.words}


def _check_citation_format(fmt: str) -> None:
    unknown = [name for name in _FIELD.findall(fmt) if name not in CITATION_FIELDS]
    if unknown:
        raise QuoteError(f"unknown citation field {unknown[0]!r} in {fmt!r}; valid fields: {', '.join(CITATION_FIELDS)}")


def marked_words(ctx: EpisodeContext, segment_id: int, text: str, spans: Iterable[tuple[int, int]]) -> list[int]:
    """Indices in ``ctx.words`` of the words of segment ``segment_id`` inside the character ``spans`` of ``text``."""
    spans = list(spans)
    found, pos = [], 0
    for k, (w, s) in enumerate(zip(ctx.words, ctx.segment_of)):
        if ctx.transcript.segments[s].id != segment_id:
            continue
        core = w.word.strip()
        at = text.find(core, pos)
        if at < 0:
            continue
        pos = at + len(core)
        if any(a < pos and at < b for a, b in spans):
            found.append(k)
    return found


# --- the HTML -------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def static_text(name: str) -> str:
    """A file of ``indexer/static/`` (shipped as package data)."""
    return resources.files("indexer").joinpath("static", name).read_text(encoding="utf-8")


def json_for_script(data) -> str:
    """JSON that cannot end or comment out the ``<script>`` element it sits in."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


WORD_KEYS = ("text", "space", "start", "end", "p", "low", "corrected", "marked", "segment", "speaker")


def wire_data(data: dict) -> dict:
    """``data`` as the page carries it: words as columns (player.js rebuilds the objects).

    Repeating ten keys on every word is 55 % of the document: two hours of words
    take 1.2 MB as columns instead of 2.8 MB as objects.
    """
    words = data["words"]
    columns = {key: [w[key] for w in words] for key in WORD_KEYS}
    for key in ("space", "low", "corrected", "marked"):
        columns[key] = [int(v) for v in columns[key]]
    return {**{k: v for k, v in data.items() if k != "words"}, "word_columns": columns}


def player_html(data: dict, options: PlayerOptions | None = None) -> str:
    """The player as an HTML fragment: styles, audio element, data and script, all inline."""
    options = options or PlayerOptions()
    esc = html.escape
    src = data["audio"]["src"]
    audio = (f"<audio class='ip-audio' controls preload='metadata' src='{esc(src)}' "
             f"aria-label='Audio : {esc(data['title'])}'></audio>") if src else ""
    return (f"<div class='indexer-player' id='indexer-player-{esc(data['id'])}' role='region' tabindex='0' "
            f"data-lm-suppress-shortcuts='true' style='--ip-height:{esc(options.height)}' "
            f"aria-label='Lecteur de transcription : {esc(data['title'])}'>"
            f"<style>{static_text('player.css')}</style>{audio}"
            # Shown only where the script does not run: JupyterLab runs none in the outputs of an
            # untrusted (e.g. reopened) notebook.
            f"<p class='ip-static'>Le lecteur de transcription a besoin de JavaScript : dans Jupyter, "
            f"exécutez à nouveau la cellule (ou faites confiance au carnet).</p>"
            f"<script type='application/json' class='ip-data'>{json_for_script(wire_data(data))}</script>"
            f"<script>{static_text('player.js')}\nIndexerPlayer.mount(document.currentScript.parentNode);</script>"
            f"</div>")


# --- audio ----------------------------------------------------------------------------------

def server_root(cwd: str | Path | None = None) -> Path | None:
    """The root folder of the running Jupyter server that serves ``cwd`` (the notebook's folder), or None."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return None
    cwd = os.path.abspath(cwd or os.getcwd())
    roots = []
    try:
        for server in list_running_servers():
            root = os.path.abspath(os.path.expanduser(server.get("root_dir") or server.get("notebook_dir") or ""))
            if root and (cwd == root or cwd.startswith(root.rstrip(os.sep) + os.sep)):
                roots.append(root)
    except (OSError, ValueError) as e:  # an unreadable runtime file
        log.debug("cannot list Jupyter servers: %s", e)
    return Path(max(roots, key=len)) if roots else None


def notebook_audio(audio_path: Path | None, start: float, duration: float,
                   options: PlayerOptions | None = None, cwd: str | Path | None = None,
                   root: Path | None = None) -> AudioSource:
    """The audio for a player in a notebook whose kernel runs in ``cwd``.

    Under the server root: a path relative to the notebook (JupyterLab serves
    it from ``files/``). Elsewhere: an inlined clip around ``start``, the whole
    episode if it is short enough.
    """
    options = options or PlayerOptions()
    if audio_path is None or not Path(audio_path).is_file():
        return AudioSource(note="audio file not found")
    cwd = os.path.abspath(cwd or os.getcwd())
    root = root if root is not None else server_root(cwd)
    absolute = os.path.abspath(audio_path)  # not resolved: Jupyter serves links under its root
    if root is not None and absolute.startswith(str(root).rstrip(os.sep) + os.sep):
        return AudioSource(url_quote(os.path.relpath(absolute, cwd)))
    clip_start = max(0.0, min(start - options.embed_before, duration - options.embed_seconds))
    clip_end = min(duration, clip_start + options.embed_seconds)
    try:
        src = _inline_clip(audio_path, clip_start, clip_end)
    except (IndexerError, OSError) as e:
        return AudioSource(note=f"no audio ({e})")
    whole = clip_start <= 0 and clip_end >= duration
    note = "" if whole else (
        "The audio file is outside the Jupyter server's folder: this player has a clip of the episode "
        "(greyed words have no audio). Start Jupyter in a folder that holds the archive to hear it all.")
    return AudioSource(src, clip_start, None if whole else clip_end, note)


def _inline_clip(path: Path, start: float, end: float) -> str:
    from .audio import clip

    segment = clip(path, start, end).set_channels(1)
    buf = io.BytesIO()
    try:
        segment.export(buf, format="mp3", bitrate="48k")
        mime = "audio/mpeg"
    except Exception:  # ffmpeg without an mp3 encoder
        buf = io.BytesIO()
        segment.set_frame_rate(16000).export(buf, format="wav")
        mime = "audio/wav"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def page_audio(audio_path: Path | None, page_dir: Path | None) -> AudioSource:
    """The audio of an exported page: a path relative to the page's folder (or a file URI without one)."""
    if audio_path is None or not Path(audio_path).is_file():
        return AudioSource(note="audio file not found")
    if page_dir is None:
        return AudioSource(Path(os.path.abspath(audio_path)).as_uri())
    return AudioSource(url_quote(os.path.relpath(os.path.abspath(audio_path), os.path.abspath(page_dir))))


# --- what the API returns ---------------------------------------------------------------------

class Player:
    """An episode's transcript player; shows itself in Jupyter (``display(player)``)."""

    def __init__(self, ctx: EpisodeContext, data: dict, options: PlayerOptions | None = None, basket=None):
        self.context = ctx
        self.data = data
        self.options = options or PlayerOptions()
        self.basket = basket

    def __repr__(self) -> str:
        return f"<Player {self.data['episode']!r}: {len(self.data['words'])} words>"

    def _repr_html_(self) -> str:
        return player_html(self.data, self.options)

    def _ipython_display_(self):
        from IPython.display import HTML, display

        display(HTML(self._repr_html_()))
        if self.basket is not None:
            display(basket_bridge(self.data["id"], self.context, self.basket))


def episode_player(layout: ArchiveLayout, episode_id: str, start: float | None = None, end: float | None = None,
                   *, marked: Iterable[int] = (), select: tuple[int, int] | None = None, basket=None,
                   options: PlayerOptions | None = None, context: EpisodeContext | None = None) -> Player:
    """The player of one episode of the archive, for a notebook."""
    ctx = context or EpisodeContext.load(layout, episode_id)
    return context_player(ctx, start, end, marked=marked, select=select, basket=basket, options=options)


def context_player(ctx: EpisodeContext, start: float | None = None, end: float | None = None, *,
                   marked: Iterable[int] = (), select: tuple[int, int] | None = None, basket=None,
                   options: PlayerOptions | None = None) -> Player:
    options = options or PlayerOptions()
    audio = notebook_audio(ctx.audio_path, start or 0.0, ctx.duration, options)
    data = player_data(ctx, machine=ctx.machine, start=start, end=end, marked=marked, select=select,
                       audio=audio, options=options, player_id=uuid.uuid4().hex)
    return Player(ctx, data, options, basket)


def quote_player(quote, basket=None, options: PlayerOptions | None = None) -> Player:
    """The player of a quote's episode, opened at the quote with its words selected."""
    if quote.context is None:
        raise QuoteError("this quote has no transcript to play (it was built by hand)")
    return context_player(quote.context, quote.start, quote.end, select=(quote.first, quote.last),
                          basket=basket, options=options)


def hit_player(hit, basket=None, options: PlayerOptions | None = None) -> Player:
    """The player of a search hit's episode, opened at the hit with the matched words marked."""
    if hit.archive_root is None:
        raise QuoteError(f"hit in {hit.episode!r} does not know its archive (build it with Archive.search)")
    ctx = EpisodeContext.load(ArchiveLayout(Path(hit.archive_root)), hit.episode)
    marked = marked_words(ctx, hit.segment_id, hit.text, hit.spans)
    return context_player(ctx, hit.start, hit.end, marked=marked, basket=basket, options=options)


# --- the kernel bridge (anywidget) ---------------------------------------------------------------

def basket_bridge(player_id: str, ctx: EpisodeContext, basket):
    """A tiny widget that lets the player with ``player_id`` add quotes to ``basket`` in this kernel."""
    import anywidget
    import traitlets

    class BasketBridge(anywidget.AnyWidget):
        _esm = static_text("bridge.js")
        player_id = traitlets.Unicode("").tag(sync=True)
        count = traitlets.Int(0).tag(sync=True)

    bridge = BasketBridge(player_id=player_id, count=len(basket))

    def handle(widget, content, buffers):
        if not isinstance(content, dict) or content.get("kind") != "add":
            return
        reply = {"request": content.get("request")}
        try:
            q = ctx.quote(float(content["start"]), float(content["end"]))
            basket.add(q)
            reply.update(ok=True, citation=q.citation, count=len(basket))
            bridge.count = len(basket)
        except (IndexerError, KeyError, TypeError, ValueError) as e:
            reply.update(ok=False, error=e.one_line() if isinstance(e, IndexerError) else f"bad request: {e}")
        widget.send(reply)

    bridge.on_msg(handle)
    return bridge


__all__ = ["AudioSource", "Player", "PlayerOptions", "basket_bridge", "context_player", "episode_player",
           "hit_player", "json_for_script", "wire_data", "marked_words", "notebook_audio", "page_audio", "player_data",
           "player_html", "quote_player", "server_root"]
