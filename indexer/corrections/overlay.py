"""The overlay files: ``ARCHIVE/corrections/<episode-id>.json``, read, written and locked.

The machine transcript under ``ARCHIVE/transcripts/`` is never edited. Each
correction is an entry of the episode's overlay::

    {"schema": 1, "episode": "2011/debat-2",
     "corrections": [{"kind": "text", "segment_id": 12, "start": 61.2, "end": 66.0,
                      "source_text": "<machine text of segment 12>",
                      "before": "<text shown before>", "after": "<corrected text>",
                      "who": "sandra", "when": "2024-05-02T10:00:00+00:00"}, ...]}
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from ..archive import ArchiveLayout
from ..errors import TranscriptError
from ..files import atomic_write_json, exclusive_lock

SCHEMA_VERSION = 1
KINDS = ("text", "speaker", "name")   # name: an automatic label (before) gets a name (after)


@dataclass(frozen=True)
class Correction:
    """One editor's change: new text or speaker for a segment (or a time range)."""

    kind: str                      # "text" | "speaker"
    after: str                     # the corrected text / the speaker's name
    before: str | None = None      # what was shown before (audit trail only)
    segment_id: int | None = None  # None: a speaker set on the time range [start, end]
    start: float = 0.0             # the machine segment's span when corrected
    end: float = 0.0
    source_text: str = ""          # the machine segment's text when corrected: the anchor
    who: str = ""
    when: str = ""

    def describe(self) -> str:
        if self.kind == "name":
            return f"name {self.after!r} for speaker {self.before} by {self.who or '?'} ({self.when or 'undated'})"
        target = f"segment {self.segment_id}" if self.segment_id is not None else "range"
        return (f"{self.kind} correction of {target} at {self.start:.2f}–{self.end:.2f} s "
                f"by {self.who or '?'} ({self.when or 'undated'})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, path: Path | None = None) -> "Correction":
        try:
            correction = cls(**data)
        except TypeError as e:
            raise TranscriptError(f"correction entry has a missing or unknown field: {e}", path,
                                  "fix or remove that entry") from e
        if correction.kind not in KINDS:
            raise TranscriptError(f"unknown correction kind {correction.kind!r} (valid: {', '.join(KINDS)})",
                                  path)
        return correction


def corrections_path(archive_root: str | Path, episode_id: str) -> Path:
    """``corrections/<id>.json``; EpisodeIdError for an id outside the grammar (see ArchiveLayout)."""
    return ArchiveLayout(Path(archive_root)).corrections_path(episode_id)


def load_corrections(archive_root: str | Path, episode_id: str) -> list[Correction]:
    """The episode's corrections, oldest first; [] when there are none."""
    path = corrections_path(archive_root, episode_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise TranscriptError(f"corrections file is not valid JSON: {e}", path,
                              "fix it by hand; the machine transcript is untouched") from e
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise TranscriptError(f"corrections schema {schema!r} is not supported (expected {SCHEMA_VERSION})", path)
    entries = data.get("corrections")
    if not isinstance(entries, list):
        raise TranscriptError("corrections file has no 'corrections' list", path)
    return [Correction.from_dict(entry, path) for entry in entries]


def save_corrections(archive_root: str | Path, episode_id: str, corrections: Sequence[Correction]) -> Path:
    path = corrections_path(archive_root, episode_id)
    data = {"schema": SCHEMA_VERSION, "episode": episode_id,
            "corrections": [c.to_dict() for c in corrections]}
    atomic_write_json(path, data, ensure_ascii=False, indent=1)
    return path


@contextmanager
def overlay_lock(archive_root: Path):
    """Serialise read-modify-write of overlays between editors on one archive."""
    with exclusive_lock(ArchiveLayout(Path(archive_root)).corrections_lock_path):
        yield


def add_correction(archive_root: str | Path, episode_id: str, correction: Correction) -> list[Correction]:
    """Append one correction to the overlay (atomically, under a lock); returns them all."""
    with overlay_lock(Path(archive_root)):
        corrections = load_corrections(archive_root, episode_id) + [correction]
        save_corrections(archive_root, episode_id, corrections)
    return corrections
