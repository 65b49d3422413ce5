"""Renderers of domain objects, registered by the display layer: a domain type shows itself
without importing display code.

Display imports the domain, never the reverse (no import circles, not even inside a
function). Yet a :class:`~indexer.quotes.Quote` in a notebook shows itself
(``_repr_html_``), plays (``.audio()``), opens the player (``.player()``) and writes
its Markdown (``.to_markdown()``). The domain type asks :func:`render` for the
renderer registered under a kind (``"html"``, ``"markdown"``…) and its type; the
display modules register theirs when they are imported. Those named in
:data:`DISPLAY_MODULES` are imported on the first request, so that a quote built
without the facade still shows itself. Another display (another markup) registers
over them.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

# Where the renderers of the domain types live; imported on the first render().
DISPLAY_MODULES = ("indexer.display.quote", "indexer.display.player")

_RENDERERS: dict[tuple[str, type], Callable[..., Any]] = {}
_loaded = False


def register(kind: str, cls: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: ``fn`` renders ``cls`` objects (and their subclasses) as ``kind``."""
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        _RENDERERS[(kind, cls)] = fn
        return fn
    return decorate


def renderer(kind: str, obj: object) -> Callable[..., Any]:
    """The renderer of ``obj`` as ``kind``; LookupError naming the kinds ``obj`` has if there is none."""
    global _loaded
    if not _loaded:
        for name in DISPLAY_MODULES:
            importlib.import_module(name)
        _loaded = True
    for cls in type(obj).__mro__:
        if (kind, cls) in _RENDERERS:
            return _RENDERERS[(kind, cls)]
    kinds = sorted(k for k, c in _RENDERERS if isinstance(obj, c))
    raise LookupError(f"no {kind!r} renderer for {type(obj).__name__}; registered: {', '.join(kinds) or 'none'}")


def render(kind: str, obj: object, *args: Any, **kwargs: Any) -> Any:
    """``obj`` rendered as ``kind`` by the registered renderer."""
    return renderer(kind, obj)(obj, *args, **kwargs)
