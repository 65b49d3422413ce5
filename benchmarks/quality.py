"""Per-episode transcription quality (indexer.quality) of ingested archives, with their word error rate.

    python benchmarks/quality.py archive benchmarks/out/degraded-15 benchmarks/out/degraded-6

For each archive (transcribed by ``indexer ingest``; copies made by
``benchmarks/degrade_sample.py``), each episode's share of suspect segments
and of low-confidence words, and its word error rate against
``reference/<episode>.json`` when there is one: what the warning thresholds
of :class:`indexer.quality.QualityOptions` were chosen from. Results go to
``benchmarks/results/quality.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from indexer import Archive
from indexer.quality import EpisodeQuality, QualityOptions

RESULTS = Path(__file__).resolve().parent / "results"


def words(text: str) -> list[str]:
    return re.sub(r"[^\w'\- ]+", " ", text.lower().replace("’", "'")).split()


def reference_text(root: Path, episode: str) -> str | None:
    path = root / "reference" / f"{episode}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    sentences = data.get("sentences", data) if isinstance(data, dict) else data
    return " ".join(s["text"] if isinstance(s, dict) else str(s) for s in sentences)


def measure(root: Path) -> list[dict]:
    import jiwer

    rows = []
    for transcript in Archive(root).transcripts():
        q = EpisodeQuality.of(transcript)
        reference = reference_text(root, transcript.episode_id)
        wer = jiwer.wer(" ".join(words(reference)), " ".join(words(transcript.text))) if reference else None
        rows.append({"archive": root.name, "episode": q.episode, "wer": wer, "segments": q.segments,
                     "suspect_share": q.suspect_share, "words": q.words,
                     "low_confidence_share": q.low_confidence_share, "poor": q.is_poor()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archives", nargs="+", type=Path)
    parser.add_argument("--name", default="quality", help="results file name (without extension)")
    args = parser.parse_args()
    rows = [row for root in args.archives for row in measure(root)]
    options = QualityOptions()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    lines = [f"# Episode quality (warning over {options.max_suspect_share:.0%} suspect segments "
             f"or {options.max_low_confidence_share:.0%} low-confidence words)", "",
             "| archive | episode | WER | segments | suspect | words | low-confidence | warned |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        wer = f"{r['wer']:.2f}" if r["wer"] is not None else "–"
        lines.append(f"| {r['archive']} | {r['episode']} | {wer} | {r['segments']} | {r['suspect_share']:.1%} | "
                     f"{r['words']} | {r['low_confidence_share']:.1%} | {'yes' if r['poor'] else ''} |")
    lines += ["", "Archives: " + ", ".join(str(root) for root in args.archives) + ". Copies made with "
              "`benchmarks/degrade_sample.py archive OUT` (babble 15 dB below the voice, 24 kbit/s) and "
              "`--babble-db -6 --bitrate 16k`, each transcribed by `indexer ingest` (Whisper base, `fast`); "
              "WER against `reference/`, lowercased, punctuation removed (jiwer)."]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
