"""Audio files the tests make with ffmpeg, made once per worker process and copied after that.

The plumbing tests build hundreds of small archives from the same few clips (a 440 Hz tone, 5 s of
espeak speech at a given volume): 282 of the ffmpeg runs of `make test` were such repeats, ~0.09 CPU-s
each. ffmpeg writes the same bytes for the same command, so a copy is the file it would have written.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from helpers import TEST_DATA

SPEECH = TEST_DATA / "espeak_fr.wav"

_made: dict[str, Path] = {}
_folder: tempfile.TemporaryDirectory | None = None


def ffmpeg_output(arguments: list[str], path: Path) -> Path:
    """``ffmpeg -nostdin -v error -y ARGUMENTS PATH``, or a copy of what it wrote for the same arguments
    and the same kind of output file (its suffix) earlier in this process."""
    global _folder
    key = hashlib.sha256("\0".join([*arguments, path.suffix]).encode()).hexdigest()[:20]
    if key not in _made:
        if _folder is None:
            _folder = tempfile.TemporaryDirectory(prefix="indexer-test-media-")
            atexit.register(_folder.cleanup)
        made = Path(_folder.name) / f"{key}{path.suffix}"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *arguments, str(made)], check=True)
        _made[key] = made
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_made[key], path)
    return path


def speech(path: Path, seconds: float = 5.0, variant: int = 0) -> Path:
    """``seconds`` (at most 5.1) of French speech, a distinct recording for each ``variant`` (its volume);
    the format follows the extension. Speech, not a tone: the VAD in front of the engine drops tones."""
    return ffmpeg_output(["-i", str(SPEECH), "-t", f"{seconds:.2f}", "-af", f"volume={0.4 + 0.05 * variant:.2f}"],
                         path)
