"""What the speakers stage is asked: :class:`SpeakerOptions`, and per episode (:func:`for_episode`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace

from .. import audio


SR = audio.SAMPLE_RATE


@dataclass(frozen=True)
class SpeakerOptions:
    """How speakers are found. ``mode``: ``"auto"`` (count found), ``"off"``, or a known count."""

    mode: str | int = "auto"
    backend: str = "resemblyzer"
    window_seconds: float = 1.5
    hop_seconds: float = 0.75
    # Average-linkage stop within a chunk: deliberately strict (it may split a
    # voice; the centroid merge joins it again). benchmarks/speakers.py: at
    # 0.6–0.65 two voices are merged here already (DER 8.4 %, count right 5/7);
    # 0.7–0.8 with the merge below: DER 1.3 %, 7/7. 0.75 is the middle.
    similarity: float = 0.75
    # Centroids of clusters at least this alike are one voice (within and
    # across chunks). The decisive setting: 0.8 merges two voices (5/7),
    # 0.9 leaves voices split (6/7 at a 0.75 stop, 2/7 at 0.8).
    merge_similarity: float = 0.85
    min_speaker_seconds: float = 4.0      # less speech than this is not a speaker of its own
    chunk_seconds: float = 600.0          # cluster this much audio at a time
    vad_min_silence_ms: int = 300
    vad_speech_pad_ms: int = 60
    cpu_threads: int = 0

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    @property
    def count(self) -> int | None:
        return self.mode if isinstance(self.mode, int) else None

    def fingerprint(self) -> str:
        """What decides whether a transcript's speakers are up to date ("" when off)."""
        if not self.enabled:
            return ""
        relevant = {k: v for k, v in asdict(self).items() if k != "cpu_threads"}
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def for_episode(options: SpeakerOptions, meta) -> SpeakerOptions:
    """The episode's settings: its sidecar's turns or single speaker make the stage
    unnecessary; several names without turns give the count; ``speakers: auto|off|N``
    in the sidecar overrides archive.yaml."""
    if meta.turns or len(meta.speakers) == 1:
        return replace(options, mode="off")
    if meta.speakers_mode is not None:
        return replace(options, mode=meta.speakers_mode)
    if len(meta.speakers) > 1 and options.enabled:
        return replace(options, mode=len(meta.speakers))
    return options
