"""indexer.models.convert: the shipped CTranslate2 base model as an openai-whisper checkpoint.

The conversion is right when openai-whisper and faster-whisper, given the same audio,
greedy decoding and float32 on both sides, produce the same tokens and words.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from indexer.models.convert import convert_ct2_to_openai, load_ct2_tensors, read_ct2_header
from indexer.errors import EngineError, ModelNotFoundError
from indexer.models import load_openai_model, openai_checkpoint, resolve_model

# espeak-ng's French is robotic and Whisper base mishears half of it; what matters
# here is that both engines mishear it the same way. Short enough to stay one window.
SENTENCE = "Le chat dort sur le canapé du salon. Merci beaucoup, à demain."
BASE_DIMS = dict(n_mels=80, n_audio_ctx=1500, n_audio_state=512, n_audio_head=8,
                 n_audio_layer=6, n_vocab=51865, n_text_ctx=448, n_text_state=512,
                 n_text_head=8, n_text_layer=6)
# Whisper base's alignment heads (same as whisper._ALIGNMENT_HEADS["base"]).
BASE_HEADS = [[3, 1], [4, 2], [4, 3], [4, 7], [5, 1], [5, 2], [5, 4], [5, 6]]


@dataclass(frozen=True)
class Converted:
    cache: Path
    ct2_dir: Path
    checkpoint: Path
    seconds: float


@pytest.fixture(scope="session")
def converted(tmp_path_factory) -> Converted:
    cache = tmp_path_factory.mktemp("convert-cache")
    info = resolve_model("base", cache_dir=cache)
    started = time.monotonic()
    checkpoint = openai_checkpoint(info, cache_dir=cache)
    return Converted(cache, info.path, checkpoint, time.monotonic() - started)


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise the French test clip")
    wav = tmp_path_factory.mktemp("clip") / "fr.wav"
    subprocess.run(["espeak-ng", "-v", "fr", "-s", "140", "-w", str(wav), SENTENCE],
                   check=True, capture_output=True)
    return wav


@dataclass(frozen=True)
class Run:
    text: str
    words: list[tuple[str, float, float]]
    duration: float


@pytest.fixture(scope="session")
def faster_whisper_run(converted, clip) -> Run:
    from faster_whisper import WhisperModel

    model = WhisperModel(str(converted.ct2_dir), device="cpu", compute_type="float32")
    segments, info = model.transcribe(
        str(clip), language="fr", beam_size=1, temperature=0,
        condition_on_previous_text=False, word_timestamps=True,
    )
    segments = list(segments)
    words = [(w.word, w.start, w.end) for s in segments for w in s.words]
    return Run("".join(s.text for s in segments), words, info.duration)


@pytest.fixture(scope="session")
def openai_model(converted):
    info = resolve_model("base", cache_dir=converted.cache)
    return load_openai_model(info, cache_dir=converted.cache)


@pytest.fixture(scope="session")
def openai_run(openai_model, clip) -> Run:
    import whisper

    audio = whisper.load_audio(str(clip))
    result = whisper.transcribe(
        openai_model, audio, language="fr", temperature=0, beam_size=None, best_of=None,
        condition_on_previous_text=False, fp16=False, word_timestamps=True,
    )
    words = [(w["word"], w["start"], w["end"]) for s in result["segments"] for w in s["words"]]
    return Run(result["text"], words, len(audio) / whisper.audio.SAMPLE_RATE)


def normalise(text: str) -> list[str]:
    return re.sub(r"[^\w' -]", " ", text.lower()).split()


def test_the_converted_checkpoint_loads_in_whisper(converted, openai_model):
    import torch

    checkpoint = torch.load(converted.checkpoint, mmap=True, weights_only=True)
    assert checkpoint["dims"] == BASE_DIMS
    assert checkpoint["alignment_heads"] == BASE_HEADS
    state = checkpoint["model_state_dict"]
    assert "decoder.blocks.0.attn.key.bias" not in state  # openai's key has no bias
    assert state["encoder.conv1.weight"].shape == (512, 80, 3)
    assert state["decoder.token_embedding.weight"].dtype == torch.float16  # fp16 kept
    assert openai_model.is_multilingual
    assert next(openai_model.parameters()).dtype == torch.float32


def test_alignment_heads_are_those_of_the_model(openai_model):
    import whisper

    heads = openai_model.alignment_heads.indices().T.tolist()
    assert heads == BASE_HEADS

    reference = whisper.model.Whisper(openai_model.dims)
    reference.set_alignment_heads(whisper._ALIGNMENT_HEADS["base"])
    assert reference.alignment_heads.indices().T.tolist() == BASE_HEADS


def test_the_checkpoint_is_reused_not_converted_again(converted):
    info = resolve_model("base", cache_dir=converted.cache)
    before = converted.checkpoint.stat().st_mtime_ns

    assert openai_checkpoint(info, cache_dir=converted.cache) == converted.checkpoint
    assert converted.checkpoint.stat().st_mtime_ns == before


def test_the_checkpoint_cache_is_keyed_on_the_source_weights(converted, tmp_path):
    # A model of the same name elsewhere: same bytes reuse the checkpoint,
    # different bytes get their own conversion.
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    output = cache / "models" / "base-openai.pt"
    os.link(converted.checkpoint, output)  # replaced, not written through, if reconverted
    shutil.copy(converted.checkpoint.with_suffix(".json"), output.with_suffix(".json"))
    other = tmp_path / "base"
    shutil.copytree(converted.ct2_dir, other)
    (other / "indexer-model.json").unlink()
    info = resolve_model(str(other))
    assert info.name == "base"
    before = output.stat().st_mtime_ns

    assert openai_checkpoint(info, cache_dir=cache) == output
    assert output.stat().st_mtime_ns == before

    header = read_ct2_header(other / "model.bin")
    gamma = header.tensors["decoder/layer_norm/gamma"]
    with open(other / "model.bin", "r+b") as f:
        f.seek(gamma.offset)
        f.write(b"\0\0")  # first gamma of the final layer norm becomes 0.0 (float16)

    assert openai_checkpoint(info, cache_dir=cache) == output
    assert output.stat().st_mtime_ns != before
    import torch

    state = torch.load(output, mmap=True, weights_only=True)["model_state_dict"]
    assert state["decoder.ln.weight"][0].item() == 0.0


def test_same_features_give_the_same_encoding_and_tokens(converted, openai_model, clip):
    """Both engines on openai's own mel: conversion errors would show here first."""
    import ctranslate2
    import numpy as np
    import torch
    import whisper

    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(whisper.load_audio(str(clip))))
    features = ctranslate2.StorageView.from_array(mel.numpy()[None])
    ct2 = ctranslate2.models.Whisper(str(converted.ct2_dir), device="cpu", compute_type="float32")

    with torch.no_grad():
        expected = openai_model.encoder(mel[None])
    encoded = ct2.encode(features, to_cpu=True)
    difference = np.abs(np.array(encoded) - expected.numpy()).max()
    assert difference < 1e-2 * expected.abs().max().item()

    # Each decoder from its own encoder's output (both accept encoded features).
    tokenizer = whisper.tokenizer.get_tokenizer(True, language="fr", task="transcribe")
    prompt = list(tokenizer.sot_sequence) + [tokenizer.no_timestamps]
    ct2_tokens = ct2.generate(encoded, [prompt], beam_size=1, max_length=100)[0].sequences_ids[0]
    options = whisper.DecodingOptions(language="fr", without_timestamps=True, fp16=False,
                                      temperature=0)
    openai_tokens = whisper.decode(openai_model, expected[0], options).tokens
    assert ct2_tokens == openai_tokens
    assert len(openai_tokens) > 10


def test_both_engines_transcribe_the_same_text(faster_whisper_run, openai_run):
    import jiwer

    assert normalise(openai_run.text) == normalise(faster_whisper_run.text)
    # A bound with a margin, never the exact words: the robotic espeak voice gives 0.42 here;
    # broken weights or a wrong conversion give ~1.
    assert jiwer.wer(" ".join(normalise(SENTENCE)), " ".join(normalise(openai_run.text))) < 0.7


def test_word_timestamps_are_inside_the_clip_and_monotonic(openai_run):
    assert openai_run.words
    previous_end = 0.0
    for word, start, end in openai_run.words:
        assert 0.0 <= start <= end <= openai_run.duration + 0.02, word
        assert start >= previous_end - 0.02, word
        previous_end = end


def test_word_timestamps_match_faster_whisper(faster_whisper_run, openai_run):
    # Same DTW on the same alignment heads; with whisper's default heads (all of the
    # upper half of the decoder) the words drift by ~0.1 s on this clip.
    assert [w for w, _, _ in openai_run.words] == [w for w, _, _ in faster_whisper_run.words]
    for (word, start, end), (_, fw_start, fw_end) in zip(openai_run.words,
                                                         faster_whisper_run.words):
        assert start == pytest.approx(fw_start, abs=0.021), word
        assert end == pytest.approx(fw_end, abs=0.021), word


def save_int8_copy(ct2_dir: Path, output: Path) -> Path:
    """The same model quantised to int8 by CTranslate2's own writer."""
    import json

    import numpy as np
    from ctranslate2.specs import whisper_spec

    tensors = load_ct2_tensors(ct2_dir / "model.bin")
    spec = whisper_spec.WhisperSpec(6, 8, 6, 8)
    for name, value in tensors.items():
        if value.ndim == 0:
            continue  # flags and head counts: the spec sets its own
        *scopes, attribute = name.split("/")
        node = spec
        for scope in scopes:
            kind, _, index = scope.rpartition("_")
            listed = index.isdigit() and isinstance(getattr(node, kind, None), list)
            node = getattr(node, kind)[int(index)] if listed else getattr(node, scope)
        setattr(node, attribute, value.astype(np.float32))
    spec.decoder.projection.weight = spec.decoder.embeddings.weight
    for key, value in json.loads((ct2_dir / "config.json").read_text()).items():
        setattr(spec.config, key, value)
    vocabulary = (ct2_dir / "vocabulary.txt").read_text(encoding="utf-8").split("\n")
    spec.register_vocabulary(vocabulary[:-1] if vocabulary[-1] == "" else vocabulary)
    spec.validate()
    spec.optimize(quantization="int8")
    output.mkdir(parents=True)
    spec.save(str(output))
    return output


def test_an_int8_model_is_dequantised(converted, tmp_path):
    import torch

    int8_dir = save_int8_copy(converted.ct2_dir, tmp_path / "base-int8")
    assert read_ct2_header(int8_dir / "model.bin").tensors["encoder/conv1/weight"].dtype == "int8"

    convert_ct2_to_openai(int8_dir, tmp_path / "int8.pt")

    int8 = torch.load(tmp_path / "int8.pt", mmap=True, weights_only=True)
    fp16 = torch.load(converted.checkpoint, mmap=True, weights_only=True)
    assert int8["dims"] == fp16["dims"]
    assert int8["model_state_dict"].keys() == fp16["model_state_dict"].keys()
    for name in ("encoder.conv1.weight", "encoder.blocks.0.attn.key.weight",
                 "decoder.blocks.5.cross_attn.value.weight", "decoder.blocks.5.mlp.2.weight",
                 "decoder.blocks.5.mlp.2.bias", "decoder.token_embedding.weight"):
        reference = fp16["model_state_dict"][name].float()
        # int8 rounding: at most half a step of max|w| / 127, plus float16 rounding.
        step = reference.abs().max().item() / 127
        difference = (int8["model_state_dict"][name] - reference).abs().max().item()
        assert difference <= step / 2 + 1e-3 * step, name


def test_a_directory_without_a_model_is_refused(tmp_path):
    with pytest.raises(ModelNotFoundError) as e:
        convert_ct2_to_openai(tmp_path, tmp_path / "out.pt")
    assert e.value.path == tmp_path / "model.bin"


def test_a_file_that_is_not_a_ct2_whisper_model_is_refused(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"this is not a CTranslate2 model at all")
    with pytest.raises(EngineError) as e:
        convert_ct2_to_openai(tmp_path, tmp_path / "out.pt")
    assert e.value.path == tmp_path / "model.bin"
    assert "not a CTranslate2 model" in str(e.value)
    assert not (tmp_path / "out.pt").exists()
