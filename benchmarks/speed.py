"""Issue 27's yardstick: whole `indexer` runs against plain sequential faster-whisper, side by side.

    python benchmarks/speed.py                                   # every set, plain vs indexer, 2 rounds
    python benchmarks/speed.py --sets clean,10db --configs plain,indexer,indexer-sequential --repeat 3
    python benchmarks/speed.py --sets long --configs plain,indexer --repeat 1

`plain` is what the issue measured: faster-whisper's ``WhisperModel`` (base,
int8, its default threads), the files one after the other in one process,
greedy (``beam_size=1``), ``vad_filter=True``, ``word_timestamps=True``, the
library's other defaults. `indexer` is the command a user types,
``indexer transcribe FILES --out DIR`` (default settings: automatic speakers
included), `ingest` is ``indexer ingest`` of an archive holding the same
files. Every configuration is a whole process, start-up and model loading
included, timed from outside: wall seconds, CPU seconds (user + system of the
process and its children: what the work costs on a shared machine) and peak
memory (``wait4``). Rounds alternate the configurations; the report gives the
median of each ratio to plain measured in the same round.

Sets (benchmarks/out/, made on first use):
  clean     the sample archive (4 synthetic episodes, 385 s, each under one window)
  degraded  the same through telephone band, 24 kbit/s mp3 and babble 15 dB below (degrade_sample.py)
  10db, 5db the same under a crowd of the other voices (noisy.py)
  mixed     clean + degraded + 10db in one folder (12 files)
  long      one hour: the degraded episodes joined in rotating order (--long-minutes N: N minutes instead,
            in benchmarks/out/speed/longN; e.g. 120 for the 2-hour memory goal)
  june      real human French (Debian's asterisk-core-sounds-fr, voice « June »), prompts joined into
            2-minute files; no reference text: agreement with plain is reported instead
  realfr, realfr-10db, realfr-5db
            real human French with its reference text: June's prompts whose script is known (7 files,
            860 s, 1,762 words), clean and under babble of six other real voices at 10 and 5 dB (realfr.py)
  longreal  one hour of real people: the realfr, tuxfr and realfr files again joined, with their texts
  tuxfr, tuxfr-10db, tuxfr-5db
            other real people: Tux Paint's French stamp descriptions with their text (16 files, about
            2,000 s), clean and under babble of June, Armelle and KTuberling's voices (realfr.py);
            tuxtight: the same recordings without pauses (continuous clean speech)

Configs: plain, indexer (defaults: the `auto` noise choice), indexer-noisy (``--preset accurate``:
what `noisy: true` asks for), ingest, and the variants indexer-no-speakers, indexer-sequential,
indexer-fast, indexer-greedy, indexer-greedy-no-speakers, indexer-cr3-no-speakers (a window falls back
only above a compression ratio of 3.0), indexer-bestof2-no-speakers (2 samples a temperature); any of
them with `@base` runs the tree given by --base-code instead of this one (a change and the code before
it, side by side). The report lists, per file, the noise estimate and the preset each configuration chose.

Results: benchmarks/results/speed*.{json,md}, rewritten after every run (a run cut short keeps
the rows it finished).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sample import ARCHIVE, ROOT, normalise, reference_text, wer  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
RESULTS = ROOT / "benchmarks" / "results"
VENV = Path(sys.executable).parent
AUDIO = {".mp3", ".wav", ".ogg", ".m4a", ".flac"}

PLAIN_CODE = """
import json, sys
from faster_whisper import WhisperModel
from indexer.models import resolve_model
model = WhisperModel(str(resolve_model("base").path), device="cpu", compute_type="int8")
out = {}
for path in sys.argv[1:]:
    segments, info = model.transcribe(path, language="fr", beam_size=1, vad_filter=True, word_timestamps=True)
    out[path] = " ".join(s.text.strip() for s in segments)
print(json.dumps(out))
"""

# A variant of `indexer transcribe` with changed TranscribeOptions fields (same code path as the CLI).
VARIANT_CODE = """
import json, sys
from dataclasses import replace
from pathlib import Path
from indexer.speakers import SpeakerOptions
from indexer.transcribe import TranscribeOptions, TranscriptWriter
changes, speakers, out_dir = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
writer = TranscriptWriter(out_dir, ["json"], SpeakerOptions(mode=speakers))
for outcome in writer.write(sys.argv[4:], replace(TranscribeOptions(), **changes)):
    if outcome.error:
        print(outcome.error.one_line(), file=sys.stderr)
"""

# name: how it runs ("plain", "cli", or a variant's option changes and speaker mode)
CONFIGS: dict[str, tuple] = {
    "plain": ("plain",),
    "indexer": ("cli",),                                   # defaults, speakers included
    "indexer-noisy": ("cli", "--preset", "accurate"),      # what `noisy: true` asks for
    "indexer-no-speakers": ("variant", {}, "off"),
    "indexer-sequential": ("variant", {"batched": False}, "auto"),   # before: one window per core
    "indexer-fast": ("variant", {"preset": "fast", "noise_preset": ""}, "auto"),   # no automatic noise choice
    "indexer-greedy": ("variant", {"beam_size": 1}, "auto"),   # the clean decoding before beam 2
    "indexer-greedy-no-speakers": ("variant", {"beam_size": 1}, "off"),
    # The temperature fallback made cheaper (tried, not kept: benchmarks/results/speed-fallback-cost.json)
    "indexer-cr3-no-speakers": ("variant", {"compression_ratio_threshold": 3.0}, "off"),
    "indexer-bestof2-no-speakers": ("variant", {"best_of": 2}, "off"),
    "ingest": ("ingest",),
}


# --- the sets ------------------------------------------------------------------

def _episode_files(folder: Path) -> list[tuple[str, Path]]:
    return sorted((str(p.relative_to(folder).with_suffix("")), p) for p in folder.rglob("*")
                  if p.suffix.lower() in AUDIO)


def _concat(parts: list[Path], target: Path, gap: float = 0.0) -> None:
    """Join audio files into one mp3 (48 kbit/s), ``gap`` seconds of silence between them."""
    import numpy as np

    from indexer import audio

    pieces = []
    silence = np.zeros(int(gap * audio.SAMPLE_RATE), np.float32)
    for p in parts:
        pieces += [audio.decode(p), silence]
    pcm = (np.clip(np.concatenate(pieces), -1, 1) * 32767).astype("<i2").tobytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "-",
                    "-b:a", "48k", str(target)], input=pcm, check=True)


def _june(folder: Path) -> None:
    """Real human French: the « June » prompts of asterisk-core-sounds-fr-wav (Debian, main), joined."""
    source = OUT / "deb" / "usr" / "share" / "asterisk" / "sounds" / "fr_CA_f_June"
    if not source.is_dir():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", "asterisk-core-sounds-fr-wav"], cwd=tmp, check=True,
                           capture_output=True)
            deb = next(Path(tmp).glob("*.deb"))
            subprocess.run(["dpkg", "-x", str(deb), str(OUT / "deb")], check=True)
    prompts = sorted(p for p in source.glob("*.wav") if p.stat().st_size > 60_000)   # whole sentences
    from indexer import audio

    batch, seconds, n = [], 0.0, 0
    for p in prompts:
        batch.append(p)
        seconds += audio.probe(p).duration + 0.6
        if seconds >= 120:
            _concat(batch, folder / f"june-{n}.mp3", gap=0.6)
            batch, seconds, n = [], 0.0, n + 1
            if n == 4:
                break


LONG_MINUTES = 60   # the `long` set's length (--long-minutes)


def make_set(name: str) -> Path:
    folder = OUT / "speed" / (name if name != "long" or LONG_MINUTES == 60 else f"long{LONG_MINUTES}")
    if folder.is_dir() and any(folder.rglob("*.*")):
        return folder
    if name == "clean":
        return ARCHIVE / "audio"
    if name == "degraded":
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "degrade_sample.py"), str(ARCHIVE),
                        str(OUT / "degraded")], check=True)
        return OUT / "degraded" / "audio"
    if name in ("10db", "5db"):
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "noisy.py")], check=True)
        return OUT / "noisy" / name
    if name == "mixed":
        for part in ("clean", "degraded", "10db"):
            for rel, path in _episode_files(make_set(part)):
                target = folder / f"{part}--{rel.replace('/', '--')}{path.suffix}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        return folder
    if name == "long":
        files = _episode_files(make_set("degraded"))
        parts, seconds = [], 0.0
        from indexer import audio

        while seconds < LONG_MINUTES * 60:
            rel, path = files[len(parts) % len(files)]
            parts.append(path)
            seconds += audio.probe(path).duration
        _concat(parts, folder / "long.mp3")
        (folder / "long.json").write_text(json.dumps([rel for rel, _ in
                                                      (files[i % len(files)] for i in range(len(parts)))]))
        return folder
    if name == "june":
        _june(folder)
        return folder
    if name == "longreal":
        # One hour of real people: the realfr, tuxfr and realfr files again (clean) joined, 0.8 s apart
        # (60.2 minutes), with their reference texts joined beside it (references() reads it).
        parts = [path for set_name in ("realfr", "tuxfr", "realfr") for _, path in _episode_files(make_set(set_name))]
        _concat(parts, folder / "longreal.mp3", gap=0.8)
        (folder / "longreal.txt").write_text(" ".join(p.with_suffix(".txt").read_text(encoding="utf-8").strip()
                                                      for p in parts) + "\n", encoding="utf-8")
        return folder
    if name.split("-")[0] in ("realfr", "tuxfr", "tuxtight"):
        from realfr import make

        return make(OUT / "speed", corpus=name.split("-")[0])[name]
    raise SystemExit(f"unknown set {name!r}")


def references(name: str, folder: Path) -> dict[str, str | None]:
    """Normalised reference text per file stem (None: none known)."""
    refs = {}
    for rel, path in _episode_files(folder):
        if path.with_suffix(".txt").is_file():   # a reference beside the audio (realfr.py)
            refs[rel] = normalise(path.with_suffix(".txt").read_text(encoding="utf-8"))
        elif name == "long":
            order = json.loads((folder / "long.json").read_text())
            refs[rel] = " ".join(reference_text(e) or "" for e in order)
        elif name == "mixed":
            refs[rel] = reference_text(rel.split("--", 1)[1].replace("--", "/"))
        else:
            refs[rel] = reference_text(rel)
    return refs


# --- one run -------------------------------------------------------------------

def _timed(cmd: list[str], **kwargs) -> tuple[str, dict]:
    """Run ``cmd``; its stdout, and wall, CPU (self + children) and peak memory."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, **kwargs)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if status != 0:
        raise RuntimeError(f"{cmd[:3]} failed ({status}):\n{errors[-2000:]}")
    return text, {"seconds": round(wall, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
                  "peak_mb": round(usage.ru_maxrss / 1024)}


BASE_CODE: Path | None = None   # --base-code: the tree that `<config>@base` runs (e.g. main before a change)


def commit_of(code: Path) -> str:
    """The short commit of the source tree ``code``; outside git (a copy of a tree), its folder name."""
    found = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return found.stdout.strip() or code.name


def cpu_model() -> str:
    """The CPU's model name (speed against plain depends on it: docs/benchmarks.md, tenth round)."""
    cpuinfo = Path("/proc/cpuinfo")
    for line in cpuinfo.read_text().splitlines() if cpuinfo.exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "an unknown CPU"


def run_config(config: str, name: str, folder: Path) -> dict:
    files = _episode_files(folder)
    kind = CONFIGS[config.removesuffix("@base")]
    texts: dict[str, str] = {}
    code = BASE_CODE if config.endswith("@base") else ROOT
    if code is None:
        raise SystemExit(f"{config}: give the base tree with --base-code DIR")
    env = {**os.environ, "PYTHONPATH": str(code)}
    if code != ROOT:   # `python -c` puts the working folder (this tree) first on sys.path, before PYTHONPATH
        env["PYTHONSAFEPATH"] = "1"
    # Other jobs' load before each run: wall ratios mean something only on a quiet machine (under a load of
    # 8-12, `indexer`'s CPU seconds on realfr rose by 40 % and plain's did not: speed-final27 vs speed-quiet).
    load_before = round(os.getloadavg()[0], 1)
    with tempfile.TemporaryDirectory() as tmp:
        if kind[0] == "plain":
            out, usage = _timed([sys.executable, "-c", PLAIN_CODE, *[str(p) for _, p in files]], env=env)
            by_path = json.loads(out.strip().splitlines()[-1])
            texts = {rel: by_path[str(p)] for rel, p in files}
        elif kind[0] == "ingest":
            archive = Path(tmp) / "archive"
            for rel, path in files:
                target = archive / "audio" / (rel + path.suffix)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(path, target)
            _, usage = _timed([str(VENV / "indexer"), "ingest", "--archive", str(archive)], env=env)
            for rel, _ in files:
                data = json.loads((archive / "transcripts" / f"{_episode_id(rel)}.json").read_text())
                texts[rel] = " ".join(s["text"] for s in data["segments"])
                texts[rel + "#preset"] = data.get("options", {}).get("preset", "")
                texts[rel + "#snr"] = (data.get("noise") or {}).get("snr_db")
        else:
            out_dir = Path(tmp) / "out"
            stems = [(rel, p) for rel, p in files]
            if kind[0] == "cli":
                cmd = [str(VENV / "indexer"), "transcribe", *[str(p) for _, p in stems], "--out", str(out_dir),
                       "--format", "json", *kind[1:]]
            else:
                cmd = [sys.executable, "-c", VARIANT_CODE, json.dumps(kind[1]), kind[2], str(out_dir),
                       *[str(p) for _, p in stems]]
            _, usage = _timed(cmd, env=env)
            for rel, p in stems:
                data = json.loads((out_dir / f"{p.stem}.json").read_text())
                texts[rel] = " ".join(s["text"] for s in data["segments"])
                texts[rel + "#preset"] = data.get("options", {}).get("preset", "")
                texts[rel + "#snr"] = (data.get("noise") or {}).get("snr_db")
    return {"config": config, "set": name, **usage, "load_before": load_before, "texts": texts}


def _episode_id(rel: str) -> str:
    from indexer.archive import episode_id

    return episode_id(rel)


def _word_errors(refs: dict, texts: dict) -> tuple[float, int]:
    errors = words = 0
    for rel, ref in refs.items():
        if ref:
            n = len(ref.split())
            errors += wer(ref, texts.get(rel, "")) * n
            words += n
    return errors, words


# --- report --------------------------------------------------------------------

def _median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def summarise(runs: list[dict], refs: dict[str, dict], audio_seconds: dict[str, float]) -> list[dict]:
    rows = []
    plain = {(r["set"], r["round"]): r for r in runs if r["config"] == "plain"}
    for key in dict.fromkeys((r["config"], r["set"]) for r in runs):
        mine = [r for r in runs if (r["config"], r["set"]) == key]
        speed, cpu, agree = [], [], []
        for r in mine:
            p = plain.get((r["set"], r["round"]))
            if p:
                speed.append(p["seconds"] / r["seconds"])
                cpu.append(p["cpu_seconds"] / r["cpu_seconds"])
                e, w = _word_errors({k: normalise(v) for k, v in p["texts"].items() if "#" not in k}, r["texts"])
                agree.append(e / w if w else None)
        e, w = _word_errors(refs[key[1]], mine[-1]["texts"])
        wers = [(lambda ew: ew[0] / ew[1] if ew[1] else None)(_word_errors(refs[key[1]], r["texts"])) for r in mine]
        chosen = [v for k, v in mine[-1]["texts"].items() if k.endswith("#preset") and v]
        presets = [f"{p} ×{chosen.count(p)}" for p in sorted(set(chosen))]
        rows.append({"config": key[0], "set": key[1], "rounds": len(mine), "audio_seconds": audio_seconds[key[1]],
                     "speed_vs_plain": _median(speed), "cpu_vs_plain": _median(cpu),
                     "realtime_factor": _median([audio_seconds[key[1]] / r["seconds"] for r in mine]),
                     "cpu_seconds": _median([r["cpu_seconds"] for r in mine]),
                     "wer": _median(wers), "wers": [round(x, 4) for x in wers if x is not None], "ref_words": w,
                     "load_before": [r.get("load_before") for r in mine], "differs_from_plain": _median(agree),
                     "peak_mb": max(r["peak_mb"] for r in mine), "presets": presets})
    return rows


def markdown(report: dict) -> str:
    lines = [f"# Whole runs against plain faster-whisper ({report['date']})", "",
             f"Machine: {report['machine']}, shared with other jobs (load average at the start "
             f"{report['load']}). Each configuration a whole process, start-up and model load included; "
             f"{report['repeat']} round(s), configurations alternated; speed and CPU ratios are the median of "
             "plain's seconds / this configuration's in the same round (> 1: faster, less work). "
             "`differs from plain`: word error rate of this output against plain's (no reference needed).", "",
             "| set | config | speed vs plain | CPU work vs plain | real-time factor | WER (each run) | differs from "
             "plain | peak MB | presets chosen | load before each run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    def ratio(x):
        return f"{x:.2f}×" if x is not None else "–"

    for r in report["rows"]:
        wer_cell = "–" if r["wer"] is None else (f"{r['wer']:.3f}" + (
            f" ({', '.join(f'{w:.4f}' for w in r['wers'])})" if len(r.get("wers", [])) > 1 else ""))
        loads = ", ".join(str(x) for x in r.get("load_before", []) if x is not None) or "–"
        lines.append(f"| {r['set']} ({r['audio_seconds']:.0f} s) | {r['config']} | "
                     f"{ratio(r['speed_vs_plain'])} | {ratio(r['cpu_vs_plain'])} | {r['realtime_factor']:.1f}× | "
                     f"{wer_cell} | {r['differs_from_plain'] if r['differs_from_plain'] is not None else '–'} | "
                     f"{r['peak_mb']} | {', '.join(r['presets']) or '–'} | {loads} |")
    return "\n".join(lines + _per_file(report)) + "\n"


def _per_file(report: dict) -> list[str]:
    """Per file: the noise estimate, the preset each configuration chose and its WER (sets with references)."""
    runs = [r for r in report["runs"] if any(k.endswith("#snr") for k in r["texts"])]
    if not runs:
        return []
    refs = report.get("references", {})
    configs = list(dict.fromkeys(r["config"] for r in report["runs"]))
    lines = ["", "Per file: the noise estimate (loud/quiet frames of the noisiest 45 s of each window, the noisiest "
             "window's, dB; the first window's before the per-window choice; `auto` decodes a window with "
             "`accurate` under the threshold) and each configuration's WER, with the preset it chose.", "",
             "| set | file | estimate dB | " + " | ".join(configs) + " |", "|---|---|---|" + "---|" * len(configs)]
    for name in dict.fromkeys(r["set"] for r in runs):
        last = {r["config"]: r for r in report["runs"] if r["set"] == name}
        files = [k for k in next(iter(last.values()))["texts"] if "#" not in k]
        for rel in files:
            snr = next((r["texts"].get(rel + "#snr") for r in last.values() if r["texts"].get(rel + "#snr")), None)
            cells = []
            for c in configs:
                r, ref = last.get(c), refs.get(name, {}).get(rel)
                if not r:
                    cells.append("–")
                    continue
                w = f"{wer(ref, r['texts'].get(rel, '')):.3f}" if ref else "–"
                p = r["texts"].get(rel + "#preset")
                cells.append(f"{w} ({p})" if p else w)
            lines.append(f"| {name} | {rel} | {snr if snr is not None else '–'} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="clean,degraded,10db,5db")
    parser.add_argument("--configs", default="plain,indexer")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--name", default="speed")
    parser.add_argument("--long-minutes", type=int, default=60, help="length of the `long` set (default 60)")
    parser.add_argument("--base-code", type=Path, help="a source tree run by the configs named <config>@base "
                                                       "(e.g. indexer@base: main before a change, side by side)")
    args = parser.parse_args()
    global LONG_MINUTES, BASE_CODE
    LONG_MINUTES, BASE_CODE = args.long_minutes, args.base_code
    from indexer import audio

    sets = {name: make_set(name) for name in args.sets.split(",")}
    refs = {name: references(name, folder) for name, folder in sets.items()}
    seconds = {name: round(sum(audio.probe(p).duration for _, p in _episode_files(folder)), 1)
               for name, folder in sets.items()}
    runs: list[dict] = []
    report = {"date": time.strftime("%Y-%m-%d"),
              "machine": f"{os.cpu_count()} cores, {platform.machine()}, {cpu_model()}",
              "load": " ".join(f"{x:.1f}" for x in os.getloadavg()), "repeat": args.repeat, "rows": [], "runs": [],
              "references": refs}
    for k in range(args.repeat):
        for name, folder in sets.items():
            configs = args.configs.split(",")
            for config in (configs if k % 2 == 0 else configs[::-1]):
                print(f"round {k + 1}: {name} with {config} …", file=sys.stderr, flush=True)
                run = run_config(config, name, folder)
                run["round"] = k
                runs.append(run)
                print(f"  {run['seconds']} s, {run['cpu_seconds']} CPU s, {run['peak_mb']} MB", file=sys.stderr,
                      flush=True)
                report = {**report, "rows": summarise(runs, refs, seconds), "runs": runs}
                write_report(args.name, report)   # after every run: a run cut short keeps what it finished
    print(markdown(report))


def write_report(name: str, report: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(report))


if __name__ == "__main__":
    main()
