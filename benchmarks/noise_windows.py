"""Judging the noise window by window, against judging it once on the first window, on episodes that
open in a quiet studio and go on in a bar (``studio-bar``: real French, clean, then another file of it
under real babble at 10 dB), and the other way round (``bar-studio``), made from the `realfr` and
`realfr-10db` sets of speed.py.

    python benchmarks/noise_windows.py               # 7 files of each set, both rules
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
SETS = ("studio-bar", "bar-studio")
FILES = 7


def studio_bar(name: str = "studio-bar") -> Path:
    """File i of `studio-bar`: realfr-i clean, a second of silence, then realfr-(i+1) under 10 dB of real
    babble; of `bar-studio`: realfr-i under babble, then realfr-(i+1) clean."""
    clean, noisy = speed.make_set("realfr"), speed.make_set("realfr-10db")
    first, then = (clean, noisy) if name == "studio-bar" else (noisy, clean)
    folder = speed.OUT / "speed" / name
    for i in range(FILES):
        target = folder / f"{name}-{i}.mp3"
        if target.is_file():
            continue
        parts = [first / f"realfr-{i}.wav", then / f"realfr-{(i + 1) % FILES}.wav"]
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


def measure(sets: list[str]) -> None:
    from indexer.transcribe import TranscribeOptions, load_engine, run, transcribe_file

    done = {(r["file"], r["rule"]) for r in rows()}
    options = TranscribeOptions()
    engine = load_engine(options)
    per_window = run.NoiseChooser
    files = [item for name in sets for item in speed._episode_files(studio_bar(name))[:FILES]]
    for rel, path in files:
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
            row = {"set": rel.rsplit("-", 1)[0], "file": rel, "rule": rule, "ref_words": len(reference.split()),
                   "cpu": round(time.process_time() - started, 2),
                   "wer": round(wer(reference, " ".join(s.text for s in transcript.segments)), 4),
                   "windows": [[w.get("snr_db"), bool(w.get("noisy"))] for w in windows]}
            with ROWS.open("a") as out:
                out.write(json.dumps(row) + "\n")
            print(f"{rel} {rule}: WER {row['wer']:.3f}, {row['cpu']} CPU-s, windows {row['windows']}", flush=True)


def report() -> None:
    made = [dict(r, set=r.get("set", "studio-bar")) for r in rows()]
    table = []
    for name in SETS:
        for rule in RULES:
            mine = [r for r in made if r["rule"] == rule and r["set"] == name]
            words = sum(r["ref_words"] for r in mine)
            if not words:
                continue
            table.append({"set": name, "rule": rule, "files": len(mine),
                          "wer": round(sum(r["wer"] * r["ref_words"] for r in mine) / words, 4),
                          "cpu": round(sum(r["cpu"] for r in mine), 1),
                          "noisy_windows": sum(was for r in mine for _, was in r["windows"]),
                          "windows": sum(len(r["windows"]) for r in mine)})
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "noise-windows.json").write_text(json.dumps({"rows": made, "table": table}, indent=1) + "\n")
    lines = ["# Noise judged per window against the first window only", "",
             "Real French: `studio-bar`, a clean file of `realfr` then another one under real babble at 10 dB; "
             "`bar-studio`, the other way round. CPU relative to the first-window rule, same files, same process.",
             "", "| set | rule | files | windows decoded noisy | WER | CPU-s | CPU vs first window |",
             "|---|---|---|---|---|---|---|"]
    for t in table:
        base = next((b for b in table if b["set"] == t["set"] and b["rule"] == "first-window"), None)
        ratio = f"{t['cpu'] / base['cpu']:.2f}×" if base and base["cpu"] else ""
        lines.append(f"| {t['set']} | {t['rule']} | {t['files']} | {t['noisy_windows']} of {t['windows']} | "
                     f"{t['wer']:.4f} | {t['cpu']} | {ratio} |")
    (RESULTS / "noise-windows.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help="studio-bar, bar-studio (default: both)")
    parser.add_argument("--report", action="store_true", help="only the table, from the rows already made")
    args = parser.parse_args()
    if not args.report:
        measure(args.sets.split(","))
    report()


if __name__ == "__main__":
    main()
