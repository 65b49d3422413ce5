"""Status and the ingest's survey with thousands of new files (issue 25, item 11).

Makes N distinct mp3 files of 1.5 s (one encoded by ffmpeg, copied with a distinct trailing tag), fills
the hash cache once (both versions read the same cache file), then times, on the same files and in the
same run:

* ``status`` of this code (answers from what is known: measures nothing);
* ``status`` of the code before (``--before PATH``: a checkout of it, run with PYTHONPATH): it probed each
  pending file with ffprobe, one at a time;
* the ingest's survey of this code with measuring (ffprobe several at a time), with an empty probe cache,
  then again with the cache filled (a rerun after Ctrl-C).

Wall and CPU seconds (children included: ffprobe runs in its own processes) are written to
``benchmarks/results/many-new-files-N.{json,md}``. The machine is shared: compare within one run.

    python benchmarks/many_new_files.py --files 10000 --before /path/to/old/checkout
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "many-new-files"
RESULTS = HERE / "results"

SURVEY = r"""
import os, sys, time
import indexer.ingest.survey
if os.environ.get("PROBES_AT_ONCE"):
    indexer.ingest.survey.PROBES_AT_ONCE = int(os.environ["PROBES_AT_ONCE"])
from indexer.ingest import Ingest, IngestOptions
from indexer.ingest.state import RunState
from indexer.ingest.reports import RunReport, now
ingest = Ingest(sys.argv[1], IngestOptions(progress=False))
state = RunState.start(ingest.layout, RunReport(sys.argv[1], now()))
state.catalog.refresh()
plan = ingest.survey(state)
state.probes.save()
print(len(plan.jobs), round(sum(j.duration for j in plan.jobs), 1))
"""


def make_files(root: Path, count: int) -> None:
    audio = root / "audio"
    if audio.is_dir() and len(list(audio.iterdir())) == count:
        return
    shutil.rmtree(root, ignore_errors=True)
    audio.mkdir(parents=True)
    one = root / "one.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1.5",
                    "-c:a", "libmp3lame", "-b:a", "32k", str(one)], check=True)
    data = one.read_bytes()
    for n in range(count):
        (audio / f"episode-{n:05d}.mp3").write_bytes(data + n.to_bytes(4, "little"))  # distinct bytes
    one.unlink()


def timed(args: list[str], env: dict | None = None) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd="/")
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{args} failed: {done.stderr[-2000:]}")
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "output": done.stdout.strip().splitlines()[:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--before", type=Path, help="a checkout of the code before (its indexer/ folder's parent)")
    parser.add_argument("--compare-parallel", type=int, default=0, metavar="ROUNDS",
                        help="only time the survey's measuring one at a time against several at a time, in turn")
    parser.add_argument("--status-only", action="store_true",
                        help="time status only (no ffprobe: cheap enough for 10,000 files on a shared machine)")
    options = parser.parse_args()
    root = OUT / "archive"
    make_files(root, options.files)
    shutil.rmtree(root / ".indexer", ignore_errors=True)
    status = [sys.executable, "-m", "indexer", "status", "--archive", str(root)]
    if options.compare_parallel:
        return compare_parallel(root, options.files, options.compare_parallel, status)
    results = {"files": options.files, "fill_hash_cache": timed(status)}
    results["status_after"] = timed(status)
    if options.before and not options.status_only:
        results["status_before"] = timed(status, {"PYTHONPATH": str(options.before)})
    if not options.status_only:
        (root / ".indexer" / "probes.json").unlink(missing_ok=True)
        results["survey_measuring_after"] = timed([sys.executable, "-c", SURVEY, str(root)])
        results["survey_rerun_after"] = timed([sys.executable, "-c", SURVEY, str(root)])
    RESULTS.mkdir(exist_ok=True)
    name = f"many-new-files-{options.files}"
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = [f"# {options.files:,} new files of 1.5 s (mp3): status and the ingest's survey", "",
             "| what | wall s | CPU s (incl. ffprobe) |", "|---|---|---|"]
    names = {"fill_hash_cache": "first status (hashes every file; same in both versions)",
             "status_after": "status, this code (measures nothing)",
             "status_before": "status, code before (ffprobe on each pending file, one at a time)",
             "survey_measuring_after": "ingest survey, this code, empty probe cache (ffprobe several at a time)",
             "survey_rerun_after": "ingest survey again (a rerun after Ctrl-C: probe cache filled)"}
    for key, name in names.items():
        if key in results:
            lines.append(f"| {name} | {results[key]['wall_s']} | {results[key]['cpu_s']} |")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def compare_parallel(root: Path, files: int, rounds: int, status: list[str]) -> None:
    """The survey's measuring with one ffprobe at a time and with the default, in turn, empty probe cache each time."""
    timed(status)  # hashes cached, as in both configurations
    runs: dict[str, list[dict]] = {"1 at a time": [], "default": []}
    for _ in range(rounds):
        for name, env in (("1 at a time", {"PROBES_AT_ONCE": "1"}), ("default", {})):
            (root / ".indexer" / "probes.json").unlink(missing_ok=True)
            runs[name].append(timed([sys.executable, "-c", SURVEY, str(root)], env))
    lines = [f"# measuring {files:,} new files: one ffprobe at a time against several, {rounds} rounds in turn", "",
             "| configuration | wall s per round | CPU s per round |", "|---|---|---|"]
    for name, found in runs.items():
        lines.append(f"| {name} | {', '.join(str(r['wall_s']) for r in found)} | "
                     f"{', '.join(str(r['cpu_s']) for r in found)} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"many-new-files-parallel-{files}.json").write_text(json.dumps(runs, indent=1) + "\n")
    (RESULTS / f"many-new-files-parallel-{files}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
