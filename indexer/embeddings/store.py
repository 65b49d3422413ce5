"""The embedding store on disk: ``ARCHIVE/embeddings/``, one file of vectors per episode and a manifest.

Derived data, like the index: it is rebuilt from the transcripts and the
corrections (:class:`StoreBuilder`, by ``indexer reindex``), and kept in step
by ``ingest`` and by corrections (:meth:`EmbeddingStore.update`).

* ``store.json``: schema, the model's name and fingerprint, the passage
  context, a build id, and for each episode the version of its inputs
  (transcript, sidecar, corrections) its vectors were computed from;
* ``episodes/<episode-id>.npz``: per segment its id, times, a digest of the
  text embedded, the vector as int8 with one scale per row, and the model
  fingerprint.

Crash safety: a shard is written to a temporary file and renamed, then the
manifest (the same way). A run killed between the two leaves a shard newer
than the manifest says: the next run finds the version stale and computes the
same shard again (vectors are deterministic), so a rerun gives the same store.
A vector is computed again only when its passage text changed: a correction
re-embeds the segments it changed (and, with context, their neighbours).

Size: int8 vectors with a float32 scale per row are 512 + 4 bytes per segment
for USE multilingual (384 + 4 for e5-small; cosine to the float32 vector
> 0.999 on the sample); 600,000 segments (1,000 hours) measured 324 MB on
disk and 355 MB in memory with the sign bits of the first pass of a large
search (:mod:`indexer.embeddings.table`; ``benchmarks/meaning.py --scale-hours``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..archive import ArchiveLayout
from ..errors import EmbeddingStoreError
from ..files import atomic_file, atomic_write_json, pid_alive
from ..locks import exclusive_lock
from ..transcript import Transcript
from .models import EmbeddingModel

log = logging.getLogger("indexer")

STORE_SCHEMA = 1
MANIFEST = "store.json"
SHARDS = "episodes"
REBUILD_PREFIX = ".embeddings-rebuild-"
OLD_PREFIX = ".embeddings-old-"
REBUILD_HINT = ("the transcripts are intact: `indexer ingest --archive ARCHIVE` or "
                "`indexer reindex --archive ARCHIVE` rebuilds it")
# Segments embedded alone (0) or with this many neighbours on each side. Measured on the
# paraphrase set (benchmarks/meaning.py): alone found more (see docs/benchmarks.md).
DEFAULT_CONTEXT = 0
BATCH = 32  # passages per call to the model
SHARD_ARRAYS = {f"{name}.npy" for name in ("segments", "starts", "ends", "digests", "vectors", "scales", "fingerprint")}


@dataclass(frozen=True)
class Passage:
    segment: int
    start: float
    end: float
    text: str     # what is embedded: the segment's text, with its neighbours when context > 0


def passages(transcript: Transcript, context: int = DEFAULT_CONTEXT) -> list[Passage]:
    """What is embedded for each segment of ``transcript`` (the transcript as shown)."""
    segments = transcript.segments
    texts = [s.text.strip() for s in segments]
    out = []
    for i, seg in enumerate(segments):
        around = texts[max(0, i - context):i + context + 1] if context else [texts[i]]
        out.append(Passage(seg.id, seg.start, seg.end, " ".join(t for t in around if t)))
    return out


def digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 rows → int8 rows and one float32 scale per row (row ≈ int8 × scale)."""
    peak = np.abs(vectors).max(axis=1) if len(vectors) else np.zeros(0, np.float32)
    scales = (np.maximum(peak, 1e-12) / 127.0).astype(np.float32)
    return np.round(vectors / scales[:, None]).astype(np.int8), scales


@contextmanager
def store_lock(layout: ArchiveLayout):
    """Serialises the store's read-modify-write between an ingest and corrections: a flock on
    ``.indexer/embeddings.lock``, outside the store's folder (a rebuild swaps that folder), and not the
    corrections lock (an ingest would make a ``corrections/`` folder in every archive)."""
    with exclusive_lock(layout.state_dir / "embeddings.lock"):
        yield


@contextmanager
def reading(path: Path):
    """The arrays of a shard file; EmbeddingStoreError if it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            yield data
    except FileNotFoundError:
        raise EmbeddingStoreError("embedding store incomplete: a shard is missing", path, REBUILD_HINT) from None
    except EmbeddingStoreError:
        raise
    except Exception as e:  # a damaged zip, a missing array, garbage: numpy raises many kinds
        raise EmbeddingStoreError(f"embedding store unreadable ({type(e).__name__}: {str(e)[:120]})", path,
                                  REBUILD_HINT) from e


@dataclass
class EpisodeVectors:
    """One episode's vectors, as a shard file holds them."""

    segments: np.ndarray   # int32 segment ids, in transcript order
    starts: np.ndarray     # float32
    ends: np.ndarray       # float32
    digests: np.ndarray    # int64, of each passage text
    vectors: np.ndarray    # int8 (n, dim)
    scales: np.ndarray     # float32 (n,)

    def save(self, path: Path, fingerprint: str) -> None:
        with atomic_file(path, "wb") as f:
            np.savez(f, segments=self.segments, starts=self.starts, ends=self.ends, digests=self.digests,
                     vectors=self.vectors, scales=self.scales, fingerprint=np.array(fingerprint))

    @classmethod
    def load(cls, path: Path, fingerprint: str, dim: int) -> "EpisodeVectors":
        """The shard at ``path``; EmbeddingStoreError if unreadable or of another model."""
        with reading(path) as data:
            found = cls(*(data[k] for k in ("segments", "starts", "ends", "digests", "vectors", "scales")))
            model = str(data["fingerprint"])
        n = len(found.segments)
        if model != fingerprint or found.vectors.shape != (n, dim) or any(
                len(a) != n for a in (found.starts, found.ends, found.digests, found.scales)):
            raise EmbeddingStoreError("embedding store shard does not match its manifest", path, REBUILD_HINT)
        return found


def embed_passages(model: EmbeddingModel, items: Sequence[Passage], previous: EpisodeVectors | None = None,
                   progress=None) -> tuple[EpisodeVectors, int]:
    """Vectors of ``items``, reusing those of ``previous`` whose passage text is the same; and how many
    were computed."""
    digests = np.array([digest(p.text) for p in items], dtype=np.int64)
    reuse: dict[int, int] = {}
    if previous is not None:
        reuse = {int(d): i for i, d in enumerate(previous.digests)}
    vectors = np.zeros((len(items), model.dim), np.int8)
    scales = np.zeros(len(items), np.float32)
    todo = []
    for i, d in enumerate(digests):
        j = reuse.get(int(d))
        if j is None:
            todo.append(i)
        else:
            vectors[i], scales[i] = previous.vectors[j], previous.scales[j]
    for first in range(0, len(todo), BATCH):
        rows = todo[first:first + BATCH]
        q, s = quantize(model.embed_passages([items[i].text for i in rows]))
        vectors[rows], scales[rows] = q, s
        if progress is not None:
            progress.update(len(rows))
    found = EpisodeVectors(np.array([p.segment for p in items], np.int32), np.array([p.start for p in items],
                           np.float32), np.array([p.end for p in items], np.float32), digests, vectors, scales)
    return found, len(todo)


def shard_name(episode_id: str) -> str:
    """A flat file name per episode id (ids are ``a-z 0-9 _ -`` parts joined by ``/``)."""
    return episode_id.replace("/", "~") + ".npz"


class EmbeddingStore:
    """One archive's embedding store (see the module's text). Its callers write under :func:`store_lock`
    (ingest and corrections); reindex builds a new store beside it under the ingest lock."""

    def __init__(self, folder: Path, manifest: dict):
        self.folder = Path(folder)
        self.manifest = manifest

    # -- opening -----------------------------------------------------------------

    @staticmethod
    def read_manifest(folder: Path) -> dict:
        """The manifest; EmbeddingStoreError if the store is missing or its manifest unreadable."""
        path = Path(folder) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise EmbeddingStoreError("no embedding store (search by meaning)", folder, REBUILD_HINT) from None
        except (OSError, ValueError) as e:
            raise EmbeddingStoreError(f"embedding store unreadable: {e}", path, REBUILD_HINT) from e
        if (not isinstance(data, dict) or data.get("schema") != STORE_SCHEMA
                or not isinstance(data.get("episodes"), dict) or not isinstance(data.get("dim"), int)):
            raise EmbeddingStoreError(f"embedding store of an unknown format (schema {STORE_SCHEMA} expected)", path,
                                      REBUILD_HINT)
        return data

    @classmethod
    def open(cls, folder: Path) -> "EmbeddingStore":
        return cls(folder, cls.read_manifest(folder))

    @classmethod
    def create(cls, folder: Path, model: EmbeddingModel, context: int = DEFAULT_CONTEXT) -> "EmbeddingStore":
        """A new empty store in ``folder`` (which must not hold one)."""
        (Path(folder) / SHARDS).mkdir(parents=True, exist_ok=True)
        name = getattr(model, "load_name", model.name)  # the registry name or import path it was loaded by
        store = cls(folder, {"schema": STORE_SCHEMA, "model": name, "fingerprint": model.fingerprint,
                             "dim": model.dim, "context": context, "build": uuid.uuid4().hex, "episodes": {}})
        store._save_manifest()
        return store

    @property
    def model_name(self) -> str:
        return str(self.manifest.get("model", ""))

    @property
    def fingerprint(self) -> str:
        return str(self.manifest.get("fingerprint", ""))

    @property
    def context(self) -> int:
        return int(self.manifest.get("context", 0))

    @property
    def versions(self) -> dict[str, str]:
        """Episode id → version of the inputs its vectors were computed from."""
        return self.manifest["episodes"]

    def shard_path(self, episode_id: str) -> Path:
        return self.folder / SHARDS / shard_name(episode_id)

    def load_episode(self, episode_id: str) -> EpisodeVectors:
        return EpisodeVectors.load(self.shard_path(episode_id), self.fingerprint, int(self.manifest["dim"]))

    def shard_rows(self, episode_id: str) -> int:
        """How many rows the episode's shard holds (its segment ids only are read)."""
        with reading(self.shard_path(episode_id)) as data:
            return len(data["segments"])

    def damaged(self) -> list[str]:
        """Episodes whose shard is missing or cannot be opened: a cheap check (the file's zip directory and
        its arrays' names, not their values) that an ingest makes on every run."""
        found = []
        for episode_id in self.versions:
            try:
                with zipfile.ZipFile(self.shard_path(episode_id)) as shard:
                    if not SHARD_ARRAYS <= set(shard.namelist()):
                        found.append(episode_id)
            except (OSError, zipfile.BadZipFile):
                found.append(episode_id)
        return found

    # -- writing -----------------------------------------------------------------

    def update(self, episode_id: str, transcript: Transcript, version: str, model: EmbeddingModel,
               progress=None) -> int:
        """Embed the episode's changed passages, write its shard, then the manifest; returns how many
        were embedded. ``model`` must be the store's (same fingerprint)."""
        if model.fingerprint != self.fingerprint:
            raise EmbeddingStoreError(f"embedding store made with {self.fingerprint}, not {model.fingerprint}",
                                      self.folder,
                                      "`indexer reindex --archive ARCHIVE` re-embeds it with the new model")
        self.manifest = self.read_manifest(self.folder)  # another process may have written it (under the lock)
        previous = None
        if episode_id in self.versions:
            try:
                previous = self.load_episode(episode_id)
            except EmbeddingStoreError:
                previous = None  # computed again
        found, embedded = embed_passages(model, passages(transcript, self.context), previous, progress)
        found.save(self.shard_path(episode_id), self.fingerprint)
        self.versions[episode_id] = version
        self._save_manifest()
        return embedded

    def put_episode(self, episode_id: str, vectors: EpisodeVectors, version: str) -> None:
        """Store ``vectors`` as they are for ``episode_id`` at ``version`` (a shard made elsewhere: a repair,
        a test's out-of-step store): a new store version, so readers load the table again."""
        vectors.save(self.shard_path(episode_id), self.fingerprint)
        self.versions[episode_id] = version
        self._save_manifest()

    def remove(self, episode_ids: Iterable[str]) -> None:
        self.manifest = self.read_manifest(self.folder)
        ids = [e for e in episode_ids if e in self.versions]
        for episode_id in ids:
            del self.versions[episode_id]
        if ids:
            self._save_manifest()  # the manifest first: a shard it does not name is never read
            for episode_id in ids:
                self.shard_path(episode_id).unlink(missing_ok=True)

    def _save_manifest(self) -> None:
        atomic_write_json(self.folder / MANIFEST, self.manifest, sort_keys=True)


class StoreBuilder:
    """A complete new store written beside the old one, then swapped in (``finish``); the old store's vectors
    of identical passages (same model) are reused instead of computed again."""

    def __init__(self, folder: Path, model: EmbeddingModel, context: int = DEFAULT_CONTEXT, progress=None):
        self.folder = Path(folder)
        self.model = model
        self.progress = progress
        self.old: EmbeddingStore | None = None
        try:
            old = EmbeddingStore.open(self.folder)
            if old.fingerprint == model.fingerprint:
                self.old = old
        except EmbeddingStoreError:
            pass
        self.tmp = self.folder.parent / f"{REBUILD_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.store = EmbeddingStore.create(self.tmp, model, context)
        self.embedded = 0

    def add(self, episode_id: str, transcript: Transcript, version: str) -> None:
        previous = None
        if self.old is not None and episode_id in self.old.versions:
            try:
                previous = self.old.load_episode(episode_id)
            except EmbeddingStoreError:
                previous = None
        found, embedded = embed_passages(self.model, passages(transcript, self.store.context), previous,
                                         self.progress)
        found.save(self.store.shard_path(episode_id), self.store.fingerprint)
        self.store.versions[episode_id] = version
        self.embedded += embedded

    def finish(self) -> EmbeddingStore:
        """The manifest, then the swap: the old store until here, the new one after."""
        self.store._save_manifest()
        old = None
        if self.folder.exists():
            old = self.folder.parent / (OLD_PREFIX + self.tmp.name.removeprefix(REBUILD_PREFIX))
            self.folder.rename(old)
        self.tmp.rename(self.folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return EmbeddingStore.open(self.folder)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def remove_leftovers(folder: Path) -> int:
    """Folders of rebuilds whose process died (SIGKILL during ``reindex``); returns how many were removed."""
    removed = 0
    for path in Path(folder).parent.glob(f"{REBUILD_PREFIX}*") if Path(folder).parent.is_dir() else ():
        removed += _remove_if_dead(path, REBUILD_PREFIX)
    for path in Path(folder).parent.glob(f"{OLD_PREFIX}*") if Path(folder).parent.is_dir() else ():
        removed += _remove_if_dead(path, OLD_PREFIX)
    return removed


def _remove_if_dead(path: Path, prefix: str) -> int:
    pid = path.name.removeprefix(prefix).split("-")[0]
    if pid.isdigit() and pid_alive(int(pid)) and int(pid) != os.getpid():
        return 0
    shutil.rmtree(path, ignore_errors=True)
    return 1
