"""docs/architecture.md names every package and module of `indexer/`, and nothing that is gone.

The table "Packages by stage" has one row per subpackage, its modules in the
last column; every top-level module is named too. A module added, moved or
removed without the architecture doc following turns this red.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "indexer"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def _rows() -> dict[str, set[str]]:
    """Subpackage name → the modules its row of the table names."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = re.search(r"^## Packages by stage\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "docs/architecture.md has no '## Packages by stage' section"
    rows = {}
    for line in section.group(1).splitlines():
        match = re.match(r"\|\s*`(\w+)/`\s*\|.*\|([^|]*)\|\s*$", line)
        if match:
            rows[match.group(1)] = set(re.findall(r"`(\w+)`", match.group(2)))
    return rows


def _packages() -> dict[str, set[str]]:
    return {p.parent.name: {m.stem for m in p.parent.glob("*.py") if m.stem != "__init__"}
            for p in PACKAGE.glob("*/__init__.py")}


def test_every_package_has_its_row_with_every_module():
    rows, packages = _rows(), _packages()
    assert rows, "no package row found in the table of docs/architecture.md"
    problems = [f"indexer/{name}/ has no row" for name in sorted(set(packages) - set(rows))]
    problems += [f"the row `{name}/` names a package that does not exist" for name in sorted(set(rows) - set(packages))]
    for name in sorted(set(rows) & set(packages)):
        problems += [f"indexer/{name}/{m}.py is not named in its row" for m in sorted(packages[name] - rows[name])]
        problems += [f"the row `{name}/` names {m}, not a module of it" for m in sorted(rows[name] - packages[name])]
    assert not problems, "docs/architecture.md is stale:\n" + "\n".join(problems)


def test_every_top_level_module_is_named():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    modules = sorted(p.name for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    missing = [m for m in modules if f"`{m}`" not in text and f"`{m[:-3]}`" not in text]
    assert not missing, f"docs/architecture.md does not name these modules: {missing}"
