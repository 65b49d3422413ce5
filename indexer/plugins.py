"""Pluggable parts (transcription engines, speaker backends) found by name in a registry or by import path."""

from __future__ import annotations

import importlib


def by_name(registry: dict[str, type], name: str, what: str, error: type[Exception]) -> type:
    """``registry[name]``, or a class by its import path ``package.module:Class``."""
    if name in registry:
        return registry[name]
    module, colon, attribute = name.partition(":")
    if colon and module and attribute:
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as e:
            raise error(f"cannot load {what} {name!r}: {e}") from None
    raise error(f"unknown {what} {name!r}; valid {what}s: {', '.join(registry)} "
                "(or a class by import path, package.module:Class)")
