"""Where the clean decoding's CPU goes: how often a window falls back to sampling (its text
compresses too well: a loop, or speech that repeats itself), what those fallbacks cost, and
what they buy in words, greedy and beam 2, with the fallback and without it.

    python benchmarks/fallback_cost.py                       # realfr, beam 1 and 2, fallback (default) on and off
    python benchmarks/fallback_cost.py --sets realfr,tuxfr --widths 2
    python benchmarks/fallback_cost.py --sets realfr,tuxfr --widths 2 --schedules 0.2,0.4 \
        --name fallback-schedule                             # the fallback's temperature steps: 0.2 or 0.4 apart

Each configuration transcribes the whole set in one process the way `indexer transcribe` does
(``transcribe_files``: the files side by side on the cores, no speakers), the configurations one
after the other. CPU seconds are the process's (the engine's threads included); a fallback's
seconds are the wall time of faster-whisper's ``generate_with_fallback`` calls, each on one
thread, so close to their CPU. Compare them as shares of the run's CPU.

``--schedules``: the fallback's temperatures, as openai-whisper's increment (0.2: 0, 0.2, ... 1.0;
0.4: 0, 0.4, 0.8; ``default``: ``TranscribeOptions``'; ``off``: temperature 0 only).

Results: benchmarks/results/<name>.{json,md} (default fallback-cost).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402
from sample import wer  # noqa: E402

NAME = "fallback-cost"


class _Fallbacks:
    """Counts and times faster-whisper's temperature fallback while in use."""

    def __init__(self):
        self.calls, self.seconds, self.temperatures = 0, 0.0, []

    def __enter__(self):
        from faster_whisper.transcribe import WhisperModel

        self._real = real = WhisperModel.generate_with_fallback

        def timed(model, *args, **kwargs):
            started = time.monotonic()
            result = real(model, *args, **kwargs)
            self.calls += 1
            self.seconds += time.monotonic() - started
            self.temperatures.append(result[2])
            return result

        WhisperModel.generate_with_fallback = timed
        return self

    def __exit__(self, *exc):
        from faster_whisper.transcribe import WhisperModel

        WhisperModel.generate_with_fallback = self._real


def schedule(increment: str) -> tuple[float, ...]:
    """The fallback's temperatures for an increment (``off``: none; ``default``: the indexer's)."""
    from indexer.transcribe.options import TEMPERATURES

    if increment == "off":
        return (0.0,)
    if increment == "default":
        return TEMPERATURES
    step = float(increment)
    return tuple(round(k * step, 2) for k in range(int(1 / step + 1e-9) + 1))


def measure(set_name: str, width: int, increment: str) -> dict:
    from indexer.transcribe import TranscribeOptions
    from indexer.transcribe.run import transcribe_files

    folder = speed.make_set(set_name)
    refs = speed.references(set_name, folder)
    files = dict(speed._episode_files(folder))
    options = replace(TranscribeOptions(), beam_size=width, temperatures=schedule(increment))
    by_path = {path: rel for rel, path in files.items()}
    errors = words = 0.0
    started = time.process_time()
    with _Fallbacks() as fallbacks:
        for path, transcript in transcribe_files(list(files.values()), options):
            rel = by_path[Path(path)]
            if refs.get(rel):
                n = len(refs[rel].split())
                errors += wer(refs[rel], " ".join(s.text for s in transcript.segments)) * n
                words += n
    cpu = time.process_time() - started
    return {"set": set_name, "beam": width, "fallback": increment != "off", "schedule": increment,
            "temperatures": list(options.temperatures), "cpu": round(cpu, 1),
            "fallbacks": fallbacks.calls, "fallback_seconds": round(fallbacks.seconds, 1),
            "fallback_share": round(fallbacks.seconds / cpu, 3) if cpu else 0.0,
            "temperatures_kept": fallbacks.temperatures, "wer": round(errors / words, 4) if words else None}


def report(rows: list[dict]) -> str:
    lines = ["| set | beam | fallback temperatures | CPU s | windows fallen back | their seconds (share of CPU) | "
             "temperatures kept | WER |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        steps = ", ".join(map(str, r.get("temperatures", [])[1:])) if r["fallback"] else "off"
        lines.append(f"| {r['set']} | {r['beam']} | {steps} | {r['cpu']} | "
                     f"{r['fallbacks']} | {r['fallback_seconds']} ({r['fallback_share']:.0%}) | "
                     f"{', '.join(map(str, r['temperatures_kept'])) or '–'} | {r['wer']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="realfr")
    parser.add_argument("--widths", default="1,2")
    parser.add_argument("--schedules", default="default,off",
                        help="the fallback's increments, default (the indexer's), or off (default: default,off)")
    parser.add_argument("--name", default=NAME)
    args = parser.parse_args()
    rows = []
    for set_name in args.sets.split(","):
        for width in map(int, args.widths.split(",")):
            for increment in args.schedules.split(","):
                rows.append(measure(set_name, width, increment))
                print(json.dumps(rows[-1]), file=sys.stderr)
    text = report(rows)
    (speed.RESULTS / f"{args.name}.json").write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "rows": rows},
                                                           indent=1))
    (speed.RESULTS / f"{args.name}.md").write_text(
        "# The temperature fallback: what it costs and what it buys\n\n"
        "One process, the configurations one after the other (`python benchmarks/fallback_cost.py`). A "
        "fallback's seconds are the wall time of faster-whisper's `generate_with_fallback` (one thread each), "
        "as a share of the run's CPU seconds. `temperatures kept`: the temperature whose sample each window "
        "kept (the last one with a loop at every temperature: the most probable sample under the threshold, "
        "or of all). With the fallback off, the calls counted are faster-whisper's own loop at temperature 0 "
        f"only (speech a window's first pass skipped, decoded again), not fallbacks.\n\n"
        f"`python benchmarks/fallback_cost.py {' '.join(sys.argv[1:])}`, run on {speed.cpu_model()}, "
        f"{os.cpu_count()} cores, at {speed.commit_of(speed.ROOT)}.\n\n{text}")
    print(text)


if __name__ == "__main__":
    main()
