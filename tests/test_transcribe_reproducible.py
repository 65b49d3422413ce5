"""Same audio, same options, same words (issue 28).

Whisper samples only in its temperature fallback, when a window loops; that
sampling is seeded by the audio's sha256 and the window's position, so a window
draws the same numbers whether it runs twice, alone or beside another file.
Runs are compared with each other, never with the words a model should hear.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from helpers import TEST_DATA
from indexer.models import ModelInfo
from indexer.testing import FakeEngine
from indexer.transcribe import PRESETS, TranscribeOptions, load_engine, transcribe_file, transcribe_files
from indexer.transcribe.options import FINGERPRINTED_TEMPERATURES

# One word, eight times, from espeak-ng: whatever base hears, its transcript
# repeats itself (or loops) past the compression-ratio threshold, so the engine
# samples. One sampled temperature (1.0, where draws differ most) instead of
# five keeps the test short: every temperature is seeded the same way.
LOOPING = "Bonjour, bonjour, bonjour, bonjour, bonjour, bonjour, bonjour, bonjour."
OTHER = "Le community manager anime la communauté."
OPTIONS = TranscribeOptions(temperatures=(0.0, 1.0))
FELL_BACK = "fell back to sampling"   # the engines' debug line after a call that sampled


def espeak(text: str, path: Path) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: cannot synthesise the looping clip")
    subprocess.run(["espeak-ng", "-v", "fr", "-s", "165", "-w", str(path), text], check=True)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("loops")
    return espeak(LOOPING, folder / "looping.wav"), espeak(OTHER, folder / "other.wav")


def timed_words(transcript) -> list[tuple[str, float, float]]:
    return [(w.word, w.start, w.end) for w in transcript.words]


@pytest.mark.weights
# openai-whisper samples from the process's one generator: a second run alone would test
# what the run in a batch tests (both come after a run that drew), for 15 more CPU seconds.
@pytest.mark.parametrize("engine, runs_alone", [("faster-whisper", 2), ("openai-whisper", 1)])
def test_a_looping_clip_gives_the_same_words_twice_alone_and_in_a_batch(clips, engine, runs_alone, caplog):
    looping, other = clips
    # openai-whisper's beam search (the default width, 2) does not loop on this clip: greedy makes it sample.
    options = replace(OPTIONS, engine=engine, **({"beam_size": 1} if engine == "openai-whisper" else {}))
    loaded = load_engine(options)
    with caplog.at_level(logging.DEBUG, logger="indexer"):
        # The same loaded engine each time: its generators have drawn since the first run.
        alone = [transcribe_file(looping, options, loaded) for _ in range(runs_alone)]
        # Beside another file: another engine, another split of the cores
        # (faster-whisper: two windows on one thread each, not one on two).
        batch = dict(transcribe_files([looping, other], options))[looping]
    first = alone[0]
    for run in (*alone[1:], batch):
        assert timed_words(run) == timed_words(first)
    # Without a fallback this test would prove nothing: the clip must make the engine sample.
    assert sum(FELL_BACK in r.getMessage() for r in caplog.records) >= runs_alone + 1
    assert first.options["sampling_seed"] == TranscribeOptions().sampling_seed   # the policy, recorded


@pytest.mark.weights
def test_a_lone_window_that_falls_back_is_not_decoded_twice_at_temperature_0(clips, monkeypatch):
    """Speed (issue 27): the fallback's first step is the decoding just made. A window decoded alone
    gives it back instead of decoding it again, and gets the words it got when it decoded it again."""
    from indexer.transcribe import batched
    from indexer.transcribe.reproducible import SeededSampling

    looping, _ = clips
    loaded = load_engine(replace(OPTIONS, parallel=1, cpu_threads=1))
    calls: list[bool] = []   # each decoding of the model: sampled or not
    real = SeededSampling.generate
    monkeypatch.setattr(SeededSampling, "generate",
                        lambda self, *a, **k: calls.append("sampling_temperature" in k) or real(self, *a, **k))
    replayed = transcribe_file(looping, OPTIONS, loaded)
    replayed_calls, calls[:] = list(calls), []
    monkeypatch.setattr(batched, "_Replaying", lambda whisper_model, first: whisper_model)   # as before
    decoded_again = transcribe_file(looping, OPTIONS, loaded)
    assert timed_words(replayed) == timed_words(decoded_again)
    fell_back = calls.count(True)
    assert fell_back >= 1   # else this test proves nothing: the clip must make the engine sample
    assert replayed_calls.count(True) == fell_back
    assert replayed_calls.count(False) == calls.count(False) - fell_back


@pytest.mark.weights
def test_a_looping_window_is_sampled_at_0_4_and_0_8_by_default(clips, monkeypatch):
    """Speed (issue 27): the default fallback samples at most twice a window (0.4, then 0.8), not five times
    (0.2 ... 1.0): speech that repeats itself loops at every temperature (benchmarks/results/fallback-schedule.md)."""
    from indexer.transcribe.reproducible import SeededSampling

    looping, _ = clips
    sampled: list[float] = []
    real = SeededSampling.generate
    monkeypatch.setattr(SeededSampling, "generate", lambda self, *a, **k: sampled.append(
        k.get("sampling_temperature", 0.0)) or real(self, *a, **k))
    options = TranscribeOptions()
    assert options.temperatures == (0.0, 0.4, 0.8)
    transcript = transcribe_file(looping, options, load_engine(replace(options, parallel=1, cpu_threads=1)))
    draws = [t for t in sampled if t > 0]
    assert draws and set(draws) <= {0.4, 0.8}   # the clip loops: the engine samples, at those temperatures only
    assert transcript.options["temperatures"] == [0.0, 0.4, 0.8]   # recorded in the transcript


def test_a_second_sampling_copy_loads_beside_the_first_only_while_memory_allows(monkeypatch):
    """Speed (issue 27): two windows falling back at once each sample on their own copy when the
    process is small (short files: a waiting window left its core idle), and one after the other
    when it is not (a two-hour file reached 1.77 GB with two copies)."""
    import threading
    import time

    from indexer.transcribe import reproducible

    guard, active, most = threading.Lock(), [0], [0]

    class Copy:   # a model copy: notes how many copies decode at once
        def generate(self, *args, **kwargs):
            with guard:
                active[0] += 1
                most[0] = max(most[0], active[0])
            time.sleep(0.3)
            with guard:
                active[0] -= 1
            return ["sample"]

    model = reproducible.SeededSampling(object(), Copy)

    def falls_back(seed: int) -> None:
        with reproducible.seeded_call(seed):
            for temperature in (0.2, 0.4):
                model.generate(sampling_temperature=temperature, sampling_topk=0)

    for resident, copies_at_once in ((100 * 2**20, 2), (reproducible.COPY_BESIDE_BYTES, 1)):
        monkeypatch.setattr(reproducible, "resident_bytes", lambda: resident)
        most[0] = 0
        calls = [threading.Thread(target=falls_back, args=(seed,)) for seed in (1, 2)]
        for call in calls:
            call.start()
        for call in calls:
            call.join(30)
        assert not any(call.is_alive() for call in calls)
        assert most[0] == copies_at_once, resident


def test_a_copy_admitted_but_not_yet_loaded_counts_against_the_memory_left(monkeypatch):
    """Found in review: the process's size does not show a copy still loading, so two windows falling
    back together at 850 MB would both load one. An admitted copy counts until it is loaded."""
    import threading

    from indexer.transcribe import reproducible

    monkeypatch.setattr(reproducible, "resident_bytes",
                        lambda: reproducible.COPY_BESIDE_BYTES - reproducible.COPY_BYTES // 2)
    copies = reproducible._Copies()
    admitted, loaded, done = threading.Event(), threading.Event(), threading.Event()

    def first_window():
        copies.acquire()
        admitted.set()
        loaded.wait(30)
        copies.loaded()
        done.wait(30)
        copies.release()

    holder = threading.Thread(target=first_window, daemon=True)
    holder.start()
    assert admitted.wait(30)
    assert not copies._room()   # the first copy is not in memory yet: no room for a second
    loaded.set()
    for _ in range(3000):
        if copies._room():
            break
        threading.Event().wait(0.01)
    assert copies._room()       # it is now, and the process's size leaves room for one more
    done.set()
    holder.join(30)
    assert not copies._holders and not copies._loaded


class _Recording(FakeEngine):
    """The fake engine, noting the seed and the length of the audio of each call."""

    def __init__(self, model, options, calls):
        super().__init__(model, options)
        self.calls = calls

    def transcribe(self, samples, language, prompt=True, seed=None):
        self.calls.append((seed, len(samples)))
        return super().transcribe(samples, language, prompt, seed)

    def sized_for(self, windows):   # windows side by side, like faster-whisper's split of the cores
        sized = _Recording(self.model_info, self.options, self.calls)
        sized.parallel = self.parallel
        return sized


def _calls(paths, options, parallel=1) -> list[tuple[int | None, int]]:
    calls: list = []
    engine = _Recording(ModelInfo("fake", "ctranslate2", Path("."), "test", True), options, calls)
    engine.parallel = parallel
    for _ in transcribe_files(paths, options, engine):
        pass
    return sorted(calls, key=lambda c: (c[0] is None, c[0] or 0, c[1]))


def test_each_window_is_seeded_by_its_audio_and_position_alone(tmp_path):
    """Plumbing: the seeds the engine gets depend on the audio and where each call starts,
    not on how many windows or files run at once."""
    from indexer.transcribe.reproducible import call_seed

    rng = np.random.default_rng(28)
    paths = []
    for name in ("a", "b"):
        paths.append(tmp_path / f"{name}.wav")
        noise = (rng.standard_normal(16000 * 40) * 3000).astype("<i2")
        subprocess.run(["ffmpeg", "-v", "error", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "-", str(paths[-1])],
                       input=noise.tobytes(), check=True)
    options = TranscribeOptions(vad=False, window_seconds=6.0)   # 40 s: several windows
    alone = _calls(paths[:1], options)
    assert len(alone) > 2 and len({seed for seed, _ in alone}) == len(alone)   # one seed per window
    other = _calls(paths[1:], options)
    assert not set(alone) & set(other)                        # other audio, other seeds
    # Two files, their windows side by side:
    assert _calls(paths, options, parallel=2) == sorted(alone + other, key=lambda c: (c[0], c[1]))
    assert call_seed(None, 0) is None   # sampling_seed="": unseeded


# The presets' fingerprints before seeding (main at 20a284a), still current for every preset (auto's and
# fast's as their greedy fingerprint, kept since beam 2: TranscribeOptions.fingerprints_kept). A change
# re-transcribes every archive at its next ingest: make it on purpose, and say so in docs/transcription.md.
FINGERPRINTS_BEFORE_SEEDING = {"auto": "64bb2236a4a49609", "fast": "2c8858740d2ef9da",
                               "accurate": "1670fe446b943742"}
FINGERPRINTS_NOW = {"auto": "b405c5fc85908c73", "fast": "67fce3c0dedd4353", "accurate": "1670fe446b943742"}


def test_the_seed_policy_is_recorded_and_fingerprinted():
    seeded = TranscribeOptions()
    assert asdict(seeded)["sampling_seed"]   # recorded in each transcript's options
    assert replace(seeded, sampling_seed="").fingerprint() != seeded.fingerprint()
    # This first policy keeps the fingerprints transcripts had (docs/transcription.md: nothing transcribed again on upgrade).
    assert all(FINGERPRINTS_BEFORE_SEEDING[name] in options.fingerprints_kept()
               for name, options in PRESETS.items())
    assert PRESETS["accurate"].fingerprints_kept() == (PRESETS["accurate"].fingerprint(),)   # beam 5: nothing else
    # And the fingerprints of today's presets (beam 2 for clean speech since 2026-12-07): pinned too.
    assert {name: options.fingerprint() for name, options in PRESETS.items()} == FINGERPRINTS_NOW
    # The fallback's schedule since 2026-12-07 (0, 0.4, 0.8) keeps the fingerprint of the one before
    # (which sample a looping window keeps, as the seed); any other schedule is other settings.
    assert replace(seeded, temperatures=FINGERPRINTED_TEMPERATURES).fingerprint() == seeded.fingerprint()
    assert replace(seeded, temperatures=(0.0, 0.5, 1.0)).fingerprint() != seeded.fingerprint()
    # The cores change no word; the sequential loop (not batched) does: a transcript made by it is not current.
    assert replace(seeded, cpu_threads=2, parallel=3).fingerprint() == seeded.fingerprint()
    assert replace(seeded, batched=False).fingerprint() != seeded.fingerprint()


def test_an_openai_whisper_call_is_pinned_and_leaves_the_process_as_it_was():
    import torch

    from indexer.transcribe.reproducible import TORCH_THREADS, torch_call

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        state = torch.random.get_rng_state()
        drawn = []
        for _ in range(2):
            with torch_call(seed=1234):
                assert torch.get_num_threads() == TORCH_THREADS
                drawn.append(torch.rand(3))
        assert torch.equal(drawn[0], drawn[1])                      # the seed decides the draws
        assert torch.get_num_threads() == 2                         # given back
        assert torch.equal(torch.random.get_rng_state(), state)     # the process's generator untouched
    finally:
        torch.set_num_threads(before)


class _Batching(FakeEngine):
    """The fake engine with a batch entry point, noting how many clips each batch holds."""

    def __init__(self, model, options, batches):
        super().__init__(model, options)
        self.batches = batches

    def transcribe_clips(self, clips, language, on_step=None, seeds=None):
        self.batches.append(len(clips))
        return [list(self.transcribe(clip, language, seed=seed)[1]) for clip, seed in zip(clips, seeds or [None] * len(clips))]

    def sized_for(self, windows):
        return self


def test_short_files_are_never_decoded_in_one_batch_with_another_file(tmp_path):
    """Plumbing: on real speech a batch-mate changes a row's words (benchmarks/batch_rows.py: 34 of 37
    segments), so `indexer transcribe a b c` decodes each one-window file's window alone."""
    paths = []
    for k in range(3):
        paths.append(tmp_path / f"{k}.wav")
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(TEST_DATA / "espeak_fr.wav"), "-af", f"volume={1 - 0.1 * k}",
                        str(paths[-1])], check=True)
    batches: list[int] = []
    engine = _Batching(ModelInfo("fake", "ctranslate2", Path("."), "test", True), TranscribeOptions(), batches)
    engine.parallel = 2
    results = dict(transcribe_files(paths, TranscribeOptions(language="fr"), engine))
    assert all(results[p].segments for p in paths)
    assert batches and set(batches) == {1}, batches
