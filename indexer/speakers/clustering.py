"""Average-linkage clustering of voice embeddings, the centroid merge, and small clusters absorbed."""

from __future__ import annotations

import numpy as np


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def agglomerate(embeddings: np.ndarray, stop: float) -> np.ndarray:
    """Average-linkage clustering on cosine similarity; merging stops below ``stop``.
    Labels 0..k-1. O(n²) memory: call it on a chunk's windows, not a whole file."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, int)
    x = _normalise(embeddings.astype(np.float64))
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    size = np.ones(n)
    alive = np.ones(n, bool)
    parent = np.arange(n)
    for _ in range(n - 1):
        flat = int(np.argmax(sim))
        i, j = divmod(flat, n)
        if sim[i, j] < stop:
            break
        # j into i; average linkage: size-weighted mean of the similarities.
        merged = (size[i] * sim[i] + size[j] * sim[j]) / (size[i] + size[j])
        sim[i], sim[:, i] = merged, merged
        sim[i, i] = -np.inf
        sim[j], sim[:, j] = -np.inf, -np.inf
        size[i] += size[j]
        alive[j] = False
        parent[parent == j] = i
    _, labels = np.unique(parent, return_inverse=True)
    return labels


def merge_centroids(sums: np.ndarray, seconds: np.ndarray, stop: float,
                    count: int | None = None) -> np.ndarray:
    """Join clusters whose centroids are at least ``stop`` alike (most alike first),
    or down to ``count`` clusters when the count is known. Returns a label per cluster."""
    k = len(sums)
    groups = {i: [i] for i in range(k)}
    total = {i: sums[i].astype(np.float64) for i in range(k)}
    while len(groups) > 1:
        keys = sorted(groups)
        cent = _normalise(np.stack([total[g] for g in keys]))
        sim = cent @ cent.T
        np.fill_diagonal(sim, -np.inf)
        a, b = divmod(int(np.argmax(sim)), len(keys))
        if count is not None:
            if len(groups) <= count:
                break
        elif sim[a, b] < stop:
            break
        ga, gb = keys[a], keys[b]
        groups[ga] += groups.pop(gb)
        total[ga] = total[ga] + total.pop(gb)
    labels = np.zeros(k, int)
    for n, members in enumerate(groups.values()):
        labels[members] = n
    return labels


def absorb_small(speaker: np.ndarray, sums: np.ndarray, seconds: np.ndarray, min_seconds: float,
                 floor: float | None = None) -> np.ndarray:
    """A cluster with less than ``min_seconds`` of windows goes to the nearest big one.
    ``speaker``: a cluster per row of ``sums`` (embeddings or sums of them) and ``seconds``.

    With ``floor``, a small cluster less alike than that to every big one is
    unlabelled (-1): a jingle or a voice heard for a moment gets no speaker
    rather than a wrong one.
    """
    return _absorb(speaker, sums, seconds, min_seconds, floor, unlabel=True)


def join_small(speaker: np.ndarray, sums: np.ndarray, seconds: np.ndarray, min_seconds: float,
               floor: float | None = None) -> np.ndarray:
    """As :func:`absorb_small`, but a small cluster far from every big one stays a cluster of its own."""
    return _absorb(speaker, sums, seconds, min_seconds, floor, unlabel=False)


def _absorb(speaker, sums, seconds, min_seconds, floor, unlabel: bool) -> np.ndarray:
    k = speaker.max() + 1 if len(speaker) else 0
    total = np.array([seconds[speaker == s].sum() for s in range(k)])
    big = [s for s in range(k) if total[s] >= min_seconds]
    if not big or len(big) == k:
        return speaker
    out = speaker.copy()
    cent = _normalise(np.stack([sums[speaker == s].sum(axis=0) for s in range(k)]))
    for s in range(k):
        if s not in big:
            alike = cent[big] @ cent[s]
            if floor is not None and alike.max() < floor:
                if unlabel:
                    out[speaker == s] = -1
                continue
            out[speaker == s] = big[int(np.argmax(alike))]
    return out
