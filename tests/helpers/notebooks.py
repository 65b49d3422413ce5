"""The notebooks, executed as papermill would (nbclient; the values go in a cell after the one tagged
``parameters``) on a copy of the ingested sample archive. tests/test_notebooks.py checks the results and
tests/test_notebooks_jupyterlab.py opens the executed copies in a real JupyterLab."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from helpers import REPO, archive_fingerprint

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
NOTEBOOK_CELL_TIMEOUT = 600  # a hang guard, not a speed check


def words_heard(root: Path) -> tuple[str, str]:
    """(the most frequent long word, a phrase of two long words in a row) of the
    transcripts: queries that find something whatever the model heard."""
    from indexer import Archive

    segments = [s.text for t in Archive(root).transcripts() for s in t.segments]
    tokens = [re.findall(r"[^\W\d_]{7,}", text.lower()) for text in segments]
    word = Counter(w for ws in tokens for w in ws).most_common(1)[0][0]
    pairs = [re.search(r"\b([^\W\d_]{7,}) ([^\W\d_]{7,})\b", text.lower()) for text in segments]
    phrase = next(m for m in pairs if m)
    return word, f'"{phrase[1]} {phrase[2]}"'


def notebook_parameters(name: str, archive: Path) -> dict:
    word, phrase = words_heard(archive)
    # Two letters swapped (not a doubled letter dropped: the light stemmer folds those): in no transcript.
    i = next(i for i in range(2, len(word) - 1) if word[i] != word[i + 1])
    misheard = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    extra = {"01-search.ipynb": {"QUERY": word, "PHRASE": phrase, "MISHEARD": misheard},
             "03-archive-overview.ipynb": {"TERMS": ["community manager", word]}}
    return {"ARCHIVE": str(archive), **extra.get(name, {})}


def parameters_cell(nb) -> int:
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged 'parameters', found {len(tagged)}"
    return tagged[0]


def with_parameters(nb, **values):
    """A copy of ``nb`` with ``values`` assigned in a cell right after the parameters cell."""
    import nbformat

    nb = nbformat.from_dict(nb)
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(parameters_cell(nb) + 1, cell)
    return nb


@dataclass
class ExecutedNotebook:
    name: str
    nb: object                 # the executed nbformat notebook, outputs included
    path: Path                 # where it was saved
    failure: str | None        # the cell error, if execution stopped
    archive_changed: bool      # did it change the archive it was given?


def execute_notebook(source: Path, ingested: Path, folder: Path) -> None:
    """Run ``source`` on a private copy of the ingested archive ``ingested``; write into ``folder`` the
    executed notebook and ``run.json`` (the cell error, whether the archive changed)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    folder.mkdir(parents=True)
    # A copy of its own: other workers read the shared ingested archive while this one runs.
    archive = shutil.copytree(ingested, folder / "archive")
    before = archive_fingerprint(archive)
    nb = with_parameters(nbformat.read(source, as_version=4), **notebook_parameters(source.name, archive))
    failure = None
    try:
        NotebookClient(nb, timeout=NOTEBOOK_CELL_TIMEOUT, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    except CellExecutionError as e:
        failure = str(e)[-3000:]
    nbformat.write(nb, folder / source.name)
    run = {"failure": failure, "archive_changed": archive_fingerprint(archive) != before}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")


def load_executed(folder: Path, name: str) -> ExecutedNotebook:
    import nbformat

    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    path = folder / name
    return ExecutedNotebook(name, nbformat.read(path, as_version=4), path, run["failure"], run["archive_changed"])
