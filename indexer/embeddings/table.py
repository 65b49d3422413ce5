"""Every vector of a store in memory, and the nearest segments to a query vector (brute force, numpy).

Exact scores (int8 rows × query, times the row's scale) for up to
:data:`EXACT_ROWS` candidate rows. Past that, a first pass ranks every row by
the Hamming distance between sign bits (64 bytes a row for 512 dimensions;
``numpy.bitwise_count``), and only the :data:`RESCORED` best are scored
exactly: the first pass costs a fraction of converting every int8 row to
float32. Measured at 600,000 rows (``benchmarks/meaning.py --scale-hours
1000``): keeping 4,000 rows found 99 % of the exact top 5 (the worst query
4 of 5), keeping 16,000 all of them (top 40: 97 % → 99.7 %) for 2 ms more
(nearest 43 → 45 ms CPU).

The table is loaded once per process and store version (the manifest's size and
mtime), like the index's searcher.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EmbeddingStoreError
from .store import MANIFEST, REBUILD_HINT, EmbeddingStore

EXACT_ROWS = 50_000   # candidate rows scored exactly, without the first pass
RESCORED = 16_000     # rows the first pass keeps for exact scoring (at least 50 × the hits asked)
CHUNK = 16_384        # rows converted to float32 at a time


@dataclass
class VectorTable:
    store: EmbeddingStore
    episodes: list[str]            # in row order
    offsets: np.ndarray            # int64 (episodes + 1,): rows of episode i are offsets[i]:offsets[i+1]
    segments: np.ndarray           # int32 (rows,)
    starts: np.ndarray             # float32
    ends: np.ndarray
    vectors: np.ndarray            # int8 (rows, dim)
    scales: np.ndarray             # float32 (rows,)
    bits: np.ndarray               # uint8 (rows, dim / 8): sign bits for the first pass
    stamp: tuple = ()

    @classmethod
    def load(cls, store: EmbeddingStore, stamp: tuple = ()) -> "VectorTable":
        """Every shard the manifest names (EmbeddingStoreError if one is missing or unreadable).

        Rows are counted first, then each shard is copied into its place: concatenating the shards (and
        comparing every vector with 0 at once for the sign bits) held twice the table in memory, and the
        process kept it (681 MB resident for a 355 MB table at 600,000 rows).
        """
        episodes = sorted(store.versions)
        dim = int(store.manifest["dim"])
        offsets = np.zeros(len(episodes) + 1, np.int64)
        offsets[1:] = np.cumsum([store.shard_rows(e) for e in episodes])
        rows = int(offsets[-1])
        table = cls(store, episodes, offsets, np.empty(rows, np.int32), np.empty(rows, np.float32),
                    np.empty(rows, np.float32), np.empty((rows, dim), np.int8), np.empty(rows, np.float32),
                    np.empty((rows, (dim + 7) // 8), np.uint8), stamp)
        for i, episode in enumerate(episodes):
            part, at = store.load_episode(episode), slice(int(offsets[i]), int(offsets[i + 1]))
            if len(part.segments) != at.stop - at.start:
                raise EmbeddingStoreError("embedding store changed while it was read", store.shard_path(episode),
                                          REBUILD_HINT)
            table.segments[at], table.starts[at], table.ends[at] = part.segments, part.starts, part.ends
            table.vectors[at], table.scales[at] = part.vectors, part.scales
            table.bits[at] = np.packbits(part.vectors > 0, axis=1)
        return table

    def __len__(self) -> int:
        return len(self.segments)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.segments, self.starts, self.ends, self.vectors, self.scales, self.bits))

    def episode_of(self, row: int) -> str:
        return self.episodes[int(np.searchsorted(self.offsets, row, side="right")) - 1]

    def episode_rows(self, episode_id: str) -> slice:
        i = _index(self.episodes, episode_id)
        return slice(0, 0) if i is None else slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def row_of(self, episode_id: str, segment: int) -> int | None:
        rows = self.episode_rows(episode_id)
        found = np.flatnonzero(self.segments[rows] == segment)
        return rows.start + int(found[0]) if len(found) else None

    def rows_overlapping(self, episode_id: str, start: float, end: float) -> np.ndarray:
        """Rows of the episode whose segment overlaps [start, end] (a point: the segment holding it)."""
        rows = self.episode_rows(episode_id)
        s, e = self.starts[rows], self.ends[rows]
        hit = (s < end) & (e > start) if end > start else (s <= start) & (e >= start)
        return rows.start + np.flatnonzero(hit)

    def vector(self, row: int) -> np.ndarray:
        return self.vectors[row].astype(np.float32) * self.scales[row]

    def nearest(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` rows most similar to ``query`` (cosine, best first), among ``allowed`` rows if given."""
        rows = np.arange(len(self)) if allowed is None else np.asarray(allowed, dtype=np.int64)
        if len(rows) == 0 or k <= 0:
            return []
        query = np.asarray(query, np.float32)
        if len(rows) > EXACT_ROWS:
            keep = max(RESCORED, 50 * k)
            signs = np.packbits(query > 0)
            distance = np.empty(len(rows), np.int32)
            for first in range(0, len(rows), CHUNK * 4):
                part = rows[first:first + CHUNK * 4] if allowed is not None else slice(first, first + CHUNK * 4)
                distance[first:first + CHUNK * 4] = np.bitwise_count(self.bits[part] ^ signs).sum(axis=1)
            if keep < len(rows):
                rows = rows[np.argpartition(distance, keep)[:keep]]
        scores = np.empty(len(rows), np.float32)
        for first in range(0, len(rows), CHUNK):
            part = rows[first:first + CHUNK]
            scores[first:first + CHUNK] = (self.vectors[part].astype(np.float32) @ query) * self.scales[part]
        k = min(k, len(rows))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.lexsort((rows[best], -scores[best]))]  # ties: row order, so results are stable
        return [(int(rows[i]), float(scores[i])) for i in best]


def _index(items: list[str], item: str) -> int | None:
    import bisect

    i = bisect.bisect_left(items, item)
    return i if i < len(items) and items[i] == item else None


_tables: dict[Path, VectorTable] = {}
_lock = threading.Lock()


def _stamp(folder: Path) -> tuple:
    st = (Path(folder) / MANIFEST).stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def load_table(folder: Path) -> VectorTable:
    """The table of the store in ``folder``, loaded again only when its manifest changed
    (EmbeddingStoreError when missing or unreadable)."""
    folder = Path(folder)
    try:
        stamp = _stamp(folder)
    except OSError:
        stamp = ()
    with _lock:
        table = _tables.get(folder)
        if table is not None and stamp and table.stamp == stamp:
            return table
        table = VectorTable.load(EmbeddingStore.open(folder), stamp)
        _tables[folder] = table
        return table
