"""Voice prints: one embedding per speaker of an episode, kept in its transcript, compared across episodes.

A print is the normalised mean of the embeddings of the windows a speaker was
given, with the seconds of speech behind it. The speakers stage stores one
per automatic label (and one per name of a sidecar's named turns) in the
transcript's ``diarization.voiceprints``, so that the voice library
(:mod:`indexer.speakers.library`) is rebuilt from the transcripts without the
audio, and a name given to a label stays with the voice when a new
transcription numbers the labels differently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from ..transcript import Diarization

PRINT_DECIMALS = 4     # JSON: 4 decimals of a unit vector change a cosine by < 1e-3


@dataclass(frozen=True)
class VoicePrint:
    embedding: np.ndarray        # L2-normalised
    seconds: float               # speech behind it

    def to_dict(self) -> dict:
        return {"embedding": [round(float(x), PRINT_DECIMALS) for x in self.embedding],
                "seconds": round(float(self.seconds), 2)}

    @classmethod
    def from_dict(cls, data) -> "VoicePrint | None":
        """A print from its JSON, or None when it is not one (a damaged or hand-edited file)."""
        try:
            embedding = normalise(np.asarray(data["embedding"], dtype=np.float32))
            seconds = float(data.get("seconds", 0.0))
        except (TypeError, KeyError, ValueError, AttributeError):
            return None
        if embedding.ndim != 1 or not len(embedding) or not np.all(np.isfinite(embedding)):
            return None
        return cls(embedding, seconds)


def normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def print_of(embeddings: np.ndarray, seconds: float) -> VoicePrint:
    """The print of a speaker from the embeddings of its windows."""
    return VoicePrint(normalise(normalise(embeddings.astype(np.float64)).mean(axis=0)).astype(np.float32), seconds)


def prints_of(embeddings: np.ndarray, durations: np.ndarray, speaker: np.ndarray) -> dict[int, VoicePrint]:
    """One print per speaker index, from the windows' embeddings, durations (s) and speaker."""
    return {int(s): print_of(embeddings[speaker == s], float(durations[speaker == s].sum()))
            for s in np.unique(speaker) if s >= 0}


def prints_from_diarization(diarization: Diarization | None) -> dict[str, VoicePrint]:
    """The prints a transcript's diarization holds (label or name -> print); damaged entries are left out."""
    raw = diarization.voiceprints if diarization else {}
    found = {str(k): VoicePrint.from_dict(v) for k, v in raw.items()}
    return {k: v for k, v in found.items() if v is not None}


def prints_key(diarization: Diarization | None) -> str:
    """A short digest of a transcript's prints: what automatic names were computed on."""
    raw = diarization.voiceprints if diarization else {}
    if not raw:
        return ""
    return hashlib.sha1(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:12]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two prints' embeddings (0 when their sizes differ: other backends)."""
    if a.shape != b.shape:
        return 0.0
    return float(np.dot(normalise(a), normalise(b)))
