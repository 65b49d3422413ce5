"""Speakers benchmark: automatic speaker turns on conversations of 1 to 4 voices.

    python benchmarks/speakers.py                      # the 7 conversations, default settings
    python benchmarks/speakers.py --grid               # also a small grid of clustering thresholds
    python benchmarks/speakers.py --transcribe         # also time Whisper on them (the cost ratio)

Conversations are built from different synthetic voices: the sample archive's
three (SVOX Pico, Kokoro jm_kumo and jf_gongitsune; sentences cut at the
times of ``archive/reference/*.json``), espeak-ng voices (``fr``, ``fr+f2``)
and pitch-shifted variants. Every utterance goes through the same telephone
channel (300–3400 Hz, 8 kHz µ-law, back to 16 kHz), so the channel does not
give the speaker away, and is trimmed to its speech: the reference turns are
the utterances' spans. One conversation has a synthetic music jingle (not a
speaker) and a 1.5-second overlap of two voices.

Scored like pyannote/dscore, at 10 ms frames with a 0.25 s collar around each
reference boundary: DER = (miss + false alarm + confusion) / reference speech,
with the best one-to-one mapping of found to true speakers. Also: whether the
speaker count is right, real-time factor and peak memory of the stage, and the
word-level speaker accuracy (each reference word, spread evenly over its
utterance, labelled by :func:`indexer.speakers.assign_speakers` on segments
that span speaker changes).

Results go to ``benchmarks/results/speakers.json`` and ``speakers.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer import audio, speakers  # noqa: E402
from indexer.transcript import Segment, Transcript, Word  # noqa: E402
from sample import write_wav  # noqa: E402  (voices.py imports it from here too)

RESULTS = ROOT / "benchmarks" / "results"
SR = 16_000
FRAME = 0.01
COLLAR = 0.25
PHONE = "highpass=f=300,lowpass=f=3400"

# name: (how it is made, argument)
VOICES = {
    "pico": ("archive", "Claire Dubois"),
    "kumo": ("archive", "Julien Morel"),
    "gongitsune": ("archive", "Sophie Martin"),
    "espeak-m": ("espeak", "fr"),
    "espeak-f2": ("espeak", "fr+f2"),
    "kumo-low": ("shift", ("kumo", 0.86)),
    "pico-high": ("shift", ("pico", 1.14)),
}
CONVERSATIONS = [
    ("monologue-kokoro", ["kumo"]),
    ("monologue-pico", ["pico"]),
    ("interview", ["pico", "kumo"]),
    ("two-women", ["gongitsune", "espeak-f2"]),
    ("panel-3", ["pico", "gongitsune", "kumo"]),
    ("panel-3-shifted", ["espeak-m", "kumo-low", "pico-high"]),
    ("plateau-4-jingle-overlap", ["pico", "kumo", "gongitsune", "espeak-f2"]),
]


def ffmpeg_samples(args: list[str], data: bytes | None = None) -> np.ndarray:
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", *args, "-ac", "1", "-ar", str(SR),
                          "-f", "s16le", "-"], input=data, capture_output=True, check=True).stdout
    return np.frombuffer(out, np.int16).astype(np.float32) / 32768


def telephone(samples: np.ndarray) -> np.ndarray:
    """The same channel for every voice: band-pass, 8 kHz µ-law, back to 16 kHz."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "s16le", "-ar", str(SR), "-ac", "1",
                        "-i", "-", "-af", PHONE, "-ar", "8000", "-c:a", "pcm_mulaw", tmp.name],
                       input=pcm, check=True)
        return ffmpeg_samples(["-i", tmp.name])


def trim(samples: np.ndarray, threshold_db: float = -40) -> np.ndarray:
    frame = SR // 100
    n = len(samples) // frame
    if n == 0:
        return samples
    energy = 10 * np.log10(np.mean(samples[:n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(energy > energy.max() + threshold_db)
    return samples[loud[0] * frame:(loud[-1] + 1) * frame] if len(loud) else samples


def archive_sentences(name: str) -> list[tuple[str, np.ndarray]]:
    found = []
    for ref in sorted((ROOT / "archive" / "reference").rglob("*.json")):
        data = json.loads(ref.read_text())
        wav = audio.decode(ROOT / "archive" / data["audio"])
        for s in data["sentences"]:
            if s["speaker"] == name:
                found.append((s["text"], wav[int(s["start"] * SR):int(s["end"] * SR)]))
    return found


def all_texts() -> list[str]:
    return [s["text"] for ref in sorted((ROOT / "archive" / "reference").rglob("*.json"))
            for s in json.loads(ref.read_text())["sentences"]]


def make_voice(name: str, cache: dict) -> list[tuple[str, np.ndarray]]:
    if name in cache:
        return cache[name]
    kind, arg = VOICES[name]
    if kind == "archive":
        utterances = archive_sentences(arg)
    elif kind == "espeak":
        utterances = []
        for text in all_texts()[:24]:
            wav = subprocess.run(["espeak-ng", "-v", arg, "-s", "150", "--stdout", text], capture_output=True,
                                 check=True).stdout
            utterances.append((text, ffmpeg_samples(["-i", "-"], wav)))
    else:
        base, factor = arg
        utterances = []
        for text, samples in make_voice(base, cache):
            pcm = (samples * 32767).astype("<i2").tobytes()
            shifted = ffmpeg_samples(["-f", "s16le", "-ar", str(SR), "-ac", "1", "-i", "-", "-af",
                                      f"asetrate={int(SR * factor)},aresample={SR},atempo={1 / factor:.4f}"], pcm)
            utterances.append((text, shifted))
    cache[name] = [(text, trim(telephone(samples))) for text, samples in utterances]
    return cache[name]


def jingle(seconds: float = 4.0) -> np.ndarray:
    """A synthetic music jingle: a chord progression with a beat (no voice)."""
    t = np.arange(int(seconds * SR)) / SR
    out = np.zeros_like(t)
    for i, root in enumerate((220.0, 261.6, 196.0, 246.9)):
        part = (t >= i * seconds / 4) & (t < (i + 1) * seconds / 4)
        for ratio in (1.0, 1.26, 1.5, 2.0):
            out[part] += np.sin(2 * np.pi * root * ratio * t[part]) * 0.08
    out += 0.3 * np.sin(2 * np.pi * 60 * t) * (np.mod(t, 0.5) < 0.08)
    return telephone(out.astype(np.float32))


def build(name: str, voices: list[str], cache: dict, seed: int) -> dict:
    """A conversation: utterances in turns of 1–3, gaps of 0.3–0.9 s, reference turns."""
    rng = random.Random(seed)
    pools = {v: list(make_voice(v, cache)) for v in voices}
    for pool in pools.values():
        rng.shuffle(pool)
    pieces, turns, words, t = [], [], [], 0.5
    pieces.append(np.zeros(int(0.5 * SR), np.float32))
    order = [voices[i % len(voices)] for i in range(max(8, 6 * len(voices)))]
    if len(voices) > 2:
        rng.shuffle(order)
        order = [v for i, v in enumerate(order) if i == 0 or v != order[i - 1]]
    used = {v: 0 for v in voices}
    special = "jingle" in name
    for k, voice in enumerate(order):
        for _ in range(rng.randint(1, 3) if len(voices) > 1 else 3):
            text, samples = pools[voice][used[voice] % len(pools[voice])]
            used[voice] += 1
            pieces.append(samples)
            turns.append((round(t, 3), round(t + len(samples) / SR, 3), voice))
            tokens = text.split()
            step = len(samples) / SR / len(tokens)
            words += [(t + i * step, t + (i + 0.9) * step, " " + w, voice) for i, w in enumerate(tokens)]
            t += len(samples) / SR
            gap = rng.uniform(0.3, 0.9)
            pieces.append(np.zeros(int(gap * SR), np.float32))
            t += int(gap * SR) / SR
        if special and k == len(order) // 2:
            music = jingle()
            pieces.append(music)
            t += len(music) / SR
            pieces.append(np.zeros(int(0.5 * SR), np.float32))
            t += 0.5
    mix = np.concatenate(pieces)
    if special:
        # Overlap: the next voice starts 1.5 s before the end of a long utterance, softer.
        i = max(range(len(turns) - 1), key=lambda j: turns[j][1] - turns[j][0]
                if turns[j][2] != turns[j + 1][2] else 0)
        a, b, who = turns[i]
        c, d, other = turns[i + 1]
        over = 1.5
        first = int(c * SR)
        shift = int((c - (b - over)) * SR)
        segment = mix[first:int(d * SR)].copy()
        mix[first:int(d * SR)] = 0
        start = first - shift
        mix[start:start + len(segment)] += 0.6 * segment
        turns[i + 1] = (round(c - shift / SR, 3), round(d - shift / SR, 3), other)
        words = [(ws - shift / SR, we - shift / SR, w, v) if c <= ws < d + 0.01 and v == other else (ws, we, w, v)
                 for ws, we, w, v in words]
    return {"name": name, "voices": voices, "samples": mix, "turns": turns, "words": words}


# --- scoring ----------------------------------------------------------------------------------

def frames(turns, n: int) -> list[set]:
    out = [set() for _ in range(n)]
    for a, b, who in turns:
        for i in range(int(round(a / FRAME)), min(n, int(round(b / FRAME)))):
            out[i].add(who)
    return out


def der(reference, hypothesis, duration: float) -> dict:
    n = int(duration / FRAME) + 1
    ref, hyp = frames(reference, n), frames(hypothesis, n)
    scored = np.ones(n, bool)
    for a, b, _ in reference:
        for edge in (a, b):
            scored[max(0, int((edge - COLLAR) / FRAME)):int((edge + COLLAR) / FRAME)] = False
    ref_names = sorted({w for _, _, w in reference})
    hyp_names = sorted({w for _, _, w in hypothesis})
    # Best one-to-one mapping (few speakers: try them all).
    counts = {(h, r): sum(1 for i in range(n) if scored[i] and h in hyp[i] and r in ref[i])
              for h in hyp_names for r in ref_names}
    best, mapping = -1, {}
    k = max(len(hyp_names), len(ref_names))
    padded_ref = ref_names + [None] * (k - len(ref_names))
    for perm in itertools.permutations(padded_ref, len(hyp_names)):
        score = sum(counts.get((h, r), 0) for h, r in zip(hyp_names, perm) if r is not None)
        if score > best:
            best, mapping = score, {h: r for h, r in zip(hyp_names, perm) if r is not None}
    total = miss = fa = conf = 0
    for i in range(n):
        if not scored[i]:
            continue
        r, h = ref[i], {mapping.get(x, "?" + x) for x in hyp[i]}
        total += len(r)
        miss += max(0, len(r) - len(h))
        fa += max(0, len(h) - len(r))
        conf += min(len(r), len(h)) - len(r & h)
    return {"der": (miss + fa + conf) / total, "miss": miss / total, "false_alarm": fa / total,
            "confusion": conf / total, "mapping": mapping}


def word_accuracy(conv: dict, turns, options) -> float:
    """Words labelled by assign_speakers on segments of 40 words (spanning speaker changes),
    scored with the best one-to-one mapping of labels to voices."""
    words = [Word(round(a, 3), round(b, 3), w, 1.0) for a, b, w, _ in conv["words"]]
    segments = [Segment(i, chunk[0].start, chunk[-1].end, "".join(w.word for w in chunk).strip(), chunk)
                for i, chunk in enumerate(words[j:j + 40] for j in range(0, len(words), 40))]
    transcript = Transcript(conv["name"], "", "", len(conv["samples"]) / SR, "fr", "", "", {}, segments)
    labelled = speakers.assign_speakers(transcript, turns, options)
    got = [w.speaker for s in labelled.segments for w in s.words]
    truth = [v for _, _, _, v in conv["words"]]
    labels = sorted({g for g in got if g})
    voices = sorted(set(truth)) + [None] * max(0, len(labels) - len(set(truth)))
    best = 0
    for perm in itertools.permutations(voices, len(labels)):
        mapping = dict(zip(labels, perm))
        best = max(best, sum(1 for g, v in zip(got, truth) if g is not None and mapping[g] == v))
    return best / len(truth)


def run(conversations, options, backend, workdir: Path) -> list[dict]:
    rows = []
    for conv in conversations:
        path = workdir / f"{conv['name']}.wav"
        duration = len(conv["samples"]) / SR
        started = time.perf_counter()
        turns = speakers.diarize(path, duration, options, backend)
        seconds = time.perf_counter() - started
        hyp = [(t.start, t.end, t.name) for t in turns]
        score = der(conv["turns"], hyp, duration)
        found = len({t.name for t in turns})
        rows.append({
            "conversation": conv["name"], "duration": round(duration, 1), "speakers": len(conv["voices"]),
            "found": found, "count_right": found == len(conv["voices"]),
            "der": round(score["der"], 4), "miss": round(score["miss"], 4),
            "false_alarm": round(score["false_alarm"], 4), "confusion": round(score["confusion"], 4),
            "word_accuracy": round(word_accuracy(conv, turns, options), 4),
            "seconds": round(seconds, 2), "rtf": round(seconds / duration, 4),
        })
    return rows


def summary(rows) -> dict:
    ref_total = sum(r["duration"] for r in rows)
    weight = lambda key: sum(r[key] * r["duration"] for r in rows) / ref_total  # noqa: E731
    return {"der": round(weight("der"), 4), "miss": round(weight("miss"), 4),
            "false_alarm": round(weight("false_alarm"), 4), "confusion": round(weight("confusion"), 4),
            "count_right": sum(r["count_right"] for r in rows), "conversations": len(rows),
            "word_accuracy": round(weight("word_accuracy"), 4),
            "rtf": round(sum(r["seconds"] for r in rows) / ref_total, 4)}


def transcription_seconds(paths: list[Path]) -> float:
    from indexer.transcribe import TranscribeOptions, load_engine, transcribe_file

    options = TranscribeOptions(cpu_threads=1, parallel=1)
    engine = load_engine(options)
    started = time.perf_counter()
    for path in paths:
        transcribe_file(path, options, engine)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", action="store_true", help="also try a grid of clustering thresholds")
    parser.add_argument("--transcribe", action="store_true", help="also time Whisper base on the same audio")
    parser.add_argument("--long-minutes", type=float, default=0,
                        help="only measure time and peak memory on one long file (the sample archive looped), "
                             "in 10-minute chunks and in one piece")
    args = parser.parse_args()
    if args.long_minutes:
        return long_file(args.long_minutes)

    options = speakers.SpeakerOptions(cpu_threads=1)
    cache: dict = {}
    conversations = [build(name, voices, cache, seed) for seed, (name, voices) in enumerate(CONVERSATIONS)]
    results: dict = {"machine": {"python": platform.python_version(), "cores": __import__("os").cpu_count()},
                     "options": asdict(options), "collar": COLLAR}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for conv in conversations:
            write_wav(workdir / f"{conv['name']}.wav", conv["samples"])
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        backend = speakers.load_backend(options)
        results["load_seconds"] = round(time.perf_counter() - started, 2)
        rows = run(conversations, options, backend, workdir)
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        results["rss_before_mb"] = round(rss_before / 1024, 1)
        results["conversations"] = rows
        results["summary"] = summary(rows)
        print(json.dumps(results["summary"]), flush=True)
        if args.grid:
            results["grid"] = []
            for sim, merge in itertools.product((0.6, 0.65, 0.7, 0.75, 0.8), (0.8, 0.85, 0.9)):
                o = replace(options, similarity=sim, merge_similarity=merge)
                s = summary(run(conversations, o, backend, workdir))
                results["grid"].append({"similarity": sim, "merge_similarity": merge, **s})
                print(sim, merge, json.dumps(s), flush=True)
        if args.transcribe:
            paths = [workdir / f"{c['name']}.wav" for c in conversations]
            whisper = transcription_seconds(paths)
            total = sum(r["duration"] for r in rows)
            results["transcription"] = {"seconds": round(whisper, 1), "rtf": round(whisper / total, 4),
                                        "speakers_cost_ratio": round(sum(r["seconds"] for r in rows) / whisper, 3)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speakers.json").write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / "speakers.md").write_text(markdown(results))
    print(markdown(results))


CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from indexer import speakers
options = speakers.SpeakerOptions(cpu_threads=1, chunk_seconds=float(sys.argv[2]))
backend = speakers.load_backend(options)
started = time.perf_counter()
turns = speakers.diarize(sys.argv[1], float(sys.argv[4]), options, backend)
print(json.dumps({"seconds": time.perf_counter() - started, "speakers": len({t.name for t in turns}),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def long_file(minutes: float) -> None:
    """Time and peak memory of the stage on one long file, chunked (default) and in one piece."""
    sources = sorted((ROOT / "archive" / "audio").rglob("*.mp3")) + sorted((ROOT / "archive" / "audio").rglob("*.m4a"))
    one_round = np.concatenate([audio.decode(p) for p in sources])
    rounds = int(np.ceil(minutes * 60 * SR / len(one_round)))
    samples = np.tile(one_round, rounds)[: int(minutes * 60 * SR)]
    results = {"minutes": minutes}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        write_wav(path, samples)
        for label, chunk in (("chunked-600s", 600.0), ("one-piece", minutes * 60 + 10)):
            out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(chunk), str(ROOT),
                                  str(len(samples) / SR)], capture_output=True, text=True, check=True).stdout
            results[label] = json.loads(out.strip().splitlines()[-1])
            print(label, results[label], flush=True)
    path = RESULTS / "speakers-long.json"
    path.write_text(json.dumps(results, indent=1) + "\n")


def markdown(results: dict) -> str:
    s = results["summary"]
    lines = ["# Speakers benchmark", "",
             f"{s['conversations']} conversations, {sum(r['duration'] for r in results['conversations']) / 60:.1f} "
             f"minutes, collar {results['collar']} s; `python benchmarks/speakers.py`.", "",
             "| conversation | s | speakers | found | DER | miss | false alarm | confusion | word acc. | RTF |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["conversations"]:
        lines.append(f"| {r['conversation']} | {r['duration']} | {r['speakers']} | {r['found']} | "
                     f"{r['der']:.1%} | {r['miss']:.1%} | {r['false_alarm']:.1%} | {r['confusion']:.1%} | "
                     f"{r['word_accuracy']:.1%} | {r['rtf']:.3f} |")
    lines += ["", f"**Overall** (weighted by duration): DER {s['der']:.1%} (miss {s['miss']:.1%}, false alarm "
                  f"{s['false_alarm']:.1%}, confusion {s['confusion']:.1%}); count right on {s['count_right']} of "
                  f"{s['conversations']}; word-level speaker accuracy {s['word_accuracy']:.1%}; stage at "
                  f"{s['rtf']:.3f} of real time on one thread (model load {results['load_seconds']} s once); "
                  f"peak RSS {results['peak_rss_mb']} MB (process, {results['rss_before_mb']} MB before the stage)."]
    if "transcription" in results:
        t = results["transcription"]
        lines += ["", f"Whisper base (faster-whisper, one thread) on the same audio: {t['seconds']} s "
                      f"(RTF {t['rtf']}); the speakers stage costs **{t['speakers_cost_ratio']:.2f}** of it."]
    if "grid" in results:
        lines += ["", "Grid of the two clustering thresholds (`--grid`; stop of the average linkage within a "
                      "chunk, and centroid merge)" + (f", {results['grid_note']}" if results.get("grid_note") else "")
                  + ":", "",
                  "| similarity | merge | DER | count right | word acc. |", "|---|---|---|---|---|"]
        for g in results["grid"]:
            lines.append(f"| {g['similarity']} | {g['merge_similarity']} | {g['der']:.1%} | "
                         f"{g['count_right']}/{g['conversations']} | {g['word_accuracy']:.1%} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
