"""Reproducibility: the same audio with the same options, do the words and times come out the same?

    python benchmarks/reproducibility.py                              # this tree's code
    python benchmarks/reproducibility.py --code /tmp/main --label before   # another checkout
    python benchmarks/reproducibility.py --engine openai-whisper --episodes metier-community-manager

Each configuration runs in its own process, on the code of ``--code`` (a
checkout of the project; its ``indexer`` is imported first), and transcribes
every file of the degraded sample: the sample archive made harder by
``degrade_sample.py`` (telephone band, babble at -15 dB, 24 kbit/s mp3) and
``noisy.py`` (café babble at 10 and 5 dB, where windows loop and the
temperature fallback samples):

* ``alone-1``, ``alone-2``, ``alone-3``: one file after the other, one loaded
  engine (as a worker does), three times in three processes: run to run;
* ``batch``: every file at once with ``transcribe_files`` (another split of the
  cores: windows side by side, one thread each);
* ``ingest-1w``, ``ingest-2w``: ``Ingest`` with 1 and 2 worker processes;
* ``dask``: ``Ingest`` on a local Dask cluster (one worker process, two task threads);
* ``windows-1``, ``windows-2``: the files of a condition joined into one long
  file cut in 60-second windows, decoded one after the other and two at once.

Reported: the word error rate of each run against the sample's reference
texts, its spread over the runs (max - min), and per configuration the files
whose words (or only times) differ from ``alone-1``. Results are merged by
``--label`` into benchmarks/results/reproducibility.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = ROOT / "archive"
OUT = ROOT / "benchmarks" / "out"
RESULTS = ROOT / "benchmarks" / "results"
CONFIGS = ("alone-1", "alone-2", "alone-3", "batch", "ingest-1w", "ingest-2w", "dask", "windows-1", "windows-2")
RUN_TO_RUN = ("alone-1", "alone-2", "alone-3")


# --- in the child: one configuration on one checkout's code -------------------------------------

def _cpu_seconds() -> float:
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def _words(transcript) -> list:
    return [[w.start, w.end, w.word] for w in transcript.words]


def _options(engine: str):
    from dataclasses import replace

    from indexer.archive import load_settings
    from indexer.ingest import options_from_settings

    return replace(options_from_settings(load_settings(ARCHIVE)), engine=engine)


def _ingest(files: list[dict], options, workers: int = 0, scheduler: str | None = None) -> dict:
    from indexer.ingest import Ingest, IngestOptions
    from indexer.speakers import SpeakerOptions
    from indexer.transcript import load_transcript

    with tempfile.TemporaryDirectory(prefix="repro-", dir=OUT) as tmp:
        root = Path(tmp)
        for f in files:
            target = root / "audio" / f["key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f["path"], target)
        Ingest(root, IngestOptions(workers=workers, scheduler=scheduler, progress=False, index=False,
                                   transcribe=options, speakers=SpeakerOptions(mode="off"))).run()
        found = {}
        for f in files:
            episode_id = str(Path(f["key"]).with_suffix(""))
            path = root / "transcripts" / f"{episode_id}.json"
            found[f["key"]] = {"words": _words(load_transcript(path))} if path.is_file() else {"error": "failed"}
        return found


def _long_file(files: list[dict], directory: Path) -> Path:
    """The files joined into one (16 kHz wav: no second lossy encoding)."""
    import numpy as np

    from indexer import audio

    path = directory / "long.wav"
    pcm = (np.concatenate([audio.decode(Path(f["path"])) for f in files]) * 32767).astype("<i2").tobytes()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "-",
                    str(path)], input=pcm, check=True)
    return path


def run_child(config: str, engine: str, files: list[dict]) -> dict:
    from dataclasses import replace

    import indexer
    from indexer.transcribe import load_engine, transcribe_file, transcribe_files

    options = _options(engine)
    started, cpu0 = time.perf_counter(), _cpu_seconds()
    found: dict = {}
    if config.startswith("alone"):
        loaded = load_engine(options)
        for f in files:
            found[f["key"]] = {"words": _words(transcribe_file(f["path"], options, loaded))}
    elif config == "batch":
        for path, result in transcribe_files([f["path"] for f in files], options):
            key = next(f["key"] for f in files if f["path"] == str(path))
            found[key] = {"words": _words(result)} if hasattr(result, "words") else {"error": str(result)}
    elif config.startswith("ingest"):
        found = _ingest(files, options, workers=int(config.split("-")[1][0]))
    elif config == "dask":
        import distributed

        with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                      dashboard_address=None) as cluster:
            found = _ingest(files, options, scheduler=cluster.scheduler_address)
    elif config.startswith("windows"):
        by_condition: dict[str, list[dict]] = {}
        for f in files:
            by_condition.setdefault(f["condition"], []).append(f)
        windowed = replace(options, window_seconds=60.0, parallel=int(config[-1]), cpu_threads=1)
        loaded = load_engine(windowed)
        with tempfile.TemporaryDirectory(prefix="repro-", dir=OUT) as tmp:
            for condition, group in by_condition.items():
                path = _long_file(group, Path(tmp))
                found[f"{condition}/long"] = {"words": _words(transcribe_file(path, windowed, loaded))}
    else:
        raise SystemExit(f"unknown configuration {config!r}; valid: {', '.join(CONFIGS)}")
    return {"config": config, "indexer": str(Path(indexer.__file__).parent), "files": found,
            "seconds": round(time.perf_counter() - started, 1), "cpu_seconds": round(_cpu_seconds() - cpu0, 1)}


# --- in the parent -------------------------------------------------------------------------------

def sample_files(conditions: list[str], episodes: list[str] | None) -> list[dict]:
    """The degraded sample, made on first use under benchmarks/out/ (seeded: the same files every time)."""
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    from noisy import make_noisy
    from transcribe import episodes as sample_episodes

    files = []
    if "degraded" in conditions:
        degraded = OUT / "degraded"
        if not (degraded / "audio").is_dir():
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "degrade_sample.py"), str(ARCHIVE),
                            str(degraded)], check=True)
        for path in sorted((degraded / "audio").rglob("*.mp3")):
            episode_id = str(path.relative_to(degraded / "audio").with_suffix(""))
            files.append({"condition": "degraded", "episode": episode_id, "path": str(path)})
    noisy = [c for c in conditions if c.endswith("db")]
    if noisy:
        made = make_noisy(sample_episodes())
        files += [{"condition": c, "episode": e, "path": str(p)} for c in noisy for e, p in made[c]]
    files = [f for f in files if not episodes or f["episode"] in episodes]
    for f in files:
        f["key"] = f"{f['condition']}/{f['episode']}{Path(f['path']).suffix}"
    return files


def in_child(config: str, engine: str, files: list[dict], code: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run([sys.executable, __file__, "--child", config, "--engine", engine, json.dumps(files)],
                         capture_output=True, text=True, cwd=code, env=env)
    if out.returncode != 0:
        raise SystemExit(f"{config} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(result["indexer"]).resolve().is_relative_to(code.resolve()):
        raise SystemExit(f"{config} imported indexer from {result['indexer']}, not from {code}")
    return result


def _wer(files: list[dict], found: dict) -> float | None:
    import jiwer

    sys.path[:0] = [str(ROOT / "benchmarks")]
    from transcribe import normalise

    errors = words = 0
    for f in files:
        reference = ARCHIVE / "reference" / f"{f['episode']}.txt"
        if f["key"] not in found or "words" not in found[f["key"]] or not reference.is_file():
            continue
        ref = normalise(reference.read_text(encoding="utf-8"))
        hypothesis = normalise("".join(w[2] for w in found[f["key"]]["words"]))
        errors += jiwer.wer(ref, hypothesis) * len(ref.split())
        words += len(ref.split())
    return round(errors / words, 4) if words else None


def _differences(base: dict, other: dict) -> dict:
    """Files whose words differ, and files with the same words at other times."""
    words = times = 0
    for key, result in other.items():
        a, b = base.get(key, {}).get("words"), result.get("words")
        if a is None or b is None:
            continue
        if [w[2] for w in a] != [w[2] for w in b]:
            words += 1
        elif a != b:
            times += 1
    return {"files_with_other_words": words, "files_with_other_times": times}


def _child_result(label: str, code: Path, engine: str, config: str, files: list[dict], resume: bool) -> dict:
    """One configuration's run, kept under benchmarks/out/ as soon as it ends: a long measurement
    stopped half-way keeps what it did, and ``--resume`` runs only what is missing (same files)."""
    kept = OUT / "reproducibility" / f"{label}-{engine}" / f"{config}.json"
    keys = sorted(f["key"] for f in files)
    if resume and kept.is_file():
        result = json.loads(kept.read_text())
        if sorted(result["files"]) == keys:
            print(f"[{label}] {engine} {config}: kept from {kept}", file=sys.stderr, flush=True)
            return result
    print(f"[{label}] {engine} {config} …", file=sys.stderr, flush=True)
    result = in_child(config, engine, files, code)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps(result, ensure_ascii=False))
    return result


def measure(label: str, code: Path, engine: str, configs: list[str], files: list[dict],
            resume: bool = False) -> dict:
    runs = {config: _child_result(label, code, engine, config, files, resume) for config in configs}
    rows = []
    for config, run in runs.items():
        base_name = "windows-1" if config.startswith("windows") else "alone-1"
        base = runs.get(base_name)
        row = {"config": config, "wer": _wer(files, run["files"]), "files": len(run["files"]),
               "cpu_seconds": run["cpu_seconds"], "compared_with": base_name if base else None,
               "failed": sum("error" in r for r in run["files"].values())}
        if base and config != base_name:
            row.update(_differences(base["files"], run["files"]))
        rows.append(row)
    wers = [r["wer"] for r in rows if r["config"] in RUN_TO_RUN and r["wer"] is not None]
    every = [r["wer"] for r in rows if not r["config"].startswith("windows") and r["wer"] is not None]
    return {"label": label, "code": str(code), "engine": engine, "files": [f["key"] for f in files],
            "rows": rows,
            "run_to_run_wer_spread": round(max(wers) - min(wers), 4) if len(wers) > 1 else None,
            "all_configs_wer_spread": round(max(every) - min(every), 4) if len(every) > 1 else None,
            "words": {config: run["files"] for config, run in runs.items()}}


def markdown(report: dict) -> str:
    lines = ["# Reproducibility: the same audio, the same options, the same words?", "",
             f"Machine: {report['machine']}. Each configuration in its own process; files: the degraded "
             "sample (degrade_sample.py, noisy.py at 10 and 5 dB). `other words`: files whose words "
             "differ from the configuration compared with (`alone-1`, or `windows-1` for the long files); "
             "`other times`: same words, other times.", ""]
    for key in sorted(report["runs"]):
        run = report["runs"][key]
        conditions = sorted({name.split("/")[0] for name in run["files"]})
        lines += [f"## {run['label']} — {run['engine']} ({len(run['files'])} files: {', '.join(conditions)})", "",
                  f"Run-to-run WER spread (alone-1..3): **{run['run_to_run_wer_spread']}**; over every "
                  f"configuration but the long files: **{run['all_configs_wer_spread']}**.", "",
                  "| configuration | WER | other words | other times | CPU s |", "|---|---|---|---|---|"]
        for r in run["rows"]:
            lines.append(f"| {r['config']} | {r['wer']} | {r.get('files_with_other_words', '–')} | "
                         f"{r.get('files_with_other_times', '–')} | {r['cpu_seconds']} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child")
    parser.add_argument("--engine", default="faster-whisper")
    parser.add_argument("--code", type=Path, default=ROOT, help="a checkout of the project whose code runs")
    parser.add_argument("--label", default="after")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--conditions", default="degraded,10db,5db")
    parser.add_argument("--episodes", default="", help="episode ids, comma-separated (default: all)")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the configurations this label already ran on the same files")
    parser.add_argument("spec", nargs="?")
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, os.environ.get("PYTHONPATH", str(ROOT)))
        print(json.dumps(run_child(args.child, args.engine, json.loads(args.spec))))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    files = sample_files(args.conditions.split(","), [e for e in args.episodes.split(",") if e])
    result = measure(args.label, args.code, args.engine, args.configs.split(","), files, args.resume)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "reproducibility.json"
    report = json.loads(path.read_text()) if path.is_file() else {"runs": {}}
    report["machine"] = f"{os.cpu_count()} cores, {os.uname().machine}"
    report["runs"][f"{args.label}/{args.engine}"] = result
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    (RESULTS / "reproducibility.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
