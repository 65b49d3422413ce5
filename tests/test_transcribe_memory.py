"""Bounded memory on long files (issue 27): freed memory goes back to the system between
units of work, and the speakers stage reads audio in bounded pieces.

No memory budget here (benchmarks/memory_long.py measures the peaks): these
tests check that the pieces of work stay bounded and that each gives back
what it freed.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import SAMPLE_ARCHIVE, hearing, write_samples
from indexer import audio
from indexer.speakers import SpeakerOptions, diarization
from indexer.testing import FAKE_ENGINE, FAKE_SPEAKERS, FakeSpeakerBackend
from indexer.transcribe import TranscribeOptions, TranscriptWriter, transcribe_file, windows
from indexer.transcribe.batched import BATCH_CLIPS

SR = audio.SAMPLE_RATE


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> tuple[Path, float]:
    """About a minute and a half of the sample archive's speech in one file."""
    files = sorted(p for p in (SAMPLE_ARCHIVE / "audio").rglob("*") if p.suffix in {".mp3", ".ogg", ".wav"})
    samples = np.concatenate([audio.decode(p, 0, 45) for p in files[:2]])
    path = write_samples(tmp_path_factory.mktemp("memory") / "speech.wav", samples)
    return path, len(samples) / SR


def test_each_batch_of_windows_gives_back_its_memory(speech, monkeypatch):
    path, duration = speech
    options = TranscribeOptions(engine=FAKE_ENGINE, window_seconds=20)
    batches, given_back = [], []
    real = windows._transcribe_windows

    def spy(engine, batch, language, on_step):
        batches.append(len(batch))
        return real(engine, batch, language, on_step)

    monkeypatch.setattr(windows, "_transcribe_windows", spy)
    monkeypatch.setattr(windows, "give_back", lambda: given_back.append(len(batches)))
    transcript = transcribe_file(path, options)
    assert transcript.segments
    assert len(batches) >= 2 and max(batches) <= BATCH_CLIPS   # several batches of a few windows
    assert given_back == list(range(1, len(batches) + 1))   # after every batch, not once at the end


def test_the_speakers_stage_reads_audio_in_bounded_pieces_and_gives_back_each(speech, monkeypatch):
    path, duration = speech
    options = SpeakerOptions(backend=FAKE_SPEAKERS, chunk_seconds=20)
    reads, given_back = [], []
    real = audio.decode

    def decode(p, start=0.0, length=None, sample_rate=SR):
        samples = real(p, start, length, sample_rate)
        reads.append((start, length, len(samples) / sample_rate))
        return samples

    monkeypatch.setattr(diarization.audio, "decode", decode)
    monkeypatch.setattr(diarization, "give_back", lambda: given_back.append(len(reads)))
    turns, _ = diarization.diarize_voices(path, duration, options, FakeSpeakerBackend())
    assert turns
    assert len(reads) >= math.ceil(duration / 20) and all(length == 20 for _, length, _ in reads)
    assert all(got <= 20 + 1e-6 for _, _, got in reads)          # never the whole file at once
    assert sum(got for _, _, got in reads) == pytest.approx(duration, abs=0.1)
    assert given_back == list(range(1, len(reads) + 1))         # after each piece


@pytest.mark.weights
@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_cam_plus_plus_gives_back_memory_after_each_batch(monkeypatch, runtime):
    from indexer.speakers import campplus, campplus_onnx, voice

    given_back = []
    monkeypatch.setattr(voice, "give_back", lambda: given_back.append(1))   # every encoder's batch loop
    rng = np.random.default_rng(0)
    features = [campplus.fbank(rng.normal(0, 0.1, SR * 3 // 2).astype(np.float32)) for _ in range(10)]
    encoder = campplus.CamppEncoder() if runtime == "torch" else campplus_onnx.load_encoder()
    embeddings = encoder.embed_features(features, batch=4)
    assert embeddings.shape == (10, campplus.CamppEncoder.dimension)
    assert len(given_back) == 3   # batches of 4, 4 and 2


GLIBC_FRAGMENTS = """
import re, sys
from pathlib import Path
import numpy as np
from indexer.memory import give_back

def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024

big = np.ones(20_000_000 // 8)
del big                      # a freed 20 MB block: glibc's mmap threshold rises to 20 MB
blocks = [np.ones(1_000_000 // 8 + k) for k in range(200)]   # 200 MB on the heap now
del blocks[:-1]              # free, under a block still held: not trimmed by free()
before = rss()
give_back()
print(before - rss())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_give_back_returns_the_free_heap_to_the_system():
    # glibc's defaults: a MALLOC_* variable (Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in os.environ)
    # turns off the threshold's rise, and so the fragmentation this test makes.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    released = subprocess.run([sys.executable, "-c", GLIBC_FRAGMENTS], capture_output=True, text=True, check=True,
                              env=env)
    assert int(released.stdout) > 100   # MB of the ~200 freed


def test_the_model_loaded_for_the_files_is_let_go_before_the_last_one_is_yielded(speech, monkeypatch):
    """The caller adds speakers to what is yielded: a lone file's whole speakers stage ran beside the model."""
    import weakref

    from indexer.transcribe import run

    loaded = []

    def load_engine(options):
        engine = real(options)
        loaded.append(weakref.ref(engine))
        return engine

    real = run.load_engine
    monkeypatch.setattr(run, "load_engine", load_engine)
    outcomes = run.transcribe_files([speech[0]], TranscribeOptions(engine=FAKE_ENGINE, window_seconds=20))
    path, transcript = next(outcomes)
    assert transcript.segments and loaded and loaded[0]() is None


def test_one_sampling_copy_of_the_model_at_a_time(monkeypatch):
    """Two windows falling back at once in a large process: the second waits for the first's copy
    to go (each copy is a model load), and each still samples under its own seed. (Under
    reproducible.COPY_BESIDE_BYTES two copies may load: test_transcribe_reproducible.py.)"""
    import threading
    import time

    import ctranslate2

    from indexer.transcribe import reproducible

    alive, most, seeds = [0], [0], []
    lock = threading.Lock()

    class Copy:
        def __init__(self):
            with lock:
                alive[0] += 1
                most[0] = max(most[0], alive[0])

        def generate(self, *args, **kwargs):
            time.sleep(0.2)   # long enough for the other thread to want its own copy
            return "sampled"

        def __del__(self):
            with lock:
                alive[0] -= 1

    monkeypatch.setattr(ctranslate2, "set_random_seed", seeds.append)
    monkeypatch.setattr(reproducible, "resident_bytes", lambda: reproducible.COPY_BESIDE_BYTES)
    model = reproducible.SeededSampling(object(), Copy)

    def window(seed):
        with reproducible.seeded_call(seed):
            assert model.generate(sampling_temperature=0.2, sampling_topk=0) == "sampled"
            assert model.generate(sampling_temperature=0.4, sampling_topk=0) == "sampled"   # the same copy

    threads = [threading.Thread(target=window, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1 and sorted(seeds) == [1, 2]


def test_memory_is_given_back_only_once_the_process_grew(monkeypatch):
    """Each trim makes the next batch fault its pages in again: none while the process does not grow."""
    from indexer import memory

    trims, resident = [], [memory.GROWTH_BYTES * 10]

    class Libc:
        def malloc_trim(self, pad):
            trims.append(pad)

    monkeypatch.setattr(memory, "_libc", lambda: Libc())
    monkeypatch.setattr(memory, "resident_bytes", lambda: resident[0])
    monkeypatch.setattr(memory, "_trimmed_at", [0])
    memory.give_back()
    memory.give_back()                                   # no growth since: no trim
    resident[0] += memory.GROWTH_BYTES // 2
    memory.give_back()                                   # grew, but less than GROWTH_BYTES
    resident[0] += memory.GROWTH_BYTES
    memory.give_back()
    assert trims == [0, 0]


class TorchVoices(FakeSpeakerBackend):
    """Fake voices that say they run on PyTorch (as Resemblyzer, or CAM++ where its ONNX copy cannot be made)."""

    uses_torch = True


def test_a_lone_file_loads_a_pytorch_speaker_network_once_its_decoding_is_over_and_the_model_gone(
        speech, tmp_path, monkeypatch):
    """`indexer transcribe` on one file: a speaker network on PyTorch (torch and the network, ~350 MB) is
    never resident beside the Whisper model and its batches (issue 27: a two-hour file's peak)."""
    import weakref

    from indexer.testing import FakeSpeakerBackend
    from indexer.transcribe import outputs, run

    events, engines = [], []
    real_load, real_windows = run.load_engine, windows._transcribe_windows

    def load_engine(options):
        engine = real_load(options)
        engines.append(weakref.ref(engine))
        return engine

    def decode(*args):
        events.append("decode")
        return real_windows(*args)

    def load_backend(options):
        events.append(("speakers", [engine() is None for engine in engines]))
        return FakeSpeakerBackend()

    monkeypatch.setattr(run, "load_engine", load_engine)
    monkeypatch.setattr(windows, "_transcribe_windows", decode)
    monkeypatch.setattr(outputs, "load_backend", load_backend)
    writer = TranscriptWriter(tmp_path, ["json"], SpeakerOptions(backend=f"{__name__}:TorchVoices"))
    (outcome,) = writer.write([speech[0]], TranscribeOptions(engine=FAKE_ENGINE, window_seconds=20))
    assert outcome.error is None and outcome.transcript.diarization is not None
    assert events.count("decode") >= 2 and events[-1] == ("speakers", [True])   # last, with the model gone
    assert len([e for e in events if e != "decode"]) == 1


def test_a_lone_file_is_heard_while_it_is_decoded(speech, tmp_path):
    """`indexer transcribe` on one file: a speaker network without PyTorch (CAM++ on ONNX Runtime, the
    default) hears the audio beside the decoding, not on one core after it, the other idle (issue 27)."""
    hearing.start()
    writer = TranscriptWriter(tmp_path, ["json"], SpeakerOptions(backend=hearing.LISTENING))
    (outcome,) = writer.write([speech[0]], TranscribeOptions(engine=hearing.DECODING_UNTIL_HEARD, window_seconds=20))
    assert outcome.error is None and outcome.transcript.diarization is not None
    assert hearing.DecodingUntilHeard.waited_in_vain == 0 and outcome.transcript.speaker_labels


def test_each_file_is_probed_once_and_an_unreadable_one_is_not_heard(speech, tmp_path, monkeypatch):
    """`indexer transcribe`: the speakers stage hears each file on the probe made for its decoding (it
    used to probe every file again), and no hearing is started for a file that cannot be read (one
    used to be, and failed on its own probe)."""
    from concurrent.futures import ThreadPoolExecutor

    probed, heard = [], []   # files probed; files whose hearing was started (submitted to the speakers' thread)
    real_probe, real_submit = audio.probe, ThreadPoolExecutor.submit
    monkeypatch.setattr(audio, "probe", lambda path: probed.append(Path(path)) or real_probe(path))
    monkeypatch.setattr(ThreadPoolExecutor, "submit", lambda pool, fn, *a, **k: (
        heard.append(Path(a[0])) if getattr(fn, "__name__", "") == "_hear" else None) or real_submit(pool, fn, *a, **k))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    other = SAMPLE_ARCHIVE / "audio" / "metier-community-manager.mp3"
    writer = TranscriptWriter(tmp_path / "out", ["json"], SpeakerOptions(backend=FAKE_SPEAKERS))
    outcomes = list(writer.write([speech[0], broken, other], TranscribeOptions(engine=FAKE_ENGINE)))
    assert [o.error is None for o in outcomes] == [False, True, True]   # the unreadable one first
    assert sorted(probed) == sorted([speech[0], broken, other])
    assert sorted(heard) == sorted([speech[0], other])
    assert all(o.transcript.diarization is not None for o in outcomes[1:])


def test_a_file_whose_speakers_stage_fails_gets_one_line_and_the_next_goes_on(speech, tmp_path):
    """The speaker network's own error (not the indexer's) on a readable file: one line, no traceback."""
    writer = TranscriptWriter(tmp_path / "out", ["json"], SpeakerOptions(backend=hearing.DEAF))
    first, second = writer.write([speech[0], SAMPLE_ARCHIVE / "audio" / "metier-community-manager.mp3"],
                                 TranscribeOptions(engine=FAKE_ENGINE))
    for outcome in (first, second):
        assert outcome.transcript is None
        assert outcome.error.one_line().startswith(f"{outcome.path}: the speakers stage failed: RuntimeError")


def test_a_network_on_pytorch_is_known_before_it_loads(monkeypatch):
    from indexer.speakers import backends, campplus_onnx

    assert not backends.will_use_torch(SpeakerOptions())              # CAM++ on ONNX Runtime, the default
    assert backends.will_use_torch(SpeakerOptions(backend="resemblyzer"))
    assert not backends.will_use_torch(SpeakerOptions(backend=FAKE_SPEAKERS))
    monkeypatch.setattr(backends.CamppBackend, "runtime", "torch")
    assert backends.will_use_torch(SpeakerOptions())
    monkeypatch.setattr(backends.CamppBackend, "runtime", "onnx")
    monkeypatch.setattr(campplus_onnx, "onnx_path", lambda cache_dir=None: Path("/nonexistent/campplus.onnx"))
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "onnx" else object())
    assert backends.will_use_torch(SpeakerOptions())     # no copy, and none can be exported


LONE_FILE_TORCH = """
import json, sys
from indexer.speakers import SpeakerOptions, backends
from indexer.testing import FAKE_ENGINE, FakeSpeakerBackend
from indexer.transcribe import TranscribeOptions, TranscriptWriter, windows

real, seen = windows._transcribe_windows, {"decoding": [], "speakers": []}

def decode(*args):
    seen["decoding"].append("torch" in sys.modules)
    return real(*args)

class TorchVoices(FakeSpeakerBackend):   # loads as CAM++ does (torch's threads set), fake voices
    name, uses_torch = "campp", True
    check_installed = staticmethod(backends.CamppBackend.check_installed)   # the real weights check

    def __init__(self, options=None):
        seen["speakers"].append("torch" in sys.modules)
        super().__init__(options)

windows._transcribe_windows, backends.BACKENDS["campp"] = decode, TorchVoices
writer = TranscriptWriter(sys.argv[2], ["json"], SpeakerOptions())
(outcome,) = writer.write([sys.argv[1]], TranscribeOptions(engine=FAKE_ENGINE, window_seconds=20))
assert outcome.error is None and "torch" in sys.modules
print(json.dumps(seen))
"""


def test_transcribe_imports_no_torch_while_it_decodes(speech, tmp_path):
    """CAM++'s weights are checked before any work without importing torch (~190 MB resident),
    which comes with the speaker network, after the decoding."""
    import json

    result = subprocess.run([sys.executable, "-c", LONE_FILE_TORCH, str(speech[0]), str(tmp_path)],
                            capture_output=True, text=True, check=True)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(seen["decoding"]) >= 2 and not any(seen["decoding"]) and seen["speakers"] == [False]
