"""Every notebook is stored clean, takes the archive as a parameter, and runs on the sample archive.

Notebooks are executed with nbclient as papermill would: a cell tagged
``injected-parameters`` is inserted after the ``parameters`` cell, pointing
``ARCHIVE`` at the ingested sample archive (a private copy for the notebooks in
:data:`WRITES_ARCHIVE`), in a temporary working directory.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
# Notebooks that change the archive they are given run on a private copy; the
# others must leave the archive exactly as it was (checked).
WRITES_ARCHIVE: frozenset[str] = frozenset()
CELL_TIMEOUT = 300


def _ids(paths):
    return [p.name for p in paths]


def parameters_cell(nb) -> int:
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged 'parameters', found {len(tagged)}"
    return tagged[0]


def with_parameters(nb, **values):
    """A copy of ``nb`` with ``values`` assigned in a cell right after the parameters cell."""
    nb = nbformat.from_dict(nb)
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(parameters_cell(nb) + 1, cell)
    return nb


def fingerprint(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def error_outputs(nb) -> list[str]:
    found = []
    for n, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {n}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr" and "Traceback" in output.text:
                found.append(f"cell {n}: traceback on stderr: {output.text[-500:]}")
    return found


def test_there_are_notebooks():
    assert {"01-search.ipynb", "02-quotes.ipynb", "03-archive-overview.ipynb"} <= set(_ids(NOTEBOOKS))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [n for n, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them before committing"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state; clear it before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_takes_the_archive_as_a_parameter(path):
    nb = nbformat.read(path, as_version=4)
    cell = nb.cells[parameters_cell(nb)]
    assert cell.cell_type == "code"
    assigned = {target.id: node.value for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    assert "ARCHIVE" in assigned, f"{path.name}: the parameters cell does not set ARCHIVE"
    assert isinstance(assigned["ARCHIVE"], ast.Constant) and isinstance(assigned["ARCHIVE"].value, str)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_on_the_sample_archive(path, request, tmp_path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    archive = request.getfixturevalue("sample_copy" if path.name in WRITES_ARCHIVE else "ingested_sample")
    before = fingerprint(archive)
    nb = with_parameters(nbformat.read(path, as_version=4), ARCHIVE=str(archive))
    workdir = tmp_path / "work"
    workdir.mkdir()
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
    except CellExecutionError as e:
        pytest.fail(f"{path.name} failed on the sample archive:\n{str(e)[-3000:]}")
    assert not error_outputs(nb)
    unrun = [n for n, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.execution_count is None]
    assert not unrun, f"cells {unrun} did not run"
    if path.name not in WRITES_ARCHIVE:
        assert fingerprint(archive) == before, f"{path.name} changed the archive it was given"


def test_overview_notebook_shows_its_plots_and_tables(ingested_sample, tmp_path):
    from nbclient import NotebookClient

    path = REPO / "notebooks" / "03-archive-overview.ipynb"
    nb = with_parameters(nbformat.read(path, as_version=4), ARCHIVE=str(ingested_sample),
                         TERMS=["community manager", "réseaux sociaux", "communauté"])
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert len(images) >= 4  # hours, speaking time, terms, confidence
    assert "indexer-overview" in html and "indexer-review" in html
    assert "data:audio/mpeg;base64," in html  # review players
    assert "communauté" in html  # the injected TERMS were used
    markdown = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert markdown.startswith("# ") and "\n## " in markdown  # the exported page, with chapters
