"""Peak memory of `indexer transcribe` (defaults, speakers included) on one long file or a folder
(issue 27: < 1.5 GB for a 2-hour file), sampled as it goes, summed over the process tree.

    python benchmarks/memory_long.py --minutes 120                    # the whole 2-hour file
    python benchmarks/memory_long.py --minutes 120 --stop-after 2400  # at most 40 minutes of run
    python benchmarks/memory_long.py --set june --code /tmp/base,.    # a folder, two trees side by side

The long file is speed.py's `long` set at that length (degraded episodes joined);
`--set june` (or any speed.py set) measures a folder of files in one run instead.
Every second the resident memory of the run and of every process under it
(ffmpeg decoders, workers) is read from /proc and summed: what the machine
pays. ``peak_mb`` is the highest sum of VmRSS seen (shared library pages
counted once per process: an upper bound), ``peak_pss_mb`` the same in PSS
(shared pages split between processes), ``hwm_mb`` the main process's own
peak (VmHWM: between samples too); the peaks before and after the speaker
network was loaded (PyTorch's library mapped: the speakers stage) are given
apart. The seconds of audio done are read from the progress bar;
`--stop-after` ends a run that would not finish in time, and the report says
how far it got. Memory does not depend on the machine's
load, only on the work done. `--code A,B`: run the indexer of each source tree
in turn (PYTHONPATH), e.g. main's checked out elsewhere and this one, with
CPU seconds side by side; `--keep DIR` keeps each run's transcripts
(DIR/<run>/) to diff them.

Results: benchmarks/results/<name>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402

ROOT, RESULTS, VENV = speed.ROOT, speed.RESULTS, speed.VENV


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in MB (MiB), and its PSS from smaps_rollup; {} once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    found = {k: int(v) // 1024 for k, v in re.findall(r"^(VmRSS|VmHWM|Pss):\s+(\d+)", text + rollup, re.M)}
    return found if "VmRSS" in found else {}   # a zombie has no memory lines


def tree(root: int) -> list[int]:
    """``root`` and every process under it (parents read from /proc/*/stat)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parent.items() if ppid in frontier]
        found += frontier
    return found


def _torch_loaded(pid: int) -> bool:
    """Whether PyTorch's library is mapped in ``pid``: the speaker network is loaded (only torch's user
    in `indexer transcribe`, loaded when the speakers stage starts). Since CAM++ runs on ONNX Runtime
    (3697b43) the speakers stage loads no torch and this stays False: the split is for older trees."""
    try:
        return "libtorch_cpu" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def tree_memory(root: int) -> dict:
    """The sum over ``root``'s tree of VmRSS and PSS (MB), its process count, ``root``'s VmHWM,
    and whether the speaker network is loaded in ``root``."""
    statuses = {pid: _status(pid) for pid in tree(root)}
    statuses = {pid: s for pid, s in statuses.items() if s}
    return {"rss": sum(s["VmRSS"] for s in statuses.values()), "pss": sum(s.get("Pss", 0) for s in statuses.values()),
            "processes": len(statuses), "hwm": statuses.get(root, {}).get("VmHWM", 0),
            "speakers": _torch_loaded(root)}


def measure(cmd: list[str], code: Path, stop_after: float = 0, every: float = 1.0, on_sample=None) -> dict:
    """Run ``cmd`` with the indexer of ``code``; its samples, peaks, CPU and wall seconds.
    ``on_sample(samples)``: called about once a minute, while it runs (a partial report)."""
    samples, done = [], 0.0
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(code)})
        stopped = False
        while True:
            # wait4 without waiting: Popen.poll would reap the process and lose its rusage.
            pid, code_, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            memory = tree_memory(proc.pid)
            err.seek(0)
            bars = re.findall(r"(\d+)/\d+ s audio", err.read())
            done = float(bars[-1]) if bars else done
            if memory["rss"]:
                samples.append({"t": round(time.perf_counter() - started, 1), "audio_s": done, **memory})
            if on_sample and len(samples) % 60 == 1:
                on_sample(samples)
            if stop_after and time.perf_counter() - started > stop_after and not stopped:
                proc.terminate()
                stopped = True
            time.sleep(every)
        proc.returncode = code_   # reaped here
        err.seek(0)
        errors = err.read()
    wall = time.perf_counter() - started
    if code_ != 0 and not stopped:
        raise RuntimeError(f"{cmd[:2]} failed ({code_}):\n{errors[-2000:]}")
    return {"finished": not stopped, "wall_s": round(wall, 1), "audio_seconds_done": done,
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mb": max([s["rss"] for s in samples], default=0),
            "peak_pss_mb": max([s["pss"] for s in samples], default=0),
            "hwm_mb": max([s["hwm"] for s in samples] + [usage.ru_maxrss // 1024]),
            "max_processes": max([s["processes"] for s in samples], default=0), **_stages(samples),
            "samples": samples}


def _stages(samples: list[dict]) -> dict:
    """Peaks (sum of RSS) before and after the speaker network was loaded, and when it was."""
    before = [s for s in samples if not s.get("speakers")]
    after = [s for s in samples if s.get("speakers")]
    return {"peak_mb_before_speakers": max([s["rss"] for s in before], default=0),
            "peak_mb_with_speakers": max([s["rss"] for s in after], default=0),
            "speakers_from_s": after[0]["t"] if after else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=120, help="length of the `long` set")
    parser.add_argument("--set", default="long", help="a speed.py set: long (one file), june, mixed…")
    parser.add_argument("--code", default=str(ROOT), help="source trees to run, comma-separated (default: this one)")
    parser.add_argument("--stop-after", type=float, default=0, help="end a run after this many seconds (0: never)")
    parser.add_argument("--keep", type=Path, help="keep each run's transcripts in DIR/<run number>/")
    parser.add_argument("--name", default=None, help="results name [default: speed-memory-2h, or memory-<set>]")
    args = parser.parse_args()
    speed.LONG_MINUTES = args.minutes
    folder = speed.make_set(args.set)
    files = [path for _, path in speed._episode_files(folder)]
    name = args.name or ("speed-memory-2h" if args.set == "long" and args.minutes == 120 else f"memory-{args.set}")
    from indexer import audio

    duration = sum(audio.probe(path).duration for path in files)
    runs: list[dict] = []
    report = {"date": time.strftime("%Y-%m-%d"), "set": args.set, "files": len(files),
              "audio_seconds": round(duration, 1), "command": "indexer transcribe FILES --format json"}
    for k, code in enumerate(Path(c).resolve() for c in args.code.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [str(VENV / "indexer"), "transcribe", *map(str, files), "--out", tmp, "--format", "json"]
            print(f"{code}: {len(files)} file(s), {duration:.0f} s of audio …", file=sys.stderr, flush=True)
            head = {"code": str(code), "commit": speed.commit_of(code)}

            def partial(samples):
                write(name, {**report, "runs": runs + [{**head, **_partial(samples)}]})

            run = {**head, **measure(cmd, code, args.stop_after, on_sample=partial)}
            if args.keep:
                shutil.copytree(tmp, args.keep / str(k), dirs_exist_ok=True)
        print(f"  peak {run['peak_mb']} MB (PSS {run['peak_pss_mb']}), {run['cpu_seconds']} CPU s, "
              f"{run['wall_s']} s", file=sys.stderr, flush=True)
        runs.append(run)
    print("\n".join(write(name, {**report, "load": " ".join(f"{x:.1f}" for x in os.getloadavg()), "runs": runs})))


def write(name: str, report: dict) -> list[str]:
    """The report as RESULTS/<name>.{json,md} (``name`` may be a path); its markdown lines."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = markdown(report)
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    return lines


def _partial(samples: list[dict]) -> dict:
    """A run still going, as far as it got."""
    return {"finished": False, "wall_s": samples[-1]["t"], "audio_seconds_done": samples[-1]["audio_s"],
            "cpu_seconds": "–", "peak_mb": max(s["rss"] for s in samples),
            "peak_pss_mb": max(s["pss"] for s in samples), "hwm_mb": max(s["hwm"] for s in samples),
            "max_processes": max(s["processes"] for s in samples), **_stages(samples), "samples": list(samples)}


def markdown(report: dict) -> list[str]:
    what = (f"one {report['audio_seconds'] / 60:.0f}-minute file" if report["files"] == 1
            else f"{report['files']} files, {report['audio_seconds']:.0f} s")
    lines = [f"# Peak memory of `indexer transcribe`, set `{report['set']}`: {what} ({report['date']})", "",
             "Defaults, speakers included; memory summed over the process tree, sampled every second "
             "(benchmarks/memory_long.py).", "",
             "| code | finished | peak MB (sum of RSS) | peak MB (sum of PSS) | main process HWM MB "
             "| peak MB before / with the speaker network (loaded at run s) | CPU s | wall s |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['commit']} | {'yes' if r['finished'] else 'no, ' + str(r['audio_seconds_done']) + ' s done'} | "
              f"{r['peak_mb']} | {r['peak_pss_mb']} | {r['hwm_mb']} | {r.get('peak_mb_before_speakers', '–')} / "
              f"{r.get('peak_mb_with_speakers', '–')} ({r.get('speakers_from_s')}) | {r['cpu_seconds']} | {r['wall_s']} |"
              for r in report["runs"]]
    for r in report["runs"]:
        samples = r["samples"]
        step = max(1, len(samples) // 20)
        lines += ["", f"{r['commit']} over time:", "",
                  "| run s | audio s done | processes | RSS MB (sum) | PSS MB | speaker network loaded |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {s['t']:.0f} | {s['audio_s']:.0f} | {s['processes']} | {s['rss']} | {s['pss']} | "
                  f"{'yes' if s.get('speakers') else 'no'} |" for s in samples[::step]]
    return lines


if __name__ == "__main__":
    main()
