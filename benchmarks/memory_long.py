"""Peak memory of `indexer transcribe` (defaults, speakers included) on one long file (issue 27: < 1.5 GB
for a 2-hour file), sampled as it goes.

    python benchmarks/memory_long.py --minutes 120                    # the whole file
    python benchmarks/memory_long.py --minutes 120 --stop-after 2400  # at most 40 minutes of run

The file is speed.py's `long` set at that length (degraded episodes joined). The
process's resident memory and its peak (VmRSS, VmHWM, every child included
at the end through wait4) are read from /proc every 2 seconds, with the seconds
of audio written so far read from the progress bar; `--stop-after` ends a run
that would not finish in time, and the report says how far it got (the speakers
stage, which runs after the transcription of a lone file, is then not reached).
Memory does not depend on the machine's load, only on the work done.

Results: benchmarks/results/<name>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402

ROOT, RESULTS, VENV = speed.ROOT, speed.RESULTS, speed.VENV


def _status(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {k: int(v.split()[0]) // 1024 for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(.*)$", text, re.M)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=120)
    parser.add_argument("--stop-after", type=float, default=0, help="end the run after this many seconds (0: never)")
    parser.add_argument("--name", default="speed-memory-2h")
    args = parser.parse_args()
    speed.LONG_MINUTES = args.minutes
    folder = speed.make_set("long")
    path = next(folder.glob("*.mp3"))
    from indexer import audio

    duration = audio.probe(path).duration
    samples, done = [], 0.0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile("w+") as err:
        cmd = [str(VENV / "indexer"), "transcribe", str(path), "--out", tmp, "--format", "json"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        stopped, code, usage = False, None, None
        while True:
            # wait4 without waiting: Popen.poll would reap the process and lose its rusage.
            pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(2)
            err.seek(0)
            bars = re.findall(r"(\d+)/\d+ s audio", err.read())
            done = float(bars[-1]) if bars else done
            status = _status(proc.pid)
            if status:
                samples.append({"t": round(time.perf_counter() - started, 1), "audio_s": done, **status})
            if args.stop_after and time.perf_counter() - started > args.stop_after and not stopped:
                proc.terminate()
                stopped = True
        proc.returncode = code   # reaped here
        wall = time.perf_counter() - started
    peak = max([s.get("VmHWM", 0) for s in samples] + [usage.ru_maxrss // 1024])
    report = {"date": time.strftime("%Y-%m-%d"), "file_seconds": round(duration, 1), "command": " ".join(cmd[1:2]),
              "finished": not stopped and code == 0, "stopped_after_s": round(wall, 1) if stopped else None,
              "audio_seconds_transcribed": done, "peak_mb": peak, "cpu_seconds": round(usage.ru_utime +
                                                                                       usage.ru_stime, 1),
              "load": " ".join(f"{x:.1f}" for x in os.getloadavg()), "samples": samples}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(report, indent=1) + "\n")
    state = ("finished" if report["finished"] else
             f"stopped after {wall:.0f} s of run, {done:.0f} s of {duration:.0f} s of audio transcribed "
             "(the speakers stage not reached)")
    lines = [f"# Peak memory of `indexer transcribe` on a {args.minutes}-minute file ({report['date']})", "",
             f"Defaults, speakers included; {state}. Peak resident memory {peak} MB "
             f"(goal < 1500 MB); {report['cpu_seconds']} CPU s.", "",
             "| run s | audio s done | resident MB | peak so far MB |", "|---|---|---|---|"]
    step = max(1, len(samples) // 20)
    lines += [f"| {s['t']:.0f} | {s['audio_s']:.0f} | {s.get('VmRSS', '–')} | {s.get('VmHWM', '–')} |"
              for s in samples[::step]]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
