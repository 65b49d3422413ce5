"""Markdown escaping: the one escaper of the pages and the quotes."""

from __future__ import annotations

import re

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that
# would start markup (emphasis, links, raw HTML, headings, tables, code, and GFM's
# ~strikethrough~).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def md_escape(text: str) -> str:
    """``text`` shown as it is in Markdown: every character that would start markup backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_url(url: str) -> str:
    """``url`` safe inside a Markdown link's ``(...)``: no space or parenthesis to end it early."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
