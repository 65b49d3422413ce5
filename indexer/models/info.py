"""What a model is (:class:`ModelInfo`, its format) and where the model caches are."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..files import atomic_write_json
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


def write_marker(path: Path, data: dict) -> None:
    """A model folder's JSON marker: indented and sorted, so that a person can read and diff it."""
    atomic_write_json(path, data, indent=2, sort_keys=True)
