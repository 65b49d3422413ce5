"""Who speaks when: speech regions, embedding windows, clusters per chunk, turns (:func:`diarize`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import audio
from ..memory import give_back
from ..transcript import SpeakerTurn
from .backends import SpeakerBackend, load_backend
from .clustering import absorb_small, agglomerate, join_small, merge_centroids
from .options import SR, SpeakerOptions
from .prints import VoicePrint, normalise


@dataclass(frozen=True)
class _Window:
    start: float
    end: float
    chunk: int
    cluster: int = 0


def speech_regions(samples: np.ndarray, options: SpeakerOptions) -> list[tuple[int, int]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(min_silence_duration_ms=options.vad_min_silence_ms, speech_pad_ms=options.vad_speech_pad_ms)
    return [(c["start"], c["end"]) for c in get_speech_timestamps(samples, vad, sampling_rate=SR)]


def windows_of(region: tuple[int, int], options: SpeakerOptions) -> list[tuple[int, int]]:
    a, b = region
    size, hop = int(options.window_seconds * SR), int(options.hop_seconds * SR)
    if b - a < SR // 2:
        return []  # too short to tell a voice; its words get the nearest turn
    if b - a <= size:
        return [(a, b)]
    starts = list(range(a, b - size + 1, hop))
    if starts[-1] + size < b:
        starts.append(b - size)
    return [(s, s + size) for s in starts]


def diarize(path: str | Path, duration: float, options: SpeakerOptions | None = None,
            backend: SpeakerBackend | None = None) -> list[SpeakerTurn]:
    """Speaker turns of the audio file, labelled S1, S2… in order of first appearance."""
    return diarize_voices(path, duration, options, backend)[0]


def diarize_voices(path: str | Path, duration: float, options: SpeakerOptions | None = None,
                   backend: SpeakerBackend | None = None) -> tuple[list[SpeakerTurn], dict[str, VoicePrint]]:
    """Speaker turns (labelled S1, S2… in order of first appearance) and each label's voice print."""
    options = (options or SpeakerOptions()).resolved()
    backend = backend or load_backend(options)
    windows: list[_Window] = []
    sums: list[np.ndarray] = []       # per (chunk, cluster): sum of embeddings
    seconds: list[float] = []
    offset, chunk = 0.0, 0
    while offset < duration - 0.01:
        samples = audio.decode(path, offset, options.chunk_seconds)
        if len(samples) == 0:
            break
        regions = speech_regions(samples, options)
        give_back()   # the VAD's buffers for ten minutes of audio (indexer.memory)
        per_region = [[(a - r0, b - r0) for a, b in windows_of((r0, r1), options)] for r0, r1 in regions]
        spans = [(a + r0, b + r0) for (r0, _), ws in zip(regions, per_region) for a, b in ws]
        if spans:
            emb = backend.embed_regions([samples[r0:r1] for (r0, r1), ws in zip(regions, per_region) if ws],
                                        [ws for ws in per_region if ws])
            labels = agglomerate(emb, options.similarity)
            # Small clusters of one chunk (windows across a change of speaker, a
            # laugh) join their chunk's nearest voice before they can add up,
            # over the chunks of a long file, to a phantom speaker (measured: a
            # one-hour loop of 3 voices gave 5 speakers without this).
            durations = np.array([(b - a) / SR for a, b in spans])
            labels = np.unique(join_small(labels, emb, durations, options.min_speaker_seconds,
                                          options.unlabelled_similarity), return_inverse=True)[1]
            base = len(sums)
            for k in range(labels.max() + 1):
                members = labels == k
                sums.append(emb[members].sum(axis=0))
                seconds.append(float(sum(b - a for (a, b), m in zip(spans, members) if m)) / SR)
            windows += [_Window(offset + a / SR, offset + b / SR, chunk, base + int(k))
                        for (a, b), k in zip(spans, labels)]
        offset += len(samples) / SR
        chunk += 1
        if len(samples) < int(options.chunk_seconds * SR) - SR:
            break
    if not windows:
        return [], {}
    sums_arr, seconds_arr = np.stack(sums), np.array(seconds)
    speaker = merge_centroids(sums_arr, seconds_arr, options.merge_similarity, options.count)
    if options.count is None:
        speaker = absorb_small(speaker, sums_arr, seconds_arr, options.min_speaker_seconds,
                               options.unlabelled_similarity)
    turns, order = _labelled_turns(windows, speaker)
    spoken = {label: sum(t.end - t.start for t in turns if t.name == label) for label in order.values()}
    prints = {label: VoicePrint(normalise(sums_arr[speaker == who].sum(axis=0)).astype(np.float32), spoken[label])
              for who, label in order.items()}
    return turns, prints


def _turns(windows: list[_Window], speaker: np.ndarray, join_gap: float = 0.5) -> list[SpeakerTurn]:
    """Each moment goes to the window centred nearest to it: the boundary between
    two overlapping windows is the midpoint of their centres. Windows of no
    speaker (-1) give no turn."""
    return _labelled_turns(windows, speaker, join_gap)[0]


def _labelled_turns(windows: list[_Window], speaker: np.ndarray,
                    join_gap: float = 0.5) -> tuple[list[SpeakerTurn], dict[int, str]]:
    """:func:`_turns`, and speaker index -> its label."""
    ordered = sorted(windows, key=lambda w: (w.start + w.end) / 2)
    spans: list[list] = []
    for i, w in enumerate(ordered):
        centre = (w.start + w.end) / 2
        lo, hi = w.start, w.end
        if i > 0 and ordered[i - 1].end > w.start:
            lo = max(lo, (centre + (ordered[i - 1].start + ordered[i - 1].end) / 2) / 2)
        if i + 1 < len(ordered) and ordered[i + 1].start < w.end:
            hi = min(hi, (centre + (ordered[i + 1].start + ordered[i + 1].end) / 2) / 2)
        if spans:
            lo = max(lo, spans[-1][1])
        if hi <= lo:
            continue
        who = int(speaker[w.cluster])
        if who < 0:
            continue
        if spans and spans[-1][2] == who and lo - spans[-1][1] <= join_gap:
            spans[-1][1] = hi
        else:
            spans.append([lo, hi, who])
    order: dict[int, str] = {}
    for _, _, who in spans:
        order.setdefault(who, f"S{len(order) + 1}")
    return [SpeakerTurn(order[who], round(a, 3), round(b, 3)) for a, b, who in spans], order
