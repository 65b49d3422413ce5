"""How wide the beam should be: per file, the word error rate and CPU seconds of
greedy decoding and of beam search at several widths, on real and synthetic French, clean and noisy.

    python benchmarks/beam_width.py                          # the sets below, 5 files each
    python benchmarks/beam_width.py --sets realfr-10db --widths 1,3,5 --files 7
    python benchmarks/beam_width.py --report                 # the table again from the rows already made

Each file is transcribed once per width in one process (the library's ``transcribe_file``, no speakers),
the widths one after the other on the same file, so that a busy machine weighs on all of them alike.
Every width is the `fast` preset (no automatic noise choice) with that beam width; width 1 is greedy. Rows go to
``benchmarks/out/beam-rows.jsonl`` as they are made (a run cut short resumes). CPU seconds are this
process's: compare them as ratios to greedy's.

Results: benchmarks/results/beam-width.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402
from sample import wer  # noqa: E402

ROWS = speed.OUT / "beam-rows.jsonl"
SETS = ("realfr", "realfr-10db", "tuxfr-10db", "degraded", "tuxtight", "realfr-5db")
WIDTHS = (1, 2, 3, 5)


def decoding(width: int):
    from indexer.transcribe import preset

    return replace(preset("fast"), beam_size=width)


def measure(sets: list[str], widths: list[int], files: int) -> None:
    from indexer.transcribe import load_engine, transcribe_file

    done = {(r["set"], r["file"], r["width"]) for r in rows()}
    engines = {width: load_engine(decoding(width)) for width in widths}
    for name in sets:
        folder = speed.make_set(name)
        refs = speed.references(name, folder)
        for rel, path in speed._episode_files(folder)[:files]:
            for width, engine in engines.items():
                if (name, rel, width) in done or not refs.get(rel):
                    continue
                started = time.process_time()
                transcript = transcribe_file(path, decoding(width), engine)
                row = {"set": name, "file": rel, "width": width, "ref_words": len(refs[rel].split()),
                       "cpu": round(time.process_time() - started, 2),
                       "wer": round(wer(refs[rel], " ".join(s.text for s in transcript.segments)), 4),
                       "snr": (transcript.noise or {}).get("snr_db")}
                with ROWS.open("a") as out:
                    out.write(json.dumps(row) + "\n")
                print(f"{name} {rel} beam {width}: WER {row['wer']:.3f}, {row['cpu']} CPU-s", file=sys.stderr)


def rows() -> list[dict]:
    return [json.loads(line) for line in ROWS.read_text().splitlines()] if ROWS.is_file() else []


def report() -> str:
    table = rows()
    widths = sorted({r["width"] for r in table})
    lines = ["| set | files | " + " | ".join(f"beam {w}: WER, CPU vs greedy" for w in widths) + " |",
             "|---|---|" + "---|" * len(widths)]
    summary = {}
    for name in dict.fromkeys(r["set"] for r in table):
        # Only files measured at every width, so that each column sums the same words.
        by_file = {}
        for r in table:
            if r["set"] == name:
                by_file.setdefault(r["file"], {})[r["width"]] = r
        complete = [found for found in by_file.values() if set(found) == set(widths)]
        if not complete:
            continue
        words = sum(found[widths[0]]["ref_words"] for found in complete)
        greedy_cpu = sum(found[widths[0]]["cpu"] for found in complete)
        cells, summary[name] = [], {"files": len(complete)}
        for w in widths:
            errors = sum(found[w]["wer"] * found[w]["ref_words"] for found in complete) / words
            cpu = sum(found[w]["cpu"] for found in complete) / greedy_cpu
            summary[name][f"beam{w}"] = {"wer": round(errors, 4), "cpu_vs_first": round(cpu, 2)}
            cells.append(f"{errors:.3f}, {cpu:.2f}×")
        lines.append(f"| {name} | {len(complete)} | " + " | ".join(cells) + " |")
    (speed.RESULTS / "beam-width.json").write_text(json.dumps({"sets": summary, "rows": table}, indent=1))
    text = "\n".join(lines) + "\n"
    (speed.RESULTS / "beam-width.md").write_text(
        "# Beam width: WER and CPU per width\n\n"
        f"CPU is relative to beam {widths[0]} on the same files, in the same process.\n\n{text}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    parser.add_argument("--files", type=int, default=5, help="files per set (the first, in name order)")
    parser.add_argument("--report", action="store_true", help="only write the table from the rows made")
    args = parser.parse_args()
    if not args.report:
        measure(args.sets.split(","), [int(w) for w in args.widths.split(",")], args.files)
    print(report())


if __name__ == "__main__":
    main()
