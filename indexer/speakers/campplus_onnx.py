"""CAM++ run by ONNX Runtime: the network exported once from its checked weights into the model cache.

Why: the speakers stage then needs no PyTorch at all. Importing torch, tracing
and freezing the network cost about 3 CPU s in every process and held
~400 MB; ONNX Runtime is already loaded (faster-whisper's VAD runs on it) and
runs the same network in ~0.85x the CPU time of the frozen TorchScript one
(32 windows of 1.5 s on one thread: 0.49 against 0.58 s). The embeddings are
the same to 2e-5 (checked at export on windows of 13 to 333 frames).

The export is made once per machine, under a lock (parallel workers do not
make it twice), written atomically, checked against the PyTorch network before
it is kept, and recorded with its sha256, which every later load checks: a
damaged or foreign file is never run, it is made again. Exporting needs torch
and the ``onnx`` package (both pinned dependencies); where either is missing
or the export fails, :func:`exported_network` says so and the caller runs the
PyTorch network instead (:class:`indexer.speakers.campplus.CamppEncoder`).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np

from ..files import atomic_file, atomic_write_json, read_json, sha256_file
from ..locks import exclusive_lock
from ..memory import give_back
from ..models.info import models_dir
from .campplus import N_MELS, WEIGHTS_SHA256
from .voice import batches_by_length

logger = logging.getLogger("indexer")

OPSET = 17
# The export's check: its embeddings against PyTorch's on random features of these lengths (frames).
CHECK_FRAMES = (13, 150, 333)
CHECK_TOLERANCE = 1e-3    # measured: 1.7e-5 at most, on embeddings of magnitude ~3 (before normalising)


class ExportUnavailable(RuntimeError):
    """The ONNX copy can be neither found nor made here (the reason is the message)."""


def onnx_path(cache_dir: Path | str | None = None) -> Path:
    """Where the exported network lives: named by the weights it was made from."""
    return models_dir(cache_dir) / f"campplus-{WEIGHTS_SHA256[:16]}.onnx"


def _marker(path: Path) -> Path:
    return path.with_suffix(".json")


def cached_network(cache_dir: Path | str | None = None) -> Path | None:
    """The exported network when the cache holds it whole (its recorded sha256), else None."""
    path = onnx_path(cache_dir)
    meta = read_json(_marker(path))
    if not (isinstance(meta, dict) and path.is_file()):
        return None
    if meta.get("weights_sha256") != WEIGHTS_SHA256 or meta.get("size") != path.stat().st_size:
        return None
    return path if sha256_file(path) == meta.get("sha256") else None


def exported_network(cache_dir: Path | str | None = None) -> Path:
    """The cached ONNX network, exported now if needed; ExportUnavailable when it cannot be had."""
    found = cached_network(cache_dir)
    if found is not None:
        return found
    path = onnx_path(cache_dir)
    with exclusive_lock(path.with_suffix(".lock")):
        found = cached_network(cache_dir)   # another process may have made it while we waited
        if found is not None:
            return found
        data, versions = _export()
        with atomic_file(path, "wb") as f:
            f.write(data)
        atomic_write_json(_marker(path), {"weights_sha256": WEIGHTS_SHA256, "sha256": sha256_file(path),
                                          "size": path.stat().st_size, "opset": OPSET, **versions}, indent=1)
        logger.info("exported the CAM++ speaker network for ONNX Runtime: %s", path)
        return path


def _export() -> tuple[bytes, dict]:
    """The network as ONNX bytes, checked against PyTorch's on :data:`CHECK_FRAMES`."""
    try:
        import onnx  # noqa: F401 - torch's exporter needs it
        import torch
    except ImportError as e:
        raise ExportUnavailable(f"cannot export CAM++ to ONNX: {e}") from e
    import warnings

    from .campplus import CamppEncoder

    model = CamppEncoder(optimise=False).model   # the weights are checked against their sha256 here
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.zeros(2, 150, N_MELS),), buffer, dynamo=False, opset_version=OPSET,
                              input_names=["features"], output_names=["embeddings"],
                              dynamic_axes={"features": {0: "batch", 1: "frames"}, "embeddings": {0: "batch"}})
    except Exception as e:  # noqa: BLE001 - any exporter failure: the caller runs the PyTorch network
        raise ExportUnavailable(f"cannot export CAM++ to ONNX: {e}") from e
    data = buffer.getvalue()
    session = _session(data, threads=1)
    rng = np.random.default_rng(0)
    for frames in CHECK_FRAMES:
        features = rng.standard_normal((2, frames, N_MELS)).astype(np.float32)
        with torch.inference_mode():
            expected = model(torch.from_numpy(features)).numpy()
        got = session.run(None, {"features": features})[0]
        if not np.allclose(got, expected, atol=CHECK_TOLERANCE, rtol=0):
            raise ExportUnavailable(f"the ONNX copy of CAM++ differs from PyTorch's network on {frames} frames "
                                    f"(by {float(np.abs(got - expected).max()):.2g})")
    import onnx as onnx_module

    return data, {"torch": torch.__version__, "onnx": onnx_module.__version__}


def _session(model: bytes | str, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


class OnnxCamppEncoder:
    """CAM++ on ONNX Runtime: (frames, 80) filterbanks in, L2-normalised 192-d embeddings out, as
    :class:`indexer.speakers.campplus.CamppEncoder` (same interface, same embeddings to 2e-5)."""

    dimension = 192
    uses_torch = False

    def __init__(self, path: Path, threads: int = 1):
        self.path = path
        self.session = _session(str(path), threads)

    def embed_features(self, features: list[np.ndarray], batch: int = 32) -> np.ndarray:
        result = np.zeros((len(features), self.dimension), np.float32)
        for ids in batches_by_length(features, batch):
            raw = self.session.run(None, {"features": np.stack([features[i] for i in ids])})[0]
            result[ids] = raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-9)
            give_back()
        return result

