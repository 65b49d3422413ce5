"""Markdown escaping: the one escaper of the pages and the quotes."""

from __future__ import annotations

import re
from urllib.parse import quote

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that
# would start markup (emphasis, links, raw HTML, headings, tables, code, and GFM's
# ~strikethrough~).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


# Line breaks end a heading, a list item or a block quote: a title or a segment is one line.
_LINE_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]\s*")


def md_escape(text: str) -> str:
    """``text`` shown as it is in Markdown, on one line: every character that would start markup
    backslash-escaped, line breaks made spaces (a newline in a chapter title broke the page)."""
    return _MD_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", text))


def md_url(url: str) -> str:
    """``url`` safe inside a Markdown link's ``(...)`` or ``<...>``: spaces, parentheses, ``<``, ``>``,
    quotes and control characters percent-encoded (a raw ``<script>`` in a source link was raw HTML)."""
    return quote(url, safe=":/?#[]@!$&*+,;=%~")
