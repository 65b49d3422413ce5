"""Where the automatic noise choice should fall: per file, the noise estimate and the word error rate of
greedy decoding (`fast`) and beam search (`accurate`), on real and synthetic French, clean and noisy.

    python benchmarks/noise_choice.py                       # the sets below, 5 files each
    python benchmarks/noise_choice.py --sets realfr-10db,degraded --files 7
    python benchmarks/noise_choice.py --report              # the tables again from the rows already made

Each file is transcribed twice in one process (the library's ``transcribe_file``, no speakers), with
each preset forced, and its estimate (``transcribe/noise.py``) read from the transcript. Rows go to
``benchmarks/out/noise-rows.jsonl`` as they are made (a run cut short resumes). Also: the estimate of
real recordings joined end to end *without* pauses (the voice corpus's files, trimmed): continuous
clean speech, which no set above has. CPU seconds are this process's (both presets alike), a ratio.

Results: benchmarks/results/noise-choice.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402
from sample import wer  # noqa: E402

ROWS = speed.OUT / "noise-rows.jsonl"
SETS = ("realfr", "realfr-10db", "realfr-5db", "tuxfr", "tuxfr-10db", "tuxtight", "degraded")
PRESETS = ("fast", "accurate")
CONTINUOUS = ("june", "armelle", "tuxpaint", "ktuberling")
CHUNK_SECONDS = 120


def measure(sets: list[str], files: int) -> None:
    from indexer.transcribe import load_engine, preset, transcribe_file

    done = {(r["set"], r["file"]) for r in rows()}
    engines = {name: load_engine(preset(name)) for name in PRESETS}
    for name in sets:
        folder = speed.make_set(name)
        refs = speed.references(name, folder)
        for rel, path in speed._episode_files(folder)[:files]:
            if (name, rel) in done or not refs.get(rel):
                continue
            row = {"set": name, "file": rel, "ref_words": len(refs[rel].split())}
            for preset_name, engine in engines.items():
                started = time.process_time()
                transcript = transcribe_file(path, preset(preset_name), engine)
                row[f"cpu_{preset_name}"] = round(time.process_time() - started, 2)
                row[f"wer_{preset_name}"] = round(wer(refs[rel], " ".join(s.text for s in transcript.segments)), 4)
                row["snr"] = (transcript.noise or {}).get("snr_db")
            with ROWS.open("a") as out:
                out.write(json.dumps(row) + "\n")
            print(f"{name} {rel}: {row['snr']} dB, WER fast {row['wer_fast']:.3f}, accurate {row['wer_accurate']:.3f}",
                  file=sys.stderr)


def rows() -> list[dict]:
    return [json.loads(line) for line in ROWS.read_text().splitlines()] if ROWS.is_file() else []


def continuous() -> dict[str, list[float]]:
    """Estimates of each real voice source's recordings joined without pauses, in 2-minute chunks."""
    from indexer.transcribe import estimate_snr
    from realfr import VOICES, _read_wav

    manifest = json.loads((VOICES / "manifest.json").read_text())["utterances"]
    found = {}
    for source in CONTINUOUS:
        joined = np.concatenate([_read_wav(VOICES / u["file"]) for u in manifest if u["source"] == source])
        n = CHUNK_SECONDS * 16000
        found[source] = sorted(e for i in range(0, len(joined) - n // 2, n)
                               if (e := estimate_snr(joined[i:i + n])) is not None)
    return found


def report(threshold: float) -> str:
    table = rows()
    lines = ["| set | files | estimate, dB | WER greedy | WER beam 5 | beam better on | CPU beam / greedy "
             f"| chosen at {threshold:g} dB |", "|---|---|---|---|---|---|---|---|"]
    summary = {}
    for name in dict.fromkeys(r["set"] for r in table):
        part = [r for r in table if r["set"] == name]
        words = sum(r["ref_words"] for r in part)
        errors = {p: sum(r[f"wer_{p}"] * r["ref_words"] for r in part) / words for p in PRESETS}
        cpu = sum(r["cpu_accurate"] for r in part) / sum(r["cpu_fast"] for r in part)
        noisy = sum(r["snr"] is not None and r["snr"] < threshold for r in part)
        snrs = [r["snr"] for r in part if r["snr"] is not None]
        better = sum(r["wer_accurate"] < r["wer_fast"] for r in part)
        summary[name] = {"files": len(part), "snr": [min(snrs), max(snrs)], **{f"wer_{p}": round(e, 4)
                         for p, e in errors.items()}, "cpu_ratio": round(cpu, 2), "noisy": noisy}
        lines.append(f"| {name} | {len(part)} | {min(snrs):.1f}–{max(snrs):.1f} | {errors['fast']:.3f} | "
                     f"{errors['accurate']:.3f} | {better} of {len(part)} | {cpu:.2f}× | "
                     f"beam search ×{noisy}, greedy ×{len(part) - noisy} |")
    joined = continuous()
    lines += ["", "Real recordings joined without pauses (continuous clean speech), 2-minute chunks:", ""]
    lines += [f"* {source}: {', '.join(f'{e:.1f}' for e in found)} dB" for source, found in joined.items()]
    (speed.RESULTS / "noise-choice.json").write_text(json.dumps(
        {"threshold_db": threshold, "sets": summary, "continuous": joined, "rows": table}, indent=1))
    text = "\n".join(lines) + "\n"
    (speed.RESULTS / "noise-choice.md").write_text(f"# Noise choice: estimates and WER per preset\n\n{text}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--files", type=int, default=5, help="files per set (the first, in name order)")
    parser.add_argument("--report", action="store_true", help="only write the tables from the rows made")
    args = parser.parse_args()
    if not args.report:
        measure(args.sets.split(","), args.files)
    from indexer.transcribe import TranscribeOptions

    print(report(TranscribeOptions().noisy_below_db))


if __name__ == "__main__":
    main()
