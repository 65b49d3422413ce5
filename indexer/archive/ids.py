"""The episode id grammar: how an audio path becomes an id, and which ids are accepted."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from ..errors import EpisodeIdError, printable

# What episode_id() makes: a-z 0-9 _ - in each part, parts joined by "/".
EPISODE_ID = re.compile(r"[a-z0-9_-]+(?:/[a-z0-9_-]+)*")
EPISODE_ID_HINT = "episode ids are the paths under audio/ without extension: a-z 0-9 _ - and /, e.g. 2011/debat-2"


def episode_id(relative_path: str | Path) -> str:
    """Stable, URL-safe id: the path under ``audio/`` without extension.

    Accents are folded, anything but ``[a-z0-9_-]`` becomes ``-`` in each part,
    so ``2011/Débat #2 – Les CM.mp3`` becomes ``2011/debat-2-les-cm``.
    """
    parts = Path(relative_path).with_suffix("").parts
    cleaned = []
    for part in parts:
        ascii_part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9_-]+", "-", ascii_part.lower()).strip("-")
        cleaned.append(slug or hashlib.sha1(part.encode()).hexdigest()[:8])
    return "/".join(cleaned)


def check_episode_id(value: object) -> str:
    """``value`` if it is an episode id of the grammar (so a path made from it stays in its folder).

    Every id that comes from a caller goes through here, by way of the
    :class:`ArchiveLayout` paths or directly.
    """
    if not is_episode_id(value):
        raise EpisodeIdError(f"invalid episode id {printable(repr(value))}", hint=EPISODE_ID_HINT)
    return value


def is_episode_id(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 1024 and EPISODE_ID.fullmatch(value) is not None


def safe_url(url: str) -> str:
    """The URL if it is a web link (``http(s)://``), else "": no ``javascript:`` in a page or a quote."""
    url = (url or "").strip()
    return url if re.match(r"(?i)https?://[^\s/]", url) and not re.search(r"[\x00-\x1f\x7f]", url) else ""
