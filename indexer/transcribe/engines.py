"""The engines behind one small protocol (faster-whisper, openai-whisper), their
registry by name, and how an engine splits the cores between windows."""

from __future__ import annotations

import copy
import os
import threading
from typing import Iterator, Protocol

import numpy as np

from ..errors import EngineError
from ..models import ModelInfo, load_openai_model, resolve_model
from ..plugins import by_name
from ..threads import use_torch_threads
from ..transcript import Segment, Word
from .options import TranscribeOptions
from .reproducible import seed_sampling, seeded_call, torch_call

# CTranslate2's OpenMP threads sleep when they wait instead of spinning: on a
# machine shared with other jobs, two threads on one window spun away 4× the
# CPU time of one thread (50 vs 12 CPU seconds for the same two episodes); with
# PASSIVE, 12.3. Read when ctranslate2 is first imported; the user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class Engine(Protocol):
    name: str
    model_info: ModelInfo   # the weights it runs, recorded in each transcript
    parallel: int           # windows it can transcribe at once

    def transcribe(self, samples: np.ndarray, language: str | None, prompt: bool = True,
                   seed: int | None = None) -> tuple[str, Iterator[Segment]]:
        """Transcribe 16 kHz mono samples; return the language and the segments
        (times relative to ``samples``). ``prompt=False`` leaves out the glossary.
        The temperature fallback samples from ``seed`` (None: unseeded)."""


def parallel_plan(options: TranscribeOptions, windows: int | None = None,
                  cores: int | None = None) -> tuple[int, int]:
    """(windows at once, threads each) for a file of ``windows`` windows (None: many).

    Threads follow the work: one single-threaded window per core while there
    are enough windows (two windows on one thread each are ~1.7× one window on
    two, CTranslate2 gains little from a second thread on one window), and the
    spare cores go to the windows there are when a file is shorter
    (benchmarks/results/transcribe-split.md). An explicit ``parallel`` or
    ``cpu_threads`` wins (the batch sets ``cpu_threads``: it already runs one
    file per core).
    """
    cores = cores or os.cpu_count() or 1
    if options.parallel or options.cpu_threads:
        parallel = options.parallel or 1
        return parallel, options.cpu_threads or max(1, cores // parallel)
    parallel = max(1, min(cores, windows or cores))
    return parallel, max(1, cores // parallel)


class FasterWhisperEngine:
    name = "faster-whisper"

    def __init__(self, model: ModelInfo, options: TranscribeOptions):
        if model.format != "ctranslate2":
            raise EngineError(
                f"faster-whisper needs a CTranslate2 model directory, got a {model.format} checkpoint",
                model.path, "use --engine openai-whisper for .pt checkpoints",
            )
        self.options = options
        self.model_info = model
        # Loaded on first use, one per split of the cores: CTranslate2 fixes the
        # workers (windows at once) and their threads when it loads a model.
        self._models: dict[tuple[int, int], object] = {}   # shared with the sized copies
        self._lock = threading.Lock()
        self.parallel, self.threads = parallel_plan(options)
        self._sized = False

    @property
    def model(self):
        from faster_whisper import WhisperModel

        with self._lock:
            if (self.parallel, self.threads) not in self._models:
                self._models[(self.parallel, self.threads)] = seed_sampling(WhisperModel(
                    str(self.model_info.path), device="cpu", compute_type=self.options.compute_type,
                    cpu_threads=self.threads, num_workers=self.parallel), self._sampling_copy)
            return self._models[(self.parallel, self.threads)]

    def _sampling_copy(self):
        """The model again, with one worker thread, for one call's sampling (see :mod:`.reproducible`)."""
        import ctranslate2

        return ctranslate2.models.Whisper(str(self.model_info.path), device="cpu",
                                          compute_type=self.options.compute_type, intra_threads=self.threads)

    def sized_for(self, windows: int) -> "FasterWhisperEngine":
        """This engine with the split of the cores for ``windows`` windows at most;
        a sized engine keeps its split (several files sharing it, say)."""
        if self._sized:
            return self
        sized = copy.copy(self)
        sized.parallel, sized.threads = parallel_plan(self.options, windows)
        sized._sized = True
        return sized

    def transcribe(self, samples, language, prompt=True, seed=None):
        with seeded_call(seed):
            language, segments = self._transcribe(samples, language, prompt)
            return language, iter(list(segments))   # decoded here, under the call's seed

    def _transcribe(self, samples, language, prompt):
        o = self.options
        segments, info = self.model.transcribe(
            samples, language=language, task="transcribe", beam_size=o.beam_size, best_of=o.best_of,
            temperature=list(o.temperatures), compression_ratio_threshold=o.compression_ratio_threshold,
            log_prob_threshold=o.log_prob_threshold, no_speech_threshold=o.no_speech_threshold,
            condition_on_previous_text=o.condition_on_previous_text,
            initial_prompt=o.initial_prompt if prompt else None,
            word_timestamps=o.word_timestamps, vad_filter=False,
        )

        def convert():
            for s in segments:
                words = [Word(w.start, w.end, w.word, w.probability) for w in (s.words or [])]
                yield Segment(0, s.start, s.end, s.text.strip(), words, None, s.avg_logprob,
                              s.no_speech_prob, s.compression_ratio)

        return info.language, convert()

    def transcribe_clips(self, clips: list[np.ndarray], language: str, on_step=None,
                         seeds: list[int | None] | None = None) -> list[list[Segment]]:
        """Each clip's segments (times relative to it), the clips decoded as a batch
        (:mod:`.batched`). ``on_step(k, seconds)``: clip ``k`` moved on by ``seconds``.
        ``seeds``: what each clip's temperature fallback samples from (None: unseeded)."""
        from .batched import BatchDecoder

        return BatchDecoder(self.model, self.options).decode(clips, language, on_step=on_step, seeds=seeds)


class OpenAIWhisperEngine:
    name = "openai-whisper"

    def __init__(self, model: ModelInfo, options: TranscribeOptions):
        # One PyTorch model: one window at a time (the decoder's key-value cache hooks are the
        # model's), on one thread (reproducible.TORCH_THREADS: the count changes its numerics).
        self.parallel = 1
        self.options = options
        self.model_info = model
        self.model = load_openai_model(model)

    def transcribe(self, samples, language, prompt=True, seed=None):
        with torch_call(seed):
            return self._transcribe(samples, language, prompt)   # whisper.transcribe decodes at once

    def _transcribe(self, samples, language, prompt):
        import whisper

        o = self.options
        result = whisper.transcribe(
            self.model, samples, language=language, task="transcribe",
            temperature=o.temperatures, compression_ratio_threshold=o.compression_ratio_threshold,
            logprob_threshold=o.log_prob_threshold, no_speech_threshold=o.no_speech_threshold,
            condition_on_previous_text=o.condition_on_previous_text,
            initial_prompt=o.initial_prompt if prompt else None,
            word_timestamps=o.word_timestamps, fp16=False, verbose=None,
            beam_size=o.beam_size if o.beam_size > 1 else None, best_of=o.best_of,
        )

        def convert():
            for s in result["segments"]:
                words = [Word(w["start"], w["end"], w["word"], w["probability"]) for w in s.get("words", [])]
                yield Segment(0, s["start"], s["end"], s["text"].strip(), words, None, s["avg_logprob"],
                              s["no_speech_prob"], s["compression_ratio"])

        return result["language"], convert()


# Engines by name, like whisper.utils.get_writer.
ENGINES: dict[str, type] = {
    FasterWhisperEngine.name: FasterWhisperEngine,
    OpenAIWhisperEngine.name: OpenAIWhisperEngine,
}


def engine_class(name: str) -> type:
    """A registered engine by name, or any class that implements :class:`Engine`
    by its import path, ``"package.module:Class"`` (how tests run
    :data:`indexer.testing.FAKE_ENGINE` in worker processes too)."""
    return by_name(ENGINES, name, "engine", EngineError)


def load_engine(options: TranscribeOptions | None = None, model: ModelInfo | None = None) -> Engine:
    options = options or TranscribeOptions()
    engine_type = engine_class(options.engine)
    model = model or resolve_model(options.model)
    if issubclass(engine_type, OpenAIWhisperEngine):
        # Its PyTorch model runs on the process's one thread pool: all the threads.
        use_torch_threads(options.cpu_threads or os.cpu_count() or 1)
    return engine_type(model, options)


def with_options(engine: Engine, options: TranscribeOptions) -> Engine:
    """The same loaded engine decoding with ``options`` (another preset): the model is shared, not loaded again."""
    if getattr(engine, "options", None) == options:
        return engine
    other = copy.copy(engine)
    other.options = options
    return other


def sized(engine: Engine, windows: int) -> Engine:
    """The engine split for ``windows`` windows at once, if it can re-split its cores."""
    sized_for = getattr(engine, "sized_for", None)
    return sized_for(windows) if sized_for else engine
