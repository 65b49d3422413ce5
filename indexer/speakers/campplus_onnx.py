"""CAM++ run by ONNX Runtime: the network exported once from its checked weights into the model cache.

Why: the speakers stage then needs no PyTorch at all. Importing torch, tracing
and freezing the network cost about 4 CPU s in every process and held
~300 MB; ONNX Runtime is already loaded (faster-whisper's VAD runs on it) and
runs the same network in ~0.85x the CPU time of the frozen TorchScript one
(32 windows of 1.5 s on one thread: 0.49 against 0.58 s). The embeddings are
the same to 2e-5 (4e-7 once normalised).

The export is made once per machine, under a lock (parallel workers do not
make it twice), written atomically, checked against the PyTorch network under
this ONNX Runtime before it is kept, and recorded with its sha256 and the
versions that made and checked it. Every load reads the bytes once and checks
them: a damaged copy, one checked under another runtime, or one the runtime
cannot load is made again, never run. Exporting needs torch and the ``onnx``
package (both pinned dependencies), in a child process, so that no process that
runs the network holds torch; where the copy can be neither found nor
made, :class:`ExportUnavailable` says why and the caller runs the PyTorch
network instead (:class:`indexer.speakers.campplus.CamppEncoder`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from pathlib import Path

import numpy as np

from ..files import atomic_file, atomic_write_json, read_json
from ..locks import die_with_parent, exclusive_lock
from ..models.info import models_dir
from .campplus import N_MELS, WEIGHTS_SHA256
from .voice import embed_by_length

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


def runtime_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def cached_network(cache_dir: Path | str | None = None) -> bytes | None:
    """The exported network's bytes when the cache holds it whole (its recorded size and sha256, read
    once: the bytes checked are the bytes run) and it was checked under this ONNX Runtime and opset;
    else None. A copy checked under another runtime is not trusted: runtimes have differed on this
    network's partial average pools (kernel 100 over 74 frames)."""
    path = onnx_path(cache_dir)
    meta = read_json(_marker(path))
    if not isinstance(meta, dict) or meta.get("weights_sha256") != WEIGHTS_SHA256 or meta.get("opset") != OPSET \
            or meta.get("onnxruntime") != runtime_version():
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) != meta.get("size") or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        return None
    return data


def network_bytes(cache_dir: Path | str | None = None, remake: bool = False) -> bytes:
    """The cached ONNX network, exported now if needed (``remake``: even if the cache holds one, e.g.
    a copy this runtime could not load); ExportUnavailable when it cannot be had."""
    found = None if remake else cached_network(cache_dir)
    if found is not None:
        return found
    path = onnx_path(cache_dir)
    with exclusive_lock(path.with_suffix(".lock")):
        found = None if remake else cached_network(cache_dir)   # made by another process while we waited
        if found is not None:
            return found
        logger.info("exporting the CAM++ speaker network to ONNX (once per machine): %s", path)
        data, versions = _export()
        with atomic_file(path, "wb", sweep=True) as f:
            f.write(data)
        atomic_write_json(_marker(path), {"weights_sha256": WEIGHTS_SHA256, "sha256": hashlib.sha256(data).hexdigest(),
                                          "size": len(data), "opset": OPSET, **versions}, indent=1)
        return data


def load_encoder(threads: int = 1, cache_dir: Path | str | None = None) -> "OnnxCamppEncoder":
    """CAM++ on ONNX Runtime from the cached copy; a copy the runtime cannot load is made again once;
    ExportUnavailable when there is still none to run."""
    data = network_bytes(cache_dir)
    try:
        return OnnxCamppEncoder(data, threads)
    except Exception as first:  # noqa: BLE001 - ONNX Runtime's load errors have no common type
        logger.warning("the cached ONNX copy of CAM++ does not load (%s); exporting it again", first)
    data = network_bytes(cache_dir, remake=True)
    try:
        return OnnxCamppEncoder(data, threads)
    except Exception as e:  # noqa: BLE001
        raise ExportUnavailable(f"ONNX Runtime cannot load CAM++'s ONNX copy: {e}") from e


_UNAVAILABLE = "cannot export CAM++ to ONNX"


def _export() -> tuple[bytes, dict]:
    """The network as ONNX bytes, checked against PyTorch's, made in a child process: the process that
    needs the network never imports torch, which it would keep for the rest of its life (~+400 MB, on
    top of a long file's decoding; ~4 CPU s)."""
    import importlib.util
    import os
    import subprocess
    import sys
    import tempfile

    missing = [name for name in ("onnx", "torch") if importlib.util.find_spec(name) is None]
    if missing:
        raise ExportUnavailable(f"{_UNAVAILABLE}: No module named {missing[0]!r}")
    if not sys.executable:
        raise ExportUnavailable(f"{_UNAVAILABLE}: no Python interpreter to run the export in")
    # The child imports this very indexer: its folder first on the path, and -P keeps the current
    # directory (another checkout, perhaps) off it.
    here = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)}
    with tempfile.TemporaryDirectory(prefix="indexer-campplus-") as folder:
        out = Path(folder) / "campplus.onnx"
        code = ("import sys; from indexer.speakers.campplus_onnx import export_to_file; "
                "export_to_file(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))")
        try:
            command = [sys.executable, "-P", "-c", code, str(out), repr(CHECK_TOLERANCE), str(os.getpid())]
            done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=EXPORT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise ExportUnavailable(f"{_UNAVAILABLE}: the export took over {EXPORT_TIMEOUT} s") from None
        reason = _last_line(done.stderr)
        if done.returncode == 3 and reason:   # the child's own reason, one line
            raise ExportUnavailable(reason)
        if done.returncode != 0:
            raise ExportUnavailable(
                f"{_UNAVAILABLE}: the export process failed ({reason or f'status {done.returncode}'})")
        versions = read_json(out.with_suffix(".json"))
        if not isinstance(versions, dict) or not out.is_file():
            raise ExportUnavailable(f"{_UNAVAILABLE}: the export process left no network")
        return out.read_bytes(), versions


EXPORT_TIMEOUT = 600   # seconds; the export takes ~5 CPU s: a child this slow is stuck, not working


def _last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def export_to_file(path: str, tolerance: float, parent: int) -> None:
    """The child's side of :func:`_export`: the checked network written to ``path`` and the versions that
    made it beside it (``.json``); on failure the reason as one line on stderr, and status 3. It ends
    with ``parent`` (a killed worker leaves no export running)."""
    import sys

    die_with_parent(parent)
    try:
        data, versions = _export_here(tolerance)
    except ExportUnavailable as e:
        print(" ".join(str(e).split()), file=sys.stderr)   # exporter errors run over several lines
        raise SystemExit(3) from None
    Path(path).write_bytes(data)
    atomic_write_json(Path(path).with_suffix(".json"), versions)


def _export_here(tolerance: float) -> tuple[bytes, dict]:
    """The network as ONNX bytes, checked against PyTorch's on :data:`CHECK_FRAMES` to ``tolerance``."""
    try:
        import onnx  # noqa: F401 - torch's exporter needs it
        import torch
    except ImportError as e:
        raise ExportUnavailable(f"{_UNAVAILABLE}: {e}") from e
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
        raise ExportUnavailable(f"{_UNAVAILABLE}: {e}") from e
    data = buffer.getvalue()
    rng = np.random.default_rng(0)
    try:
        session = _session(data, threads=1)
        for frames in CHECK_FRAMES:
            features = rng.standard_normal((2, frames, N_MELS)).astype(np.float32)
            with torch.inference_mode():
                expected = model(torch.from_numpy(features)).numpy()
            got = session.run(None, {"features": features})[0]
            if not np.allclose(got, expected, atol=tolerance, rtol=0):
                raise ExportUnavailable(f"the ONNX copy of CAM++ differs from PyTorch's network on {frames} "
                                        f"frames (by {float(np.abs(got - expected).max()):.2g})")
    except ExportUnavailable:
        raise
    except Exception as e:  # noqa: BLE001 - ONNX Runtime's errors have no common type
        raise ExportUnavailable(f"ONNX Runtime cannot run CAM++'s ONNX copy: {e}") from e
    import onnx as onnx_module

    return data, {"torch": torch.__version__, "onnx": onnx_module.__version__, "onnxruntime": runtime_version()}


def _session(model: bytes, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # No arena: it kept 324 MB after the stage's batch shapes (102 MB without), which give_back cannot
    # return (faster-whisper's VAD session does the same). No spinning beside the decoding threads.
    options.enable_cpu_mem_arena = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


# Windows embedded at once. Smaller stacks stay in the CPU's caches: the whole speakers stage took 0.90× the
# CPU of stacks of 32 on 23 real French files (0.94× at 16, 0.90× at 4), with the same turns and voice prints
# to the last bit (benchmarks/speaker_batch.py).
ONNX_BATCH = 8


class OnnxCamppEncoder:
    """CAM++ on ONNX Runtime: (frames, 80) filterbanks in, L2-normalised 192-d embeddings out, as
    :class:`indexer.speakers.campplus.CamppEncoder` (same interface, same embeddings to 2e-5)."""

    dimension = 192
    uses_torch = False

    def __init__(self, model: bytes, threads: int = 1):
        self.session = _session(model, threads)
        self.runs_on = f"onnxruntime {runtime_version()}"
        self._lock = threading.Lock()   # one batch at a time, as the PyTorch encoder: memory stays bounded

    def embed_features(self, features: list[np.ndarray], batch: int = ONNX_BATCH) -> np.ndarray:
        def embed_stacked(stacked: np.ndarray) -> np.ndarray:
            with self._lock:
                raw = self.session.run(None, {"features": stacked})[0]
            return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-9)

        return embed_by_length(features, self.dimension, batch, embed_stacked)
