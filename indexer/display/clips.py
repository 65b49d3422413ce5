"""Clips cut when they are played: the players of hit tables, review tables and quotes in notebooks.

A table of 20 hits used to cut and inline 20 clips (ffmpeg, base64) while it
was being shown: I/O inside a ``_repr_html_``, seconds before the table
appeared, megabytes in the notebook, and players that read ``0:00 / 0:00``
until played. Now the HTML holds, for each clip, a play button that shows the
clip's length and an empty ``<audio>``: it reads no file. Displayed in a
kernel, a small anywidget bridge (:func:`clip_bridge`, ``static/clips.js``)
comes with it: on a click the page asks the kernel for that clip, which is
cut then (:func:`indexer.audio.encoded_clip`, one ffmpeg run) and played.

The browser only ever names a clip by its number in the table: the kernel
keeps the list of files and spans (a page cannot ask for another file). Where
no kernel answers (a notebook reopened, an exported copy), the button says to
run the cell again, as the transcript player does.
"""

from __future__ import annotations

import html
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import AudioError, IndexerError
from .i18n import _

log = logging.getLogger("indexer")

def no_audio() -> str:
    return f"<small>{_('clip.none')}</small>"


@dataclass(frozen=True)
class Clip:
    """``[start - padding, end + padding]`` of ``path``, faded in and out."""

    path: Path | None
    start: float
    end: float
    padding: float = 0.0
    fade: float = 0.0

    @property
    def length(self) -> float:
        """Seconds of audio in the clip (its end may still be cut by the end of the file)."""
        return max(0.0, self.end + self.padding - max(0.0, self.start - self.padding))

    def cut(self) -> tuple[bytes, str]:
        """The clip's bytes and MIME type (AudioError if it cannot be cut)."""
        from ..audio import encoded_clip

        if self.path is None:
            raise AudioError("no audio file")
        return encoded_clip(self.path, self.start, self.end, self.padding, self.fade, bitrate="64k")


def clock(seconds: float) -> str:
    """``0:12``, ``1:05:03``: a player's time."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclass(frozen=True)
class ClipSet:
    """The clips of one displayed table (or quote), named by their number in it."""

    clips: tuple[Clip, ...]
    id: str = ""

    @classmethod
    def of(cls, clips: Sequence[Clip]) -> "ClipSet":
        return cls(tuple(clips), uuid.uuid4().hex)

    def cell(self, n: int) -> str:
        """The player of clip ``n``: a button with its length, and the ``<audio>`` it fills when clicked."""
        clip = self.clips[n]
        if clip.path is None:
            return no_audio()
        length = clock(clip.length)
        return (f"<span class='indexer-clip' data-clip='{n}'>"
                f"<button type='button' class='ix-play' title='{_('clip.listen_title', length=length)}' "
                f"aria-label='{_('clip.listen_label', length=length)}'>▶ {length}</button>"
                f"<audio preload='none' hidden aria-label='{_('clip.audio_label', length=length)}'></audio>"
                f"<small class='ix-clip-note'></small></span>")

    def wrap(self, inner: str, tag: str = "div") -> str:
        """``inner`` in an element that names this set of clips, with the script of its buttons."""
        messages = f"data-rerun='{html.escape(_('clip.rerun'))}' data-cutting='{html.escape(_('clip.cutting'))}'"
        return f"<{tag} data-indexer-clips='{html.escape(self.id)}' {messages}>{inner}<script class='indexer-clips'>{CLIP_BUTTONS_JS}</script></{tag}>"


# The buttons' side in the page: once per page, one listener for every clip button. A click
# asks the bridge the kernel registered for the table (window.indexerClipSources[id]); without
# one (no kernel behind this output) it says so. Kept here, not in a file: a repr reads no file.
CLIP_BUTTONS_JS = """
(function () {
  if (window.indexerClipButtons) return;
  window.indexerClipButtons = true;
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".indexer-clip .ix-play");
    if (!button) return;
    var cell = button.closest(".indexer-clip"), group = cell.closest("[data-indexer-clips]");
    var audio = cell.querySelector("audio"), note = cell.querySelector(".ix-clip-note");
    var source = (window.indexerClipSources || {})[group && group.getAttribute("data-indexer-clips")];
    // The words come from the display catalog, as attributes of the group (i18n.py).
    if (!source) { note.textContent = " " + group.getAttribute("data-rerun"); return; }
    button.disabled = true;
    note.textContent = " " + group.getAttribute("data-cutting");
    source(Number(cell.getAttribute("data-clip"))).then(function (url) {
      audio.src = url;
      audio.controls = true;
      audio.hidden = false;
      button.hidden = true;
      note.textContent = "";
      audio.play();
    }, function (error) {
      button.disabled = false;
      note.textContent = " " + error;
    });
  });
})();
"""


def clip_bridge(clips: ClipSet):
    """The kernel side of ``clips``' buttons (an anywidget): cuts a clip when its button asks for it.

    None without anywidget (the ``notebook`` extra): the buttons then say that no kernel answers.
    """
    try:
        import anywidget
        import traitlets
    except ImportError:
        return None
    from .static import static_text

    class ClipBridge(anywidget.AnyWidget):
        _esm = static_text("clips.js")
        clips_id = traitlets.Unicode("").tag(sync=True)

    bridge = ClipBridge(clips_id=clips.id)

    def handle(widget, content, buffers):
        reply = answer(clips, content)
        if reply is not None:
            widget.send(reply[0], buffers=reply[1])

    bridge.on_msg(handle)
    return bridge


def answer(clips: ClipSet, content) -> tuple[dict, list[bytes]] | None:
    """The bridge's answer to a page's request ``{"kind": "clip", "request": r, "clip": n}``:
    the reply and the clip's bytes, or a reply saying there is no audio. A bug raises."""
    if not isinstance(content, dict) or content.get("kind") != "clip":
        return None
    reply = {"request": content.get("request")}
    n = content.get("clip")
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < len(clips.clips):
        return {**reply, "ok": False, "error": _("clip.no_such_clip")}, []
    try:
        data, mime = clips.clips[n].cut()
    except (IndexerError, OSError) as e:  # a missing or undecodable file; a bug raises
        log.debug("clip %d of %s not cut: %s", n, clips.id, e)
        return {**reply, "ok": False, "error": _("clip.no_audio")}, []
    return {**reply, "ok": True, "mime": mime}, [data]


def with_clips(html_text: str, clips: ClipSet) -> list:
    """What a notebook shows for a table with clips: its HTML, then the bridge that cuts them."""
    from IPython.display import HTML

    bridge = clip_bridge(clips) if clips.clips else None
    return [HTML(html_text)] + ([bridge] if bridge is not None else [])
