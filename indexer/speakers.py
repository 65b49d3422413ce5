"""Who speaks when: automatic speaker turns, offline, after transcription.

The stage needs only the audio and the words, so an archive transcribed
before it existed gets speakers without being transcribed again:

1. speech regions from Silero VAD (the one faster-whisper ships, as for
   transcription, with finer pauses), so music and silence get no label;
2. an embedding per 1.5 s window (0.75 s hop) from a :class:`SpeakerBackend`
   (by default Resemblyzer's voice encoder, :mod:`indexer.voice`);
3. average-linkage clustering on cosine similarity with a stop threshold,
   per 10-minute chunk (bounded memory and time on two-hour recordings),
   then a centroid merge over the whole file (one voice split in two
   clusters, or met again in another chunk, is joined), and clusters with
   too little speech (a jingle, a cough) absorbed by the nearest speaker;
4. turns: each moment of speech goes to the window centred nearest to it, so
   overlapping speech goes to the voice that dominates its windows;
5. words: each gets the speaker whose turns cover most of it, and a segment
   spanning a change is split, one segment per speaker (as WhisperX does).

Labels are ``S1``, ``S2``… in order of first appearance. Editors name them
with :func:`indexer.corrections.name_speakers` (an overlay: it survives
re-transcription).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from . import audio
from .archive import SpeakerTurn
from .errors import SpeakerBackendError
from .plugins import by_name
from .threads import use_torch_threads
from .transcript import Segment, Transcript, Word

log = logging.getLogger("indexer")

SR = audio.SAMPLE_RATE


@dataclass(frozen=True)
class SpeakerOptions:
    """How speakers are found. ``mode``: ``"auto"`` (count found), ``"off"``, or a known count."""

    mode: str | int = "auto"
    backend: str = "resemblyzer"
    window_seconds: float = 1.5
    hop_seconds: float = 0.75
    # Average-linkage stop within a chunk: deliberately strict (it may split a
    # voice; the centroid merge joins it again). benchmarks/speakers.py: at
    # 0.6–0.65 two voices are merged here already (DER 8.4 %, count right 5/7);
    # 0.7–0.8 with the merge below: DER 1.3 %, 7/7. 0.75 is the middle.
    similarity: float = 0.75
    # Centroids of clusters at least this alike are one voice (within and
    # across chunks). The decisive setting: 0.8 merges two voices (5/7),
    # 0.9 leaves voices split (6/7 at a 0.75 stop, 2/7 at 0.8).
    merge_similarity: float = 0.85
    min_speaker_seconds: float = 4.0      # less speech than this is not a speaker of its own
    chunk_seconds: float = 600.0          # cluster this much audio at a time
    vad_min_silence_ms: int = 300
    vad_speech_pad_ms: int = 60
    cpu_threads: int = 0

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    @property
    def count(self) -> int | None:
        return self.mode if isinstance(self.mode, int) else None

    def fingerprint(self) -> str:
        """What decides whether a transcript's speakers are up to date ("" when off)."""
        if not self.enabled:
            return ""
        relevant = {k: v for k, v in asdict(self).items() if k != "cpu_threads"}
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def for_episode(options: SpeakerOptions, meta) -> SpeakerOptions:
    """The episode's settings: its sidecar's turns or single speaker make the stage
    unnecessary; several names without turns give the count; ``speakers: auto|off|N``
    in the sidecar overrides archive.yaml."""
    if meta.turns or len(meta.speakers) == 1:
        return replace(options, mode="off")
    if meta.speakers_mode is not None:
        return replace(options, mode=meta.speakers_mode)
    if len(meta.speakers) > 1 and options.enabled:
        return replace(options, mode=len(meta.speakers))
    return options


# --- backends --------------------------------------------------------------------------

class SpeakerBackend(Protocol):
    name: str

    def embed_regions(self, regions: list[np.ndarray], windows: list[list[tuple[int, int]]]) -> np.ndarray:
        """L2-normalised embeddings, shape (n, d), of the ``windows`` (sample ranges
        relative to their region) of each region of 16 kHz mono speech, in order."""


class ResemblyzerBackend:
    """Resemblyzer's voice encoder (GE2E LSTM, 17 MB, weights in the PyPI package)."""

    name = "resemblyzer"

    def __init__(self, options: SpeakerOptions):
        from .voice import VoiceEncoder

        self.encoder = VoiceEncoder()

    def embed_regions(self, regions, windows):
        from .voice import HOP, mel_spectrogram, normalise_volume

        # One spectrogram per region, sliced per window: overlapping windows
        # share their frames instead of computing them twice.
        mels = []
        for samples, spans in zip(regions, windows):
            mel = mel_spectrogram(normalise_volume(samples))
            mels += [mel[a // HOP:max(a // HOP + 1, b // HOP)] for a, b in spans]
        return self.encoder.embed_mels(mels)


BACKENDS: dict[str, type] = {ResemblyzerBackend.name: ResemblyzerBackend}


def backend_class(name: str) -> type:
    """A registered backend, or one by import path ``package.module:Class`` (tests)."""
    return by_name(BACKENDS, name, "speaker backend", SpeakerBackendError)


def load_backend(options: SpeakerOptions) -> SpeakerBackend:
    backend = backend_class(options.backend)(options)
    if isinstance(backend, ResemblyzerBackend):
        # Its PyTorch encoder runs on the process's one thread pool (one thread unless told).
        use_torch_threads(options.cpu_threads or 1)
    return backend


# --- clustering ------------------------------------------------------------------------

def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def agglomerate(embeddings: np.ndarray, stop: float) -> np.ndarray:
    """Average-linkage clustering on cosine similarity; merging stops below ``stop``.
    Labels 0..k-1. O(n²) memory: call it on a chunk's windows, not a whole file."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, int)
    x = _normalise(embeddings.astype(np.float64))
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    size = np.ones(n)
    alive = np.ones(n, bool)
    parent = np.arange(n)
    for _ in range(n - 1):
        flat = int(np.argmax(sim))
        i, j = divmod(flat, n)
        if sim[i, j] < stop:
            break
        # j into i; average linkage: size-weighted mean of the similarities.
        merged = (size[i] * sim[i] + size[j] * sim[j]) / (size[i] + size[j])
        sim[i], sim[:, i] = merged, merged
        sim[i, i] = -np.inf
        sim[j], sim[:, j] = -np.inf, -np.inf
        size[i] += size[j]
        alive[j] = False
        parent[parent == j] = i
    _, labels = np.unique(parent, return_inverse=True)
    return labels


def merge_centroids(sums: np.ndarray, seconds: np.ndarray, stop: float,
                    count: int | None = None) -> np.ndarray:
    """Join clusters whose centroids are at least ``stop`` alike (most alike first),
    or down to ``count`` clusters when the count is known. Returns a label per cluster."""
    k = len(sums)
    groups = {i: [i] for i in range(k)}
    total = {i: sums[i].astype(np.float64) for i in range(k)}
    while len(groups) > 1:
        keys = sorted(groups)
        cent = _normalise(np.stack([total[g] for g in keys]))
        sim = cent @ cent.T
        np.fill_diagonal(sim, -np.inf)
        a, b = divmod(int(np.argmax(sim)), len(keys))
        if count is not None:
            if len(groups) <= count:
                break
        elif sim[a, b] < stop:
            break
        ga, gb = keys[a], keys[b]
        groups[ga] += groups.pop(gb)
        total[ga] = total[ga] + total.pop(gb)
    labels = np.zeros(k, int)
    for n, members in enumerate(groups.values()):
        labels[members] = n
    return labels


# --- the stage --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Window:
    start: float
    end: float
    chunk: int
    cluster: int = 0


def _speech_regions(samples: np.ndarray, options: SpeakerOptions) -> list[tuple[int, int]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(min_silence_duration_ms=options.vad_min_silence_ms, speech_pad_ms=options.vad_speech_pad_ms)
    return [(c["start"], c["end"]) for c in get_speech_timestamps(samples, vad, sampling_rate=SR)]


def _windows_of(region: tuple[int, int], options: SpeakerOptions) -> list[tuple[int, int]]:
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
    options = options or SpeakerOptions()
    backend = backend or load_backend(options)
    windows: list[_Window] = []
    sums: list[np.ndarray] = []       # per (chunk, cluster): sum of embeddings
    seconds: list[float] = []
    offset, chunk = 0.0, 0
    while offset < duration - 0.01:
        samples = audio.decode(path, offset, options.chunk_seconds)
        if len(samples) == 0:
            break
        regions = _speech_regions(samples, options)
        per_region = [[(a - r0, b - r0) for a, b in _windows_of((r0, r1), options)] for r0, r1 in regions]
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
            labels = np.unique(_absorb_small(labels, emb, durations, options.min_speaker_seconds),
                               return_inverse=True)[1]
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
        return []
    sums_arr, seconds_arr = np.stack(sums), np.array(seconds)
    speaker = merge_centroids(sums_arr, seconds_arr, options.merge_similarity, options.count)
    if options.count is None:
        speaker = _absorb_small(speaker, sums_arr, seconds_arr, options.min_speaker_seconds)
    return _turns(windows, speaker)


def _absorb_small(speaker: np.ndarray, sums: np.ndarray, seconds: np.ndarray, min_seconds: float) -> np.ndarray:
    """A cluster with less than ``min_seconds`` of windows goes to the nearest big one.
    ``speaker``: a cluster per row of ``sums`` (embeddings or sums of them) and ``seconds``."""
    k = speaker.max() + 1
    total = np.array([seconds[speaker == s].sum() for s in range(k)])
    big = [s for s in range(k) if total[s] >= min_seconds]
    if not big or len(big) == k:
        return speaker
    cent = _normalise(np.stack([sums[speaker == s].sum(axis=0) for s in range(k)]))
    out = speaker.copy()
    for s in range(k):
        if s not in big:
            nearest = big[int(np.argmax(cent[big] @ cent[s]))]
            out[speaker == s] = nearest
    return out


def _turns(windows: list[_Window], speaker: np.ndarray, join_gap: float = 0.5) -> list[SpeakerTurn]:
    """Each moment goes to the window centred nearest to it: the boundary between
    two overlapping windows is the midpoint of their centres."""
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
        if spans and spans[-1][2] == who and lo - spans[-1][1] <= join_gap:
            spans[-1][1] = hi
        else:
            spans.append([lo, hi, who])
    order: dict[int, str] = {}
    for _, _, who in spans:
        order.setdefault(who, f"S{len(order) + 1}")
    return [SpeakerTurn(order[who], round(a, 3), round(b, 3)) for a, b, who in spans]


# --- words and segments ----------------------------------------------------------------------

def speaker_of_span(turns: list[SpeakerTurn], start: float, end: float, nearest: float = 2.0) -> str | None:
    """The speaker whose turns cover most of [start, end]; else the nearest turn within
    ``nearest`` seconds (a word in a pause the VAD cut out); else None."""
    cover: dict[str, float] = {}
    for turn in turns:
        overlap = min(end, turn.end) - max(start, turn.start)
        if overlap > 0:
            cover[turn.name] = cover.get(turn.name, 0.0) + overlap
    if cover:
        return max(cover, key=lambda s: cover[s])
    middle = (start + end) / 2
    best = min(turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0), default=None)
    if best is not None and max(best.start - middle, middle - best.end, 0.0) <= nearest:
        return best.name
    return None


def _split(segment: Segment) -> list[Segment]:
    """One segment per run of words of the same speaker (text rebuilt from the words)."""
    runs: list[list[Word]] = []
    for word in segment.words:
        if runs and (word.speaker == runs[-1][-1].speaker or word.speaker is None):
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) <= 1:
        return [replace(segment, speaker=runs[0][0].speaker if runs else segment.speaker)]
    return [replace(segment, start=run[0].start, end=run[-1].end, words=run, speaker=run[0].speaker,
                    text="".join(w.word for w in run).strip(), flags=[*segment.flags, "split-speaker"])
            for run in runs]


def assign_speakers(transcript: Transcript, turns: list[SpeakerTurn], options: SpeakerOptions,
                    backend: str | None = None) -> Transcript:
    """The transcript with a speaker on every word, segments split at speaker changes,
    and the turns recorded in ``diarization``. Segment ids are renumbered."""
    segments: list[Segment] = []
    for seg in transcript.segments:
        if seg.words:
            words = [replace(w, speaker=speaker_of_span(turns, w.start, w.end)) for w in seg.words]
            pieces = _split(replace(seg, words=words))
        else:
            pieces = [replace(seg, speaker=speaker_of_span(turns, seg.start, seg.end))]
        segments += pieces
    segments = [replace(s, id=i) for i, s in enumerate(segments)]
    seen = list(dict.fromkeys(s.speaker for s in segments if s.speaker))
    # Labels in order of first appearance in the words (a turn without words has no label).
    rename = {old: f"S{i + 1}" for i, old in enumerate(seen)}
    segments = [replace(s, speaker=rename.get(s.speaker, s.speaker),
                        words=[replace(w, speaker=rename.get(w.speaker, w.speaker)) for w in s.words])
                for s in segments]
    diarization = {
        "backend": backend or options.backend, "fingerprint": options.fingerprint(),
        "mode": options.mode, "labels": [rename[s] for s in seen],
        "turns": [[t.start, t.end, rename[t.name]] for t in turns if t.name in rename],
    }
    return replace(transcript, segments=segments, diarization=diarization)


def without_speakers(transcript: Transcript) -> Transcript:
    """Automatic labels removed (the stage turned off); names set by editors stay in their overlay."""
    labels = set(transcript.speaker_labels)
    if not labels and transcript.diarization is None:
        return transcript
    segments = [replace(s, speaker=None if s.speaker in labels else s.speaker,
                        words=[replace(w, speaker=None) for w in s.words]) for s in transcript.segments]
    return replace(transcript, segments=segments, diarization=None)


def add_speakers(path: str | Path, transcript: Transcript, options: SpeakerOptions,
                 backend: SpeakerBackend | None = None) -> Transcript:
    """Run the stage on an episode's audio and words (``off``: remove automatic labels)."""
    transcript = without_speakers(transcript)
    if not options.enabled:
        return transcript
    backend = backend or load_backend(options)
    turns = diarize(path, transcript.duration, options, backend)
    return assign_speakers(transcript, turns, options, backend.name)
