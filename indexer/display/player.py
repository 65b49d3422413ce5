"""The transcript player: read and listen at once, select words, get a cited quote.

Display code, apart from the domain types it shows (:mod:`indexer.quotes`,
:mod:`indexer.display.page`), in three modules:

* :mod:`.player_data` — :func:`player_data`, a pure function from an episode
  to the one JSON document the player receives;
* :mod:`.player_audio` — what the ``<audio>`` element plays, in a notebook or
  an exported page;
* here — :func:`player_html`, that document embedded in an HTML fragment with
  ``static/player.js`` and ``static/player.css`` inlined (no network, no CDN),
  and :class:`Player`, what ``archive.player()``, ``hit.player()`` and
  ``quote.player()`` return: HTML in Jupyter, and, given a ``basket``, a small
  anywidget bridge through which the page adds quotes to a
  :class:`~indexer.quotes.QuoteBasket` in the kernel. The script sets every
  text with ``textContent``; the JSON is escaped so that ``</script>`` in a
  title cannot end its ``<script>`` element.
"""

from __future__ import annotations

import html
import json
import uuid
from pathlib import Path
from typing import Iterable

from ..archive import ArchiveLayout
from ..errors import IndexerError, QuoteError
from ..quotes import EpisodeContext, Quote
from ..renderers import register
from .i18n import _, flag_label
from .player_audio import notebook_audio
from .player_data import PlayerOptions, marked_words, player_data, wire_data
from .static import static_text


# --- the HTML -------------------------------------------------------------------------------

def json_for_script(data) -> str:
    """JSON that cannot end or comment out the ``<script>`` element it sits in."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


# The player script's words (static/player.js reads them as data.messages): id there → message id here.
PLAYER_MESSAGES = {
    "help": "player.help", "transcript": "player.transcript", "audio_missing": "player.audio_missing",
    "embedded_clip": "player.embedded_clip", "selected_quote": "player.selected_quote",
    "copy_citation": "player.copy_citation", "copy_python": "player.copy_python", "add": "player.add",
    "citation_copied": "player.citation_copied", "line_copied": "player.line_copied",
    "listen_from": "player.listen_from", "estimated": "player.estimated", "unsure_word": "player.unsure_word",
    "corrected": "player.corrected", "copy_failed": "player.copy_failed", "added": "player.added",
    "refused": "player.refused",
}
# Flags a segment can carry, named in the player's hover text.
PLAYER_FLAGS = ("suspect", "repeated", "compression", "low-logprob", "no-speech", "sparse", "phantom",
                "low-confidence-words", "corrected", "speaker-corrected", "split-speaker")


def player_messages() -> dict:
    """The player script's words in the display language (placeholders left for the script to fill)."""
    keep = {name: "{" + name + "}" for name in ("title", "src", "time", "percent", "count", "error")}
    messages: dict = {key: _(message_id, **keep) for key, message_id in PLAYER_MESSAGES.items()}
    messages["flags"] = {flag: flag_label(flag) for flag in PLAYER_FLAGS}
    return messages


def player_html(data: dict, options: PlayerOptions | None = None) -> str:
    """The player as an HTML fragment: styles, audio element, data and script, all inline."""
    options = options or PlayerOptions()
    esc = html.escape
    src = data["audio"]["src"]
    audio = (f"<audio class='ip-audio' controls preload='metadata' src='{esc(src)}' "
             f"aria-label='{esc(_('player.audio_label', title=data['title']))}'></audio>") if src else ""
    return (f"<div class='indexer-player' id='indexer-player-{esc(data['id'])}' role='region' tabindex='0' "
            f"data-lm-suppress-shortcuts='true' style='--ip-height:{esc(options.height)}' "
            f"aria-label='{esc(_('player.label', title=data['title']))}'>"
            f"<style>{static_text('player.css')}</style>{audio}"
            # Shown only where the script does not run: JupyterLab runs none in the outputs of an
            # untrusted (e.g. reopened) notebook.
            f"<p class='ip-static'>{esc(_('player.needs_javascript'))}</p>"
            f"<script type='application/json' class='ip-data'>"
            f"{json_for_script({**wire_data(data), 'messages': player_messages()})}</script>"
            f"<script>{static_text('player.js')}\nIndexerPlayer.mount(document.currentScript.parentNode);</script>"
            f"</div>")


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


@register("player", Quote)
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


__all__ = ["Player", "basket_bridge", "context_player", "episode_player", "hit_player", "json_for_script",
           "player_html", "quote_player", "static_text"]
