"""Where `indexer ingest`'s wall time goes, beside `indexer transcribe` on the same files (issue 27).

    python benchmarks/ingest_profile.py FOLDER [--configs plain,transcribe,ingest,ingest-before] [--repeat N]
        [--name ingest-profile]

Each configuration runs in a fresh process (start-up included): `transcribe` is
`indexer transcribe`'s code path (TranscriptWriter, defaults, speakers
included), `ingest` is ``Ingest(archive).run()`` on an archive whose audio/
links to the same files (defaults: workers sized to the machine, index and
embeddings). Every process of a run, the ingest's worker processes too,
records its stages on one timeline: process start, imports, model loads,
transcription, speakers, saving and indexing, the voice library, the
embeddings; with wall seconds (from the run's start) and the CPU seconds of the
process during the stage (every thread: stages that overlap in one process
share them). A spawned worker imports this script as its ``__mp_main__``,
which is how the wrappers reach it.

`plain` is speed.py's plain faster-whisper loop; `ingest-before` is `ingest`
run from another copy of the package (INGEST_BEFORE, by default the tree
this branch started from: ``git archive 253dfd5 indexer | tar -x -C DIR``).
The transcripts of each configuration's last run are kept in
benchmarks/out/ingest-profile/CONFIG/.

Results: benchmarks/results/<name>.{json,md}: per configuration wall and CPU
seconds, the cores' use (CPU / (wall × cores)), and each process's lane.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TIMELINE = os.environ.get("INGEST_PROFILE_TIMELINE")
SOURCE = os.environ.get("INGEST_PROFILE_SOURCE")   # another copy of the package (`ingest-before`)
if SOURCE:   # ahead of the editable install's finder, in the run's process and its workers alike
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__]
    sys.path.insert(0, SOURCE)
BEFORE = Path(os.environ.get("INGEST_BEFORE", "/work/data/ingest27/before"))   # `git archive 253dfd5 indexer`
AUDIO = {".mp3", ".wav", ".flac", ".m4a", ".ogg", ".opus"}


def _process_started() -> float:
    """This process's start, in time.time() seconds (from /proc)."""
    with open("/proc/stat") as f:
        boot = next(float(line.split()[1]) for line in f if line.startswith("btime"))
    with open(f"/proc/{os.getpid()}/stat") as f:
        ticks = float(f.read().rsplit(")", 1)[1].split()[19])
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _cpu() -> float:
    return time.process_time()


def record(stage: str, start: float, end: float, cpu: float) -> None:
    if not TIMELINE:
        return
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    line = json.dumps({"pid": os.getpid(), "stage": stage, "start": start, "end": end, "cpu": round(cpu, 3),
                       "peak_mb": peak})
    with open(TIMELINE, "a") as f:
        f.write(line + "\n")


def wrap(owner, attribute: str, stage: str) -> None:
    original = getattr(owner, attribute, None)
    if original is None:   # not in this version of the package
        return

    @functools.wraps(original)
    def timed(*args, **kwargs):
        start, cpu = time.time(), _cpu()
        try:
            return original(*args, **kwargs)
        finally:
            record(stage, start, time.time(), _cpu() - cpu)

    setattr(owner, attribute, timed)


def install() -> None:
    """Wrap the stages, in whichever process this runs (the run's, or a spawned worker's)."""
    started = time.time()
    record("start-up (interpreter)", _process_started(), started, _cpu())
    import faster_whisper

    import indexer.ingest.run as ingest_run
    import indexer.ingest.saving as saving
    import indexer.ingest.workers as workers
    import indexer.transcribe.outputs as outputs
    import indexer.transcribe.run as transcribe_run
    record("imports", started, time.time(), _cpu())
    wrap(faster_whisper.WhisperModel, "__init__", "load whisper")
    for module in (workers, outputs):
        wrap(module, "load_backend", "load speaker model")
        wrap(module, "add_speakers", "speakers")
    wrap(workers, "transcribe_file", "transcribe (one file)")
    wrap(workers, "_worker_init", "worker ready")
    wrap(workers, "worker_init", "worker ready")
    with contextlib.suppress(ImportError):
        import indexer.ingest.lanes as lanes

        wrap(lanes, "_transcribe_short", "transcribe (batch of files)")
    wrap(transcribe_run, "_transcribe_short", "transcribe (batch of files)")
    wrap(transcribe_run, "transcribe_file", "transcribe (one file)")
    wrap(outputs, "export", "save")
    wrap(ingest_run.Ingest, "survey", "survey")
    wrap(ingest_run, "check_models", "check models")
    wrap(ingest_run.Ingest, "_open_index", "open index")
    wrap(saving.EpisodeWriter, "finish_job", "save + index")
    wrap(ingest_run.Ingest, "_update_voices", "voice library")
    wrap(ingest_run.Ingest, "_embed", "embeddings")


if TIMELINE and __name__ in ("__main__", "__mp_main__"):
    install()


def child(config: str, folder: Path, work: Path) -> None:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO)
    started, cpu = time.time(), _cpu()
    if config == "transcribe":
        from indexer.speakers import SpeakerOptions
        from indexer.transcribe import TranscribeOptions, TranscriptWriter

        writer = TranscriptWriter(work / "out", ["json"], SpeakerOptions())
        for outcome in writer.write(files, TranscribeOptions()):
            if outcome.error:
                print(outcome.error.one_line(), file=sys.stderr)
    else:
        from indexer.ingest import Ingest, IngestOptions

        archive = work / "archive"
        for path in files:
            target = archive / "audio" / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, target)
        report = Ingest(archive, IngestOptions(progress=False)).run()
        for r in report.results:
            if r.status == "failed":
                print(r.error, file=sys.stderr)
    record("run", started, time.time(), _cpu() - cpu)


def run_config(config: str, folder: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        timeline = Path(tmp) / "timeline.jsonl"
        timeline.touch()
        env = {**os.environ, "INGEST_PROFILE_TIMELINE": str(timeline)}
        if config == "ingest-before":
            env["INGEST_PROFILE_SOURCE"] = str(BEFORE)
        if config == "plain":
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from speed import PLAIN_CODE

            files = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in AUDIO)
            command = [sys.executable, "-c", PLAIN_CODE, *files]
        else:
            command = [sys.executable, __file__, "--child", config.split("-")[0], str(folder), tmp]
        started = time.time()
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.time() - started
        if status:
            raise SystemExit(f"{config} failed ({status})")
        events = [json.loads(line) for line in timeline.read_text().splitlines()]
        kept = ROOT / "benchmarks" / "out" / "ingest-profile" / config   # the transcripts, to compare versions
        shutil.rmtree(kept, ignore_errors=True)
        for path in Path(tmp).glob("*/**/*.json"):
            if path.parent.name in ("transcripts", "out"):
                kept.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, kept / path.name)
    cpu = usage.ru_utime + usage.ru_stime
    for e in events:
        e["start"], e["end"] = round(e["start"] - started, 2), round(e["end"] - started, 2)
    peaks: dict[int, int] = {}
    for e in events:
        peaks[e["pid"]] = max(peaks.get(e["pid"], 0), e["peak_mb"])
    return {"config": config, "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
            "cores_used": round(cpu / wall / (os.cpu_count() or 1), 2), "processes": len(peaks) or 1,
            "peak_mb_summed": sum(peaks.values()) or round(usage.ru_maxrss / 1024), "events": events}


def markdown(report: dict) -> str:
    lines = [f"# Where ingest's time goes, beside transcribe ({report['date']})", "",
             f"{report['folder']}; {report['machine']}; load average at the start {report['load']}. "
             "Wall from outside the process; CPU of the process and its children; cores used = "
             "CPU / (wall × cores).", "",
             "Speed and CPU work vs plain: plain's seconds / this configuration's, in the same round "
             "(median over rounds; > 1: faster, less work).", "",
             "| round | config | wall s | CPU s | speed vs plain | CPU work vs plain | cores used | processes "
             "| peak MB summed over processes |", "|---|---|---|---|---|---|---|---|---|"]
    for run in report["runs"]:
        plain = next((r for r in report["runs"] if r["config"] == "plain" and r["round"] == run["round"]), None)
        speed = f"{plain['seconds'] / run['seconds']:.2f}×" if plain else "–"
        work = f"{plain['cpu_seconds'] / run['cpu_seconds']:.2f}×" if plain else "–"
        lines.append(f"| {run['round'] + 1} | {run['config']} | {run['seconds']} | {run['cpu_seconds']} | {speed} | "
                     f"{work} | {run['cores_used']} | {run['processes']} | {run['peak_mb_summed']} |")
    for run in report["runs"]:
        if run["round"] or not run["events"]:   # lanes of the first round only
            continue
        lines += ["", f"## {run['config']}: each process's stages (wall s from the run's start; CPU s of the "
                      "process during the stage)", "", "| process | stage | from | to | wall | CPU | peak MB so far |",
                  "|---|---|---|---|---|---|---|"]
        pids = sorted({e["pid"] for e in run["events"]},
                      key=lambda p: min(e["start"] for e in run["events"] if e["pid"] == p))
        for n, pid in enumerate(pids):
            for e in sorted((e for e in run["events"] if e["pid"] == pid), key=lambda e: e["start"]):
                lines.append(f"| {'main' if n == 0 else f'worker {n}'} | {e['stage']} | {e['start']:.1f} | "
                             f"{e['end']:.1f} | {e['end'] - e['start']:.1f} | {e['cpu']:.1f} | {e['peak_mb']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--configs", default="transcribe,ingest")
    parser.add_argument("--name", default="ingest-profile")
    parser.add_argument("--repeat", type=int, default=1, help="rounds, the configurations alternated")
    args = parser.parse_args()
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "folder": str(args.folder),
              "machine": f"{os.cpu_count()} cores", "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
              "runs": []}
    configs = args.configs.split(",")
    for k in range(args.repeat):
        for config in configs if k % 2 == 0 else configs[::-1]:
            print(f"round {k + 1}: {config} …", file=sys.stderr, flush=True)
            run = {**run_config(config, args.folder.resolve()), "round": k}
            print(f"  {run['seconds']} s, {run['cpu_seconds']} CPU s, cores used {run['cores_used']}",
                  file=sys.stderr, flush=True)
            report["runs"].append(run)
            RESULTS.mkdir(parents=True, exist_ok=True)   # after every run: a run cut short keeps what it did
            (RESULTS / f"{args.name}.json").write_text(json.dumps(report, indent=1) + "\n")
            (RESULTS / f"{args.name}.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
