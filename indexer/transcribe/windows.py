"""Speech to timed text: two Whisper engines behind one small protocol.

Both engines get exactly the same input: the file is decoded in windows of a
few minutes (bounded memory on two-hour recordings, and no timestamp drift,
since each window restarts from an exact offset), each window is cut at a
silence, voice activity detection keeps only the speech, and the engine
transcribes that speech. Timestamps are mapped back to the original audio.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import importlib
import json
import logging
import math
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

from .. import audio
from ..archive import sha256_file
from ..errors import EngineError, IndexerError
from ..models import ModelInfo, resolve_model
from ..progress import progress_bar
from ..transcript import FlagOptions, Segment, Transcript, Word, flag_segments

log = logging.getLogger("indexer")

SR = audio.SAMPLE_RATE

# CTranslate2's OpenMP threads sleep when they wait instead of spinning: on a
# machine shared with other jobs, two threads on one window spun away 4× the
# CPU time of one thread (50 vs 12 CPU seconds for the same two episodes); with
# PASSIVE, 12.3. Read when ctranslate2 is first imported; the user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@dataclass(frozen=True)
class TranscribeOptions:
    """Decoding settings shared by both engines. Variants come from ``dataclasses.replace``."""

    model: str = "base"
    engine: str = "faster-whisper"
    language: str | None = "fr"            # None: detect on the first window
    beam_size: int = 1                     # 1 = greedy
    best_of: int = 5                       # candidates when sampling at temperature > 0
    # Fallback to higher temperatures only when a window loops (compression
    # ratio too high): as accurate as full fallback, repeatable, ~40 % faster,
    # and it breaks the « eux-là, eux-là, … » loops seen on robotic speech.
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    compression_ratio_threshold: float | None = 2.4
    log_prob_threshold: float | None = None
    # No silent dropping of segments: VAD removes silence, flags mark the rest.
    no_speech_threshold: float | None = None
    condition_on_previous_text: bool = False   # one point better under babble
    initial_prompt: str | None = None          # the archive glossary goes here
    word_timestamps: bool = True
    vad: bool = True
    vad_min_silence_ms: int = 2000
    vad_speech_pad_ms: int = 400
    compute_type: str = "int8"                 # faster-whisper only
    # Windows transcribed at once, each engine worker on its own threads.
    # 0 = automatic: one single-threaded window per core, unless cpu_threads
    # is set (the batch sets it: it already runs one file per core).
    parallel: int = 0
    cpu_threads: int = 0
    window_seconds: float = 120.0              # decode this much at a time, cut at a pause
    flags: FlagOptions = field(default_factory=FlagOptions)
    preset: str = "fast"                       # the name these settings came from (a label)

    def fingerprint(self) -> str:
        """What decides whether an existing transcript is still up to date: the
        settings themselves (two presets that decode alike share a fingerprint)."""
        relevant = {k: v for k, v in asdict(self).items() if k not in ("cpu_threads", "parallel", "preset")}
        return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


PRESETS: dict[str, TranscribeOptions] = {
    # Default: greedy decoding, the speed/accuracy trade-off measured in the README.
    "fast": TranscribeOptions(),
    # Beam search: under babble as accurate as plain faster-whisper (WER 0.192 vs
    # 0.194 at 10 dB; greedy 0.203), at 1.3× the CPU of greedy (README).
    "accurate": TranscribeOptions(beam_size=5, preset="accurate"),
}
DEFAULT_PRESET = "fast"
NOISY_PRESET = "accurate"   # what `noisy: true` asks for (README, "Decoding defaults, and why")
# What a preset does not decide: where the model is, the language, the prompt, the threads.
_NOT_DECODING = ("model", "engine", "language", "initial_prompt", "compute_type", "parallel", "cpu_threads")


def preset(name: str) -> TranscribeOptions:
    try:
        return PRESETS[name]
    except KeyError:
        raise EngineError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}") from None


def whisper_languages() -> frozenset[str]:
    """The language codes Whisper knows (``fr``, ``en``, ``yue``…)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return frozenset(_LANGUAGE_CODES)


def with_preset(options: TranscribeOptions, name: str) -> TranscribeOptions:
    """The decoding of preset ``name`` with everything else from ``options``."""
    if name == options.preset:
        return options
    return replace(preset(name), **{k: getattr(options, k) for k in _NOT_DECODING})


def glossary_prompt(glossary) -> str | None:
    """Names and terms as a plain list: helps spelling, unlike a punctuated sentence."""
    terms = [t.strip() for t in glossary if t and t.strip()]
    return ", ".join(terms) if terms else None


# --- engines -------------------------------------------------------------------

class Engine(Protocol):
    name: str
    model_info: ModelInfo   # the weights it runs, recorded in each transcript
    parallel: int           # windows it can transcribe at once

    def transcribe(self, samples: np.ndarray, language: str | None,
                   prompt: bool = True) -> tuple[str, Iterator[Segment]]:
        """Transcribe 16 kHz mono samples; return the language and the segments
        (times relative to ``samples``). ``prompt=False`` leaves out the glossary."""


LOOKAHEAD_SECONDS = 30.0   # decoded past a window so that its cut can be chosen in a silence


def expected_windows(duration: float, options: TranscribeOptions) -> int:
    """Windows a file of ``duration`` seconds is cut into (known before decoding:
    each cut falls at most ``window_seconds`` in)."""
    if duration <= options.window_seconds + LOOKAHEAD_SECONDS:
        return 1
    return max(2, math.ceil(duration / options.window_seconds))


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
                self._models[(self.parallel, self.threads)] = WhisperModel(
                    str(self.model_info.path), device="cpu", compute_type=self.options.compute_type,
                    cpu_threads=self.threads, num_workers=self.parallel)
            return self._models[(self.parallel, self.threads)]

    def sized_for(self, windows: int) -> "FasterWhisperEngine":
        """This engine with the split of the cores for ``windows`` windows at most;
        a sized engine keeps its split (several files sharing it, say)."""
        if self._sized:
            return self
        sized = copy.copy(self)
        sized.parallel, sized.threads = parallel_plan(self.options, windows)
        sized._sized = True
        return sized

    def transcribe(self, samples, language, prompt=True):
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


class OpenAIWhisperEngine:
    name = "openai-whisper"

    def __init__(self, model: ModelInfo, options: TranscribeOptions):
        import torch

        from ..models import load_openai_model

        self.parallel = 1  # one PyTorch model: one window at a time, on all threads
        torch.set_num_threads(options.cpu_threads or os.cpu_count() or 1)
        self.options = options
        self.model_info = model
        self.model = load_openai_model(model)

    def transcribe(self, samples, language, prompt=True):
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


def by_name(registry: dict[str, type], name: str, what: str, error: type[Exception]) -> type:
    """``registry[name]``, or a class by its import path ``package.module:Class``."""
    if name in registry:
        return registry[name]
    module, colon, attribute = name.partition(":")
    if colon and module and attribute:
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as e:
            raise error(f"cannot load {what} {name!r}: {e}") from None
    raise error(f"unknown {what} {name!r}; valid {what}s: {', '.join(registry)} "
                "(or a class by import path, package.module:Class)")


def load_engine(options: TranscribeOptions | None = None, model: ModelInfo | None = None) -> Engine:
    options = options or TranscribeOptions()
    return engine_class(options.engine)(model or resolve_model(options.model), options)


def sized(engine: Engine, windows: int) -> Engine:
    """The engine split for ``windows`` windows at once, if it can re-split its cores."""
    sized_for = getattr(engine, "sized_for", None)
    return sized_for(windows) if sized_for else engine


# --- windows, VAD and the time map ---------------------------------------------

@dataclass(frozen=True)
class Window:
    offset: float           # seconds from the start of the file
    samples: np.ndarray     # the window's audio, up to the cut
    speech: list[dict]      # VAD chunks in samples, relative to the window


def _speech_chunks(samples: np.ndarray, options: TranscribeOptions) -> list[dict]:
    if not options.vad:
        return [{"start": 0, "end": len(samples)}] if len(samples) else []
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(min_silence_duration_ms=options.vad_min_silence_ms, speech_pad_ms=options.vad_speech_pad_ms)
    return get_speech_timestamps(samples, vad, sampling_rate=SR)


def _quietest_point(samples: np.ndarray, lo: int, hi: int) -> int:
    """Sample index of the lowest-energy 100 ms in [lo, hi)."""
    frame = SR // 10
    span = samples[lo:hi]
    n = len(span) // frame
    if n == 0:
        return hi
    energy = (span[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2


def _gaps(chunks: list[dict], length: int) -> list[tuple[int, int]]:
    """Silences between (and around) speech chunks, in samples."""
    edges = [0] + [x for c in chunks for x in (c["start"], c["end"])] + [length]
    return [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b > a]


def _cut_point(samples: np.ndarray, chunks: list[dict], target: int, use_vad: bool) -> int:
    """Where to end a window near ``target``: in a silence, never inside a word.

    The longest pause of the transcription VAD in the second half of the window
    wins; failing that (people talking without a 2-second pause), a finer VAD
    pass finds the longest pause between sentences; failing that, the quietest
    100 ms of the last 30 seconds.
    """
    def longest_pause(gaps, lo):
        usable = [(a + lo, b + lo) for a, b in gaps if target // 2 <= (a + b) // 2 + lo <= target]
        return max(usable, key=lambda g: (g[1] - g[0], g[0]), default=None)

    pause = longest_pause(_gaps(chunks, len(samples)), 0)
    if pause is None and use_vad:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        lo = target // 2
        fine = VadOptions(min_silence_duration_ms=150, speech_pad_ms=30)
        pause = longest_pause(_gaps(get_speech_timestamps(samples[lo:target], fine, sampling_rate=SR),
                                    target - lo), lo)
    if pause is not None:
        return (pause[0] + pause[1]) // 2
    return _quietest_point(samples, max(0, target - 30 * SR), target)


def iter_windows(path: Path, duration: float, options: TranscribeOptions) -> Iterator[Window]:
    """Decode ``path`` a window at a time, each cut at a silence."""
    window = int(options.window_seconds * SR)
    lookahead = int(LOOKAHEAD_SECONDS * SR)
    offset = 0.0
    while offset < duration - 0.01:
        samples = audio.decode(path, offset, (window + lookahead) / SR)
        if len(samples) == 0:
            break
        is_last = offset + len(samples) / SR >= duration - 0.05 or len(samples) < window + lookahead
        chunks = _speech_chunks(samples, options)
        cut = len(samples) if is_last else _cut_point(samples, chunks, window, options.vad)
        cut = max(cut, SR)  # always progress by at least a second
        speech = [{"start": c["start"], "end": min(c["end"], cut)} for c in chunks if c["start"] < cut]
        yield Window(offset, samples[:cut], speech)
        if is_last:
            break
        offset += cut / SR


def _to_original_time(segment: Segment, speech: list[dict], offset: float) -> Segment:
    """Map times from VAD-concatenated speech back to the file's timeline."""
    from faster_whisper.vad import SpeechTimestampsMap

    tmap = SpeechTimestampsMap(speech, SR, time_precision=3)
    words = []
    for w in segment.words:
        chunk = tmap.get_chunk_index(w.start)
        words.append(replace(w, start=round(offset + float(tmap.get_original_time(w.start, chunk)), 3),
                             end=round(offset + float(tmap.get_original_time(w.end, chunk)), 3),
                             probability=round(float(w.probability), 4)))
    if words:
        start, end = words[0].start, words[-1].end
    else:
        start = offset + float(tmap.get_original_time(segment.start))
        end = offset + float(tmap.get_original_time(segment.end, is_end=True))
    return replace(segment, start=round(start, 3), end=round(max(end, start), 3), words=words,
                   avg_logprob=round(float(segment.avg_logprob), 4),
                   no_speech_prob=round(float(segment.no_speech_prob), 4),
                   compression_ratio=round(float(segment.compression_ratio), 4))


def _transcribe_window(engine: Engine, window: Window, language: str | None) -> tuple[str | None, list[Segment]]:
    if not window.speech:
        return language, []
    speech_audio = np.concatenate([window.samples[c["start"]:c["end"]] for c in window.speech])
    language, segments = engine.transcribe(speech_audio, language)
    segments = [_to_original_time(s, window.speech, window.offset) for s in segments]
    return language, _recover_skipped_speech(engine, window, language, segments)


def _skipped_spans(window: Window, segments: list[Segment], min_gap: float) -> list[tuple[float, float]]:
    """Spans inside VAD speech where no word was transcribed. A VAD chunk has
    no pause longer than ``vad_min_silence_ms`` (2 s), so a longer span without
    words is speech Whisper jumped over (it does, with prompts, on long windows)."""
    # Words where there are (word timestamps on), else whole segments.
    starts_ends = sorted(pair for s in segments
                         for pair in ([(w.start, w.end) for w in s.words] or [(s.start, s.end)]))
    spans = []
    for chunk in window.speech:
        a, b = window.offset + chunk["start"] / SR, window.offset + chunk["end"] / SR
        covered = a
        for start, end in starts_ends:
            if end <= a or start >= b:
                continue
            if start - covered >= min_gap:
                spans.append((covered, start))
            covered = max(covered, end)
        if b - covered >= min_gap:
            spans.append((covered, b))
    return spans


def _recover_skipped_speech(engine: Engine, window: Window, language: str | None,
                            segments: list[Segment], min_gap: float = 3.0) -> list[Segment]:
    """Transcribe again, without the prompt, what the first pass skipped; the
    segments found are flagged ``recovered`` and put in time order."""
    recovered = []
    for start, end in _skipped_spans(window, segments, min_gap):
        lo, hi = int((start - window.offset) * SR), int((end - window.offset) * SR)
        _, found = engine.transcribe(window.samples[lo:hi], language, prompt=False)
        span = [{"start": lo, "end": hi}]
        for segment in found:
            segment = _to_original_time(segment, span, window.offset)
            recovered.append(replace(segment, flags=[*segment.flags, "recovered"]))
    if recovered:
        log.info("recovered %d segment(s) of speech the first pass skipped", len(recovered))
    return sorted(segments + recovered, key=lambda s: s.start)


def iter_segments(path: Path, duration: float, engine: Engine, options: TranscribeOptions,
                  language: str | None, on_progress=None) -> Iterator[tuple[str, Segment]]:
    """Yield ``(language, segment)`` through the whole file, in order.

    Windows are independent (cut in pauses, no text carried across), so up to
    ``engine.parallel`` of them are transcribed at once; no more than that
    are decoded ahead, which keeps memory bounded.
    """
    parallel = max(1, engine.parallel)
    with ThreadPoolExecutor(parallel, thread_name_prefix="window") as pool:
        pending: deque = deque()

        def finish_oldest():
            window, future = pending.popleft()
            found, segments = future.result()
            for segment in segments:
                if on_progress:
                    on_progress(segment.end)
                yield found, segment
            if on_progress:
                on_progress(window.offset + len(window.samples) / SR)

        for window in iter_windows(path, duration, options):
            if language is None and not pending:
                # Detect the language once, on the first window with speech, then keep it.
                language, segments = _transcribe_window(engine, window, None)
                yield from ((language, s) for s in segments)
                continue
            pending.append((window, pool.submit(_transcribe_window, engine, window, language)))
            if len(pending) >= parallel:
                yield from finish_oldest()
        while pending:
            yield from finish_oldest()


# --- the whole file ------------------------------------------------------------

class _Progress:
    """A bar in audio seconds (or a null bar), fed the position reached in the audio."""

    def __init__(self, total: float, label: str, enabled: bool):
        self.total = round(total, 1)
        self.done = 0.0
        self.bar = progress_bar(self.total, label, "s", enabled, leave=False,
                                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio "
                                           "[{elapsed}<{remaining}, {rate_fmt}]")

    def __call__(self, seconds: float) -> None:
        if seconds > self.done:
            self.bar.update(round(min(seconds, self.total) - self.done, 1))
            self.done = min(seconds, self.total)

    def close(self) -> None:
        self.bar.close()


def transcribe_file(path: str | Path, options: TranscribeOptions | None = None, engine: Engine | None = None,
                    episode_id: str | None = None, audio_path: str | None = None,
                    sha256: str | None = None, progress: bool = False) -> Transcript:
    """Transcribe one audio file into a :class:`Transcript` with flagged segments.

    Pass a loaded ``engine`` to reuse it across files (loading takes seconds).
    """
    path = Path(path)
    options = options or TranscribeOptions()
    info = audio.probe(path)
    engine = sized(engine or load_engine(options), expected_windows(info.duration, options))
    bar = _Progress(info.duration, path.name, progress)
    segments: list[Segment] = []
    language = options.language
    try:
        for language, segment in iter_segments(path, info.duration, engine, options, options.language, bar):
            segments.append(replace(segment, id=len(segments)))
    finally:
        bar.close()
    return Transcript(
        episode_id=episode_id or path.stem,
        audio_path=audio_path or str(path),
        audio_sha256=sha256 or sha256_file(path),
        duration=round(info.duration, 3),
        language=language or "",
        model=engine.model_info.name,
        engine=engine.name,
        options=json.loads(json.dumps(asdict(options), default=str)),
        segments=flag_segments(segments, options.flags),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        fingerprint=options.fingerprint(),
    )


def transcribe_files(paths, options: TranscribeOptions | None = None, engine: Engine | None = None,
                     progress: bool = False) -> Iterator[tuple[Path, Transcript | IndexerError]]:
    """Transcribe several files with every core busy; yields ``(path, transcript)``,
    or ``(path, error)`` for a file that cannot be transcribed (those first: each
    file is probed before the model loads), then in the given order.

    The cores are split for all the files' windows together, and as many files
    as there are windows at once run side by side, sharing one loaded engine:
    short files, one window each, then take one core each, as ``ingest`` does.
    """
    options = options or TranscribeOptions()
    probed = []
    for path in map(Path, paths):
        try:
            probed.append((path, audio.probe(path)))
        except IndexerError as e:
            yield path, e
    if not probed:
        return
    windows = sum(expected_windows(info.duration, options) for _, info in probed)
    shared = sized(engine or load_engine(options), windows)

    def one(path: Path) -> Transcript | IndexerError:
        try:
            return transcribe_file(path, options, shared, progress=progress)
        except IndexerError as e:
            return e

    with ThreadPoolExecutor(min(len(probed), max(1, shared.parallel)), thread_name_prefix="file") as pool:
        futures = [pool.submit(one, path) for path, _ in probed]
        for (path, _), future in zip(probed, futures):
            yield path, future.result()
