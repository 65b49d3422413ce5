"""The notebooks, opened in a real JupyterLab in a headless Chromium.

Each notebook was executed once in this test session (the ``executed_notebooks``
fixture, on the ingested sample archive); a JupyterLab server is started on
127.0.0.1 (a free port, a token) over those executed copies, signed as trusted
as a person's own run would be. Debian's Chromium, driven by Selenium through
Debian's chromedriver (nothing is downloaded), opens each notebook and checks
that every output renders in the real page: no error output, the search
table, the plots (decoded images), the players and the search box widget.
Screenshots go to ``tests/.artifacts/browser/`` (ignored by git; the paths
are printed).

There is no time budget: a slow machine is not a broken product. Each wait
has a hang guard, far above its normal time, whose message names what hung.
Skipped, with the reason, only where Chromium, chromedriver or Selenium are
missing (``make setup`` installs them).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from helpers.browser import PROMPTS_JS, Lab, artifacts_folder, chromium_session, require_browser
from helpers.notebooks import NOTEBOOKS

pytestmark = pytest.mark.browser  # starts Chromium (make test-fast leaves it out)


# What each notebook must show once run (CSS selector: at least this many).
EXPECTED = {
    "01-search.ipynb": {"table.indexer-hits": 1, "table.indexer-hits audio": 1, ".widget-text": 1},
    "02-quotes.ipynb": {"table.indexer-hits": 1, "figure.indexer-quote audio": 1},
    "03-archive-overview.ipynb": {"table.indexer-overview": 1, "table.indexer-quality": 1, ".jp-RenderedImage img": 4,
                                  "table.indexer-review audio": 1,
                                  ".jp-OutputArea-output.jp-RenderedMarkdown h2": 1},
}

# Hang guards (seconds), ten times and more what each wait takes on an idle machine.
NOTEBOOK_OPEN = 180.0
OUTPUTS_RENDER = 120.0


def place_executed_notebooks(folder: Path, executed, data_dir: Path) -> None:
    """The session's executed notebooks, outputs included, signed with the lab's
    own secret: JupyterLab shows a trusted notebook's HTML as the person who ran it sees it."""
    from nbformat.sign import NotebookNotary

    folder.mkdir(parents=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    notary = NotebookNotary(data_dir=str(data_dir))
    for name, run in executed.items():
        nb = nbformat.from_dict(run.nb)
        notary.sign(nb)
        nbformat.write(nb, folder / name)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, executed_notebooks):
    require_browser()
    home = tmp_path_factory.mktemp("lab")
    place_executed_notebooks(home / "notebooks", executed_notebooks, home / "data")
    server = Lab(home / "notebooks", home)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory):
    yield from chromium_session(tmp_path_factory)


@pytest.fixture(scope="module")
def artifacts():
    return artifacts_folder("browser")


# --- driving JupyterLab ---------------------------------------------------------------------------------

ERRORS_JS = """
const found = [];
const panel = '.jp-NotebookPanel ';
for (const el of document.querySelectorAll(
        panel + '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')) {
    if (el.textContent.includes('Traceback')) found.push(el.textContent.slice(0, 2000));
}
for (const el of document.querySelectorAll(panel + '.jp-RenderedText')) {
    if (/Traceback|Error/.test(el.textContent)) found.push(el.textContent.slice(0, 2000));
}
return found;
"""


def wait_for(driver, condition, timeout: float, what: str):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5).until(condition)
    except TimeoutException:
        pytest.fail(f"hung: no {what} after {timeout:.0f} s (a hang guard, not a speed check)")


def dismiss_dialogs(driver) -> None:
    """Accept a kernel choice dialog, if JupyterLab asks (the notebooks name python3)."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-Dialog-button.jp-mod-accept"):
        button.click()


def kernel_idle(driver) -> bool:
    from selenium.webdriver.common.by import By

    indicators = driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator")
    return bool(indicators) and all(i.get_attribute("data-status") == "idle" for i in indicators)


def screenshot_elements(driver, selector: str, folder: Path, stem: str, limit: int = 6) -> list[Path]:
    from selenium.webdriver.common.by import By

    saved = []
    for n, element in enumerate(driver.find_elements(By.CSS_SELECTOR, selector)[:limit], 1):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        path = folder / f"{stem}-{n}.png"
        element.screenshot(str(path))
        saved.append(path)
    return saved


def rendered(driver, notebook: str):
    """Every expected output is in the page, and every image is decoded."""
    from selenium.webdriver.common.by import By

    for selector, count in EXPECTED.get(notebook, {}).items():
        if len(driver.find_elements(By.CSS_SELECTOR, selector)) < count:
            return False
    images = driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-RenderedImage img")
    return all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", i) > 100
               for i in images)


@pytest.mark.parametrize("notebook", [p.name for p in NOTEBOOKS])
def test_executed_notebook_renders_in_jupyterlab(lab, browser, artifacts, notebook):
    from selenium.webdriver.common.by import By

    stem = notebook.removesuffix(".ipynb")
    browser.get(lab.url(notebook, workspace=f"test-{stem}"))

    def opened(driver):
        dismiss_dialogs(driver)
        return (driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-CodeCell")
                and kernel_idle(driver) and lab.kernel_ready(notebook))

    wait_for(browser, opened, NOTEBOOK_OPEN, f"{notebook} open with an idle kernel")
    prompts = browser.execute_script(PROMPTS_JS)
    assert prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), f"cells not run: {prompts}"
    try:
        wait_for(browser, lambda d: rendered(d, notebook), OUTPUTS_RENDER, f"rendered outputs of {notebook}")
    finally:
        shots = [artifacts / f"{stem}.png"]
        browser.execute_script(
            "document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')?.scrollTo(0, 0);")
        browser.save_screenshot(str(shots[0]))
        for selector, name in [("table.indexer-hits", "hits"), (".jp-RenderedImage img", "plot"),
                               ("table.indexer-review", "review"), ("table.indexer-overview", "overview"),
                               ("figure.indexer-quote", "quote"),
                               (".jp-OutputArea-output.jp-RenderedMarkdown", "page")]:
            shots += screenshot_elements(browser, selector, artifacts, f"{stem}-{name}")
        print(f"\n{notebook}: screenshots\n  " + "\n  ".join(str(p) for p in shots))
    errors = browser.execute_script(ERRORS_JS)
    assert not errors, f"{notebook} shows errors in JupyterLab:\n" + "\n---\n".join(errors)


def test_exported_page_reads_well_and_runs_no_transcript_code(browser, ingested_sample, artifacts, tmp_path):
    """The HTML page of an episode, opened in Chromium: headings, turns, and text that stays text."""
    from selenium.webdriver.common.by import By

    from indexer import Archive
    from indexer.archive import EpisodeMeta
    from indexer.display.page import render_page
    from indexer.transcript import Segment, Transcript

    archive = Archive(ingested_sample)
    episode = max(archive.episodes(), key=lambda e: (len(e.meta.chapters), len(e.meta.speakers))).id
    page = tmp_path / "page.html"
    archive.export_page(episode, "html", out=page)
    browser.get(page.as_uri())
    meta = archive.episode(episode).meta
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == meta.title
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.chapter h2")) >= 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "p.turn .speaker")) >= 2
    browser.save_screenshot(str(artifacts / "page-html.png"))
    print(f"\npage of {episode}: {artifacts / 'page-html.png'}")

    hostile = Transcript("x", "x.wav", "0" * 64, 5.0, "fr", "test", "test", {}, [
        Segment(0, 0, 5, "<script>window.injected = 1</script><img src=x onerror='window.injected = 2'>")])
    (tmp_path / "hostile.html").write_text(
        render_page(hostile, EpisodeMeta(title="<script>window.injected = 3</script>"), "html"), encoding="utf-8")
    browser.get((tmp_path / "hostile.html").as_uri())
    assert browser.execute_script("return window.injected") is None
    assert "<script>window.injected = 1</script>" in browser.find_element(By.CSS_SELECTOR, "p.turn").text
