"""A three-hour recording through `indexer ingest`, with the real weights.

    python benchmarks/long_file.py                 # 3 hours, ~1-3 minutes on 2 cores
    python benchmarks/long_file.py --hours 1

The file is mostly silence at 8 kb/s with the espeak test clip spoken every
ten minutes: it proves that a plateau of several hours is decoded window by
window (bounded memory), that VAD skips the silence, and that the words land
at the right time at the end of the file. It was a test until the suite had
to pass on busy machines: its real-time factor is a measure, not a check.

Results go to ``benchmarks/results/long_file.json`` and ``long_file.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
CLIP = ROOT / "tests" / "data" / "espeak_fr.wav"
EVERY = 600.0  # seconds between two spoken clips


def make_file(path: Path, hours: float) -> list[float]:
    """Silence with the clip every ten minutes; returns the clips' start times."""
    seconds = hours * 3600
    starts = [t for t in range(60, int(seconds) - 30, int(EVERY))]
    inputs = ["-f", "lavfi", "-t", str(seconds), "-i", "anullsrc=r=16000:cl=mono"]
    mixes, labels = [], []
    for n, start in enumerate(starts, 1):
        inputs += ["-i", str(CLIP)]
        mixes.append(f"[{n}:a]adelay={int(start * 1000)}[c{n}]")
        labels.append(f"[c{n}]")
    graph = ";".join(mixes + [f"[0:a]{''.join(labels)}amix=inputs={len(starts) + 1}:normalize=0[out]"])
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[out]",
                    "-c:a", "libmp3lame", "-b:a", "8k", str(path)], check=True)
    return [float(s) for s in starts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=3.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="indexer-long-") as scratch:
        archive = Path(scratch) / "archive"
        (archive / "audio").mkdir(parents=True)
        starts = make_file(archive / "audio" / "plateau.mp3", args.hours)
        started = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "indexer", "ingest", "--archive", str(archive), "-q"],
                             capture_output=True, text=True)
        wall = time.monotonic() - started
        if run.returncode != 0:
            raise SystemExit(f"ingest failed:\n{run.stdout}\n{run.stderr[-3000:]}")
        (report_path,) = (archive / "runs").glob("ingest-*.json")
        (result,) = json.loads(report_path.read_text())["results"]
        transcript = json.loads((archive / "transcripts" / "plateau.json").read_text())
        words = [w for s in transcript["segments"] for w in s["words"]]
        # Each clip's first word after its start: no drift means the same small offset at the end.
        offsets = [min((w["start"] for w in words if w["start"] >= start - 1), default=float("nan")) - start
                   for start in starts]
    results = {
        "machine": {"cores": __import__("os").cpu_count(), "machine": platform.machine()},
        "hours": args.hours, "duration": result["duration"], "status": result["status"],
        "realtime_factor": result["realtime_factor"], "wall_seconds": round(wall, 1),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "clips": len(starts), "first_clip_offset": round(offsets[0], 3), "last_clip_offset": round(offsets[-1], 3),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "long_file.json").write_text(json.dumps(results, indent=1) + "\n")
    md = (f"# A {args.hours:g}-hour file through `indexer ingest`\n\n"
          f"{results['machine']['cores']} cores ({results['machine']['machine']}), shared machine: indicative.\n\n"
          "| audio | real-time factor | wall (whole command) | peak memory (one process) | "
          "first clip's word offset | last clip's |\n|---|---|---|---|---|---|\n"
          f"| {results['duration'] / 3600:.2f} h, {len(starts)} spoken clips | {results['realtime_factor']:.0f}× | "
          f"{results['wall_seconds']:.0f} s | {results['peak_memory_mb']} MB | {results['first_clip_offset']:+.2f} s | "
          f"{results['last_clip_offset']:+.2f} s |\n")
    (RESULTS / "long_file.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
