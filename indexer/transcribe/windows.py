"""Windows of a long file: decoded a few minutes at a time, cut in a silence, VAD
speech only, times mapped back to the file, and speech the first pass skipped
transcribed again."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from .. import audio
from ..memory import give_back
from ..transcript import Segment
from .engines import Engine
from .options import TranscribeOptions
from .reproducible import call_seed

log = logging.getLogger("indexer")

SR = audio.SAMPLE_RATE


LOOKAHEAD_SECONDS = 30.0   # decoded past a window so that its cut can be chosen in a silence


def expected_windows(duration: float, options: TranscribeOptions) -> int:
    """Windows a file of ``duration`` seconds is cut into (known before decoding:
    each cut falls at most ``window_seconds`` in)."""
    if duration <= options.window_seconds + LOOKAHEAD_SECONDS:
        return 1
    return max(2, math.ceil(duration / options.window_seconds))


@dataclass(frozen=True)
class Window:
    offset: float           # seconds from the start of the file
    samples: np.ndarray     # the window's audio, up to the cut
    speech: list[dict]      # VAD chunks in samples, relative to the window
    audio_sha256: str | None = None   # the file's: with the offset, it seeds the window's sampling

    def seed(self, at: int = 0, purpose: str = "window") -> int | None:
        """The seed of an engine call on this window's audio from sample ``at``:
        the same wherever and whenever the window runs (None: unseeded)."""
        return call_seed(self.audio_sha256, round(self.offset * SR) + at, purpose)


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


def iter_windows(path: Path, duration: float, options: TranscribeOptions,
                 audio_sha256: str | None = None) -> Iterator[Window]:
    """Decode ``path`` a window at a time, each cut at a silence; ``audio_sha256``
    (the file's) seeds their sampling when ``options.sampling_seed`` asks for it."""
    audio_sha256 = audio_sha256 if options.sampling_seed else None
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
        yield Window(offset, samples[:cut], speech, audio_sha256)
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


def _speech_audio(window: Window) -> np.ndarray:
    return np.concatenate([window.samples[c["start"]:c["end"]] for c in window.speech])


def transcribe_window(engine: Engine, window: Window, language: str | None) -> tuple[str | None, list[Segment]]:
    """One window through the engine's own loop (the language detected when None)."""
    if not window.speech:
        return language, []
    language, segments = engine.transcribe(_speech_audio(window), language, seed=window.seed())
    segments = [_to_original_time(s, window.speech, window.offset) for s in segments]
    return language, _recover_skipped_speech(engine, window, language, segments)


def transcribe_windows(engine: Engine, windows: list[Window], language: str,
                       on_step=None) -> list[list[Segment]]:
    """Several windows (of one file or of several), each with its own timeline:
    decoded as one batch when the engine can (:mod:`.batched`), else one by one.

    ``on_step(seconds)``: called as decoding moves on, with the seconds of
    audio (of the windows' own timelines) newly covered.
    """
    try:
        return _transcribe_windows(engine, windows, language, on_step)
    finally:
        give_back()   # the batch's buffers, freed, back to the system (indexer.memory)


def _transcribe_windows(engine: Engine, windows: list[Window], language: str, on_step) -> list[list[Segment]]:
    speaking = [w for w in windows if w.speech]
    batch = getattr(engine, "transcribe_clips", None)   # engines that can decode clips as a batch
    if batch is not None and engine.options.batched and speaking:
        scale = [len(w.samples) / max(1, sum(c["end"] - c["start"] for c in w.speech)) for w in speaking]
        step = (lambda k, speech_seconds: on_step(speech_seconds * scale[k])) if on_step else None
        found = iter(batch([_speech_audio(w) for w in speaking], language, step, [w.seed() for w in speaking]))
        results = []
        for w in windows:
            segments = [_to_original_time(s, w.speech, w.offset) for s in next(found)] if w.speech else []
            results.append(_recover_skipped_speech(engine, w, language, segments))
            if not w.speech and on_step:
                on_step(len(w.samples) / SR)
        return results
    results = []
    for w in windows:
        results.append(transcribe_window(engine, w, language)[1])
        if on_step:
            on_step(len(w.samples) / SR)
    return results


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
        _, found = engine.transcribe(window.samples[lo:hi], language, prompt=False, seed=window.seed(lo, "skipped"))
        span = [{"start": lo, "end": hi}]
        for segment in found:
            segment = _to_original_time(segment, span, window.offset)
            recovered.append(replace(segment, flags=[*segment.flags, "recovered"]))
    if recovered:
        log.info("recovered %d segment(s) of speech the first pass skipped", len(recovered))
    return sorted(segments + recovered, key=lambda s: s.start)
