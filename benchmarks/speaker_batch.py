"""How many speaker windows CAM++ embeds at once on ONNX Runtime: CPU of the speakers stage in this
process (`diarize_voices`: VAD, filterbanks, embeddings, clustering; not ffmpeg's decoding, a child process)
per batch size, on one thread (the stage's default), on real French (`realfr` and `tuxfr` of speed.py),
and whether the turns and voice prints stay the same.

    python benchmarks/speaker_batch.py                 # batches 32, 16, 8, 4; 3 rounds
    python benchmarks/speaker_batch.py --batches 32,8 --rounds 5

One process, one loaded encoder; the batch sizes alternate file by file and round by round, so that a busy
machine weighs on all of them alike. CPU seconds are this process's: compare them as ratios.

Results: benchmarks/results/speaker-batch.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", default="32,16,8,4")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]

    import numpy as np

    from indexer import audio
    from indexer.speakers.backends import load_backend
    from indexer.speakers.diarization import diarize_voices
    from indexer.speakers.options import SpeakerOptions

    options = SpeakerOptions().resolved()
    backend = load_backend(options)
    encoder = backend.encoder
    if not encoder.runs_on.startswith("onnxruntime"):
        sys.exit(f"CAM++ runs on {encoder.runs_on} here, not ONNX Runtime: nothing to measure")
    embed = encoder.embed_features
    files = [path for name in ("realfr", "tuxfr") for _, path in speed._episode_files(speed.make_set(name))]
    seconds = sum(audio.probe(path).duration for path in files)
    cpu: dict[int, list[float]] = {b: [] for b in batches}
    made: dict[int, list] = {}
    for round_ in range(args.rounds):
        order = batches if round_ % 2 == 0 else batches[::-1]
        totals = dict.fromkeys(batches, 0.0)
        for path in files:
            for batch in order:
                encoder.embed_features = lambda features, batch=batch: embed(features, batch=batch)
                started = time.process_time()
                turns, prints = diarize_voices(path, audio.probe(path).duration, options, backend)
                totals[batch] += time.process_time() - started
                if round_ == 0:
                    made.setdefault(batch, []).append(
                        ([(t.start, t.end, t.name) for t in turns],
                         {k: p.embedding.tolist() for k, p in prints.items()}))
        for batch in batches:
            cpu[batch].append(totals[batch])
        print(f"round {round_ + 1}: " + ", ".join(f"batch {b} {totals[b]:.1f} CPU s" for b in batches), flush=True)
    base = batches[0]
    rows = []
    for batch in batches:
        same_turns = all(a[0] == b[0] for a, b in zip(made[batch], made[base]))
        largest = max(float(np.abs(np.array(a[1][k]) - np.array(b[1][k])).max())
                      for a, b in zip(made[batch], made[base]) for k in b[1]) if made[base] else 0.0
        rows.append({"batch": batch, "cpu_median": round(statistics.median(cpu[batch]), 2), "cpu": cpu[batch],
                     "vs_first": round(statistics.median(cpu[batch]) / statistics.median(cpu[base]), 3),
                     "same_turns": same_turns, "largest_print_difference": largest})
    report = {"files": len(files), "audio_seconds": round(seconds, 1), "rounds": args.rounds, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "speaker-batch.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = ["# CAM++ on ONNX Runtime: windows embedded at once", "",
             f"The whole speakers stage on {len(files)} files of real French ({seconds:.0f} s; `realfr`, `tuxfr`), "
             f"{args.rounds} rounds in one process, batch sizes alternated; median CPU seconds.", "",
             f"| windows at once | CPU s | vs {base} | same turns | largest voice-print difference |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['batch']} | {r['cpu_median']} | {r['vs_first']:.2f}× | {'yes' if r['same_turns'] else 'no'} | "
              f"{r['largest_print_difference']:.1e} |" for r in rows]
    (RESULTS / "speaker-batch.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
