"""Judging the noise window by window, against judging it once on the first window, on episodes that
open in a quiet studio and go on in a bar: real French, clean, then another file of it under real
babble at 10 dB (``--sets studio-bar``), made from the `realfr` and `realfr-10db` sets of speed.py.

    python benchmarks/noise_windows.py               # 7 files, both rules
    python benchmarks/noise_windows.py --report      # the table again from the rows already made

Each file is transcribed by both rules in one process with one loaded engine (``transcribe_file``,
the default options, no speakers), one rule after the other on the same file, so that a busy machine
weighs on both alike. The first-window rule is today's chooser made to keep its first decision (what
the indexer did before the per-window choice). Rows go to ``benchmarks/out/noise-windows-rows.jsonl``
as they are made (a run cut short resumes). CPU seconds are this process's: compare them as ratios.

Results: benchmarks/results/noise-windows.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402
from sample import normalise, wer  # noqa: E402

ROWS = speed.OUT / "noise-windows-rows.jsonl"
RESULTS = Path(__file__).resolve().parent / "results"
RULES = ("first-window", "per-window")
FILES = 7


def studio_bar() -> Path:
    """File i: realfr-i clean, a second of silence, then realfr-(i+1) under 10 dB of real babble."""
    clean, noisy = speed.make_set("realfr"), speed.make_set("realfr-10db")
    folder = speed.OUT / "speed" / "studio-bar"
    for i in range(FILES):
        target = folder / f"studio-bar-{i}.mp3"
        if target.is_file():
            continue
        parts = [clean / f"realfr-{i}.wav", noisy / f"realfr-{(i + 1) % FILES}.wav"]
        speed._concat(parts, target, gap=1.0)
        text = " ".join(p.with_suffix(".txt").read_text(encoding="utf-8").strip() for p in parts)
        target.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
    return folder


def first_window_chooser():
    """The chooser as it was: the first window decides for the whole file (its other windows still measured)."""
    from indexer.transcribe import NoiseChooser, WindowNoise
    from indexer.transcribe.noise import window_snr

    class FirstWindowChooser(NoiseChooser):
        def __call__(self, window):
            if not self.measured:
                self._first = super().__call__(window)
                return self._first
            self.measured.append(WindowNoise(window.offset, window_snr(window.samples), self.measured[0].noisy))
            return self._first

    return FirstWindowChooser


def rows() -> list[dict]:
    return [json.loads(line) for line in ROWS.read_text().splitlines()] if ROWS.is_file() else []


def measure() -> None:
    from indexer.transcribe import TranscribeOptions, load_engine, run, transcribe_file

    folder = studio_bar()
    done = {(r["file"], r["rule"]) for r in rows()}
    options = TranscribeOptions()
    engine = load_engine(options)
    per_window = run.NoiseChooser
    for rel, path in speed._episode_files(folder)[:FILES]:
        reference = normalise(path.with_suffix(".txt").read_text(encoding="utf-8"))
        for rule in RULES:
            if (rel, rule) in done:
                continue
            run.NoiseChooser = per_window if rule == "per-window" else first_window_chooser()
            try:
                started = time.process_time()
                transcript = transcribe_file(path, options, engine)
            finally:
                run.NoiseChooser = per_window
            windows = transcript.noise.get("windows") or [transcript.noise]
            row = {"file": rel, "rule": rule, "ref_words": len(reference.split()),
                   "cpu": round(time.process_time() - started, 2),
                   "wer": round(wer(reference, " ".join(s.text for s in transcript.segments)), 4),
                   "windows": [[w.get("snr_db"), bool(w.get("noisy"))] for w in windows]}
            with ROWS.open("a") as out:
                out.write(json.dumps(row) + "\n")
            print(f"{rel} {rule}: WER {row['wer']:.3f}, {row['cpu']} CPU-s, windows {row['windows']}", flush=True)


def report() -> None:
    made = rows()
    table = []
    for rule in RULES:
        mine = [r for r in made if r["rule"] == rule]
        words = sum(r["ref_words"] for r in mine)
        if not words:
            continue
        table.append({"rule": rule, "files": len(mine), "wer": round(sum(r["wer"] * r["ref_words"] for r in mine)
                                                                     / words, 4),
                      "cpu": round(sum(r["cpu"] for r in mine), 1),
                      "noisy_windows": sum(was for r in mine for _, was in r["windows"]),
                      "windows": sum(len(r["windows"]) for r in mine)})
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "noise-windows.json").write_text(json.dumps({"rows": made, "table": table}, indent=1) + "\n")
    base = next((t for t in table if t["rule"] == "first-window"), None)
    lines = ["# Noise judged per window against the first window only (studio, then bar)", "",
             "Real French: a clean file of `realfr`, then another one under real babble at 10 dB. "
             "CPU relative to the first-window rule, same files, same process.", "",
             "| rule | files | windows decoded noisy | WER | CPU-s | CPU vs first window |",
             "|---|---|---|---|---|---|"]
    for t in table:
        ratio = f"{t['cpu'] / base['cpu']:.2f}×" if base and base["cpu"] else ""
        lines.append(f"| {t['rule']} | {t['files']} | {t['noisy_windows']} of {t['windows']} | {t['wer']:.4f} | "
                     f"{t['cpu']} | {ratio} |")
    (RESULTS / "noise-windows.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="only the table, from the rows already made")
    if not parser.parse_args().report:
        measure()
    report()


if __name__ == "__main__":
    main()
