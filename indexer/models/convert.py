"""CTranslate2 Whisper model → openai-whisper checkpoint.

faster-whisper runs CTranslate2 models (a ``model.bin`` plus ``config.json``);
openai-whisper loads a ``torch.save`` of ``{"dims": ..., "model_state_dict": ...}``.
The weights are the same network, so converting is a renaming plus a few splits
(see :func:`_state_dict`). The layout of ``model.bin`` is the one written by
ctranslate2's ``python/ctranslate2/specs/model_spec.py`` (``_serialize``) and read
by ``src/models/model.cc``.

numpy and torch are imported inside the functions: :func:`read_ct2_header` is
called when resolving a model and must stay cheap.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import EngineError, ModelNotFoundError
from ..files import atomic_file

logger = logging.getLogger("indexer")

MODEL_FILE = "model.bin"
CONFIG_FILE = "config.json"
WHISPER_SPEC = "WhisperSpec"
# binary_version >= 4 stores a dtype id and a byte count per variable (model.cc);
# every CTranslate2 release that knows Whisper writes 5 or 6.
MIN_BINARY_VERSION = 4
MAX_BINARY_VERSION = 6
# Index = CTranslate2 DataType id (include/ctranslate2/types.h).
DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
# Whisper's attention heads are always 64 wide; used if num_heads is not stored.
HEAD_DIM = 64


@dataclass(frozen=True)
class TensorEntry:
    """One variable of ``model.bin``: where its bytes are, not the bytes."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    offset: int
    nbytes: int


@dataclass(frozen=True)
class Ct2Header:
    binary_version: int
    spec: str
    revision: int
    tensors: dict[str, TensorEntry]
    aliases: dict[str, str]  # alias name -> name of the variable it shares

    def entry(self, name: str) -> TensorEntry | None:
        return self.tensors.get(self.aliases.get(name, name))

    @property
    def n_vocab(self) -> int:
        entry = self.entry("decoder/embeddings/weight")
        if entry is None:
            raise EngineError("CTranslate2 Whisper model has no decoder/embeddings/weight")
        return entry.shape[0]


def read_ct2_header(model_bin: Path) -> Ct2Header:
    """Read the variable index of a CTranslate2 ``model.bin`` (seeks past the data).

    Raises EngineError if the file is not a CTranslate2 Whisper model.
    """
    model_bin = Path(model_bin)
    try:
        size = model_bin.stat().st_size
        with open(model_bin, "rb") as f:
            header = _read_header(f, size)
    except FileNotFoundError as e:
        raise ModelNotFoundError("no model.bin", path=model_bin) from e
    except (struct.error, UnicodeDecodeError, _Truncated) as e:
        raise EngineError(
            "not a CTranslate2 model, or a truncated one", path=model_bin
        ) from e
    if header.spec != WHISPER_SPEC:
        raise EngineError(
            f"a CTranslate2 {header.spec or 'unnamed'} model, not a Whisper model",
            path=model_bin,
        )
    return header


class _Truncated(Exception):
    pass


def _read_header(f: BinaryIO, size: int) -> Ct2Header:
    def take(fmt: str):
        fmt = "<" + fmt
        raw = f.read(struct.calcsize(fmt))
        return struct.unpack(fmt, raw)[0]

    def string() -> str:
        length = take("H")
        raw = f.read(length)
        if len(raw) != length:
            raise _Truncated()
        return raw.rstrip(b"\0").decode("utf-8")

    version = take("I")
    if not MIN_BINARY_VERSION <= version <= MAX_BINARY_VERSION:
        # Either not a model.bin at all, or one too old/new to have this layout.
        raise _Truncated()
    spec = string()
    revision = take("I")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(take("I")):
        name = string()
        rank = take("B")
        shape = tuple(take("I") for _ in range(rank))
        type_id = take("B")
        nbytes = take("I")
        if type_id >= len(DTYPES):
            raise _Truncated()
        offset = f.tell()
        if offset + nbytes > size:
            raise _Truncated()
        tensors[name] = TensorEntry(name, shape, DTYPES[type_id], offset, nbytes)
        f.seek(nbytes, os.SEEK_CUR)
    aliases = {}
    for _ in range(take("I")):
        alias = string()
        aliases[alias] = string()
    return Ct2Header(version, spec, revision, tensors, aliases)


def convert_ct2_to_openai(ct2_dir: Path, output: Path) -> Path:
    """Write an openai-whisper checkpoint of the CTranslate2 model in ``ct2_dir``.

    The checkpoint loads with ``whisper.load_model(output)``. Float16 weights stay
    float16 (openai-whisper casts them to its float32 parameters on load), other
    dtypes become float32. The CT2 alignment heads are stored under the extra key
    ``"alignment_heads"`` (whisper ignores it; :mod:`indexer.models.checkpoint` applies it).
    The file is written to a temporary name and renamed, so ``output`` is either
    absent or complete. Returns ``output``.
    """
    import torch

    ct2_dir = Path(ct2_dir)
    output = Path(output)
    model_bin = ct2_dir / MODEL_FILE
    if not ct2_dir.is_dir():
        raise ModelNotFoundError("not a CTranslate2 model directory", path=ct2_dir)
    header = read_ct2_header(model_bin)
    tensors = load_ct2_tensors(model_bin, header)
    dims = _model_dims(header, tensors)
    state = _state_dict(tensors, header, dims)
    checkpoint = {
        "dims": dims,
        "model_state_dict": {k: torch.from_numpy(v) for k, v in state.items()},
        "alignment_heads": _config_alignment_heads(ct2_dir),
    }
    with atomic_file(output, "wb") as f:
        torch.save(checkpoint, f)
    logger.info("converted %s to openai-whisper checkpoint %s", ct2_dir, output)
    return output


def _config_alignment_heads(ct2_dir: Path) -> list[list[int]] | None:
    path = ct2_dir / CONFIG_FILE
    try:
        heads = json.loads(path.read_text(encoding="utf-8")).get("alignment_heads")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError) as e:
        raise EngineError(f"unreadable config.json: {e}", path=path) from e
    return [[int(layer), int(head)] for layer, head in heads] if heads else None


def load_ct2_tensors(model_bin: Path, header: Ct2Header | None = None) -> dict:
    """name -> numpy array: float16 kept, int8/int16 weights dequantised to float32,
    other floats as float32, scalars (num_heads, flags) as stored."""
    import numpy as np

    header = header or read_ct2_header(model_bin)
    raw = np.memmap(model_bin, dtype=np.uint8, mode="r")
    loaded = {}
    for name, entry in header.tensors.items():
        data = raw[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == "bfloat16":
            bits = data.view(np.uint16).astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = data.view(entry.dtype)
        loaded[name] = np.array(array.reshape(entry.shape))  # copy out of the memmap
    for name in [n for n in loaded if n.endswith("_scale")]:
        # int8/int16 quantisation (specs/model_spec.py `_quantize`): q = round(w * scale),
        # scale per output row for int8, one scalar for int16.
        base = name[: -len("_scale")]
        if base in loaded and loaded[base].dtype in (np.int8, np.int16):
            scale = loaded.pop(name).astype(np.float32)
            q = loaded[base].astype(np.float32)
            loaded[base] = q / scale.reshape(scale.shape + (1,) * (q.ndim - scale.ndim))
    for name, array in loaded.items():
        if array.dtype.kind == "f" and array.dtype != np.float16:
            loaded[name] = array.astype(np.float32, copy=False)
    return loaded


def _count_layers(header: Ct2Header, prefix: str) -> int:
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    indices = {int(m.group(1)) for n in header.tensors if (m := pattern.match(n))}
    if indices != set(range(len(indices))):
        raise EngineError(f"non-contiguous {prefix} layers {sorted(indices)}")
    return len(indices)


def _model_dims(header: Ct2Header, tensors: dict) -> dict[str, int]:
    """openai-whisper's ModelDimensions, as a dict, from the tensor shapes."""
    conv1 = _get(tensors, "encoder/conv1/weight")  # [n_audio_state, n_mels, 3]
    embeddings = _get(tensors, "decoder/embeddings/weight")  # [n_vocab, n_text_state]

    def heads(prefix: str, state: int) -> int:
        stored = tensors.get(f"{prefix}/num_heads")
        return int(stored) if stored is not None and stored.ndim == 0 else state // HEAD_DIM

    n_audio_state, n_mels = int(conv1.shape[0]), int(conv1.shape[1])
    n_vocab, n_text_state = (int(d) for d in embeddings.shape)
    return {
        "n_mels": n_mels,
        "n_audio_ctx": int(_get(tensors, "encoder/position_encodings/encodings").shape[0]),
        "n_audio_state": n_audio_state,
        "n_audio_head": heads("encoder", n_audio_state),
        "n_audio_layer": _count_layers(header, "encoder"),
        "n_vocab": n_vocab,
        "n_text_ctx": int(_get(tensors, "decoder/position_encodings/encodings").shape[0]),
        "n_text_state": n_text_state,
        "n_text_head": heads("decoder", n_text_state),
        "n_text_layer": _count_layers(header, "decoder"),
    }


def _get(tensors: dict, name: str):
    try:
        return tensors[name]
    except KeyError:
        raise EngineError(f"CTranslate2 Whisper model lacks the tensor {name}") from None


def _split(array, parts: int) -> list:
    import numpy as np

    if array.shape[0] % parts:
        raise EngineError(f"fused tensor of shape {array.shape} does not split in {parts}")
    # Copies: torch.save of a view would store the whole fused buffer.
    return [chunk.copy() for chunk in np.split(array, parts, axis=0)]


def _state_dict(tensors: dict, header: Ct2Header, dims: dict[str, int]) -> dict:
    """openai-whisper parameter name -> numpy array.

    CT2 names by position (linear_0, linear_1, ...) and fuses projections:
    self-attention query|key|value in one linear, cross-attention key|value in one.
    openai-whisper's key projection has no bias; CT2 fills it with zeros. Dropping a
    key bias is exact anyway: it adds q·b to every logit of a query, which the
    softmax cancels.
    """
    state: dict = {}

    def linear(dst: str, src: str) -> None:
        state[f"{dst}.weight"] = _get(tensors, f"{src}/weight")
        state[f"{dst}.bias"] = _get(tensors, f"{src}/bias")

    def layer_norm(dst: str, src: str) -> None:
        state[f"{dst}.weight"] = _get(tensors, f"{src}/gamma")
        state[f"{dst}.bias"] = _get(tensors, f"{src}/beta")

    def fused(dst: str, src: str, names: tuple[str, ...]) -> None:
        weights = _split(_get(tensors, f"{src}/weight"), len(names))
        biases = _split(_get(tensors, f"{src}/bias"), len(names))
        for name, weight, bias in zip(names, weights, biases):
            state[f"{dst}.{name}.weight"] = weight
            if name != "key":
                state[f"{dst}.{name}.bias"] = bias

    def block(dst: str, src: str, cross: bool) -> None:
        fused(f"{dst}.attn", f"{src}/self_attention/linear_0", ("query", "key", "value"))
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        layer_norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        if cross:
            linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
            fused(f"{dst}.cross_attn", f"{src}/attention/linear_1", ("key", "value"))
            linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
            layer_norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        layer_norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")

    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    # A buffer in openai-whisper (sinusoids), saved in its checkpoints all the same.
    state["encoder.positional_embedding"] = _get(tensors, "encoder/position_encodings/encodings")
    for i in range(dims["n_audio_layer"]):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    layer_norm("encoder.ln_post", "encoder/layer_norm")

    state["decoder.token_embedding.weight"] = _get(tensors, "decoder/embeddings/weight")
    state["decoder.positional_embedding"] = _get(tensors, "decoder/position_encodings/encodings")
    for i in range(dims["n_text_layer"]):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    layer_norm("decoder.ln", "decoder/layer_norm")
    _check_tied_projection(tensors, header)
    return state


def _check_tied_projection(tensors: dict, header: Ct2Header) -> None:
    """openai-whisper computes logits with the token embedding: CT2 must agree."""
    import numpy as np

    if header.aliases.get("decoder/projection/weight") not in (None, "decoder/embeddings/weight"):
        raise EngineError("decoder projection is not tied to the token embedding")
    projection = tensors.get("decoder/projection/weight")
    if projection is not None and not np.array_equal(
        projection, tensors["decoder/embeddings/weight"]
    ):
        raise EngineError("decoder projection is not tied to the token embedding")
    bias = tensors.get("decoder/projection/bias")
    if bias is not None and np.any(bias):
        raise EngineError("decoder projection has a bias openai-whisper cannot hold")
