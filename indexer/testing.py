"""A deterministic engine for plumbing tests: the :class:`~indexer.transcribe.Engine`
protocol without a model.

Batch, worker, Dask, crash, lock, index, search and quote tests are about what
the pipeline does with a transcript, not about which words Whisper hears, and
those words change with the CPU, the thread count and the library build. This
engine turns the audio it is given into words that depend only on the samples:
the same audio always gives the same transcript, different audio a different
one, silence none, and noise (a block whose zero-crossing rate is that of
hiss, not of a voice) what Whisper gives on noise: a segment with a weak
log-probability (flagged ``suspect``) of unsure words. It runs in any process (worker pool, Dask worker, a child
``indexer ingest``) under its import path, :data:`FAKE_ENGINE`.
"""

from __future__ import annotations

import zlib
from typing import Iterator

import numpy as np

from .models import ModelInfo
from .transcript import Segment, Word

FAKE_ENGINE = "indexer.testing:FakeEngine"   # TranscribeOptions(engine=FAKE_ENGINE), or in archive.yaml

VOCABULARY = (
    "bonjour", "communauté", "réseaux", "sociaux", "modération", "animateur", "marque", "engagement",
    "visibilité", "entreprise", "public", "débat", "journaliste", "lecteurs", "article", "événement",
    "forum", "message", "conversation", "confiance", "réputation", "stratégie", "contenu", "abonnés",
)
SEGMENT_SECONDS = 2.0
WORDS_PER_SEGMENT = 4
SILENCE_RMS = 1e-3
# Zero crossings per sample over a 2-second block: espeak's French 0.02-0.18, a 440 Hz tone 0.06,
# the same speech under white noise of twice its level 0.47.
NOISE_ZERO_CROSSINGS = 0.3
NOISE_LOGPROB = -1.5              # below FlagOptions.avg_logprob (-1): suspect


class FakeEngine:
    """Four words per two seconds of sound, with even timings and probabilities in [0.3, 1]
    (in [0.05, 0.35], and a suspect log-probability, where the sound is noise)."""

    name = "fake"
    parallel = 1

    def __init__(self, model: ModelInfo, options):
        self.model_info = model
        self.options = options

    def sized_for(self, windows: int) -> "FakeEngine":
        """One window at a time whatever the cores (as an engine that splits them: ingest's lane worker)."""
        return self

    def transcribe(self, samples: np.ndarray, language: str | None, prompt: bool = True,
                   seed: int | None = None) -> tuple[str, Iterator[Segment]]:
        # No sampling here: the words depend on the samples alone, whatever the seed.
        return language or "fr", self._segments(np.asarray(samples, dtype=np.float32))

    def _segments(self, samples: np.ndarray) -> Iterator[Segment]:
        rate = 16000
        block = int(SEGMENT_SECONDS * rate)
        for first in range(0, len(samples), block):
            chunk = samples[first:first + block]
            if len(chunk) < rate // 4 or float(np.sqrt(np.mean(chunk ** 2))) < SILENCE_RMS:
                continue
            seed = zlib.crc32((chunk * 32767).astype("<i2").tobytes())
            noise = float(np.mean(np.signbit(chunk[1:]) != np.signbit(chunk[:-1]))) > NOISE_ZERO_CROSSINGS
            low, span = (0.05, 0.3) if noise else (0.3, 0.7)
            start, step = first / rate, len(chunk) / rate / WORDS_PER_SEGMENT
            words = [Word(round(start + i * step, 3), round(start + (i + 0.8) * step, 3),
                          " " + VOCABULARY[(seed >> (4 * i)) % len(VOCABULARY)],
                          round(low + span * ((seed >> (3 * i)) % 100) / 99, 2))
                     for i in range(WORDS_PER_SEGMENT)]
            text = "".join(w.word for w in words).strip().capitalize() + "."
            yield Segment(0, words[0].start, words[-1].end, text, words, None,
                          NOISE_LOGPROB if noise else -0.2, 0.01, 1.2)


FAKE_SPEAKERS = "indexer.testing:FakeSpeakerBackend"   # SpeakerOptions(backend=FAKE_SPEAKERS)
MARK_BAND = (2500.0, 4100.0)   # a voice's mark: a faint tone in this band, one per 200 Hz


class FakeSpeakerBackend:
    """Deterministic voices for plumbing tests: a window's voice is the faint tone marking it.

    Test audio is speech (so that the voice activity detection finds it) with a
    quiet pure tone added per "person" (2600, 2800… Hz, :func:`mark_voice`); the
    embedding is the one-hot vector of the strongest 200 Hz bin of that band:
    one person is exactly alike themself, unlike anyone else.
    """

    name = "fake"

    def __init__(self, options=None):
        self.options = options

    def embed_regions(self, regions, windows) -> np.ndarray:
        bins = int((MARK_BAND[1] - MARK_BAND[0]) // 200)
        out = []
        for samples, spans in zip(regions, windows):
            for a, b in spans:
                window = np.asarray(samples[a:b], dtype=np.float64)
                spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
                freqs = np.fft.rfftfreq(len(window), 1 / 16000)
                energy = [spectrum[(freqs >= MARK_BAND[0] + 200 * k) & (freqs < MARK_BAND[0] + 200 * (k + 1))].max(
                    initial=0.0) for k in range(bins)]
                vector = np.zeros(bins, np.float32)
                vector[int(np.argmax(energy))] = 1.0
                out.append(vector)
        return np.stack(out) if out else np.zeros((0, bins), np.float32)


def mark_voice(samples: np.ndarray, person: int, level: float = 0.05) -> np.ndarray:
    """``samples`` (16 kHz) marked as ``person`` (0–6) for :class:`FakeSpeakerBackend`."""
    t = np.arange(len(samples)) / 16000
    return (samples + level * np.sin(2 * np.pi * (MARK_BAND[0] + 100 + 200 * person) * t)).astype(np.float32)


# -- a deterministic embedding model ------------------------------------------------

FAKE_EMBEDDING_MODEL = "indexer.testing:FakeEmbeddingModel"   # `embeddings:` in archive.yaml

# Words of another form that mean the same for the fake model: a query of these finds
# segments of the fake engine's VOCABULARY by meaning only (no word in common).
FAKE_SYNONYMS = {
    "censure": "modération", "censurer": "modération", "modérateurs": "modération",
    "fidélité": "confiance", "crédibilité": "confiance", "audience": "public", "spectateurs": "public",
    "rencontre": "événement", "salon": "événement", "discussion": "conversation", "échange": "conversation",
    "renommée": "réputation", "image": "réputation", "followers": "abonnés", "fans": "abonnés",
    "community": "communauté", "trust": "confiance",
}


class FakeEmbeddingModel:
    """Bag of words (of four letters or more) hashed into 256 dimensions, with :data:`FAKE_SYNONYMS` folded: texts that share
    words (or synonyms) are close, others far. No weights; the same text always gives the same vector."""

    name = "fake-embeddings"
    fingerprint = "fake-embeddings:1"
    dim = 256
    max_tokens = 40

    def embed_passages(self, texts):
        return np.stack([self._vector(t) for t in texts]) if len(texts) else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text):
        return self._vector(text)

    def count_tokens(self, text):
        return len(text.split())

    def _vector(self, text: str) -> np.ndarray:
        import re

        vector = np.zeros(self.dim, np.float32)
        for word in re.findall(r"\w+", text.lower()):
            if len(word) < 4:  # short words (« les », « une »): noise for a bag of words
                continue
            concept = FAKE_SYNONYMS.get(word, word)
            h = zlib.crc32(concept.encode("utf-8"))
            vector[h % self.dim] += 1.0 if (h >> 8) & 1 else -1.0
        if not vector.any():
            vector[0] = 1.0
        return vector / np.linalg.norm(vector)
