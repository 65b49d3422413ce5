"""Transcription benchmark: speed, memory and accuracy of both engines, side by side.

    python benchmarks/transcribe.py                 # everything, clean, 10 dB and 5 dB, vs plain
    python benchmarks/transcribe.py --long-minutes 0 --configs fw-fast,ow-fast --conditions clean
    python benchmarks/transcribe.py --ablation --conditions clean,10db --episodes metier-community-manager,table-ronde-engagement --long-minutes 0
    python benchmarks/transcribe.py --split --repeat 2     # threads per window, 1 and 2 windows

`plain` is faster-whisper as its README shows it (library defaults, VAD on):
every configuration is judged beside it, on clean speech and under babble
(benchmarks/noisy.py), by word error rate, wall speed and CPU seconds (a
shared machine disturbs wall time far more than CPU time).

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
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from sample import ARCHIVE, episodes, normalise, reference, wer  # noqa: E402
RESULTS = Path(__file__).resolve().parent / "results"
PLAIN = "plain"

# name: (engine, preset, extra TranscribeOptions fields)
CONFIGS = {
    "fw-fast": ("faster-whisper", "fast", {}),
    "fw-accurate": ("faster-whisper", "accurate", {}),
    "fw-fast-no-words": ("faster-whisper", "fast", {"word_timestamps": False}),
    "fw-fast-no-vad": ("faster-whisper", "fast", {"vad": False}),
    # The engine's own threading instead of one window per core.
    "fw-fast-2-threads": ("faster-whisper", "fast", {"cpu_threads": 2}),
    "ow-fast": ("openai-whisper", "fast", {}),
    # Splits of the cores (windows at once × threads each), for --split.
    "fw-fast-1x1": ("faster-whisper", "fast", {"parallel": 1, "cpu_threads": 1}),
    "fw-fast-1x2": ("faster-whisper", "fast", {"parallel": 1, "cpu_threads": 2}),
    "fw-fast-2x1": ("faster-whisper", "fast", {"parallel": 2, "cpu_threads": 1}),
    # Ablation: one change at a time from the defaults, judged against `plain`.
    "fw-logprob": ("faster-whisper", "fast", {"log_prob_threshold": -1.0}),
    "fw-nospeech": ("faster-whisper", "fast", {"no_speech_threshold": 0.6}),
    "fw-logprob-nospeech": ("faster-whisper", "fast", {"log_prob_threshold": -1.0, "no_speech_threshold": 0.6}),
    "fw-condition": ("faster-whisper", "fast", {"condition_on_previous_text": True}),
    "fw-silence-1000": ("faster-whisper", "fast", {"vad_min_silence_ms": 1000}),
    "fw-pad-800": ("faster-whisper", "fast", {"vad_speech_pad_ms": 800}),
    "fw-window-60": ("faster-whisper", "fast", {"window_seconds": 60.0}),
    "fw-no-prompt": ("faster-whisper", "fast", {"initial_prompt": None}),
    "fw-beam-2": ("faster-whisper", "fast", {"beam_size": 2}),
    "fw-beam-3": ("faster-whisper", "fast", {"beam_size": 3}),
    # The reference: faster-whisper as its README shows it, library defaults
    # (beam 5, log-prob and no-speech thresholds, conditioning on previous
    # text, no prompt, no word timestamps), VAD on, language given.
    PLAIN: ("faster-whisper", "", {}),
}
ABLATION = ("plain,fw-fast,fw-logprob,fw-logprob-nospeech,fw-condition,fw-silence-1000,fw-pad-800,"
            "fw-window-60,fw-no-prompt,fw-beam-2,fw-beam-3,fw-accurate")
CONDITIONS = ("clean", "10db", "5db")   # the sample archive, and under babble (benchmarks/noisy.py)


def _wer(reference_text: str, hypothesis: str) -> float:
    return wer(reference_text, hypothesis)


# --- one configuration, in a child process ------------------------------------

class _Plain:
    """faster-whisper's WhisperModel with the library's defaults, VAD on: the reference."""

    def __init__(self):
        from faster_whisper import WhisperModel

        from indexer.models import resolve_model

        self.model = WhisperModel(str(resolve_model("base").path), device="cpu", compute_type="int8")

    def __call__(self, path: str) -> tuple[float, str, list]:
        from indexer.audio import probe

        segments, info = self.model.transcribe(path, language="fr", vad_filter=True)
        segments = list(segments)
        return (probe(Path(path)).duration, " ".join(s.text.strip() for s in segments),
                [[s.start, s.text] for s in segments])


class _Pipeline:
    """This project's pipeline with one configuration of CONFIGS."""

    def __init__(self, name: str):
        from indexer.archive import load_settings
        from indexer.ingest import options_from_settings
        from indexer.transcribe import load_engine, preset

        engine_name, preset_name, extra = CONFIGS[name]
        base = options_from_settings(load_settings(ARCHIVE))
        self.options = replace(preset(preset_name), **{"engine": engine_name, "language": base.language,
                                                       "initial_prompt": base.initial_prompt, **extra})
        self.engine = load_engine(self.options)

    def __call__(self, path: str) -> tuple[float, str, list]:
        from indexer.transcribe import transcribe_file

        transcript = transcribe_file(path, self.options, self.engine)
        return transcript.duration, transcript.text, [[w.start, w.word] for w in transcript.words]


def _cpu_seconds() -> float:
    """CPU time of this process, all threads, and of its finished children (the
    pipeline's ffmpeg; plain decodes in-process): on a machine shared with other
    jobs, the work done, where wall time mostly measures the neighbours."""
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def run_config(name: str, files: list[tuple[str, str]]) -> dict:
    """Runs inside the child: load once, transcribe each file, report."""
    import jiwer

    engine_name, preset_name, extra = CONFIGS[name]
    started = time.perf_counter()
    run = _Plain() if name == PLAIN else _Pipeline(name)
    load_seconds = time.perf_counter() - started
    rows = []
    for episode_id, path in files:
        t0, cpu0 = time.perf_counter(), _cpu_seconds()
        duration, text, sentences = run(path)
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
        row = {"episode": episode_id, "audio_seconds": duration, "seconds": round(seconds, 2),
               "cpu_seconds": round(cpu, 2), "realtime_factor": round(duration / seconds, 2)}
        ref_path = ARCHIVE / "reference" / f"{episode_id}.txt"
        if ref_path.is_file():
            ref = normalise(ref_path.read_text(encoding="utf-8"))
            row["wer"] = round(jiwer.wer(ref, normalise(text)), 4)
            row["ref_words"] = len(ref.split())
        else:
            row["sentences"] = sentences
            row["text"] = text
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
    cpu = sum(f.get("cpu_seconds", 0) for f in files)
    errors = sum(f["wer"] * f["ref_words"] for f in files)
    words = sum(f["ref_words"] for f in files)
    return {"config": result["config"], "audio_seconds": round(audio, 1), "seconds": round(wall, 1),
            "realtime_factor": round(audio / wall, 2) if wall else 0, "cpu_seconds": round(cpu, 1),
            "cpu_per_audio_second": round(cpu / audio, 3) if audio else None,
            "wer": round(errors / words, 4) if words else None,
            "peak_rss_mb": result["peak_rss_mb"], "load_seconds": result["load_seconds"]}


# --- the long file --------------------------------------------------------------

def make_long_file(minutes: float, directory: Path) -> tuple[Path, list[dict]]:
    """Join the episodes in rotating order until ``minutes`` are reached."""
    import numpy as np

    directory.mkdir(parents=True, exist_ok=True)
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

def _median(values):
    import statistics

    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def combine(runs: dict[tuple[str, str], list[dict]], plain_rtf: dict[tuple[str, int], float]) -> list[dict]:
    """One row per (config, condition): median real-time factor over the repeats,
    and the median of its ratio to `plain` run beside it (same condition, same repeat);
    the same for CPU time (plain's CPU seconds / this one's: > 1 is less work)."""
    rows = []
    plain_cpu = {(c, k): r["cpu_seconds"] for (name, c), rs in runs.items() if name == PLAIN
                 for k, r in enumerate(rs)}
    for (config, condition), repeats in runs.items():
        ratios = [r["realtime_factor"] / plain_rtf[(condition, k)] for k, r in enumerate(repeats)
                  if plain_rtf.get((condition, k))]
        cpu_ratios = [plain_cpu[(condition, k)] / r["cpu_seconds"] for k, r in enumerate(repeats)
                      if plain_cpu.get((condition, k)) and r.get("cpu_seconds")]
        rows.append({**repeats[0], "condition": condition, "repeats": len(repeats),
                     "cpu_vs_plain": _median(cpu_ratios),
                     "realtime_factor": _median([r["realtime_factor"] for r in repeats]),
                     "wer": _median([r["wer"] for r in repeats]),
                     "peak_rss_mb": max(r["peak_rss_mb"] for r in repeats),
                     "speed_vs_plain": _median(ratios)})
    return rows


def markdown(report: dict) -> str:
    conditions = list(dict.fromkeys(r["condition"] for r in report["configs"]))
    lines = [f"# Transcription benchmark ({report['date']})", "",
             f"Machine: {report['machine']}. Model: Whisper base (offline weights). "
             f"Sample archive: {report['sample_audio_seconds']:.0f} s of synthetic French speech "
             f"({', '.join(report.get('episodes', [])) or 'all episodes'}); 10db/5db: the same under babble of "
             f"the other episodes (benchmarks/noisy.py). Repeats: {report.get('repeat', 1)}, "
             f"children at once: {report.get('jobs', 1)}"
             + (" (speeds not comparable)" if report.get("jobs", 1) > 1 else "") + ".", "",
             "| config | " + " | ".join(f"WER {c}" for c in conditions)
             + " | speed vs plain (wall, median) | CPU work vs plain (plain / this) "
               "| real-time factor | peak memory (MB) | model load (s) |",
             "|---|" + "---|" * (len(conditions) + 5)]
    by_config: dict[str, dict[str, dict]] = {}
    for row in report["configs"]:
        by_config.setdefault(row["config"], {})[row["condition"]] = row
    plain = by_config.get(PLAIN, {})
    for config, cells in by_config.items():
        wers = []
        for c in conditions:
            row = cells.get(c)
            if row is None or row["wer"] is None:
                wers.append("–")
                continue
            delta = f" ({row['wer'] - plain[c]['wer']:+.3f})" if c in plain and config != PLAIN else ""
            wers.append(f"{row['wer']:.3f}{delta}")
        ratios = _median([r.get("speed_vs_plain") for r in cells.values()])
        cpu = _median([r.get("cpu_vs_plain") for r in cells.values()])
        rtf = _median([r["realtime_factor"] for r in cells.values()])
        lines.append(f"| {config} | " + " | ".join(wers) + f" | {f'{ratios:.2f}×' if ratios else '–'} | "
                     f"{f'{cpu:.2f}×' if cpu else '–'} | {rtf:.1f}× | "
                     f"{max(r['peak_rss_mb'] for r in cells.values()):.0f} | "
                     f"{_median([r['load_seconds'] for r in cells.values()]):.1f} |")
    if report.get("speedup_vs_openai"):
        lines += ["", f"faster-whisper / openai-whisper, same weights and settings: "
                      f"{report['speedup_vs_openai']:.1f}× the speed."]
    for long in report.get("long", []):
        lines += ["", f"Long file ({long['audio_seconds'] / 60:.0f} min, {long['config']}): "
                      f"{long['realtime_factor']:.1f}× real time, {long.get('cpu_seconds') or 0:.0f} CPU s"
                      + (f" ({long['speed_vs_plain']:.2f}× plain)" if long.get("speed_vs_plain") else "")
                      + f", WER {long['wer']:.3f}, peak {long['peak_rss_mb']:.0f} MB, "
                      f"word-start offset median {long['first_quarter_median_s']} s in the first quarter, "
                      f"{long['last_quarter_median_s']} s in the last."]
    return "\n".join(lines) + "\n"


def split_markdown(report: dict) -> str:
    lines = [f"# Threads per window ({report['date']})", "",
             f"Machine: {report['machine']}. Each file transcribed by each split in turn, "
             f"{report['repeat']} rounds; median real-time factor, and the median ratio to 1 window × 1 thread "
             "in the same round.", "",
             "| file | windows | split (windows at once × threads) | real-time factor | vs 1×1 | CPU s |",
             "|---|---|---|---|---|---|"]
    for row in report["rows"]:
        lines.append(f"| {row['file']} ({row['audio_seconds']:.0f} s) | {row['windows']} | {row['config']} | "
                     f"{row['realtime_factor']:.1f}× | {row['vs_1x1']:.2f}× | {row['cpu_seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def run_children(names: list[str], files: list[tuple[str, Path]], jobs: int) -> list[dict]:
    """Each configuration in its own process; ``jobs`` at once (only for word error
    rates: processes side by side slow each other down)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(name: str) -> dict | None:
        try:
            result = in_child(name, files)
        except SystemExit as e:   # one configuration failing does not lose the others
            print(e, file=sys.stderr, flush=True)
            return None
        print(json.dumps(summarise(result)), file=sys.stderr, flush=True)
        return result

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return [r for r in pool.map(one, names) if r is not None]


def measure_split(args) -> None:
    """Which split of the cores is fastest for a file of one window, and of two."""
    from indexer import audio

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        one, _ = make_long_file(1.0, Path(tmp) / "one")          # one episode: one window
        two, _ = make_long_file(2.9, Path(tmp) / "two")          # two episodes: two windows
        files = {"one": (one, 1), "two": (two, 2)}
        names = args.configs.split(",")
        results: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        for k in range(args.repeat):
            for label, (path, _) in files.items():
                for name in names:
                    print(f"round {k + 1}: {label} with {name} …", file=sys.stderr, flush=True)
                    run = in_child(name, [("long-" + label, path)])["files"][0]
                    results.setdefault((label, name), []).append(run["realtime_factor"])
                    cpu.setdefault((label, name), []).append(run["cpu_seconds"])
        for label, (path, windows) in files.items():
            base = results[(label, names[0])]
            for name in names:
                rtf = results[(label, name)]
                rows.append({"file": label, "windows": windows, "audio_seconds": audio.probe(path).duration,
                             "config": name, "realtime_factor": _median(rtf), "runs": rtf,
                             "cpu_seconds": _median(cpu[(label, name)]),
                             "vs_1x1": _median([a / b for a, b in zip(rtf, base)])})
    report = {"date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} cores, {platform.machine()}",
              "repeat": args.repeat, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / f"{args.name}.md").write_text(split_markdown(report))
    print(split_markdown(report))


def condition_files(condition: str, files: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    if condition == "clean":
        return files
    from noisy import make_noisy

    wanted = {e for e, _ in files}
    return [f for f in make_noisy(episodes())[condition] if f[0] in wanted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="plain,fw-fast,fw-accurate,fw-fast-no-words,fw-fast-no-vad,"
                                             "fw-fast-2-threads,ow-fast",
                        help="comma-separated: " + ", ".join(CONFIGS))
    parser.add_argument("--ablation", action="store_true", help="the decoding ablation: --configs " + ABLATION)
    parser.add_argument("--split", action="store_true",
                        help="threads per window on a 1-window and a 2-window file "
                             "(--configs fw-fast-1x1,fw-fast-1x2,fw-fast-2x1,fw-fast)")
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="clean, 10db, 5db")
    parser.add_argument("--episodes", default="", help="comma-separated episode ids (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every configuration (medians)")
    parser.add_argument("--jobs", type=int, default=1, help="configurations at once (word error rates only)")
    parser.add_argument("--long-minutes", type=float, default=60, help="length of the long file (0: skip)")
    parser.add_argument("--long-configs", default="plain,fw-fast,fw-fast-2-threads")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="", help="results file name [transcribe, transcribe-ablation, …]")
    args = parser.parse_args()
    if args.split:
        if "--configs" not in sys.argv:
            args.configs = "fw-fast-1x1,fw-fast-1x2,fw-fast-2x1,fw-fast"
        args.name = args.name or "transcribe-split"
        return measure_split(args)
    if args.ablation:
        args.configs = ABLATION
        args.name = args.name or "transcribe-ablation"
    args.name = args.name or "transcribe"

    files = episodes()
    if args.episodes:
        wanted = args.episodes.split(",")
        files = [f for f in files if f[0] in wanted]
    names = args.configs.split(",")
    report = {"date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} cores, {platform.machine()}",
              "sample_audio_seconds": 0.0, "episodes": [e for e, _ in files] if args.episodes else [],
              "repeat": args.repeat, "jobs": args.jobs, "configs": []}
    runs: dict[tuple[str, str], list[dict]] = {}
    plain_rtf: dict[tuple[str, int], float] = {}
    for k in range(args.repeat):
        for condition in args.conditions.split(","):
            print(f"round {k + 1}, {condition}: {', '.join(names)} …", file=sys.stderr, flush=True)
            for result in run_children(names, condition_files(condition, files), args.jobs):
                row = summarise(result)
                runs.setdefault((row["config"], condition), []).append(row)
                if row["config"] == PLAIN:
                    plain_rtf[(condition, k)] = row["realtime_factor"]
                report["sample_audio_seconds"] = row["audio_seconds"]
    report["configs"] = combine(runs, plain_rtf)
    by_name = {r["config"]: r for r in report["configs"] if r["condition"] == "clean"}
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
                    "cpu_seconds": run.get("cpu_seconds"), "wer": round(_wer(reference_text, run["text"]), 4),
                    **timestamp_offsets(run["sentences"], sentences, run["audio_seconds"])})
            plain = next((r for r in report["long"] if r["config"] == PLAIN), None)
            for r in report["long"]:
                if plain:
                    r["speed_vs_plain"] = round(r["realtime_factor"] / plain["realtime_factor"], 2)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / f"{args.name}.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(run_config(sys.argv[2], json.loads(sys.argv[3]))))
    else:
        main()
