"""Helpers of the hardening tests (issue 25): small archives transcribed by the fake engine, the CLI
run in-process, child processes synchronised by files, and commands run as an unprivileged user.

Real files, ffmpeg, Whoosh and locks throughout; recognition is not the subject, so every archive
transcribes with :class:`indexer.testing.FakeEngine`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.media import speech
from indexer import Archive
from indexer.cli import main
from indexer.testing import FAKE_ENGINE

HANG_GUARD = 240.0  # s: a child that has not reached its point by then is stuck (not a speed check)


def fake_archive(root: Path, files: dict[str, float]) -> Path:
    """An archive whose ``audio/`` holds ``{name: seconds}`` of distinct speech recordings, transcribed
    by the fake engine, speakers off."""
    (root / "audio").mkdir(parents=True, exist_ok=True)
    (root / "archive.yaml").write_text(f"language: fr\nmodel: base\nengine: {FAKE_ENGINE}\nspeakers: off\n")
    for variant, (name, seconds) in enumerate(files.items()):
        speech(root / "audio" / name, seconds, variant)
    return root


def ingest(root: Path, **changes):
    return Archive(root).ingest(**{"workers": 1, "progress": False, **changes})


def cli(*args):
    """The CLI in-process; a traceback (an exception other than SystemExit) fails the test."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        pytest.fail("".join(traceback.format_exception(result.exception)))
    return result


def assert_clean_failure(result, *words):
    """Exit 1, no traceback, and each of ``words`` in the output."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    for word in words:
        assert word in result.output, (word, result.output)


def search_ids(root: Path, query: str) -> set[str]:
    return {hit.episode for hit in Archive(root).search(query, limit=100, match="words")}


def wait_for(marker: Path, process: subprocess.Popen, what: str) -> None:
    """Until the child writes ``marker`` (a file it makes at a known point); fails if it ends first."""
    deadline = time.monotonic() + HANG_GUARD
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(f"the child ended before {what}: {process.stdout.read()} {process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the child never reached {what}")
        time.sleep(0.05)


# A child that runs the CLI after patching ``target`` (module:attribute) so that, on the call where
# ``when(n, *args)`` is true, it writes MARKER and waits until GO exists (or forever).
PAUSING_CHILD = r"""
import importlib, os, sys, time
target, when, marker, go = sys.argv[1:5]
module_name, _, attribute = target.partition(":")
owner_path, _, name = attribute.rpartition(".")
owner = importlib.import_module(module_name)
for part in filter(None, owner_path.split(".")):
    owner = getattr(owner, part)
real, calls = getattr(owner, name), []
check = eval(when)

def patched(*args, **kwargs):
    calls.append(1)
    if check(len(calls), *args):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        while not os.path.exists(go):
            time.sleep(0.05)
    return real(*args, **kwargs)

setattr(owner, name, patched)
from indexer.cli import main
main(sys.argv[5:])
"""


def start_paused(folder: Path, target: str, when: str, *cli_args) -> tuple[subprocess.Popen, Path]:
    """``indexer *cli_args`` in a child that stops in ``target`` (see PAUSING_CHILD); returns it and the
    file that lets it go on (create it), once it has stopped there."""
    marker, go = folder / "paused", folder / "go"
    marker.unlink(missing_ok=True)
    go.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-c", PAUSING_CHILD, target, when, str(marker), str(go),
                                *map(str, cli_args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(marker, process, f"{target}")
    return process, go


def children(pid: int) -> list[int]:
    """Live (not zombie) child processes of ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def blocked_on_lock(path: Path) -> bool:
    """Some process waits for a flock on ``path`` (/proc/locks lists waiters with "->")."""
    try:
        inode = os.stat(path).st_ino
    except FileNotFoundError:
        return False
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields and fields[fields.index("->") + 5].split(":")[-1] == str(inode):
            return True
    return False


# The interpreter lives under /root (mode 700): import everything as root, then drop to nobody.
AS_NOBODY = r"""
import os, sys
import indexer.api, indexer.cli, indexer.ingest.run, indexer.ingest.workers, indexer.ingest.status
import indexer.ingest.reindex, indexer.corrections, indexer.index, indexer.testing, whoosh.filedb.filestore, whoosh.index
import whoosh.multiproc, indexer.search, indexer.quotes, indexer.display.page
os.setgid(65534)
os.setuid(65534)
sys.exit(indexer.cli.main(sys.argv[1:], standalone_mode=True))
"""


@contextlib.contextmanager
def shared_folder():
    """A temporary folder that the unprivileged user can use (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="indexer-hardening-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def open_to_all(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o777 if path.is_dir() else 0o666)


def as_nobody(*cli_args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``indexer *cli_args`` run as the user nobody (uid 65534): chmod 000 does not stop root."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run a child as another user")
    return subprocess.run([sys.executable, "-c", AS_NOBODY, *map(str, cli_args)], capture_output=True, text=True,
                          cwd=cwd or "/", timeout=HANG_GUARD)
