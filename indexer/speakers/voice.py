"""Speaker embeddings from Resemblyzer's voice encoder, offline.

The weights (``pretrained.pt``, 17 MB, Apache-2.0) ship inside the PyPI
package ``resemblyzer==0.1.4``, which is installed without its dependencies
(``pip install --no-deps``; the Makefile does it): its own audio module needs
``webrtcvad``, whose sdist needs a compiler, plus librosa and scipy. Nothing
of that is used here: the package is never imported, only its weights file is
located and read, and the network (3-layer LSTM, 40 mel bands in, 256-d
L2-normalised embedding out) and its mel spectrogram (librosa's
``melspectrogram`` with Slaney filters, power, no log) are rebuilt in
numpy/torch below. Checked against Resemblyzer's own code with librosa on
the same audio: cosine similarity of the embeddings > 0.9999.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ModelIntegrityError, ModelNotFoundError
from ..files import sha256_file
from ..memory import give_back

SAMPLE_RATE = 16_000
N_FFT = 400          # 25 ms
HOP = 160            # 10 ms
N_MELS = 40
WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
INSTALL_HINT = ("install the weights package with `pip install --no-deps resemblyzer==0.1.4` (no compiler "
                "needed), or turn speakers off: `speakers: off` in archive.yaml, `--speakers off` for transcribe")


def weights_path() -> Path:
    """``pretrained.pt`` inside the installed resemblyzer package (not imported)."""
    spec = importlib.util.find_spec("resemblyzer")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / "pretrained.pt"
        if path.is_file():
            return path
    raise ModelNotFoundError("the speaker-embedding weights (resemblyzer's pretrained.pt) are not installed",
                             hint=INSTALL_HINT)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False)."""
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0
    mel = f / f_sp
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(40, 201) Slaney-normalised triangular filters, as ``librosa.filters.mel``."""
    fft_freqs = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    weights = np.zeros((N_MELS, len(fft_freqs)))
    for i in range(N_MELS):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:N_MELS + 2] - mel_f[:N_MELS]))[:, None]
    return weights.astype(np.float32)


def mel_spectrogram(samples: np.ndarray) -> np.ndarray:
    """(frames, 40) mel power spectrogram of 16 kHz samples (centred frames, zero padding)."""
    samples = np.asarray(samples, dtype=np.float32)
    padded = np.pad(samples, N_FFT // 2)
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    if n_frames <= 0:
        return np.zeros((0, N_MELS), np.float32)
    frames = np.lib.stride_tricks.as_strided(
        padded, (n_frames, N_FFT), (padded.strides[0] * HOP, padded.strides[0]), writeable=False)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return (power.astype(np.float32) @ mel_filters().T).astype(np.float32)


def normalise_volume(samples: np.ndarray, target_dbfs: float = -30.0) -> np.ndarray:
    """Raise quiet audio to -30 dBFS, as Resemblyzer's preprocessing does (never lowers)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms <= 1e-9:
        return samples
    change = target_dbfs - 20 * np.log10(rms)
    return samples * np.float32(10 ** (change / 20)) if change > 0 else samples


class VoiceEncoder:
    """Resemblyzer's encoder: 16 kHz windows in, L2-normalised 256-d embeddings out."""

    dimension = 256

    def __init__(self, verify: bool = True):
        import torch
        from torch import nn

        path = weights_path()
        if verify and weights_sha256(path) != WEIGHTS_SHA256:
            raise ModelIntegrityError("speaker-embedding weights do not match their checksum", path,
                                      "reinstall them: `pip install --force-reinstall --no-deps resemblyzer==0.1.4`")
        self._torch = torch
        self.runs_on = f"torch {torch.__version__}"
        self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        state = torch.load(path, map_location="cpu", weights_only=True)["model_state"]
        self.lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        self.linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
        self.lstm.eval()
        self.linear.eval()
        self._lock = threading.Lock()

    def embed(self, windows: list[np.ndarray], batch: int = 64) -> np.ndarray:
        """One embedding per window of samples."""
        return self.embed_mels([mel_spectrogram(normalise_volume(w)) for w in windows], batch)

    def embed_mels(self, mels: list[np.ndarray], batch: int = 64) -> np.ndarray:
        """One embedding per mel spectrogram (frames, 40); equal lengths are batched together."""
        torch = self._torch

        def embed_stacked(stacked: np.ndarray) -> np.ndarray:
            with self._lock, torch.inference_mode():
                _, (hidden, _) = self.lstm(torch.from_numpy(stacked))
                raw = torch.relu(self.linear(hidden[-1]))
                return (raw / torch.clamp(torch.norm(raw, dim=1, keepdim=True), min=1e-9)).numpy()

        return embed_by_length(mels, self.dimension, batch, embed_stacked)


def embed_by_length(arrays: list[np.ndarray], dimension: int, batch: int,
                    embed_stacked: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """One embedding row per array, in order: arrays of one length stacked (at most ``batch``) and given
    to ``embed_stacked`` (a stack in, its L2-normalised rows out); freed memory goes back to the system
    after each batch (:func:`indexer.memory.give_back`). Every speaker encoder embeds this way."""
    result = np.zeros((len(arrays), dimension), np.float32)
    for ids in batches_by_length(arrays, batch):
        result[ids] = embed_stacked(np.stack([arrays[i] for i in ids]))
        give_back()
    return result


def batches_by_length(arrays: list[np.ndarray], batch: int) -> list[list[int]]:
    """Indices of ``arrays`` in batches of at most ``batch`` arrays of one length (stackable)."""
    by_length: dict[int, list[int]] = {}
    for i, array in enumerate(arrays):
        by_length.setdefault(len(array), []).append(i)
    return [ids[start:start + batch] for ids in by_length.values() for start in range(0, len(ids), batch)]


def weights_sha256(path: Path) -> str:
    """sha256 of a weights file, hashed once per process (keyed on its size and mtime)."""
    stat = path.stat()
    return _sha256_cached(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4)
def _sha256_cached(path: str, size: int, mtime: int) -> str:
    return sha256_file(Path(path))  # keyed on size and mtime: hashed once per process
