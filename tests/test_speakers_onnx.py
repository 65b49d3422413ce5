"""CAM++ on ONNX Runtime: exported once into the model cache, checked, and the same embeddings as PyTorch's."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from indexer import audio
from indexer.speakers import campplus_onnx
from indexer.speakers.campplus import CamppEncoder, fbank
from indexer.speakers.campplus_onnx import (ExportUnavailable, OnnxCamppEncoder, cached_network, load_encoder,
                                            network_bytes)

pytestmark = pytest.mark.weights


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("indexer-cache")
    network_bytes(folder)
    return folder


def _features():
    from helpers import TEST_DATA

    samples = audio.decode(TEST_DATA / "voices" / "june-a.opus")
    # Windows of several lengths: 0.6 s, 1.5 s (the speakers stage's; three, batched together), 2.3 s and 7 s.
    spans = ((0, 9_600), (16_000, 24_000), (48_000, 36_800), (80_000, 112_000), (200_000, 24_000), (230_000, 24_000))
    return [fbank(samples[a:a + n]) for a, n in spans]


@pytest.mark.smoke
def test_the_onnx_network_gives_the_pytorch_networks_embeddings_on_real_speech(cache):
    features = _features()
    onnx = OnnxCamppEncoder(cached_network(cache)).embed_features(features)
    eager = CamppEncoder(optimise=False).embed_features(features)
    assert np.abs(onnx - eager).max() < 1e-4
    assert np.all(np.sum(onnx * eager, axis=1) > 0.9999)


def test_the_number_of_windows_embedded_at_once_changes_no_bit(cache):
    """The encoder stacks 8 windows of one length at a time (ONNX_BATCH: less CPU than 32); a speaker's
    voice print must not depend on how many other windows shared its stack."""
    features = _features() + [f for f in _features() if len(f) == len(_features()[1])] * 5   # 18 of 1.5 s
    encoder = OnnxCamppEncoder(cached_network(cache))
    stacks, run = [], encoder.session.run
    encoder.session = type("Recording", (), {"run": lambda self, names, feeds: (
        stacks.append(len(feeds["features"])), run(names, feeds))[1]})()
    default = encoder.embed_features(features)
    assert max(stacks) == 8 and campplus_onnx.ONNX_BATCH == 8     # 18 windows of 1.5 s: 8, 8 and 2
    one_stack, alone = encoder.embed_features(features, batch=32), encoder.embed_features(features, batch=1)
    assert np.array_equal(default, one_stack) and np.array_equal(default, alone)


def _stage_in_a_process(cache) -> list[str]:
    from helpers import TEST_DATA

    code = f"""
import sys
import numpy as np
from indexer import audio
from indexer.speakers.backends import load_backend
from indexer.speakers.options import SpeakerOptions
backend = load_backend(SpeakerOptions())
samples = audio.decode({str(TEST_DATA / "voices" / "june-a.opus")!r})
embeddings = backend.embed_regions([samples], [[(0, 24_000), (24_000, 48_000)]])
print(type(backend.encoder).__name__, embeddings.shape, "torch" in sys.modules, backend.runs_on)
"""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "INDEXER_CACHE": str(cache)}).stdout.split()


def test_the_speakers_stage_imports_no_torch_once_the_network_is_exported(cache):
    import onnxruntime

    out = _stage_in_a_process(cache)
    assert out == ["OnnxCamppEncoder", "(2,", "192)", "False", "onnxruntime", onnxruntime.__version__]


def test_the_first_export_runs_in_a_child_and_leaves_no_torch_in_the_process(tmp_path):
    out = _stage_in_a_process(tmp_path)   # an empty model cache: the network is exported now
    assert out[:4] == ["OnnxCamppEncoder", "(2,", "192)", "False"]
    assert cached_network(tmp_path) is not None


def test_an_export_process_that_dies_is_one_line_and_campp_runs_on_pytorch(tmp_path, monkeypatch, caplog):
    from indexer.speakers.backends import CamppBackend
    from indexer.speakers.options import SpeakerOptions

    monkeypatch.setenv("INDEXER_CACHE", str(tmp_path))
    monkeypatch.setattr(sys, "executable", "/bin/false")    # the child ends at once, status 1, saying nothing
    with caplog.at_level(logging.WARNING, logger="indexer"):
        backend = CamppBackend(SpeakerOptions())
    assert isinstance(backend.encoder, CamppEncoder)
    assert "cannot export CAM++ to ONNX: the export process failed (status 1)" in caplog.text
    assert not campplus_onnx.onnx_path(tmp_path).exists()


def _copy_cache(cache, tmp_path):
    folder = tmp_path / "cache"
    (folder / "models").mkdir(parents=True)
    for source in (campplus_onnx.onnx_path(cache), campplus_onnx.onnx_path(cache).with_suffix(".json")):
        (folder / "models" / source.name).write_bytes(source.read_bytes())
    return folder, campplus_onnx.onnx_path(folder)


def test_a_damaged_copy_is_never_run_and_is_made_again(cache, tmp_path):
    folder, path = _copy_cache(cache, tmp_path)
    assert cached_network(folder) == path.read_bytes()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF                          # one weight's byte flipped, same size
    path.write_bytes(bytes(data))
    assert cached_network(folder) is None
    made = network_bytes(folder)                          # made again, and recorded
    recorded = json.loads(path.with_suffix(".json").read_text())
    assert recorded["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(made).hexdigest()
    assert recorded["torch"] and recorded["onnx"] and recorded["onnxruntime"]
    assert made != bytes(data) and cached_network(folder) == made


def test_a_copy_checked_under_another_onnx_runtime_is_not_trusted(cache, tmp_path):
    folder, path = _copy_cache(cache, tmp_path)
    marker = path.with_suffix(".json")
    recorded = json.loads(marker.read_text())
    marker.write_text(json.dumps({**recorded, "onnxruntime": "1.0.0"}))
    assert cached_network(folder) is None


def test_a_copy_the_runtime_cannot_load_is_made_again(cache, tmp_path, caplog):
    folder, path = _copy_cache(cache, tmp_path)
    garbage = b"not an ONNX model" * 1000                 # whole by its record, but ONNX Runtime cannot load it
    path.write_bytes(garbage)
    marker = path.with_suffix(".json")
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "size": len(garbage),
                                  "sha256": hashlib.sha256(garbage).hexdigest()}))
    with caplog.at_level(logging.WARNING, logger="indexer"):
        encoder = load_encoder(cache_dir=folder)
    assert "does not load" in caplog.text
    assert encoder.embed_features(_features()[:2]).shape == (2, 192)
    assert path.read_bytes() != garbage and cached_network(folder) is not None


def test_an_export_that_differs_from_pytorch_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(campplus_onnx, "CHECK_TOLERANCE", -1.0)   # any difference at all counts
    with pytest.raises(ExportUnavailable, match="differs from PyTorch's network"):
        network_bytes(tmp_path)
    assert not campplus_onnx.onnx_path(tmp_path).exists()
    assert cached_network(tmp_path) is None


def test_without_the_exporter_campp_runs_on_pytorch_and_says_why(tmp_path, monkeypatch, caplog):
    from indexer.speakers.backends import CamppBackend
    from indexer.speakers.options import SpeakerOptions

    monkeypatch.setenv("INDEXER_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "onnx", None)        # `import onnx` fails
    with caplog.at_level(logging.WARNING, logger="indexer"):
        backend = CamppBackend(SpeakerOptions())
    assert isinstance(backend.encoder, CamppEncoder) and backend.uses_torch
    assert backend.runs_on == f"torch {__import__('torch').__version__}"   # what the transcripts record
    assert "cannot export CAM++ to ONNX" in caplog.text and "running CAM++ on PyTorch" in caplog.text
    assert backend.embed_regions([np.zeros(24_000, np.float32) + 0.01], [[(0, 24_000)]]).shape == (1, 192)


def test_a_cache_that_cannot_be_written_runs_campp_on_pytorch(tmp_path, monkeypatch, caplog):
    from indexer.speakers.backends import CamppBackend
    from indexer.speakers.options import SpeakerOptions

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache's folder should be\n")
    monkeypatch.setenv("INDEXER_CACHE", str(blocked))
    with caplog.at_level(logging.WARNING, logger="indexer"):
        backend = CamppBackend(SpeakerOptions())
    assert isinstance(backend.encoder, CamppEncoder)
    assert "cannot use CAM++'s ONNX copy" in caplog.text


@pytest.mark.parametrize("script, message", [
    ("sleep 30", "the export took over 1 s"),                                       # stuck: not waited for forever
    ("printf 'cannot export CAM++ to ONNX: no\\n' >&2; exit 3", "cannot export CAM++ to ONNX: no"),   # its reason
    ("exit 0", "the export process left no network"),                             # says it made one, did not
])
def test_an_export_child_that_hangs_or_lies_is_one_clear_reason(tmp_path, monkeypatch, script, message):
    interpreter = tmp_path / "python"
    interpreter.write_text(f"#!/bin/sh\n{script}\n")
    interpreter.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(interpreter))
    monkeypatch.setattr(campplus_onnx, "EXPORT_TIMEOUT", 1)
    with pytest.raises(ExportUnavailable) as caught:
        campplus_onnx._export()
    assert str(caught.value).endswith(message)


def test_workers_starting_together_export_once(tmp_path, monkeypatch):
    import threading
    import time

    calls = []

    def slow_export():
        calls.append(1)
        time.sleep(0.3)
        return b"exported network", {"torch": "t", "onnx": "o", "onnxruntime": campplus_onnx.runtime_version()}

    monkeypatch.setattr(campplus_onnx, "_export", slow_export)
    got = []
    workers = [threading.Thread(target=lambda: got.append(network_bytes(tmp_path))) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert got == [b"exported network"] * 3 and len(calls) == 1   # the others waited and read its copy


def test_indexer_models_says_pytorch_where_no_export_can_be_made(tmp_path, monkeypatch):
    from indexer.speakers.backends import CamppBackend

    monkeypatch.setenv("INDEXER_CACHE", str(tmp_path))
    assert CamppBackend.runtime_note().startswith("ONNX Runtime, exported on first use")
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "onnx" else object())
    assert CamppBackend.runtime_note().startswith("PyTorch (the `onnx` package")
