"""What several test modules share: paths, small audio and archive builders, the notebook runner,
the browser driver and a cache of built artefacts shared by the pytest-xdist workers.

Test modules import from here (``from helpers import …``), never from ``conftest`` or from another
test module; fixtures live in ``conftest.py``. The ``tests/`` folder is on ``sys.path`` because it is
the root folder of the test modules (pytest's default import mode).
"""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE_ARCHIVE = REPO / "archive"
TEST_DATA = REPO / "tests" / "data"


def write_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    """``seconds`` of a 440 Hz tone, 16-bit mono."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = bytearray()
    for i in range(int(seconds * rate)):
        value = int(8000 * math.sin(2 * math.pi * 440 * i / rate))
        frames += value.to_bytes(2, "little", signed=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


def write_samples(path: Path, samples, rate: int = 16_000) -> Path:
    """Float samples in [-1, 1] (a numpy array) as a 16-bit mono WAV."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def normalise_words(text: str) -> list[str]:
    """Lowercase, unify apostrophes, drop punctuation: the WER convention of the benchmarks."""
    return re.sub(r"[^\w'\- ]+", " ", text.lower().replace("’", "'")).split()


def copy_sample_archive(destination: Path) -> Path:
    """The sample archive's inputs only (audio, sidecars, settings, references)."""
    shutil.copytree(SAMPLE_ARCHIVE, destination,
                    ignore=shutil.ignore_patterns("transcripts", "index", "runs", ".indexer", "corrections"))
    return destination


def archive_fingerprint(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the sha256 of its bytes: equal before and after means untouched."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def send_from_front_end(widget, content: dict, buffers: list | tuple = ()) -> None:
    """Deliver ``content`` to ``widget`` as its front end's ``model.send(content)`` would: a custom message
    of the Jupyter widget protocol through the widget's comm (public API; no kernel needed)."""
    widget.comm.handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": list(buffers)})
