"""Transcription benchmark: speed, memory and accuracy of both engines, side by side.

    python benchmarks/transcribe.py                 # everything (about 20 min on 2 cores)
    python benchmarks/transcribe.py --long-minutes 0 --configs fw-fast,ow-fast

Each configuration runs in its own process, so peak memory (ru_maxrss) is its
own: the engine, the model and the audio. Word error rate is measured against
the sample archive's reference texts with jiwer, after lowercasing and
removing punctuation. The long-file run joins the sample episodes (in rotating
order) into one file of an hour or more and compares the word times of the
first and the last quarter with where each sentence really starts.

Results: benchmarks/results/transcribe.json and transcribe.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = ROOT / "archive"
RESULTS = Path(__file__).resolve().parent / "results"

# name: (engine, preset, extra TranscribeOptions fields)
CONFIGS = {
    "fw-fast": ("faster-whisper", "fast", {}),
    "fw-accurate": ("faster-whisper", "accurate", {}),
    "fw-fast-no-words": ("faster-whisper", "fast", {"word_timestamps": False}),
    "fw-fast-no-vad": ("faster-whisper", "fast", {"vad": False}),
    # The engine's own threading instead of one window per core.
    "fw-fast-2-threads": ("faster-whisper", "fast", {"cpu_threads": 2}),
    "ow-fast": ("openai-whisper", "fast", {}),
}


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w'\- ]+", " ", text.lower().replace("’", "'")).split())


def episodes() -> list[tuple[str, Path]]:
    from indexer.archive import ArchiveLayout

    layout = ArchiveLayout(ARCHIVE)
    return [(layout.episode_for(p).id, p) for p in layout.audio_files()]


def _wer(reference_text: str, hypothesis: str) -> float:
    import jiwer

    return jiwer.wer(reference_text, normalise(hypothesis))


def reference(episode_id: str) -> dict:
    return json.loads((ARCHIVE / "reference" / f"{episode_id}.json").read_text(encoding="utf-8"))


# --- one configuration, in a child process ------------------------------------

def run_config(name: str, files: list[tuple[str, str]]) -> dict:
    """Runs inside the child: load once, transcribe each file, report."""
    import jiwer

    from indexer.archive import load_settings
    from indexer.batch import options_from_settings
    from indexer.transcribe import load_engine, preset, transcribe_file

    engine_name, preset_name, extra = CONFIGS[name]
    base = options_from_settings(load_settings(ARCHIVE))
    options = replace(preset(preset_name), engine=engine_name, language=base.language,
                      initial_prompt=base.initial_prompt, **extra)
    started = time.perf_counter()
    engine = load_engine(options)
    load_seconds = time.perf_counter() - started
    rows = []
    for episode_id, path in files:
        t0 = time.perf_counter()
        transcript = transcribe_file(path, options, engine)
        seconds = time.perf_counter() - t0
        row = {"episode": episode_id, "audio_seconds": transcript.duration, "seconds": round(seconds, 2),
               "realtime_factor": round(transcript.duration / seconds, 2)}
        ref_path = ARCHIVE / "reference" / f"{episode_id}.txt"
        if ref_path.is_file():
            ref = normalise(ref_path.read_text(encoding="utf-8"))
            row["wer"] = round(jiwer.wer(ref, normalise(transcript.text)), 4)
            row["ref_words"] = len(ref.split())
        else:
            row["sentences"] = [[w.start, w.word] for w in transcript.words]
            row["text"] = transcript.text
        rows.append(row)
    return {"config": name, "engine": engine_name, "preset": preset_name, "extra": extra,
            "load_seconds": round(load_seconds, 2), "files": rows,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def in_child(name: str, files: list[tuple[str, Path]]) -> dict:
    spec = json.dumps([(e, str(p)) for e, p in files])
    out = subprocess.run([sys.executable, __file__, "--child", name, spec], capture_output=True, text=True,
                         cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise(result: dict) -> dict:
    files = [f for f in result["files"] if "wer" in f]
    audio = sum(f["audio_seconds"] for f in files)
    wall = sum(f["seconds"] for f in files)
    errors = sum(f["wer"] * f["ref_words"] for f in files)
    words = sum(f["ref_words"] for f in files)
    return {"config": result["config"], "audio_seconds": round(audio, 1), "seconds": round(wall, 1),
            "realtime_factor": round(audio / wall, 2) if wall else 0, "wer": round(errors / words, 4) if words else None,
            "peak_rss_mb": result["peak_rss_mb"], "load_seconds": result["load_seconds"]}


# --- the long file --------------------------------------------------------------

def make_long_file(minutes: float, directory: Path) -> tuple[Path, list[dict]]:
    """Join the episodes in rotating order until ``minutes`` are reached."""
    import numpy as np

    from indexer import audio

    clips = [(audio.decode(path), reference(eid)["sentences"]) for eid, path in episodes()]
    parts, sentences, offset, i = [], [], 0.0, 0
    while offset < minutes * 60:
        samples, sents = clips[i % len(clips)]
        parts.append(samples)
        sentences += [{"start": s["start"] + offset, "text": s["text"]} for s in sents]
        offset += len(samples) / audio.SAMPLE_RATE
        i += 1
    path = directory / "long.mp3"
    pcm = (np.concatenate(parts) * 32767).astype("<i2").tobytes()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "-",
                    "-b:a", "48k", str(path)], input=pcm, check=True)
    return path, sentences


def timestamp_offsets(words: list[list], sentences: list[dict], duration: float) -> dict:
    """Median |first word start − sentence start| in the first and last quarter."""
    import bisect
    import statistics

    starts = [w[0] for w in words]

    def offsets(selected):
        values = []
        for s in selected:
            k = bisect.bisect_left(starts, s["start"] - 1.0)
            if k < len(starts) and starts[k] - s["start"] < 3.0:
                values.append(abs(starts[k] - s["start"]))
        return values

    first = offsets([s for s in sentences if s["start"] < duration / 4])
    last = offsets([s for s in sentences if s["start"] > 3 * duration / 4])
    return {"first_quarter_median_s": round(statistics.median(first), 3) if first else None,
            "last_quarter_median_s": round(statistics.median(last), 3) if last else None,
            "sentences_matched": len(first) + len(last)}


# --- report ---------------------------------------------------------------------

def markdown(report: dict) -> str:
    lines = [f"# Transcription benchmark ({report['date']})", "",
             f"Machine: {report['machine']}. Model: Whisper base (offline weights). "
             f"Sample archive: {report['sample_audio_seconds']:.0f} s of synthetic French speech.", "",
             "| config | real-time factor | WER | peak memory (MB) | model load (s) |",
             "|---|---|---|---|---|"]
    for row in report["configs"]:
        wer = f"{row['wer']:.3f}" if row["wer"] is not None else "–"
        lines.append(f"| {row['config']} | {row['realtime_factor']:.1f}× | {wer} | {row['peak_rss_mb']:.0f} | "
                     f"{row['load_seconds']:.1f} |")
    if report.get("speedup_vs_openai"):
        lines += ["", f"faster-whisper / openai-whisper, same weights and settings: "
                      f"{report['speedup_vs_openai']:.1f}× the speed."]
    for long in report.get("long", []):
        lines += ["", f"Long file ({long['audio_seconds'] / 60:.0f} min, {long['config']}): "
                      f"{long['realtime_factor']:.1f}× real time, WER {long['wer']:.3f}, peak {long['peak_rss_mb']:.0f} MB, "
                      f"word-start offset median {long['first_quarter_median_s']} s in the first quarter, "
                      f"{long['last_quarter_median_s']} s in the last."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated: " + ", ".join(CONFIGS))
    parser.add_argument("--long-minutes", type=float, default=60, help="length of the long file (0: skip)")
    parser.add_argument("--long-configs", default="fw-fast,fw-fast-2-threads")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    files = episodes()
    report = {"date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} cores, {platform.machine()}",
              "sample_audio_seconds": 0.0, "configs": []}
    for name in args.configs.split(","):
        print(f"running {name} …", file=sys.stderr, flush=True)
        result = in_child(name, files)
        row = summarise(result)
        report["configs"].append(row)
        report["sample_audio_seconds"] = row["audio_seconds"]
        print(json.dumps(row), file=sys.stderr, flush=True)
    by_name = {r["config"]: r for r in report["configs"]}
    if "fw-fast" in by_name and "ow-fast" in by_name:
        report["speedup_vs_openai"] = round(by_name["fw-fast"]["realtime_factor"]
                                            / by_name["ow-fast"]["realtime_factor"], 2)
    if args.long_minutes > 0:
        report["long"] = []
        with tempfile.TemporaryDirectory() as tmp:
            path, sentences = make_long_file(args.long_minutes, Path(tmp))
            reference_text = normalise(" ".join(s["text"] for s in sentences))
            for name in args.long_configs.split(","):
                print(f"running the long file ({args.long_minutes:.0f} min) with {name} …", file=sys.stderr, flush=True)
                result = in_child(name, [("long", path)])
                run = result["files"][0]
                report["long"].append({
                    "config": name, "audio_seconds": run["audio_seconds"],
                    "realtime_factor": run["realtime_factor"], "peak_rss_mb": result["peak_rss_mb"],
                    "wer": round(_wer(reference_text, run["text"]), 4),
                    **timestamp_offsets(run["sentences"], sentences, run["audio_seconds"])})
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "transcribe.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "transcribe.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(run_config(sys.argv[2], json.loads(sys.argv[3]))))
    else:
        main()
