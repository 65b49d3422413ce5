"""Fixtures shared by the test modules, the markers of the inner loop, and the browser guard.

Helpers (builders, constants, the notebook runner, the browser driver) live in ``tests/helpers/``; test
modules import them from there, never from this file or from another test module.

Layout: a test file is named after the package or module it tests, ``test_<package>.py`` or
``test_<package>_<topic>.py`` (``test_packaging.py`` checks it; ``notebooks`` and ``packaging`` stand for
the notebooks and the set-up files).

Markers (``make test`` leaves out ``slow``, ``make test-fast`` also ``weights`` and ``browser``; CI runs
``make test`` then ``make test-slow``, so everything):

* ``weights``: runs the real Whisper weights, directly or through the ingested sample archive. Tests that
  use one of ``WEIGHTS_FIXTURES`` get it here; the others carry it in their file.
* ``browser``: starts Chromium. Set in each such file; a test without it that starts Chromium or
  chromedriver fails (``BrowserGuard``), so the inner loop never starts a browser.
* ``slow``: what CI runs and the suite before a commit (``make test``, which must stay under two
  minutes) leaves out. One rule, here: every ``weights`` or ``browser`` test is ``slow``, except the few
  marked ``smoke``, one per real component (Whisper through the CLI, the speaker embeddings, the
  sentence embeddings, Chromium on an exported page). The sample's real ingest, the notebooks run on it,
  both engines, long and noisy audio, batching and JupyterLab run in CI (``make test-slow``).

The expensive session fixtures (one real ingest of the sample archive, each notebook executed once) are
built once per run for all the pytest-xdist workers (``helpers.cache``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from helpers import SAMPLE_ARCHIVE, copy_sample_archive
from helpers.archives import MEANING_EPISODES, build_search_archive
from helpers.cache import shared_artefact
from helpers.notebooks import NOTEBOOKS, ExecutedNotebook, execute_notebook, load_executed

# --- small archives -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def search_archive_built(tmp_path_factory) -> Path:
    """The search archive, built and indexed once per worker: ``search_archive`` gives each test a copy
    (184 tests use it; a copy costs a fraction of building the tone files and the Whoosh index)."""
    from indexer import Archive

    root = build_search_archive(tmp_path_factory.mktemp("search-archive") / "archive")
    Archive(root).reindex(progress=False)
    return root


@pytest.fixture
def search_archive(tmp_path, search_archive_built):
    """An indexed sample archive (``indexer.Archive``) of three French episodes, the test's own copy."""
    from indexer import Archive

    return Archive(shutil.copytree(search_archive_built, tmp_path / "archive"))


@pytest.fixture
def meaning_archive(tmp_path):
    """Two episodes indexed with the fake embedding model (search by meaning, plumbing)."""
    from indexer import Archive
    from indexer.testing import FAKE_EMBEDDING_MODEL

    root = build_search_archive(tmp_path / "archive", MEANING_EPISODES)
    (root / "archive.yaml").write_text(f"embeddings: {FAKE_EMBEDDING_MODEL}\n", encoding="utf-8")
    archive = Archive(root)
    archive.reindex(progress=False)
    return archive


@pytest.fixture(scope="session")
def cluster():
    """A local Dask cluster: one worker process, one thread."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local


# --- the sample archive, ingested with the real weights ------------------------------------------

SAMPLE_OUTPUTS = {"transcripts", "index", "runs", ".indexer", "corrections"}  # what an ingest writes


@pytest.fixture(scope="session")
def ingested_sample(tmp_path_factory) -> Path:
    """A copy of the sample archive after one real ingest (transcripts + index), shared by every test and
    worker of the run. Do not modify it: ``sample_copy`` is a private copy."""
    from indexer.ingest import Ingest, IngestOptions

    def ingest(folder: Path) -> None:
        root = copy_sample_archive(folder / "archive")
        report = Ingest(root, IngestOptions(progress=False)).run()
        assert not report.failed, report.summary()

    inputs = [p for p in sorted(SAMPLE_ARCHIVE.iterdir()) if p.name not in SAMPLE_OUTPUTS]
    return shared_artefact(tmp_path_factory, "ingested-sample", inputs, ingest) / "archive"


@pytest.fixture
def sample_copy(tmp_path, ingested_sample):
    """A private, already ingested copy of the sample archive that a test may change."""
    destination = tmp_path / "archive"
    shutil.copytree(ingested_sample, destination)
    return destination


class ExecutedNotebooks(Mapping):
    """Each notebook executed once per run on its own copy of the ingested sample, when first asked for
    (workers asking for different notebooks run them side by side)."""

    def __init__(self, tmp_path_factory, ingested: Path):
        self.tmp_path_factory, self.ingested = tmp_path_factory, ingested
        self.paths = {path.name: path for path in NOTEBOOKS}
        self.done: dict[str, ExecutedNotebook] = {}

    def __getitem__(self, name: str) -> ExecutedNotebook:
        if name not in self.done:
            source = self.paths[name]
            folder = shared_artefact(self.tmp_path_factory, f"notebook-{source.stem}",
                                     [source, self.ingested.parent.name],
                                     lambda folder: execute_notebook(source, self.ingested, folder))
            self.done[name] = load_executed(folder, name)
        return self.done[name]

    def __iter__(self):
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


@pytest.fixture(scope="session")
def executed_notebooks(ingested_sample, tmp_path_factory) -> ExecutedNotebooks:
    return ExecutedNotebooks(tmp_path_factory, ingested_sample)


# --- markers and the order of the run -------------------------------------------------------------

WEIGHTS_FIXTURES = {"ingested_sample", "sample_copy", "executed_notebooks", "converted", "openai_model"}
SAMPLE_FIXTURES = {"ingested_sample", "sample_copy", "executed_notebooks"}
# Files whose tests share an expensive fixture of their own (a converted checkpoint and two loaded
# models; a loaded engine): one worker runs each, so it is built once.
ONE_WORKER_FILES = {"test_models_convert", "test_transcribe_batching"}


def run_order(item, seed) -> int:
    """Where a test goes in the run. pytest-xdist hands tests out in this order, so: the first test of the
    ingested sample (the worker that builds it is busy a while), then the long tests that need no sample
    (real transcriptions, the player in a browser), then the short ones, then what reads the sample and
    the notebook runs (one notebook per worker first: each is executed by the worker that asks first)."""
    fixtures = set(getattr(item, "fixturenames", ()))
    if item is seed:
        return 0
    if not fixtures & SAMPLE_FIXTURES:
        return 1 if item.get_closest_marker("weights") or item.get_closest_marker("browser") else 2
    if "executed_notebooks" in fixtures and item.name.startswith("test_notebook_runs_on_the_sample_archive"):
        return 3
    return 4


def pytest_collection_modifyitems(config, items):
    for item in items:
        if WEIGHTS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.weights)
        if (item.get_closest_marker("weights") or item.get_closest_marker("browser")) \
                and not item.get_closest_marker("smoke"):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("browser") or item.path.stem in ONE_WORKER_FILES:
            # One worker runs the file (--dist loadgroup): its JupyterLab, Chromium or models start once.
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
    seed = next((i for i in items if SAMPLE_FIXTURES & set(getattr(i, "fixturenames", ()))
                 and not i.get_closest_marker("browser")), None)
    items.sort(key=lambda item: run_order(item, seed))  # stable: the order of the files within each rank


# --- the browser guard ----------------------------------------------------------------------------

BROWSER_PROGRAMS = ("chromium", "chromedriver", "chrome", "google-chrome")


class BrowserGuard:
    """Fails a test that starts Chromium or chromedriver without the ``browser`` marker: what
    ``make test-fast`` leaves out must be marked, or the inner loop would start a browser unseen.

    Selenium and the tests start them with ``subprocess.Popen``; the guard looks at the program name of
    every process started while a test not marked ``browser`` sets up, runs and tears down."""

    def __init__(self):
        self.allowed = True
        self.started: list[str] = []
        self.real_init = subprocess.Popen.__init__
        guard = self

        def guarded_init(popen, args, *rest, **kwargs):
            program = args if isinstance(args, (str, bytes)) else (args[0] if args else "")
            name = Path(str(kwargs.get("executable") or program).split()[0] if program else "").name
            if not guard.allowed and any(name.startswith(p) for p in BROWSER_PROGRAMS):
                guard.started.append(name)
                raise BrowserNotAllowed(f"{name} started by a test not marked browser: "
                                        "add `pytestmark = pytest.mark.browser` to its file")
            guard.real_init(popen, args, *rest, **kwargs)

        subprocess.Popen.__init__ = guarded_init


class BrowserNotAllowed(RuntimeError):
    pass


def pytest_configure(config):
    config.browser_guard = BrowserGuard()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    guard = item.config.browser_guard
    guard.allowed, guard.started = item.get_closest_marker("browser") is not None, []
    try:
        yield
    finally:
        guard.allowed = True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    started = item.config.browser_guard.started
    if started and report.outcome != "failed":
        # Even if the code under test swallowed the error, the test fails and says why.
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid}: started {', '.join(started)} without the browser marker "
                           "(add `pytestmark = pytest.mark.browser` to its file)")
        started.clear()
