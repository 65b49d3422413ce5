"""Editors' corrections, stored as an overlay beside the machine transcript.

Placeholder until the corrections work lands: no overlay, transcript unchanged.
"""

from __future__ import annotations

from pathlib import Path

from .transcript import Transcript


def load_corrections(archive_root: Path, episode_id: str) -> list:
    return []


def apply_corrections(transcript: Transcript, corrections: list) -> Transcript:
    return transcript
