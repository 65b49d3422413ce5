"""The transcript player's audio: a link Jupyter serves, an inlined clip, or a path beside an exported page.

Audio is never inlined for long files. In Jupyter the ``<audio>`` element
gets a path relative to the notebook, which JupyterLab rewrites to its
``files/`` route; that only works for files under the server's root, so
when the audio is elsewhere (or no server is found) a clip of at most
:attr:`PlayerOptions.embed_seconds` around the start is inlined instead and
the player says so. Exported pages link the audio by a relative path.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import quote as url_quote

from ..errors import IndexerError
from .audio import audio_data_url
from .player_data import AudioSource, PlayerOptions

log = logging.getLogger("indexer")


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
        src = audio_data_url(audio_path, clip_start, clip_end)
    except (IndexerError, OSError) as e:
        return AudioSource(note=f"no audio ({e})")
    whole = clip_start <= 0 and clip_end >= duration
    note = "" if whole else (
        "The audio file is outside the Jupyter server's folder: this player has a clip of the episode "
        "(greyed words have no audio). Start Jupyter in a folder that holds the archive to hear it all.")
    return AudioSource(src, clip_start, None if whole else clip_end, note)


def page_audio(audio_path: Path | None, page_dir: Path | None) -> AudioSource:
    """The audio of an exported page: a path relative to the page's folder (or a file URI without one)."""
    if audio_path is None or not Path(audio_path).is_file():
        return AudioSource(note="audio file not found")
    if page_dir is None:
        return AudioSource(Path(os.path.abspath(audio_path)).as_uri())
    return AudioSource(url_quote(os.path.relpath(os.path.abspath(audio_path), os.path.abspath(page_dir))))

