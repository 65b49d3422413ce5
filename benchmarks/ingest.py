"""Ingest benchmark: throughput, no-op overhead, recovery after SIGKILL.

    python benchmarks/ingest.py                   # everything, ~6 minutes on 2 cores
    python benchmarks/ingest.py --episodes 200    # a smaller no-op archive

1. Throughput: a full `indexer ingest` of the sample archive (a fresh copy,
   model load and worker start-up included, as a user runs it) with 1 and 2
   worker processes, in audio hours per wall hour.
2. No-op overhead: an archive of N synthetic episodes (tiny WAVs, sidecars and
   transcripts written with `save_transcript`, with the right audio hash and
   options fingerprint, so nothing needs Whisper) that is already indexed;
   a rerun must find nothing to do. Timed as a command (Python start-up
   included) and as the run's own survey time (`plan_seconds`), warm, and
   without the transcript-head cache (every transcript parsed, as the first
   version of batch.py did on every run).
3. Recovery: `indexer ingest` of the sample archive is SIGKILLed while it
   transcribes its second episode; the rerun's time until it resumes work
   (lock, clean-up of the killed run's files, survey) and its total time.

Results go to ``benchmarks/results/ingest.json`` and ``ingest.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
SAMPLE = ROOT / "archive"


def copy_sample(destination: Path) -> Path:
    shutil.copytree(SAMPLE, destination, ignore=shutil.ignore_patterns(
        "transcripts", "index", "runs", ".indexer", "corrections"))
    return destination


def indexer(*args, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "indexer", *map(str, args)], capture_output=True, text=True,
                            cwd=ROOT)
    if check and result.returncode != 0:
        raise SystemExit(f"indexer {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return result


def last_report(archive: Path) -> dict:
    return json.loads(sorted((archive / "runs").glob("ingest-*.json"))[-1].read_text())


# --- 1. throughput ---------------------------------------------------------------

def throughput(workers: int, runs: int, scratch: Path) -> dict:
    """Best of ``runs`` fresh ingests (the machine is shared: the best run is the least disturbed)."""
    walls, transcription = [], []
    for run in range(runs):
        archive = copy_sample(scratch / f"throughput-{workers}-{run}")
        started = time.perf_counter()
        indexer("ingest", "--archive", archive, "-q", "--workers", workers)
        walls.append(time.perf_counter() - started)
        done = [r for r in last_report(archive)["results"] if r["status"] == "transcribed"]
        transcription.append(sum(r["seconds"] for r in done))
        audio = sum(r["duration"] for r in done)
    best = min(walls)
    return {"workers": workers, "episodes": len(done), "audio_hours": round(audio / 3600, 4),
            "wall_seconds": round(best, 1), "all_wall_seconds": [round(w, 1) for w in walls],
            "audio_hours_per_wall_hour": round(audio / best, 2),
            "transcription_seconds": round(transcription[walls.index(best)], 1)}


# --- 2. no-op over N episodes ----------------------------------------------------------

WORDS = ("le community manager anime la communauté sur les réseaux sociaux et répond aux questions "
         "des internautes chaque jour avec les outils de veille").split()


def build_synthetic(archive: Path, episodes: int, segments: int) -> None:
    """N tiny WAVs (distinct bytes), a sidecar each, and matching transcripts."""
    from indexer.files import sha256_file
    from indexer.ingest import Ingest
    from indexer.transcript import Segment, Transcript, Word, save_transcript

    (archive / "audio").mkdir(parents=True)
    (archive / "archive.yaml").write_text("language: fr\nmodel: base\n")
    fingerprint = Ingest(archive).transcribe_options.fingerprint()
    for n in range(episodes):
        folder = archive / "audio" / f"{2000 + n // 100}"
        folder.mkdir(exist_ok=True)
        path = folder / f"episode-{n:04d}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"".join(int(3000 * math.sin(2 * math.pi * (200 + n) * i / 8000)).to_bytes(
                2, "little", signed=True) for i in range(4000)))
        path.with_suffix(".yaml").write_text(f"title: Épisode {n}\ndate: {2000 + n // 100}-01-01\n"
                                             f"speakers: [Orateur {n % 7}]\n", encoding="utf-8")
        rows = []
        for s in range(segments):
            words = [WORDS[(n + s + k) % len(WORDS)] for k in range(12)]
            t = s * 6.0
            rows.append(Segment(s, t, t + 5.5, " ".join(words),
                                [Word(t + k * 0.45, t + k * 0.45 + 0.4, " " + w, 0.9) for k, w in enumerate(words)],
                                avg_logprob=-0.3, no_speech_prob=0.01, compression_ratio=1.3))
        episode_id = f"{2000 + n // 100}/episode-{n:04d}"
        save_transcript(Transcript(episode_id, str(path.relative_to(archive / "audio")), sha256_file(path),
                                   segments * 6.0, "fr", "base", "faster-whisper", {}, rows,
                                   created="2026-01-01T00:00:00+00:00", fingerprint=fingerprint),
                        archive / "transcripts" / f"{episode_id}.json")


def noop(episodes: int, segments: int, repeat: int, scratch: Path) -> dict:
    from indexer.api import Archive

    archive = scratch / "noop"
    t0 = time.perf_counter()
    build_synthetic(archive, episodes, segments)
    built = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in (archive / "transcripts").rglob("*.json"))

    t0 = time.perf_counter()
    Archive(archive).reindex(progress=False)
    reindex = time.perf_counter() - t0

    def timed_run() -> tuple[float, float]:
        started = time.perf_counter()
        result = indexer("ingest", "--archive", archive, "-q")
        wall = time.perf_counter() - started
        report = last_report(archive)
        statuses = {r["status"] for r in report["results"]}
        assert statuses == {"unchanged"}, (statuses, result.stdout[-2000:])
        return wall, report["plan_seconds"]

    first = timed_run()  # cold: every file hashed, every transcript parsed once
    warm = [timed_run() for _ in range(repeat)]
    no_cache = []
    for _ in range(repeat):
        (archive / ".indexer" / "transcripts.json").unlink()
        no_cache.append(timed_run())
    started = time.perf_counter()
    indexer("status", "--archive", archive)
    status = time.perf_counter() - started
    return {
        "episodes": episodes, "segments_per_episode": segments, "transcripts_mb": round(size / 1e6, 1),
        "build_seconds": round(built, 1), "reindex_seconds": round(reindex, 1),
        "first_run_seconds": round(first[0], 2), "first_run_plan_seconds": first[1],
        "noop_seconds": round(statistics.median(w for w, _ in warm), 2),
        "noop_plan_seconds": round(statistics.median(p for _, p in warm), 3),
        "noop_without_head_cache_seconds": round(statistics.median(w for w, _ in no_cache), 2),
        "noop_without_head_cache_plan_seconds": round(statistics.median(p for _, p in no_cache), 3),
        "status_seconds": round(status, 2),
        "python_startup_seconds": round(startup_seconds(), 2),
    }


def startup_seconds() -> float:
    started = time.perf_counter()
    indexer("--version")
    return time.perf_counter() - started


# --- 3. recovery after SIGKILL ------------------------------------------------------------

def recovery(scratch: Path) -> dict:
    archive = copy_sample(scratch / "recovery")
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "indexer", "ingest", "--archive", str(archive), "-q",
                                "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    transcripts = archive / "transcripts"
    while not list(transcripts.rglob("*.json")):
        if process.poll() is not None:
            raise SystemExit("ingest ended before the kill")
        time.sleep(0.05)
    time.sleep(2.0)  # well into the second episode
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_after = time.perf_counter() - started
    saved = len(list(transcripts.rglob("*.json")))

    reports_before = set((archive / "runs").glob("ingest-*.json"))
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "indexer", "ingest", "--archive", str(archive), "-q",
                                "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    resumed = None
    while process.poll() is None:
        if resumed is None and set((archive / "runs").glob("ingest-*.json")) - reports_before:
            resumed = time.perf_counter() - started  # the report is first written when the survey is done
        time.sleep(0.01)
    total = time.perf_counter() - started
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"rerun failed:\n{out}\n{err}")
    report = last_report(archive)
    counts: dict[str, int] = {}
    for r in report["results"]:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"killed_after_seconds": round(killed_after, 1), "transcripts_saved_before_kill": saved,
            "rerun_resumes_after_seconds": round(resumed or total, 2), "rerun_plan_seconds": report["plan_seconds"],
            "rerun_total_seconds": round(total, 1), "rerun_statuses": counts,
            "killed_run_noticed": "was killed" in err}


# --- report ------------------------------------------------------------------------------------

def markdown(results: dict) -> str:
    m = results["machine"]
    lines = ["# Ingest benchmark", "",
             f"Machine: {m['cores']} cores ({m['processor'] or m['machine']}), Python {m['python']}; shared with "
             "other jobs while measured, so timings are indicative. `python benchmarks/ingest.py` reproduces.", "",
             "## Throughput: full ingest of the sample archive", "",
             "Fresh copy, `indexer ingest --archive ARCHIVE --workers N` as a command: model load, worker start-up, "
             "hashing, transcription, exports and indexing included.", "",
             "| workers × threads | episodes | audio (h) | best wall (s) | audio h / wall h | transcription (s, summed) "
             "| all runs (s) |",
             "|---|---|---|---|---|---|---|"]
    for t in results["throughput"]:
        threads = max(1, m["cores"] // t["workers"])
        lines.append(f"| {t['workers']} × {threads} | {t['episodes']} | {t['audio_hours']:.3f} | {t['wall_seconds']} "
                     f"| {t['audio_hours_per_wall_hour']} | {t['transcription_seconds']} "
                     f"| {', '.join(map(str, t['all_wall_seconds']))} |")
    n = results["noop"]
    lines += ["", f"## No-op rerun over {n['episodes']:,} unchanged episodes", "",
              f"{n['episodes']:,} synthetic episodes ({n['segments_per_episode']} segments each, "
              f"{n['transcripts_mb']} MB of transcript JSON), indexed, then `indexer ingest` again "
              "(median of the repeats).", "",
              "| run | command wall (s) | survey inside the run (s) |", "|---|---|---|",
              f"| first ingest after `indexer reindex` (cold caches: every file hashed, every transcript parsed) "
              f"| {n['first_run_seconds']} | {n['first_run_plan_seconds']} |",
              f"| **no-op rerun** | **{n['noop_seconds']}** | **{n['noop_plan_seconds']}** |",
              f"| no-op without the transcript-head cache (every transcript parsed) | "
              f"{n['noop_without_head_cache_seconds']} | {n['noop_without_head_cache_plan_seconds']} |",
              f"| `indexer status` | {n['status_seconds']} | |",
              f"| `indexer --version` (Python start-up and imports) | {n['python_startup_seconds']} | |", "",
              f"Building the synthetic archive took {n['build_seconds']} s, `indexer reindex` "
              f"{n['reindex_seconds']} s.", ""]
    r = results["recovery"]
    lines += ["## Recovery after SIGKILL", "",
              f"`indexer ingest` of the sample archive, SIGKILLed {r['killed_after_seconds']} s in (while "
              f"transcribing; {r['transcripts_saved_before_kill']} transcript(s) saved), then run again.", "",
              f"* rerun resumes work after **{r['rerun_resumes_after_seconds']} s** (Python start-up, lock, "
              f"clean-up of the killed run's files, survey; the survey itself {r['rerun_plan_seconds']} s)",
              f"* rerun total {r['rerun_total_seconds']} s: {r['rerun_statuses']}",
              f"* the rerun logged that the previous run was killed: {r['killed_run_noticed']}", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=1000, help="synthetic episodes for the no-op run")
    parser.add_argument("--segments", type=int, default=60, help="segments per synthetic transcript")
    parser.add_argument("--repeat", type=int, default=3, help="no-op runs to take the median of")
    parser.add_argument("--workers", default="1,2", help="worker counts for the throughput runs")
    parser.add_argument("--runs", type=int, default=3, help="throughput runs per worker count (best is kept)")
    args = parser.parse_args()

    from indexer.ingest import available_cores

    results = {"machine": {"cores": available_cores(), "machine": platform.machine(),
                           "processor": platform.processor(), "python": platform.python_version()}}
    with tempfile.TemporaryDirectory(prefix="indexer-bench-") as tmp:
        scratch = Path(tmp)
        results["throughput"] = []
        for workers in [int(w) for w in args.workers.split(",")]:
            print(f"throughput, {workers} worker(s)...", file=sys.stderr)
            results["throughput"].append(throughput(workers, args.runs, scratch))
        print(f"no-op over {args.episodes} episodes...", file=sys.stderr)
        results["noop"] = noop(args.episodes, args.segments, args.repeat, scratch)
        print("recovery after SIGKILL...", file=sys.stderr)
        results["recovery"] = recovery(scratch)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    (RESULTS / "ingest.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
