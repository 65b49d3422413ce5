"""Every notebook is stored clean, takes the archive as a parameter, and runs on the sample archive.

Each notebook is executed once per test session by the ``executed_notebooks``
fixture (conftest.py: nbclient, parameters injected after the ``parameters``
cell as papermill does, the ingested sample archive, queries taken from what
the model really heard). The tests here check those results; the browser test
opens the same executed copies in JupyterLab.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from helpers.notebooks import NOTEBOOKS, parameters_cell


def _ids(paths):
    return [p.name for p in paths]


def error_outputs(nb) -> list[str]:
    found = []
    for n, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {n}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr" and "Traceback" in output.text:
                found.append(f"cell {n}: traceback on stderr: {output.text[-500:]}")
    return found


def outputs_of(nb, mime: str | None = None) -> list:
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    return outputs if mime is None else [o for o in outputs if mime in o.get("data", {})]


def text_of(nb) -> str:
    """Everything the notebook printed (streams and plain-text results)."""
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs_of(nb))


def html_of(nb) -> str:
    return "".join(o["data"]["text/html"] for o in outputs_of(nb, "text/html"))


def cell(nb, cell_id: str):
    (found,) = [c for c in nb.cells if c.get("id") == cell_id]
    return found


def printed_by(nb, cell_id: str) -> str:
    """What one cell printed (its streams)."""
    return "".join(o.get("text", "") for o in cell(nb, cell_id).outputs if o.output_type == "stream")


def html_by(nb, cell_id: str) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell(nb, cell_id).outputs)


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
    assert isinstance(assigned["ARCHIVE"], ast.Constant) and assigned["ARCHIVE"].value == "../archive"


@pytest.mark.parametrize("name", _ids(NOTEBOOKS))
def test_notebook_runs_on_the_sample_archive_and_leaves_it_untouched(executed_notebooks, name):
    run = executed_notebooks[name]
    assert run.failure is None, f"{name} failed on the sample archive:\n{run.failure}"
    assert not error_outputs(run.nb)
    unrun = [n for n, cell in enumerate(run.nb.cells) if cell.cell_type == "code" and cell.execution_count is None]
    assert not unrun, f"cells {unrun} did not run"
    assert not run.archive_changed, f"{name} changed the archive it was given"


def test_search_notebook_shows_hits_a_player_and_the_search_box(executed_notebooks):
    nb = executed_notebooks["01-search.ipynb"].nb
    html = html_of(nb)
    assert len(re.findall(r"<table class=['\"]indexer-hits", html)) >= 2  # the hits, the phrase
    assert "data:audio/" in html  # hit.play()
    assert outputs_of(nb, "application/vnd.jupyter.widget-view+json"), "the search box was not displayed"
    # The walkthrough shows an approximate hit, marked as such.
    (shown,) = [c for c in nb.cells if c.cell_type == "code" and "archive.search(MISHEARD" in c.source]
    printed = "".join(o.get("text", "") for o in shown.outputs)
    shown_html = "".join(o.get("data", {}).get("text/html", "") for o in shown.outputs)
    assert "mots trouvés par le premier résultat :" in printed and "'approx:" in printed and "≈" in shown_html, printed


# The notebooks check nothing themselves (they are for people: a missing result prints what to try);
# what they show is checked here, cell by cell.

def test_search_notebook_finds_hits_for_the_query_and_the_phrase(executed_notebooks):
    nb = executed_notebooks["01-search.ipynb"].nb
    printed = text_of(nb)
    assert "aucun résultat" not in printed, printed
    for cell_id in ("1cb6d069", "cc2b9746"):  # the query, the phrase
        assert re.search(r"<table class=['\"]indexer-hits", html_by(nb, cell_id)), cell_id
    assert "data:audio/" in html_by(nb, "9e086180")  # the first playable hit


def test_search_notebook_filters_keep_only_what_they_ask_for(executed_notebooks):
    nb = executed_notebooks["01-search.ipynb"].nb
    lines = printed_by(nb, "a4f34ed2").splitlines()
    shown = {}
    for line in lines:
        label, _, rest = line.partition(" : ")
        found = re.fullmatch(r"(\d+) résultat\(s\), (.+)", rest)
        if found:
            shown[label] = (int(found[1]), set(found[2].split(", ")))
    episode = next(label for label in shown if label.startswith("episode="))
    assert shown[episode][0] > 0 and shown[episode][1] == {f"de {ast.literal_eval(episode[8:])}"}, lines
    speaker = next((label for label in shown if label.startswith("speaker=")), None)
    if speaker is None:
        assert "le premier résultat n'a pas d'intervenant : essayez `speaker=` avec un nom des fiches" in lines, lines
    else:
        assert shown[speaker][1] == {f"dit par {ast.literal_eval(speaker[8:])}"}, lines
    year = next((label for label in shown if label.startswith("date:")), None)
    if year is None:
        assert "le premier résultat n'a pas de date : essayez `date:` avec une année de l'archive" in lines, lines
    else:
        assert all(value.startswith(f"daté {year[5:]}") for value in shown[year][1]), lines
    assert shown["exclude_suspect=True"][1] == {"non suspect"}, lines


def test_search_notebook_finds_an_idea_by_meaning_and_more_like_it(executed_notebooks):
    """The paraphrase (PARAPHRASE: words the sample never says) is found by meaning, and the hit table says
    so; "more like this" from the first hit shows other moments, never the one it started from."""
    nb = executed_notebooks["01-search.ipynb"].nb
    printed = printed_by(nb, "meaning-code")
    found = re.search(r"(\d+) résultat\(s\) sur (\d+) trouvé\(s\) par le sens seul", printed)
    assert found and int(found[1]) >= 1 and "attention" not in printed, printed
    assert re.search(r"<i title='trouvé par le sens seulement[^']*'>sens \(\d,\d\d\)</i>", html_by(nb, "meaning-code"))
    like = printed_by(nb, "similar-code")
    start = re.search(r"départ : (\S+) à (\d\d:\d\d:\d\d) — ", like)
    count = re.search(r"(\d+) moment\(s\) proche\(s\), dont (\d+) dans d'autres épisodes", like)
    assert start and count and int(count[1]) >= 1 and int(count[2]) >= 1, like
    rows = re.findall(r"<tr><td>(\d\d:\d\d:\d\d)</td><td>.*?<br><small>(\S+) ", html_by(nb, "similar-code"))
    assert len(rows) == int(count[1]) and (start[2], start[1]) not in rows, (start.groups(), rows)


def test_search_notebook_counts_in_pandas(executed_notebooks):
    nb = executed_notebooks["01-search.ipynb"].nb
    rows = re.fullmatch(r"(\d+) ligne\(s\) ; colonnes : (.+)\n", printed_by(nb, "60633c19"))
    assert rows and int(rows[1]) > 0 and {"episode", "timecode", "speaker", "text"} <= set(rows[2].split(", "))
    counted = re.fullmatch(r"(\d+) segment\(s\) citent .+ ; (\d+) comptés dans (\d+) épisode\(s\) ci-dessous\n",
                           printed_by(nb, "c2d603d6"))
    assert counted and int(counted[1]) == int(counted[2]) > 0 and int(counted[3]) > 0


def test_quotes_notebook_corrects_and_exports_on_a_copy(executed_notebooks):
    nb = executed_notebooks["02-quotes.ipynb"].nb
    printed = text_of(nb)
    assert "article.md" in printed and "corrected" in printed
    assert re.search(r"la recherche de '\w+' trouve aussitôt le segment \d+ de ", printed_by(nb, "1662ae0b"))
    assert re.search(r"<figure class=['\"]indexer-quote", html_of(nb))


def test_overview_notebook_shows_its_plots_and_tables(executed_notebooks):
    nb = executed_notebooks["03-archive-overview.ipynb"].nb
    summary = re.search(r"<td[^>]*>(\d+) \((\d+) transcrits?\)</td>", html_by(nb, "407c5823"))
    assert summary and int(summary[2]) > 0 and "aucune transcription" not in text_of(nb)
    assert "parts du temps attribué : 100,0\u00a0% au total" in printed_by(nb, "171ce30f")
    assert len(outputs_of(nb, "image/png")) >= 4  # hours, speaking time, terms, confidence
    html = html_of(nb)
    assert "indexer-overview" in html and "indexer-review" in html
    assert "class='indexer-clip'" in html and "class='ix-play'" in html  # review players, cut when played
    assert "community manager" in text_of(nb) + html  # the injected TERMS were used
    markdown = "".join(o["data"]["text/markdown"] for o in outputs_of(nb, "text/markdown"))
    assert markdown.startswith("# ") and "\n## " in markdown  # the exported page, with chapters


def test_overview_notebook_shows_automatic_speakers(executed_notebooks):
    """Speaking time per automatic speaker and a turn timeline (issue 17)."""
    nb = executed_notebooks["03-archive-overview.ipynb"].nb
    cell = next(c for c in nb.cells if c.get("id") == "auto-speakers-code")
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "intervenant(s) automatique(s)" in text and " 0 intervenant" not in text
    assert any("image/png" in o.get("data", {}) for o in cell.outputs)
    assert any(">secondes</th>" in o.get("data", {}).get("text/html", "") for o in cell.outputs)
