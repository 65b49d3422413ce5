"""``index/indexer-index.json``: the schema version and build id of the index on disk."""

from __future__ import annotations

import uuid
from pathlib import Path

from ..files import atomic_write_json, load_json
from ..errors import IndexCorruptError, IndexSchemaError
from .schema import SCHEMA_VERSION
from .whoosh_internals import INDEX_NAME

META_FILE = "indexer-index.json"
REINDEX_HINT = "reindex with `indexer reindex --archive ARCHIVE`"


def read_meta(index_dir: Path) -> dict | None:
    """The meta file of the index in ``index_dir``; None if it has none (IndexCorruptError if unreadable)."""
    path = index_dir / META_FILE
    if not path.is_file():
        return None
    try:
        meta = load_json(path)
    except (OSError, ValueError) as e:  # damaged like a truncated TOC: ingest rebuilds it
        raise IndexCorruptError(f"unreadable index metadata: {e}", path, REINDEX_HINT) from e
    if not isinstance(meta, dict):
        raise IndexCorruptError(f"unreadable index metadata: a {type(meta).__name__}, not an object", path,
                                REINDEX_HINT)
    return meta


def write_meta(index_dir: Path) -> str:
    """Record this :data:`SCHEMA_VERSION` and a new build id (returned) for the index in ``index_dir``."""
    build = uuid.uuid4().hex
    atomic_write_json(index_dir / META_FILE, {"schema_version": SCHEMA_VERSION, "build": build})
    return build


def index_exists(index_dir: str | Path) -> bool:
    index_dir = Path(index_dir)
    # A TOC file, not whoosh's exists_in(): that one opens the index, and a
    # damaged TOC raises there instead of in open(), which says what to do.
    return index_dir.is_dir() and any(index_dir.glob(f"_{INDEX_NAME}_*.toc"))


def has_current_schema(index_dir: Path) -> bool:
    """The meta file in ``index_dir`` names this :data:`SCHEMA_VERSION` (False if missing or unreadable)."""
    try:
        meta = read_meta(index_dir)
    except IndexSchemaError:
        return False
    return (meta or {}).get("schema_version") == SCHEMA_VERSION
