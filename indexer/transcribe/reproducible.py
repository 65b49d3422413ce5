"""Same audio, same options, same words: the seed of each engine call, and sampling
that draws from it in both engines.

Whisper decodes greedily (or by beam search) and samples only in the temperature
fallback, when a window loops (compression ratio above the threshold): then
``best_of`` candidates are drawn at a higher temperature (0.4, then 0.8:
``options.TEMPERATURES``). Unseeded, those draws
changed the words of looping windows from run to run (issue 28). Here every
engine call (a window, or speech a first pass skipped) gets a seed made from the
audio's sha256 and where the call's audio starts in the file, so a window draws
the same numbers whether it runs alone, in a batch, beside other windows, in
another worker process or on a Dask worker.

* **CTranslate2** (faster-whisper) draws from a generator of its own per thread,
  seeded once, when that thread first samples, from the process-wide seed
  (``ctranslate2.set_random_seed``; unset: ``std::random_device``), and the
  model's worker threads live as long as the model. So a call that falls back
  samples on a copy of the model loaded for that call, whose one worker thread
  first samples under the call's seed (a lock keeps two calls from setting the
  seed at once); batched decoding (:mod:`.batched`) does so for each 30-second
  step of a window that falls back, with :func:`step_seed`. Greedy and beam
  search, and the other windows of a batch, stay on the shared model. The copy costs
  a model load (0.4–0.9 CPU s, measured) per call that falls back, nothing otherwise.
* **PyTorch** (openai-whisper) samples from the process's generator: each call
  runs under a forked generator seeded with the call's seed, one call at a time
  per process, on one intra-op thread (below).

Thread counts: CTranslate2's int8 products are exact integer sums, and its float
attention products came out bitwise equal on 1 and 2 threads (benchmarks/
results/reproducibility.md), so its windows keep the split of the cores that
``parallel_plan`` gives. PyTorch's float products do not: on 1 and 2 threads
openai-whisper's word probabilities differed from the 6th decimal (enough to
flip a near tie between two tokens), and Intel MKL's strict reproducible mode
(``MKL_CBWR=AUTO,STRICT``), which makes them equal, cost 35 % more CPU. So an
openai-whisper call is pinned to one thread.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from ..memory import resident_bytes

log = logging.getLogger("indexer")

# How the temperature fallback is seeded, recorded in each transcript's options
# (TranscribeOptions.sampling_seed). "" leaves sampling to the libraries' own
# generators: as before, not reproducible.
SEED_POLICY = "sha256(audio)+position"
FELL_BACK = "a window fell back to sampling (seed %d)"   # logged (debug) after each call that sampled
TORCH_THREADS = 1   # PyTorch threads per openai-whisper call (see the module's docstring)


def call_seed(audio_sha256: str | None, first_sample: int, purpose: str = "window") -> int | None:
    """The seed of one engine call: the audio's content and the sample where the
    call's audio starts in the file (``purpose`` tells a window's first pass from
    a second pass over its skipped speech). 32 bits: CTranslate2's seed size.
    None without a hash: unseeded."""
    if audio_sha256 is None:
        return None
    digest = hashlib.sha256(f"{audio_sha256}/{purpose}/{first_sample}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def step_seed(seed: int | None, frame: int) -> int | None:
    """The seed of one 30-second step of a clip that starts ``frame`` frames into its
    speech: batched decoding samples step by step, each step on its own copy."""
    if seed is None:
        return None
    return int.from_bytes(hashlib.sha256(f"{seed}/{frame}".encode()).digest()[:4], "little")


# --- CTranslate2 ---------------------------------------------------------------------------------

_calls = threading.local()       # the engine call running in this thread: its seed and sampling copy
_ct2_seed_lock = threading.Lock()   # ctranslate2.set_random_seed is one value for the whole process
# Sampling copies alive at once. Loading one took +160-240 MB for a moment (base, int8), and two
# windows falling back at once on two workers took a two-hour file's transcription to 1.77 GB
# (benchmarks/results/speed-memory-2h.md): so a second copy loads only while the process holds
# under COPY_BESIDE_BYTES, else the window waits for the first copy to go. Short files are far under
# it, and there a waiting window left its core idle: on June's seven files two fallbacks of three
# waited, 14.9 s of a 79-s run, at 725 and 876 MB. Words do not change either way (each call
# draws from its own seed, on its own copy).
COPY_BESIDE_BYTES = 900 * 2**20
COPY_BYTES = 240 * 2**20   # what loading one copy added at most: counted for a copy admitted, not yet loaded
MAX_COPIES = 2


class _Copies:
    """Who holds a sampling copy: one thread, or two while memory allows (:data:`COPY_BESIDE_BYTES`).
    Reentrant: a call inside a call in one thread does not wait for itself."""

    def __init__(self):
        self._changed = threading.Condition()
        self._holders: dict[int, int] = {}   # thread id: how deep
        self._loaded: set[int] = set()       # holders whose copy is in memory already (always holders)

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._changed:
            if me not in self._holders:
                self._changed.wait_for(self._room)
            self._holders[me] = self._holders.get(me, 0) + 1

    def loaded(self) -> None:
        """This thread's copy is in memory now (the process's size says so)."""
        with self._changed:
            self._loaded.add(threading.get_ident())
            self._changed.notify_all()   # the process's size now counts it: a waiting window may fit

    def _room(self) -> bool:
        if not self._holders:
            return True
        coming = len(self._holders) - len(self._loaded)   # admitted, not loaded yet
        return len(self._holders) < MAX_COPIES and resident_bytes() + coming * COPY_BYTES < COPY_BESIDE_BYTES

    def release(self) -> None:
        me = threading.get_ident()
        with self._changed:
            self._holders[me] -= 1
            if not self._holders[me]:
                del self._holders[me]
                self._loaded.discard(me)
                self._changed.notify_all()


_copies = _Copies()


class _Call:
    def __init__(self, seed: int | None):
        self.seed = seed
        self.copy = None   # the model this call samples on, loaded at its first draw
        self.fell_back = False


@contextmanager
def seeded_call(seed: int | None) -> Iterator[None]:
    """Sampling in this thread, until the end of the block, draws from ``seed``
    (None: from the library's generator, unseeded)."""
    previous = getattr(_calls, "current", None)
    _calls.current = call = _Call(seed)
    try:
        yield
    finally:
        _calls.current = previous
        call.copy = None   # this call's copy of the model goes
        if call.fell_back:
            _copies.release()
    if call.fell_back:
        log.debug(FELL_BACK, seed)


class SeededSampling:
    """Stands for faster-whisper's CTranslate2 model (``WhisperModel.model``).

    Every method is the shared model's, but a sampling ``generate`` (the
    temperature fallback: ``sampling_temperature`` with ``sampling_topk`` other
    than 1) runs on the current call's own copy, seeded with the call's seed.
    """

    def __init__(self, model, load_copy: Callable[[], object]):
        self._model = model
        self._load_copy = load_copy

    def __getattr__(self, name):
        return getattr(self._model, name)

    def generate(self, *args, **kwargs):
        call = getattr(_calls, "current", None)
        sampling = "sampling_temperature" in kwargs and kwargs.get("sampling_topk", 1) != 1
        if not sampling or call is None or call.seed is None:
            return self._model.generate(*args, **kwargs)
        if call.copy is not None:
            return call.copy.generate(*args, **kwargs)
        import ctranslate2

        if not call.fell_back:
            _copies.acquire()   # released when the call ends (seeded_call)
            call.fell_back = True
        with _ct2_seed_lock:
            # The copy's worker thread seeds its generator at its first draw, from the
            # process-wide seed: set it, and draw, before another call can change it.
            ctranslate2.set_random_seed(call.seed)
            call.copy = self._load_copy()
            _copies.loaded()
            return call.copy.generate(*args, **kwargs)


def seed_sampling(whisper_model, load_copy: Callable[[], object]):
    """``whisper_model`` (a faster-whisper ``WhisperModel``) with seeded sampling; returns it."""
    whisper_model.model = SeededSampling(whisper_model.model, load_copy)
    return whisper_model


# --- PyTorch -------------------------------------------------------------------------------------

_torch_lock = threading.Lock()   # PyTorch's generator and thread pool are the process's


@contextmanager
def torch_call(seed: int | None) -> Iterator[None]:
    """One openai-whisper call: alone in the process, on :data:`TORCH_THREADS`
    threads, drawing from ``seed`` (None: from the process's generator, unseeded).
    The process's generator and thread count are given back afterwards."""
    import torch

    with _torch_lock, torch.random.fork_rng(devices=[], enabled=seed is not None):
        threads = torch.get_num_threads()
        torch.set_num_threads(TORCH_THREADS)
        if seed is not None:
            torch.manual_seed(seed)
            seeded = torch.random.get_rng_state()
        try:
            yield
        finally:
            torch.set_num_threads(threads)
        if seed is not None and not torch.equal(torch.random.get_rng_state(), seeded):
            log.debug(FELL_BACK, seed)
