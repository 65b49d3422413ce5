"""The transcript player's audio: a link Jupyter serves, an inlined clip, or a path beside an exported page.

Audio is never inlined for long files. In Jupyter the ``<audio>`` element
gets a path relative to the notebook, which JupyterLab rewrites to its
``files/`` route; that only works for files under the server's root, so
when the audio is elsewhere (or no server is found) a clip of at most
:attr:`PlayerOptions.embed_seconds` around the start is inlined instead and
the player says so. Exported pages link the audio by a relative path.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Iterator
from urllib.parse import quote as url_quote

from ..errors import IndexerError
from .audio import audio_data_url
from .i18n import _
from .player_data import AudioSource, PlayerOptions

log = logging.getLogger("indexer")


def running_servers(runtime_dir: str | Path | None = None) -> Iterator[dict]:
    """The info files of the running Jupyter servers (``jpserver-*.json`` in Jupyter's runtime folder).

    What ``jupyter_server.serverapp.list_running_servers`` reads, without
    importing jupyter_server: that import took 2.9 s of a first player's 4.1 s
    (benchmarks/results/player.md), for a folder listing and a few small files.
    Files of dead servers are skipped (not deleted: they are not ours).
    """
    if runtime_dir is None:
        try:
            from jupyter_core.paths import jupyter_runtime_dir  # 47 ms; honours JUPYTER_RUNTIME_DIR
        except ImportError:
            return
        runtime_dir = jupyter_runtime_dir()
    try:
        names = os.listdir(runtime_dir)
    except OSError:
        return
    for name in names:
        if not re.fullmatch(r"jpserver-.+\.json", name):
            continue
        try:
            info = json.loads(Path(runtime_dir, name).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:  # being written, or unreadable
            log.debug("cannot read Jupyter server file %s: %s", name, e)
            continue
        if isinstance(info, dict) and _alive(info.get("pid")):
            yield info


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def server_root(cwd: str | Path | None = None, runtime_dir: str | Path | None = None) -> Path | None:
    """The root folder of the running Jupyter server that serves ``cwd`` (the notebook's folder), or None."""
    cwd = os.path.abspath(cwd or os.getcwd())
    roots = []
    for server in running_servers(runtime_dir):
        root = os.path.abspath(os.path.expanduser(server.get("root_dir") or server.get("notebook_dir") or ""))
        if root and (cwd == root or cwd.startswith(root.rstrip(os.sep) + os.sep)):
            roots.append(root)
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
        return AudioSource(note=_("player.no_audio_file"))
    cwd = os.path.abspath(cwd or os.getcwd())
    root = root if root is not None else server_root(cwd)
    absolute = os.path.abspath(audio_path)  # not resolved: Jupyter serves links under its root
    if root is not None and absolute.startswith(str(root).rstrip(os.sep) + os.sep):
        return AudioSource(url_quote(os.path.relpath(absolute, cwd)))
    clip_start = max(0.0, min(start - options.embed_before, duration - options.embed_seconds))
    clip_end = min(duration, clip_start + options.embed_seconds)
    try:
        src = audio_data_url(audio_path, clip_start, clip_end)
    except (IndexerError, OSError) as e:
        return AudioSource(note=_("player.no_audio", error=e))
    whole = clip_start <= 0 and clip_end >= duration
    note = "" if whole else _("player.clip_only")
    return AudioSource(src, clip_start, None if whole else clip_end, note)


def page_audio(audio_path: Path | None, page_dir: Path | None) -> AudioSource:
    """The audio of an exported page: a path relative to the page's folder (or a file URI without one)."""
    if audio_path is None or not Path(audio_path).is_file():
        return AudioSource(note=_("player.no_audio_file"))
    if page_dir is None:
        return AudioSource(Path(os.path.abspath(audio_path)).as_uri())
    return AudioSource(url_quote(os.path.relpath(os.path.abspath(audio_path), os.path.abspath(page_dir))))

