"""Domain types show themselves without importing display code: the display registers its renderers
(indexer.renderers) and the domain looks them up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import indexer
from indexer import renderers
from indexer.quotes import Quote, QuoteBasket

PACKAGE = Path(indexer.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (functions and TYPE_CHECKING blocks too), made absolute."""
    package = ".".join(("indexer",) + path.relative_to(PACKAGE).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            found.add(".".join(p for p in (base, node.module or "") if p))
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("quotes/*.py")) + [PACKAGE / "sections.py"],
                         ids=lambda p: p.name)
def test_domain_modules_import_no_display_code(path):
    assert not {m for m in imported_modules(path) if m.startswith("indexer.display")}


def a_quote() -> Quote:
    return Quote(episode="e", start=1.0, end=2.0, text="Bonjour.", speaker="Alice", title="Un titre",
                 date="2011-06-14", source_url="", chapter="")


def test_a_quote_finds_its_renderers():
    quote = a_quote()
    assert "indexer-quote" in quote._repr_html_()
    assert quote.to_markdown().startswith("> Bonjour.")
    assert "indexer-quote" in QuoteBasket([quote])._repr_html_()


def test_an_unknown_kind_names_the_kinds_there_are():
    with pytest.raises(LookupError, match=r"no 'pdf' renderer for Quote; registered: .*html.*markdown"):
        renderers.render("pdf", a_quote())


def test_another_display_registers_over():
    before = renderers.renderer("html", a_quote())
    renderers.register("html", Quote)(lambda quote: f"<q>{quote.text}</q>")
    try:
        assert a_quote()._repr_html_() == "<q>Bonjour.</q>"
    finally:
        renderers.register("html", Quote)(before)
    assert "indexer-quote" in a_quote()._repr_html_()
