"""The first ``archive.player()`` of a notebook kernel: its time, whether it imports jupyter_server, its size.

    python benchmarks/player.py ARCHIVE EPISODE [--before PATH_OF_AN_OLDER_indexer_TREE] [--runs 5]

Each run is a fresh process set up as a kernel is (IPython and ipykernel
already imported, the archive open), that times one call of
``archive.player(EPISODE)`` and its HTML (``_repr_html_``): wall and CPU
seconds, whether ``jupyter_server`` was imported, the output's size. Two
cases: the archive under a running Jupyter server's root (the audio is
linked: a server's runtime file is written for the run, naming this
process), and outside it (a clip is inlined). With ``--before``, the same runs
alternate with a process that imports the package from that tree (say, a
``git archive`` of main): ratios are taken run by run. Results go to
``benchmarks/results/player.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

CHILD = r"""
import json, os, resource, sys, time
import IPython, ipykernel.kernelapp  # a kernel has these already
root, episode, served, runtime = sys.argv[1:5]
if served == "1":  # a Jupyter server whose root holds the archive (this process stands for its pid)
    os.makedirs(runtime, exist_ok=True)
    with open(os.path.join(runtime, "jpserver-%d.json" % os.getpid()), "w") as f:
        json.dump({"pid": os.getpid(), "root_dir": os.path.dirname(os.path.abspath(root)), "url": "http://x/"}, f)
os.environ["JUPYTER_RUNTIME_DIR"] = runtime
os.chdir(os.path.dirname(os.path.abspath(root)))
from indexer import Archive
archive = Archive(root)
cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
html = archive.player(episode)._repr_html_()
wall, cpu1 = time.perf_counter() - wall0, resource.getrusage(resource.RUSAGE_SELF)
cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": cpu, "ffmpeg_cpu": children.ru_utime + children.ru_stime,
                  "jupyter_server": "jupyter_server.serverapp" in sys.modules, "bytes": len(html.encode()),
                  "data_urls": html.count("data:audio/"), "indexer": __import__("indexer").__file__}))
"""


def one_run(python: str, tree: Path | None, root: Path, episode: str, served: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree else {k: v for k, v in os.environ.items()
                                                                if k != "PYTHONPATH"}
    with tempfile.TemporaryDirectory() as runtime:
        out = subprocess.run([python, "-c", CHILD, str(root), episode, "1" if served else "0", runtime],
                             env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path)
    parser.add_argument("episode")
    parser.add_argument("--before", type=Path, help="a tree holding an older indexer/ package")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    trees = {"after": None, **({"before": args.before} if args.before else {})}
    results: dict = {}
    for served in (True, False):
        case = "served" if served else "inlined"
        for n in range(args.runs):
            for label, tree in trees.items():
                run = one_run(sys.executable, tree, args.archive.resolve(), args.episode, served)
                results.setdefault(case, {}).setdefault(label, []).append(run)
                print(case, label, n, json.dumps(run), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "player.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = ["# The first archive.player() in a kernel (median of runs; ratios run by run)", "",
             f"Episode `{args.episode}`, {args.runs} runs per case and code, alternated.", "",
             "| case | code | wall s | CPU s (+ ffmpeg) | imports jupyter_server | output | inlined clips |",
             "|---|---|---|---|---|---|---|"]
    for case, by_label in results.items():
        for label, runs in by_label.items():
            med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "ffmpeg_cpu", "bytes")}
            lines.append(f"| {case} | {label} | {med['wall']:.3f} | {med['cpu']:.3f} (+{med['ffmpeg_cpu']:.3f}) | "
                         f"{all(r['jupyter_server'] for r in runs)} | {med['bytes'] / 1e6:.2f} MB | "
                         f"{runs[0]['data_urls']} |")
        if "before" in by_label:
            ratios = [b["wall"] / a["wall"] for a, b in zip(by_label["after"], by_label["before"])]
            cpu = [(b["cpu"] + b["ffmpeg_cpu"]) / (a["cpu"] + a["ffmpeg_cpu"])
                   for a, b in zip(by_label["after"], by_label["before"])]
            lines.append(f"| {case} | before / after | {statistics.median(ratios):.1f}× | "
                         f"{statistics.median(cpu):.1f}× | | | |")
    (RESULTS / "player.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
