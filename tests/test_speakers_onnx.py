"""CAM++ on ONNX Runtime: exported once into the model cache, checked, and the same embeddings as PyTorch's."""

from __future__ import annotations

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
from indexer.speakers.campplus_onnx import ExportUnavailable, OnnxCamppEncoder, cached_network, exported_network

pytestmark = pytest.mark.weights


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("indexer-cache")
    exported_network(folder)
    return folder


def _features():
    from helpers import TEST_DATA

    samples = audio.decode(TEST_DATA / "voices" / "june-a.opus")
    # Windows of several lengths: 0.6 s, 1.5 s (the speakers stage's), 2.3 s and 7 s.
    return [fbank(samples[a:a + n]) for a, n in ((0, 9_600), (16_000, 24_000), (48_000, 36_800), (80_000, 112_000))]


@pytest.mark.smoke
def test_the_onnx_network_gives_the_pytorch_networks_embeddings_on_real_speech(cache):
    features = _features()
    onnx = OnnxCamppEncoder(cached_network(cache)).embed_features(features)
    eager = CamppEncoder(optimise=False).embed_features(features)
    assert np.abs(onnx - eager).max() < 1e-4
    assert np.all(np.sum(onnx * eager, axis=1) > 0.9999)


def test_the_speakers_stage_imports_no_torch_once_the_network_is_exported(cache):
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
print(type(backend.encoder).__name__, embeddings.shape, "torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "INDEXER_CACHE": str(cache)}).stdout.split()
    assert out == ["OnnxCamppEncoder", "(2,", "192)", "False"]


def test_a_damaged_copy_is_never_run_and_is_made_again(cache, tmp_path):
    folder = tmp_path / "cache"
    (folder / "models").mkdir(parents=True)
    path = campplus_onnx.onnx_path(folder)
    for source in (campplus_onnx.onnx_path(cache), campplus_onnx.onnx_path(cache).with_suffix(".json")):
        (folder / "models" / source.name).write_bytes(source.read_bytes())
    assert cached_network(folder) == path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF                          # one weight's byte flipped, same size
    path.write_bytes(bytes(data))
    assert cached_network(folder) is None
    assert exported_network(folder) == path             # made again, and recorded
    recorded = json.loads(path.with_suffix(".json").read_text())
    assert recorded["sha256"] == campplus_onnx.sha256_file(path) and recorded["torch"] and recorded["onnx"]
    assert path.read_bytes() != bytes(data)


def test_an_export_that_differs_from_pytorch_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(campplus_onnx, "CHECK_TOLERANCE", -1.0)   # any difference at all counts
    with pytest.raises(ExportUnavailable, match="differs from PyTorch's network"):
        exported_network(tmp_path)
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
    assert "cannot keep CAM++'s ONNX copy in the model cache" in caplog.text
