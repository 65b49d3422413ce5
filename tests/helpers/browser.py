"""Debian's Chromium driven by Selenium through Debian's chromedriver (nothing is downloaded), and a
JupyterLab server of the test's own (127.0.0.1, a free port, a token): what the browser tests share.

Only tests marked ``browser`` may start Chromium: conftest.py fails any other test that does, so that
``make test-fast`` never starts one.
"""

from __future__ import annotations

import json
import os
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

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1800"]

SERVER_START = 180.0  # s: a hang guard, ten times what a start takes on an idle machine


def artifacts_folder(name: str) -> Path:
    """tests/.artifacts/NAME/ for screenshots, never committed (the folder ignores itself)."""
    folder = Path(__file__).resolve().parents[1] / ".artifacts" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder.parent / ".gitignore").write_text("*\n", encoding="utf-8")
    return folder


def require_browser():
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


def chromium_session(tmp_path_factory, flags=CHROMIUM_FLAGS, hang: float = 180.0):
    """A module fixture's body: a headless Chromium on a fresh profile, quit when the module is done."""
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"), flags, hang)
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


PROMPTS_JS = """
return [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')]
    .map(c => (c.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim());
"""
