"""Every file of the project the documentation names exists.

A path in a code span of the README or of docs/ (`indexer/locks.py`,
`tests/test_ingest.py`, `benchmarks/voices.py`, a results file, a notebook)
must be a file or folder of this checkout; a bare test module, source file or
results file name must exist where such files live. A file renamed or removed
without the docs following turns this red. Paths inside an archive
(`ARCHIVE/...`, `transcripts/<id>.json`) are the archive format's, not files
of the checkout, and are left to docs/archive-format.md.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
# Folders of the checkout a path may start with.
CHECKOUT_ROOTS = ("indexer/", "tests/", "benchmarks/", "notebooks/", "scripts/", "docs/", ".ci/", "archive/")
PATH = re.compile(r"(?<![\w/.<-])((?:\.?[\w-]+/)*[\w*.-]+\.(?:py|md|json|ipynb|js|css|yaml|yml|txt))(?![\w/])")
# Files of an archive (docs/archive-format.md) or of a model folder, not of this checkout.
ARCHIVE_FILES = {"config.json", "model.bin", "archive.yaml", "store.json", "library.json", "voices.actions.json", "indexer-index.json",
                 "hashes.json", "probes.json", "transcripts.json", "indexed.json", "voiceprints.json",
                 "environment.yml", "pyproject.toml"}


def _spans(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return SPAN.findall(FENCE.sub("", text))


def _exists(name: str) -> bool:
    if name.endswith(".py") and (ROOT / "indexer" / name).exists():   # `archive/sidecars.py`: a package path
        return True
    if name.startswith(CHECKOUT_ROOTS):
        return any(ROOT.glob(name)) if "*" in name else (ROOT / name).exists()
    if "/" in name:   # a path inside an archive or a package path such as `display/quote.py`
        return any((ROOT / "indexer").glob(f"**/{name}")) if name.endswith(".py") else True
    if name in ARCHIVE_FILES:
        return True
    if name.startswith("test_"):
        return any((ROOT / "tests").rglob(name))
    if name.endswith(".py"):
        return any(ROOT.glob(f"indexer/**/{name}")) or any(ROOT.glob(f"benchmarks/{name}")) \
            or any(ROOT.glob(f"tests/**/{name}")) or any(ROOT.glob(f"scripts/{name}"))
    if name.endswith((".md", ".json")):
        return any((ROOT / "benchmarks" / "results").glob(name)) or (ROOT / name).exists() \
            or any((ROOT / "docs").glob(name))
    if name.endswith(".ipynb"):
        return any((ROOT / "notebooks").glob(name))
    return True


def _named_files():
    for doc in DOCUMENTS:
        for span in _spans(doc):
            if "<" in span or "ARCHIVE" in span or "…" in span or "://" in span:
                continue
            for match in PATH.finditer(span):
                yield doc.name, match.group(1).split("::")[0]


def test_the_docs_name_files_at_all():
    named = {name for _, name in _named_files()}
    assert {"indexer/locks.py", "benchmarks/transcribe.py"} <= named, sorted(named)[:40]


def test_every_file_the_docs_name_exists():
    missing = sorted({f"{doc}: {name}" for doc, name in _named_files() if not _exists(name)})
    assert not missing, "the docs name files that do not exist:\n" + "\n".join(missing)
