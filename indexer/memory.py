"""Freed memory given back to the system, a setting of the whole process (like :mod:`indexer.threads`).

glibc keeps what Python, CTranslate2 and PyTorch free: after a large block is
freed, its mmap threshold rises (up to 32 MB), so later blocks of that size
come from the heap, whose free pages it does not return. Buffers of changing
sizes (one batch of CAM++ windows per window length, one whisper window after
another) then leave the heap fragmented and the process keeps growing: +470 MB
for CAM++ on five minutes of speech, 1.98 GB half way through a two-hour file
(benchmarks/results/speed-memory-2h.md). :func:`give_back` returns the free
pages (``malloc_trim``) between units of work. Elsewhere than glibc, nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.lru_cache(maxsize=1)
def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc if libc is not None and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def give_back() -> None:
    """Return the process's free heap pages to the system (glibc's ``malloc_trim(0)``)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
