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
from conftest import NOTEBOOKS  # noqa: E402
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
    "03-archive-overview.ipynb": {"table.indexer-overview": 1, "table.indexer-quality": 1, ".jp-RenderedImage img": 4,
                                  "table.indexer-review audio": 1,
                                  ".jp-OutputArea-output.jp-RenderedMarkdown h2": 1},
}

# Hang guards (seconds), ten times and more what each wait takes on an idle machine.
SERVER_START = 180.0
NOTEBOOK_OPEN = 180.0
OUTPUTS_RENDER = 120.0


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


class Lab:
    """A JupyterLab server process of this test, and how to reach it."""

    def __init__(self, root: Path, home: Path):
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
               "JUPYTER_DATA_DIR": str(home / "data"),
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
        deadline = time.monotonic() + SERVER_START
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"JupyterLab exited ({self.process.returncode}):\n{self.tail()}")
            try:
                self.api("/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        pytest.fail(f"hung: JupyterLab did not answer after {SERVER_START:.0f} s:\n{self.tail()}")

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
def lab(tmp_path_factory, executed_notebooks):
    _require_browser()
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
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


def start_chromium(profile: Path, flags=CHROMIUM_FLAGS, hang: float = 180.0):
    """Debian's Chromium through Debian's chromedriver, headless, with a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in flags:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(hang)
    driver.set_script_timeout(hang)
    return driver


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
