"""The files of ``indexer/static/`` (scripts and styles shipped as package data), read once."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def static_text(name: str) -> str:
    """A file of ``indexer/static/`` (shipped as package data)."""
    # The folder belongs to the top package (pyproject.toml's package-data), not to this subpackage.
    return resources.files("indexer").joinpath("static", name).read_text(encoding="utf-8")
