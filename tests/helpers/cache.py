"""Built artefacts (an ingested archive, an executed notebook) shared by the pytest-xdist workers of a run.

Each artefact is a folder named after what it is built from (a digest of its input files and of the
``indexer`` sources), built once under a file lock by whichever worker asks first; the others wait for it
and read it. The folder lives in the run's temporary root, which the workers share (pytest-xdist's own
recipe: ``tmp_path_factory.getbasetemp().parent``), so a new run builds it anew.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from filelock import FileLock

from helpers import REPO

INDEXER_SOURCES = REPO / "indexer"


def digest(inputs: Iterable[Path | str]) -> str:
    """sha256 over the paths and bytes of every file under ``inputs`` (strings count as themselves)."""
    h = hashlib.sha256()
    for item in inputs:
        if isinstance(item, str):
            h.update(item.encode() + b"\0")
            continue
        files = sorted(p for p in item.rglob("*") if p.is_file()) if item.is_dir() else [item]
        for path in files:
            if "__pycache__" in path.parts:
                continue
            h.update(str(path.relative_to(item if item.is_dir() else item.parent)).encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def shared_root(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_artefact(tmp_path_factory, name: str, inputs: Iterable[Path | str],
                    build: Callable[[Path], None]) -> Path:
    """The folder ``build(folder)`` makes from ``inputs`` (the ``indexer`` sources always count), built
    once per run for all the workers. ``build`` gets a fresh folder that does not exist yet."""
    root = shared_root(tmp_path_factory) / "artefacts"
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{name}-{digest([INDEXER_SOURCES, *inputs])}"
    with FileLock(str(target) + ".lock"):
        if not target.is_dir():
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)  # a worker that failed half-way
            build(partial)
            partial.rename(target)
    return target
