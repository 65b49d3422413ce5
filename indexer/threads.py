"""PyTorch's thread count, a setting of the whole process: set by name where an
engine or a speaker backend is chosen, never as a side effect of building one.
(OpenMP's wait policy, also process-wide, is set where the engines are:
:mod:`indexer.transcribe.engines`.)"""

from __future__ import annotations


def use_torch_threads(threads: int) -> None:
    """Run PyTorch on ``threads`` threads, in the whole process.

    PyTorch has one intra-op thread pool per process, and a model cannot be
    given threads of its own (CTranslate2 can: faster-whisper gets its threads
    per model). So the openai-whisper engine and the speaker encoder set the
    process's pool to the threads the plan gives them; the last call wins for
    every torch model in the process.
    """
    import torch

    torch.set_num_threads(threads)
