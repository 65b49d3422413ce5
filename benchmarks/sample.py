"""The sample archive as the benchmarks see it: its episodes, their reference
texts, the word error rate against them, and 16 kHz WAV files. Shared by the
benchmark scripts (it imports none of them)."""

from __future__ import annotations

import json
import re
import sys
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
ARCHIVE = ROOT / "archive"


def normalise(text: str) -> str:
    """Lower case, no punctuation but apostrophes and hyphens, one space between words."""
    return " ".join(re.sub(r"[^\w'\- ]+", " ", text.lower().replace("’", "'")).split())


def episodes(archive: Path = ARCHIVE) -> list[tuple[str, Path]]:
    """(episode id, audio path) of every episode of ``archive``."""
    from indexer.archive import ArchiveLayout

    layout = ArchiveLayout(archive)
    return [(layout.episode_for(p).id, p) for p in layout.audio_files()]


def reference(episode_id: str, archive: Path = ARCHIVE) -> dict:
    """The episode's reference sentences with their start times."""
    return json.loads((archive / "reference" / f"{episode_id}.json").read_text(encoding="utf-8"))


def reference_text(episode_id: str, archive: Path = ARCHIVE) -> str | None:
    path = archive / "reference" / f"{episode_id}.txt"
    return normalise(path.read_text(encoding="utf-8")) if path.is_file() else None


def wer(reference_normalised: str, hypothesis: str) -> float:
    import jiwer

    return jiwer.wer(reference_normalised, normalise(hypothesis))


def write_wav(path: Path, samples, rate: int = 16_000) -> None:
    """Float samples in [-1, 1] (a numpy array) as a 16-bit mono WAV."""
    import numpy as np

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
