"""Which version of each episode's inputs the index holds: the versions, and ``.indexer/indexed.json``.

Light on purpose: ``reindex`` records what it indexed here without importing
the transcription stack that the rest of ``ingest`` pulls in.
"""

from __future__ import annotations

from pathlib import Path

from ..archive import ArchiveLayout
from ..files import atomic_write_json, read_json
from ..speakers.library import read_library


def input_version(layout: ArchiveLayout, episode_id: str, sidecar: Path | None) -> str:
    """Changes when the episode's inputs change (:meth:`ArchiveLayout.inputs_version`), or the names
    the voice library gives the episode (its digest; the library is read once per change of its file)."""
    names = read_library(layout.voice_library_path).digest(episode_id)
    files = layout.inputs_version(episode_id, sidecar)
    return f"{files}|{names}" if names else files


def read_indexed(layout: ArchiveLayout) -> tuple[str, dict[str, str]]:
    """(index build, {episode id: version}) as last recorded; ("", {}) if unknown."""
    data = read_json(layout.indexed_path, None)
    if isinstance(data, dict) and isinstance(data.get("episodes"), dict):
        return str(data.get("build", "")), {str(k): str(v) for k, v in data["episodes"].items()}
    return "", {}


def write_indexed(layout: ArchiveLayout, build: str, episodes: dict[str, str]) -> None:
    """Record that the index of ``build`` holds these versions (written only after the index commit)."""
    atomic_write_json(layout.indexed_path, {"build": build, "episodes": episodes}, sort_keys=True)
