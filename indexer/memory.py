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
import os

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@functools.lru_cache(maxsize=1)
def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc if libc is not None and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


# Trim only when the process grew by this much since the last trim. Each trim makes the next
# batch fault its pages in again: trimming after every CAM++ batch cost ~6 % more CPU on four
# 2-minute files (70.7 -> 74.8 CPU s, benchmarks/results/speed-memory-2h.md); a batch that
# reuses the blocks of the one before (same window length) does not grow the process.
GROWTH_BYTES = 64 * 2**20
_trimmed_at = [0]   # resident bytes after the last trim


def resident_bytes() -> int:
    """The process's resident memory (unknown: a huge number, so that nothing is allowed on it)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 1 << 62   # unknown: always trim


def give_back() -> None:
    """Return the process's free heap pages to the system (glibc's ``malloc_trim(0)``)
    when it grew by :data:`GROWTH_BYTES` since the last time."""
    libc = _libc()
    if libc is None or resident_bytes() - _trimmed_at[0] < GROWTH_BYTES:
        return
    libc.malloc_trim(0)
    _trimmed_at[0] = resident_bytes()
