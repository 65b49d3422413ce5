"""Read-JSON-or-default for the ingest's caches and state files (one copy for the package).

indexer/files.py is to hold the archive-wide helper: this one then folds into it.
"""

from __future__ import annotations

from pathlib import Path


def read_json(path: Path, default):
    """The JSON in ``path``, or ``default`` when it is missing or unreadable (a cache or a state file:
    losing one only costs work redone)."""
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
