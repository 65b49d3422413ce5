"""The batched decoder's temperature fallback does not decode the greedy pass again
(issue 27: on a looping window that pass runs to the token limit), and picks
what faster-whisper's own ``generate_with_fallback`` over every temperature picks."""

from __future__ import annotations

import random
import shutil
import subprocess
import types
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.transcribe import WhisperModel, get_compression_ratio

from indexer.transcribe import TranscribeOptions, load_engine, transcribe_file
from indexer.transcribe.batched import BatchDecoder

TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
TEXTS = ["la la la la " * 40,                                   # loops: compression ratio over 2.4
         "le community manager anime la communauté du réseau",   # does not
         "ah " * 90,
         "une modération bienveillante et des règles claires"]


@dataclass
class _Result:
    sequences_ids: list
    scores: list
    no_speech_prob: float


class _Tokenizer:
    eot = 10_000

    def decode(self, tokens):
        return TEXTS[tokens[0]]


class _ScriptedModel:
    """A WhisperModel whose CTranslate2 model answers each temperature from a script;
    ``generate_with_fallback`` is faster-whisper's own."""

    time_precision = 0.02
    max_length = 448

    def __init__(self, script: dict[float, tuple[int, float, float]]):
        self.script = script
        self.temperatures: list[float] = []
        self.logger = types.SimpleNamespace(debug=lambda *a, **k: None)
        self.model = types.SimpleNamespace(generate=self._generate)
        self.generate_with_fallback = types.MethodType(WhisperModel.generate_with_fallback, self)

    def _generate(self, encoded, prompts, **kwargs):
        temperature = kwargs.get("sampling_temperature", 0.0)
        self.temperatures.append(temperature)
        text, score, no_speech = self.script[temperature]
        return [_Result([[text] * 9], [score], no_speech)]   # 9 tokens: the average is 0.9 × the score


def _candidate(result, tokenizer) -> tuple:
    """(result, average log probability, compression ratio), as the batched step makes them."""
    tokens = result.sequences_ids[0]
    return result, result.scores[0] * len(tokens) / (len(tokens) + 1), \
        get_compression_ratio(tokenizer.decode(tokens).strip())


def _key(picked) -> tuple:
    result, avg_logprob, compression = picked[0], picked[1], picked[-1]
    return result.sequences_ids[0], avg_logprob, compression, result.no_speech_prob


def test_the_fallback_picks_what_the_whole_loop_picks_without_decoding_greedy_again():
    """Scripted results at each temperature (loops, scores with ties, silence), under the
    thresholds a user can set: the pick is faster-whisper's over all the temperatures."""
    rng = random.Random(27)
    tokenizer, encoded = _Tokenizer(), np.zeros((1, 4, 8), np.float32)
    checked = 0
    for _ in range(2000):
        options = TranscribeOptions(temperatures=TEMPERATURES,
                                    log_prob_threshold=rng.choice([None, -1.0]),
                                    no_speech_threshold=rng.choice([None, 0.6]),
                                    compression_ratio_threshold=rng.choice([2.4, 2.4, None]))
        # Mostly loops, so that every temperature fails often enough to test the final choice.
        script = {t: (rng.choice([0, 0, 2, 2, 1, 3]), rng.choice([-0.2, -0.9, -1.5, -2.0]), rng.choice([0.1, 0.9]))
                  for t in TEMPERATURES}
        model = _ScriptedModel(script)
        decoder = BatchDecoder(model, options)
        greedy = _candidate(model.model.generate(encoded, [[1]])[0], tokenizer)
        if not decoder._needs_fallback(greedy[2], greedy[1], greedy[0].no_speech_prob):
            continue   # the batched step keeps greedy: no fallback
        whole = _ScriptedModel(script).generate_with_fallback(encoded, [1], tokenizer, decoder.fallback_options)
        model.temperatures.clear()
        picked = decoder._fallback(encoded, 0, [1], tokenizer, decoder.fallback_options, greedy)
        assert _key(picked) == _key(whole), script
        assert 0.0 not in model.temperatures   # greedy was not decoded again
        checked += 1
    assert checked > 500   # enough cases fell back, ties and silences among them


def _whole_loop_fallback(self, encoded, row, prompt, tokenizer, options, greedy):
    """The fallback as it was: faster-whisper's loop from the first temperature."""
    from faster_whisper.transcribe import get_ctranslate2_storage

    alone = get_ctranslate2_storage(np.ascontiguousarray(np.asarray(encoded)[row:row + 1]))
    result, avg_logprob, _, compression = self.model.generate_with_fallback(alone, prompt, tokenizer, options)
    return result, avg_logprob, compression


@pytest.mark.weights
def test_a_looping_clip_gets_the_words_of_the_whole_fallback_loop(tmp_path, monkeypatch):
    """Real weights: a clip that loops (espeak, one word eight times) gets the same timed
    words, probabilities and scores as when its greedy pass was decoded again."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise the looping clip")
    clip = tmp_path / "looping.wav"
    subprocess.run(["espeak-ng", "-v", "fr", "-s", "165", "-w", str(clip),
                    "Bonjour, bonjour, bonjour, bonjour, bonjour, bonjour, bonjour, bonjour."], check=True)
    options = TranscribeOptions(temperatures=(0.0, 0.6, 1.0))
    engine = load_engine(options)
    temperatures: list[float] = []
    original = WhisperModel.generate_with_fallback

    def recorded(self, encoded, prompt, tokenizer, fallback_options):
        temperatures.extend(fallback_options.temperatures)
        return original(self, encoded, prompt, tokenizer, fallback_options)

    monkeypatch.setattr(WhisperModel, "generate_with_fallback", recorded)
    now = transcribe_file(clip, options, engine)
    assert temperatures and 0.0 not in temperatures   # it fell back, from the second temperature
    monkeypatch.setattr(BatchDecoder, "_fallback", _whole_loop_fallback)
    before = transcribe_file(clip, options, engine)
    assert 0.0 in temperatures   # the whole loop ran this time
    assert [replace(s, id=0) for s in now.segments] == [replace(s, id=0) for s in before.segments]
    assert now.segments and [w.word for w in now.words] == [w.word for w in before.words]
