"""Process-wide thread settings of the libraries the engines run on (OpenMP, PyTorch).

They belong to the process, not to one object: they are set here, by name, where
an engine or a speaker backend is chosen, never as a side effect of building one.
"""

from __future__ import annotations

import os

# CTranslate2's OpenMP threads sleep when they wait instead of spinning: on a
# machine shared with other jobs, two threads on one window spun away 4× the
# CPU time of one thread (50 vs 12 CPU seconds for the same two episodes); with
# PASSIVE, 12.3. Read when ctranslate2 is first imported; the user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


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
