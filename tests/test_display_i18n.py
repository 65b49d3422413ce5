"""The display's one message catalog: every message id the code uses is in it, a missing one fails,
a second language is a second catalog, and numbers and dates are written the French way (Babel)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import indexer
from indexer.display import i18n
from indexer.display.i18n import _, language, number, percent, short_number, sidecar_date
from indexer.display.locales.fr import MESSAGES as FRENCH

PACKAGE = Path(indexer.__file__).parent
NAMESPACES = sorted({key.split(".")[0] for key in FRENCH})
MESSAGE_ID = re.compile(rf"^(?:{'|'.join(NAMESPACES)})\.(?!(?:js|css)$)[\w%-]+$")  # not player.js


def used_message_ids() -> dict[str, str]:
    """Every message id in the package's code, with where it is: the first argument of each ``_()``
    call, and any string constant shaped like one (the header tuples and column maps)."""
    used: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "locales" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
                # A literal, or a name from a table of literals (HEADERS, COLUMNS) found below; never built.
                first = node.args[0] if node.args else None
                assert not isinstance(first, (ast.JoinedStr, ast.BinOp)), \
                    f"{path.relative_to(PACKAGE)}:{node.lineno}: a message id is written out, not built"
                if isinstance(first, ast.Constant):
                    used.setdefault(first.value, f"{path.relative_to(PACKAGE)}:{node.lineno}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MESSAGE_ID.match(node.value):
                used.setdefault(node.value, f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return used


def missing_ids(catalog) -> dict[str, str]:
    return {message: where for message, where in used_message_ids().items() if message not in catalog}


def test_the_code_uses_message_ids_and_the_french_catalog_has_every_one():
    used = used_message_ids()
    assert {"hits.count", "hits.none", "column.time", "review.count", "review.why", "plot.hours_by_year",
            "column.year", "column.term", "value.undated", "quote.too_long", "page.chapters"} <= set(used)
    assert missing_ids(FRENCH) == {}


def test_a_catalog_without_an_id_the_code_uses_is_caught():
    incomplete = {k: v for k, v in FRENCH.items() if k != "hits.none"}
    assert set(missing_ids(incomplete)) == {"hits.none"}
    with pytest.raises(KeyError):
        _("hits.no-such-message")


def test_every_message_of_the_catalog_is_filled_by_its_values():
    # Each template formats with the names its callers give (a typo in a placeholder fails here).
    values = {"n": 2, "query": "q", "similarity": "0,5", "length": "0:04", "title": "t", "error": "e",
              "line": "l", "episodes": "e", "transcribed": "1", "suspect": "1", "unsure": "1", "corrected": "1",
              "episode": "e", "value": "1", "call": "c", "name": "S1", "src": "s", "time": "0:00:01",
              "percent": "40", "count": "2", "threshold": "0,5", "windows": "40"}
    for key, message in FRENCH.items():
        for template in ([message] if isinstance(message, str) else message.values()):
            template.format(**values)


def test_french_plural_forms_follow_babel():
    assert _("hits.count", n=0, query="x") == "0 résultat pour x"
    assert _("hits.count", n=1, query="x") == "1 résultat pour x"
    assert _("hits.count", n=4, query="x") == "4 résultats pour x"
    assert _("review.count", n=1234) == "1\u202f234 segments à relire"


def test_numbers_and_dates_the_french_way():
    assert percent(0.153) == "15,3\u00a0%"
    assert percent(1.0, 0) == "100\u00a0%"
    assert number(1234.5) == "1\u202f234,5"
    assert number(0.25, 2) == "0,25"
    assert short_number(1200) == "1\u202f200" and short_number(0.25) == "0,25"
    assert sidecar_date("2011-06-14") == "14 juin 2011"
    assert sidecar_date("2012-02") == "février 2012"
    assert sidecar_date("2011") == "2011" and sidecar_date("vers 2011") == "vers 2011"


def test_a_second_catalog_can_be_swapped_in():
    english = {**FRENCH, "hits.none": "No hit for {query}.", "hits.count": {"one": "{n} hit for {query}",
                                                                             "other": "{n} hits for {query}"}}
    i18n.add_catalog("en", english)
    try:
        with language("en"):
            assert _("hits.count", n=4, query="x") == "4 hits for x"
            assert percent(0.153) == "15.3%" or percent(0.153) == "15.3\u00a0%"
            assert number(1234.5) == "1,234.5"
            assert sidecar_date("2011-06-14") == "June 14, 2011"
        assert _("hits.count", n=4, query="x") == "4 résultats pour x"  # back to French
    finally:
        i18n._catalogs.pop("en", None)
    with pytest.raises(LookupError, match="no display catalog for language 'xx'"):
        i18n.use("xx")
