"""The sample archive as the benchmarks see it: its episodes, their reference
texts, and the word error rate against them. Shared by transcribe.py, noisy.py
and speed.py (it imports neither)."""

from __future__ import annotations

import json
import re
import sys
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
