"""Citations: the fields a citation format may name, and how a format is filled.

Shared by :meth:`Quote.cite <indexer.quotes.Quote.cite>` and the transcript
player, whose script fills the same formats in the page (``static/player.js``).
"""

from __future__ import annotations

import re

from ..errors import QuoteError

DEFAULT_CITATION = "{speaker}, « {title} », {date}, {start}–{end}"
CITATION_FIELDS = ("speaker", "title", "date", "start", "end", "start_exact", "end_exact",
                   "episode", "chapter", "source_url", "text")
CITATION_FIELD = re.compile(r"{(\w+)[^}]*}")   # a field of a format: its name, then any format spec


def fill_citation(fmt: str, values: dict[str, str]) -> str:
    """``fmt`` filled with ``values``; parts of the format whose fields are all empty
    (no speaker, no date…) are dropped with their separator."""
    try:
        parts = [_fill(part, values) for part in fmt.split(", ")]
    except KeyError as e:
        raise QuoteError(f"unknown citation field {e} in {fmt!r}; valid fields: {', '.join(CITATION_FIELDS)}") \
            from None
    except (ValueError, IndexError) as e:
        raise QuoteError(f"bad citation format {fmt!r}: {e}") from None
    return ", ".join(p for p in parts if p)


def check_citation_format(fmt: str) -> None:
    """QuoteError if ``fmt`` names a field that is not one of :data:`CITATION_FIELDS`."""
    unknown = [name for name in CITATION_FIELD.findall(fmt) if name not in CITATION_FIELDS]
    if unknown:
        raise QuoteError(f"unknown citation field {unknown[0]!r} in {fmt!r}; valid fields: {', '.join(CITATION_FIELDS)}")


def _fill(part: str, values: dict[str, str]) -> str:
    """One comma-separated part of a citation format, or "" if all its fields are empty."""
    names = CITATION_FIELD.findall(part)
    for name in names:
        if name not in values:
            raise KeyError(name)
    if names and not any(values[n] for n in names):
        return ""
    return part.format(**values)
