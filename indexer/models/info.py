"""What a model is (:class:`ModelInfo`, its format) and where the model caches are."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..archive import atomic_write_text
from .convert import MODEL_FILE, read_ct2_header

CT2 = "ctranslate2"
OPENAI = "openai"
MARKER_FILE = "indexer-model.json"
MULTILINGUAL_VOCAB = 51865  # openai-whisper's `is_multilingual` threshold


@dataclass(frozen=True)
class ModelInfo:
    name: str
    format: str  # "ctranslate2" | "openai"
    path: Path  # CT2 directory or .pt file
    source: str  # "pypi:<project>", "path", "cache" or "whisper-cache"
    multilingual: bool


def default_cache_dir() -> Path:
    """``$INDEXER_CACHE``, else ``~/.cache/indexer``."""
    env = os.environ.get("INDEXER_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "indexer"


def models_dir(cache_dir: Path | str | None = None) -> Path:
    return (Path(cache_dir).expanduser() if cache_dir else default_cache_dir()) / "models"


def whisper_cache_dir() -> Path:
    # Same rule as whisper.load_model's download_root.
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "whisper"


def ct2_multilingual(ct2_dir: Path) -> bool:
    return read_ct2_header(ct2_dir / MODEL_FILE).n_vocab >= MULTILINGUAL_VOCAB


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomic(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
