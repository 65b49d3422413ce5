"""The notebooks, run for real in JupyterLab in a headless Chromium.

A JupyterLab server is started on 127.0.0.1 (a free port, a token) over a
temporary copy of ``notebooks/`` whose parameter cells point at the ingested
sample archive. Debian's Chromium, driven by Selenium through Debian's
chromedriver (nothing is downloaded), opens each notebook, runs it with the
menu Run → Run All Cells, waits for every cell to finish, and checks that no
cell shows an error and that the search table, the plots and the other
displays are there. Screenshots go to ``tests/.artifacts/browser/`` (ignored
by git; the paths are printed).

Skipped, with the reason, only where Chromium, chromedriver or Selenium are
missing (``make setup`` installs them).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
ARTIFACTS = REPO / "tests" / ".artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1800"]

# What each notebook must show once run (CSS selector: at least this many).
EXPECTED = {
    "01-search.ipynb": {"table.indexer-hits": 1, "table.indexer-hits audio": 1, ".widget-text": 1},
    "02-quotes.ipynb": {"table.indexer-hits": 1, "figure.indexer-quote audio": 1},
    "03-archive-overview.ipynb": {"table.indexer-overview": 1, ".jp-RenderedImage img": 4,
                                  "table.indexer-review audio": 1,
                                  ".jp-OutputArea-output.jp-RenderedMarkdown h2": 1},
}

BUDGET = 290.0        # seconds for the whole module: server, browser and every notebook
SERVER_START = 90.0
NOTEBOOK_OPEN = 90.0
NOTEBOOK_RUN = 150.0

_started = time.monotonic()


def remaining(limit: float) -> float:
    """``limit`` seconds, or less if the module's budget runs out first."""
    left = BUDGET - (time.monotonic() - _started)
    if left <= 0:
        pytest.fail(f"browser tests took more than {BUDGET:.0f} s")
    return min(limit, left)


def _require_browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.skip(f"Debian's Chromium is not installed ({', '.join(missing)} missing): "
                    "apt-get install chromium chromium-driver (make system-packages)")
    pytest.importorskip("selenium", reason="selenium is not installed: pip install -e '.[dev]'")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(settings: Path) -> None:
    """JupyterLab settings for a quiet, deterministic page: no news pop-up, every cell in the DOM."""
    values = {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }
    for name, value in values.items():
        path = settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")


def copy_notebooks(folder: Path, archive: Path) -> None:
    folder.mkdir(parents=True)
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, f"{path.name}: one cell tagged 'parameters' expected"
        source, n = re.subn(r"^ARCHIVE\s*=.*$", f"ARCHIVE = {str(archive)!r}", params[0].source, flags=re.M)
        assert n == 1, f"{path.name}: no ARCHIVE = line in the parameters cell"
        params[0].source = source
        nbformat.write(nb, folder / path.name)


class Lab:
    """A JupyterLab server process of this test, and how to reach it."""

    def __init__(self, root: Path, home: Path):
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
               "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
        write_settings(home / "settings")
        self.log = (home / "jupyterlab.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
             "--ServerApp.terminals_enabled=False", *(["--allow-root"] if os.geteuid() == 0 else [])],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.log_path = home / "jupyterlab.log"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_ready(self) -> None:
        deadline = time.monotonic() + remaining(SERVER_START)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"JupyterLab exited ({self.process.returncode}):\n{self.tail()}")
            try:
                self.api("/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        pytest.fail(f"JupyterLab did not answer within {SERVER_START:.0f} s:\n{self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def kernel_ready(self, notebook: str) -> bool:
        """The notebook has a session whose kernel has started and is idle (the page can say idle earlier)."""
        try:
            sessions = self.api("/api/sessions")
        except (urllib.error.URLError, OSError):
            return False
        return any(s.get("path") == notebook and (s.get("kernel") or {}).get("execution_state") == "idle"
                   for s in sessions)

    def url(self, notebook: str, workspace: str) -> str:
        return f"{self.base}/lab/workspaces/{workspace}/tree/{notebook}?token={self.token}"

    def stop(self) -> None:
        try:
            for kernel in self.api("/api/kernels") or []:
                self.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        except (urllib.error.URLError, OSError):
            pass
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group this test started
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, ingested_sample):
    _require_browser()
    home = tmp_path_factory.mktemp("lab")
    copy_notebooks(home / "notebooks", ingested_sample)
    server = Lab(home / "notebooks", home)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS.parent / ".gitignore").write_text("*\n", encoding="utf-8")  # screenshots are never committed
    return ARTIFACTS


# --- driving JupyterLab ---------------------------------------------------------------------------------

PROMPTS_JS = """
return [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')]
    .map(c => (c.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim());
"""

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
        return WebDriverWait(driver, remaining(timeout), poll_frequency=0.5).until(condition)
    except TimeoutException:
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def dismiss_dialogs(driver) -> None:
    """Accept a kernel choice dialog, if JupyterLab asks (the notebooks name python3)."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-Dialog-button.jp-mod-accept"):
        button.click()


def kernel_idle(driver) -> bool:
    from selenium.webdriver.common.by import By

    indicators = driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator")
    return bool(indicators) and all(i.get_attribute("data-status") == "idle" for i in indicators)


def run_all_cells(driver) -> None:
    """Run → Run All Cells, from the menu bar as a person would."""
    from selenium.webdriver.common.by import By

    wait_for(driver, lambda d: d.find_elements(By.XPATH, "//li[contains(@class,'lm-MenuBar-item')]"
                                                         "[.//div[normalize-space()='Run']]"),
             30, "the Run menu")
    driver.find_element(By.XPATH, "//li[contains(@class,'lm-MenuBar-item')][.//div[normalize-space()='Run']]").click()
    item = wait_for(driver, lambda d: d.find_elements(
        By.CSS_SELECTOR, ".lm-Menu-item[data-command='runmenu:run-all']"), 10, "Run All Cells")
    item[0].click()


def finished(driver):
    """All code cells numbered (or stopped at an error), none running, kernel idle."""
    prompts = driver.execute_script(PROMPTS_JS)
    if not prompts or any(p == "[*]:" for p in prompts):
        return False
    done = all(re.fullmatch(r"\[\d+\]:", p) for p in prompts)
    return (done or bool(driver.execute_script(ERRORS_JS))) and kernel_idle(driver)


def run_notebook(driver, notebook: str) -> None:
    """Run All Cells and wait for the end; once more if the run stalls (a kernel that was not quite ready)."""
    run_all_cells(driver)
    deadline = time.monotonic() + remaining(NOTEBOOK_RUN)
    stalled_since, retried = None, False
    while time.monotonic() < deadline:
        if finished(driver):
            return
        prompts = driver.execute_script(PROMPTS_JS)
        if "[*]:" not in prompts and kernel_idle(driver):
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 10 and not retried:
                run_all_cells(driver)
                stalled_since, retried = None, True
        else:
            stalled_since = None
        time.sleep(0.5)
    pytest.fail(f"{notebook} did not finish within {NOTEBOOK_RUN:.0f} s: {driver.execute_script(PROMPTS_JS)}")


def screenshot_elements(driver, selector: str, folder: Path, stem: str, limit: int = 6) -> list[Path]:
    from selenium.webdriver.common.by import By

    saved = []
    for n, element in enumerate(driver.find_elements(By.CSS_SELECTOR, selector)[:limit], 1):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        path = folder / f"{stem}-{n}.png"
        element.screenshot(str(path))
        saved.append(path)
    return saved


@pytest.mark.parametrize("notebook", [p.name for p in NOTEBOOKS])
def test_notebook_runs_in_jupyterlab(lab, browser, artifacts, notebook):
    from selenium.webdriver.common.by import By

    stem = notebook.removesuffix(".ipynb")
    browser.get(lab.url(notebook, workspace=f"test-{stem}"))

    def opened(driver):
        dismiss_dialogs(driver)
        return (driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-CodeCell")
                and kernel_idle(driver) and lab.kernel_ready(notebook))

    wait_for(browser, opened, NOTEBOOK_OPEN, f"{notebook} to open with an idle kernel")
    wait_for(browser, kernel_idle, 10, "the page to show the kernel idle")
    run_notebook(browser, notebook)
    time.sleep(1.0)  # let the last outputs (images, widgets) lay out

    shots = [artifacts / f"{stem}.png"]
    browser.execute_script("document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')?.scrollTo(0, 0);")
    browser.save_screenshot(str(shots[0]))
    for selector, name in [("table.indexer-hits", "hits"), (".jp-RenderedImage img", "plot"),
                           ("table.indexer-review", "review"), ("table.indexer-overview", "overview"),
                           ("figure.indexer-quote", "quote"), (".jp-OutputArea-output.jp-RenderedMarkdown", "page")]:
        shots += screenshot_elements(browser, selector, artifacts, f"{stem}-{name}")
    print(f"\n{notebook}: screenshots\n  " + "\n  ".join(str(p) for p in shots))

    errors = browser.execute_script(ERRORS_JS)
    assert not errors, f"{notebook} shows errors in JupyterLab:\n" + "\n---\n".join(errors)
    prompts = browser.execute_script(PROMPTS_JS)
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), f"cells not run: {prompts}"
    for selector, count in EXPECTED.get(notebook, {}).items():
        found = browser.find_elements(By.CSS_SELECTOR, selector)
        assert len(found) >= count, f"{notebook}: expected {count} × {selector}, found {len(found)}"
    images = browser.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-RenderedImage img")
    for image in images:  # decoded, not a broken image
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 100


def test_exported_page_reads_well_and_runs_no_transcript_code(browser, ingested_sample, artifacts, tmp_path):
    """The HTML page of an episode, opened in Chromium: headings, turns, and text that stays text."""
    from selenium.webdriver.common.by import By

    from indexer import Archive
    from indexer.archive import EpisodeMeta
    from indexer.pages import render_page
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
