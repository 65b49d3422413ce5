"""What the speakers stage is asked: :class:`SpeakerOptions`, and per episode (:func:`for_episode`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace

from .. import audio


SR = audio.SAMPLE_RATE

# Per backend. Resemblyzer (benchmarks/speakers.py, synthetic voices): a stop at
# 0.6–0.65 merges two voices already (DER 8.4 %, count right 5/7); 0.7–0.8 with
# the merge: DER 1.3 %, 7/7; a merge at 0.8 joins two voices, 0.9 leaves voices
# split. CAM++ on real voices (benchmarks/voices.py, tune set, count right of 8):
# stop 0.35 or 0.4 with a merge of 0.65–0.7: 8/8 (DER 6.7 %, all of it missed
# speech); stop 0.45: 6/8; merge 0.55: 5/8 (two voices joined); and a stop at
# 0.3 joins the two women of the real-voice tests, 0.4 not.
CLUSTERING = {
    "resemblyzer": {"similarity": 0.75, "merge_similarity": 0.85, "unlabelled_similarity": 0.3},
    "campp": {"similarity": 0.4, "merge_similarity": 0.7, "unlabelled_similarity": 0.1},
}


@dataclass(frozen=True)
class SpeakerOptions:
    """How speakers are found. ``mode``: ``"auto"`` (count found), ``"off"``, or a known count."""

    mode: str | int = "auto"
    # CAM++ (benchmarks/voices.py, real voices): the count right on 8/8 tune conversations
    # where Resemblyzer had 6/8, at 0.035 of real time on one CPU thread (Resemblyzer 0.007).
    backend: str = "campp"
    window_seconds: float = 1.5
    # Windows side by side, not half overlapping: the CAM++ stage 0.331 -> 0.231 of transcription's CPU
    # (benchmarks/voices.py, round 3), tune count right 8/8 both, DER 4.8 -> 5.1 %, named right
    # 99.3 -> 98.9 %. A window's seconds are now its speech, so min_speaker_seconds is speech too.
    hop_seconds: float = 1.5
    # Clustering thresholds (cosine similarities); None: the backend's own
    # (:data:`CLUSTERING`), as each embedding has its own scale.
    similarity: float | None = None          # average-linkage stop within a chunk (strict: may split a voice)
    merge_similarity: float | None = None    # centroids at least this alike are one voice (within and across chunks)
    min_speaker_seconds: float = 4.0      # less speech than this is not a speaker of its own
    # A cluster with too little speech that is less alike than this to every
    # speaker is left unlabelled (a jingle, a voice heard for a moment) rather
    # than given to the nearest one.
    unlabelled_similarity: float | None = None
    chunk_seconds: float = 600.0          # cluster this much audio at a time
    vad_min_silence_ms: int = 300
    vad_speech_pad_ms: int = 60
    cpu_threads: int = 0
    # (name, start, end) of a sidecar's named turns (end -1: to the end), when
    # the stage only takes their voice prints for the library (mode "off").
    named_turns: tuple[tuple[str, float, float], ...] = ()

    def resolved(self) -> "SpeakerOptions":
        """These options with the backend's clustering thresholds where none was given."""
        defaults = CLUSTERING.get(self.backend, CLUSTERING["resemblyzer"])
        return replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})

    @property
    def enabled(self) -> bool:
        """Automatic speakers are found (labels on words)."""
        return self.mode != "off"

    @property
    def runs(self) -> bool:
        """The stage has work: automatic speakers, or the prints of named turns."""
        return self.enabled or bool(self.named_turns)

    @property
    def count(self) -> int | None:
        return self.mode if isinstance(self.mode, int) else None

    def fingerprint(self) -> str:
        """What decides whether a transcript's speakers are up to date ("" when off)."""
        if not self.runs:
            return ""
        relevant = {k: v for k, v in asdict(self.resolved()).items() if k != "cpu_threads"}
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def for_episode(options: SpeakerOptions, meta) -> SpeakerOptions:
    """The episode's settings: its sidecar's turns or single speaker make automatic
    speakers unnecessary (the stage then only takes their voice prints, unless the
    archive turned speakers off); several names without turns give the count;
    ``speakers: auto|off|N`` in the sidecar overrides archive.yaml."""
    if meta.turns or len(meta.speakers) == 1:
        named = tuple((t.name, float(t.start), float(t.end)) for t in meta.turns) or ((meta.speakers[0], 0.0, -1.0),)
        return replace(options, mode="off", named_turns=named if options.enabled else ())
    if meta.speakers_mode is not None:
        return replace(options, mode=meta.speakers_mode)
    if len(meta.speakers) > 1 and options.enabled:
        return replace(options, mode=len(meta.speakers))
    return options
