"""The README stays short and its links and set-up commands stay true.

The README is the front page: at most 250 lines, two set-up commands that are
the Makefile targets CI runs, and links into docs/ that lead somewhere (the
file, and the heading an anchor names). Every relative link of docs/ is held to
the same rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 250

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, re.M)}


def _links(path: Path) -> list[str]:
    """Relative links of a Markdown file, outside code blocks."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def _broken(path: Path) -> list[str]:
    broken = []
    for target in _links(path):
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading '{anchor}' in {dest.relative_to(ROOT)}")
    return broken


def test_readme_is_at_most_250_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines: move detail to docs/"


def test_readme_links_every_doc_and_every_link_leads_somewhere():
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in _links(README) if t.startswith("docs/")}
    assert linked, "the README links no document of docs/"
    missing = sorted(str(p.relative_to(ROOT)) for p in linked if not p.is_file())
    assert not missing, f"README.md links documents that do not exist: {missing}"
    unlinked = sorted(p.name for p in DOCS.glob("*.md") if p.resolve() not in linked)
    assert not unlinked, f"documents of docs/ the README does not link: {unlinked}"
    assert not _broken(README), _broken(README)


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_every_relative_link_of_a_doc_leads_somewhere(doc):
    assert not _broken(doc), _broken(doc)


def _setup_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Set up and run\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "README.md has no '## Set up and run' section"
    block = FENCE.search(section.group(1))
    assert block, "the set-up section has no code block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.split("#")[0].strip()]


def _make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))


def test_the_two_setup_commands_are_the_makefile_targets_ci_runs():
    commands = _setup_commands()
    assert commands == ["make demo", "make test"], f"the README's set-up commands changed: {commands}"
    targets = _make_targets()
    for command in commands:
        assert command.split()[1] in targets, f"`{command}`: no such target in the Makefile"
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert commands[1] in ci, f"CI (.ci/run) does not run the README's test command `{commands[1]}`: {ci}"


def test_every_make_target_the_docs_name_exists():
    targets = _make_targets()
    named = set()
    for path in [README, *DOCS.glob("*.md")]:
        named |= {(m, path.name) for m in re.findall(r"`make ([a-z][\w-]*)", path.read_text(encoding="utf-8"))}
        for block in FENCE.findall(path.read_text(encoding="utf-8")):
            named |= {(m, path.name) for m in re.findall(r"^make ([a-z][\w-]*)", block, re.M)}
    missing = sorted(f"make {target} ({doc})" for target, doc in named if target not in targets)
    assert not missing, f"the docs name Makefile targets that do not exist: {missing}"
