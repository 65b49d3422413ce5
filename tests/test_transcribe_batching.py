"""Windows decoded as a batch (indexer/transcribe/batched.py), with the real weights:
a clip's words do not depend on what it is batched with, nor on batching at all.

Words are compared between two ways of decoding the same audio, never with
what was said, so the test holds whatever the model hears.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from helpers import SAMPLE_ARCHIVE
from indexer import audio
from indexer.transcribe import TranscribeOptions, load_engine, transcribe_file
from indexer.transcribe.batched import BatchDecoder

pytestmark = pytest.mark.weights

CLIPS = [("metier-community-manager.mp3", 0, 28), ("table-ronde-engagement.mp3", 10, 25),
         ("e-reputation-nettoyeurs-du-web.ogg", 0, 45)]   # the last one takes two 30-second steps


def key(segments):
    return [(s.text, [(w.word, w.start, w.end, round(float(w.probability), 5)) for w in s.words]) for s in segments]


@pytest.fixture(scope="module")
def engine():
    return load_engine(TranscribeOptions(parallel=1, cpu_threads=1))


def test_a_clip_gets_the_same_words_alone_beside_others_and_in_another_order(engine):
    clips = [audio.decode(SAMPLE_ARCHIVE / "audio" / name, start, length) for name, start, length in CLIPS]
    decoder = BatchDecoder(engine.model, engine.options)
    alone = [key(decoder.decode([clip], "fr")[0]) for clip in clips]
    assert all(alone)
    assert [key(s) for s in decoder.decode(clips, "fr")] == alone
    assert [key(s) for s in decoder.decode(clips[::-1], "fr")][::-1] == alone


def test_progress_moves_on_at_each_step_of_each_clip(engine):
    clips = [audio.decode(SAMPLE_ARCHIVE / "audio" / name, start, length) for name, start, length in CLIPS]
    steps: list[tuple[int, float]] = []
    BatchDecoder(engine.model, engine.options).decode(clips, "fr", on_step=lambda k, s: steps.append((k, s)))
    assert {k for k, _ in steps} == {0, 1, 2}
    assert len([k for k, _ in steps if k == 2]) >= 2      # 45 s of speech: two steps, two reports
    for k, clip in enumerate(clips):
        assert abs(sum(s for j, s in steps if j == k) - len(clip) / audio.SAMPLE_RATE) < 0.1


def test_batched_windows_give_the_words_of_the_sequential_loop(engine):
    path = SAMPLE_ARCHIVE / "audio" / "metier-community-manager.mp3"
    options = replace(engine.options, preset="fast", noise_preset="")
    batched = transcribe_file(path, options, engine)
    sequential = transcribe_file(path, replace(options, batched=False), engine)
    assert [s.text for s in batched.segments] == [s.text for s in sequential.segments]
    assert [w.start for w in batched.words] == [w.start for w in sequential.words]
    # One window: the same words. On a long file the sequential loop's differ (a 408-s June file:
    # 104 of 107 segments), so it has a fingerprint of its own.
    assert batched.fingerprint != sequential.fingerprint


def test_the_encoder_runs_one_clip_at_a_time_with_the_output_of_the_whole_batch(engine, monkeypatch):
    """Memory (issue 27): the encoder's attention scores are 72 MB a clip for base, so a batch is
    encoded one clip at a time; its output is that of the batch bit for bit, so no word changes."""
    import numpy as np
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.transcribe import WhisperModel

    clips = [audio.decode(SAMPLE_ARCHIVE / "audio" / name, start, length) for name, start, length in CLIPS]
    seen = []
    real = WhisperModel.encode
    monkeypatch.setattr(WhisperModel, "encode", lambda self, features, *a, **k: seen.append(len(features))
                        or real(self, features, *a, **k))
    assert all(BatchDecoder(engine.model, engine.options).decode(clips, "fr"))
    assert seen and set(seen) == {1}

    from indexer.transcribe.batched import encode_each

    model = engine.model
    features = np.stack([pad_or_trim(model.feature_extractor(clip)) for clip in clips[:2]])
    whole = np.asarray(real(model, features))
    assert whole.shape[0] == 2 and np.array_equal(np.asarray(encode_each(model, features)), whole)
