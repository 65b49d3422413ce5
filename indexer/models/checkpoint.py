"""openai-whisper checkpoints: made from a CT2 model once and cached, loaded with the
model's own alignment heads; the dims of a .pt file read without torch."""

from __future__ import annotations

import base64
import gzip
import logging
import pickle
import re
import time
import zipfile
from pathlib import Path

from ..errors import EngineError, ModelNotFoundError
from ..files import read_json, sha256_file
from .convert import CONFIG_FILE, MODEL_FILE, convert_ct2_to_openai
from .info import CT2, MULTILINGUAL_VOCAB, OPENAI, ModelInfo, models_dir, write_marker
from .shipped import recorded_sha256

logger = logging.getLogger("indexer")


def openai_checkpoint(info: ModelInfo, cache_dir: Path | str | None = None) -> Path:
    """A .pt file openai-whisper can load for ``info``.

    A .pt model is returned as is; a CT2 model is converted once into
    ``<cache>/models/<name>-openai.pt``, reused while the source ``model.bin`` is
    the same one (same path, size and mtime, or same sha256).
    """
    if info.format == OPENAI:
        return info.path
    if info.format != CT2:
        raise EngineError(f"unknown model format {info.format!r}", path=info.path)
    mdir = models_dir(cache_dir)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", info.name) or "model"
    output = mdir / f"{slug}-openai.pt"
    meta_path = mdir / f"{slug}-openai.json"
    source = info.path / MODEL_FILE
    try:
        stat = source.stat()
    except FileNotFoundError as e:
        raise ModelNotFoundError("no model.bin", path=source) from e
    cheap_key = {
        "source": str(info.path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }
    meta = read_json(meta_path)
    reusable = (
        meta is not None
        and output.is_file()
        and meta.get("output_size") == output.stat().st_size
    )
    if reusable and all(meta.get(k) == v for k, v in cheap_key.items()):
        return output
    sha = recorded_sha256(info.path, stat) or sha256_file(source)
    if reusable and meta.get("sha256") == sha and meta.get("size") == stat.st_size:
        write_marker(meta_path, {**meta, **cheap_key})  # e.g. the model dir moved
        return output

    started = time.monotonic()
    convert_ct2_to_openai(info.path, output)
    logger.info("converted %s for openai-whisper in %.1f s", info.name, time.monotonic() - started)
    write_marker(
        meta_path, {**cheap_key, "sha256": sha, "output_size": output.stat().st_size}
    )
    return output


def load_openai_model(info: ModelInfo, cache_dir: Path | str | None = None, device: str = "cpu"):
    """An openai-whisper model for ``info``, with the model's alignment heads set.

    ``whisper.load_model(path)`` keeps its default alignment heads (all heads of
    the upper half of the decoder) for a file path, which makes word timestamps
    worse; the model's own heads come from CT2's config.json, from the converted
    checkpoint, or from whisper's table for its own downloads.
    """
    import whisper

    path = openai_checkpoint(info, cache_dir)
    model = whisper.load_model(str(path), device="cpu")
    official = info.source == "whisper-cache" and info.name in whisper._ALIGNMENT_HEADS
    if info.format == OPENAI and official:
        model.set_alignment_heads(whisper._ALIGNMENT_HEADS[info.name])
    else:
        heads = _alignment_heads(info, path)
        if heads:
            _set_alignment_heads(model, heads)
        else:
            logger.info("no alignment heads known for %s: word timestamps use whisper's default",
                        info.name)
    return model.to(device)


class _DimsUnpickler(pickle.Unpickler):
    """Reads a torch zip checkpoint's data.pkl without torch and without tensors."""

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            from collections import OrderedDict

            return OrderedDict
        return lambda *args, **kwargs: None

    def persistent_load(self, pid):
        return None


# A legacy (non-zip) file, a zip without data.pkl, a pickle of another shape; and what the
# pickle module documents for a damaged stream (AttributeError, EOFError, ImportError, IndexError).
_UNREADABLE_DIMS = (OSError, zipfile.BadZipFile, StopIteration, pickle.UnpicklingError, EOFError, AttributeError,
                    ImportError, IndexError, KeyError, TypeError, ValueError)


def checkpoint_multilingual(pt: Path) -> bool:
    try:
        with zipfile.ZipFile(pt) as archive:
            data = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
            with archive.open(data) as f:
                dims = _DimsUnpickler(f).load()["dims"]
        return int(dims["n_vocab"]) >= MULTILINGUAL_VOCAB
    except _UNREADABLE_DIMS:  # legacy (non-zip) format or unexpected layout
        # openai-whisper's English-only models are the ".en" ones.
        return not pt.stem.endswith(".en")


def _alignment_heads(info: ModelInfo, checkpoint: Path) -> list[list[int]] | None:
    if info.format == CT2:
        config = read_json(info.path / CONFIG_FILE) or {}
        return config.get("alignment_heads") or None
    import torch

    try:  # mmap: reads the pickled dict, not the tensors (zip checkpoints only)
        data = torch.load(checkpoint, map_location="cpu", mmap=True, weights_only=True)
    # RuntimeError: legacy format (no mmap) or a damaged zip; UnpicklingError: a checkpoint
    # weights_only refuses. Either way: keep the default.
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        logger.debug("cannot read alignment heads from %s: %s", checkpoint, e)
        return None
    return data.get("alignment_heads") if isinstance(data, dict) else None


def _set_alignment_heads(model, heads: list[list[int]]) -> None:
    """Like whisper's own `set_alignment_heads`, from (layer, head) pairs."""
    import numpy as np

    layers, n_heads = model.dims.n_text_layer, model.dims.n_text_head
    mask = np.zeros((layers, n_heads), dtype=bool)
    for layer, head in heads:
        if not (0 <= layer < layers and 0 <= head < n_heads):
            raise EngineError(
                f"alignment head ({layer}, {head}) outside a {layers}x{n_heads} decoder"
            )
        mask[layer, head] = True
    model.set_alignment_heads(base64.b85encode(gzip.compress(mask.tobytes())))
