"""Search by meaning on the paraphrase set: models, passage context, search modes, and costs.

    python benchmarks/meaning.py archive benchmarks/out/degraded-22 [--scale 600000] [--transcribe]

* **Models × context** (meaning alone, brute force over the archive's
  segments): each model of the registry, each segment embedded alone
  (context 0) or with one neighbour on each side (context 1); recall@5 and MRR
  of ``benchmarks/paraphrases.yaml`` (a hit counts in the target episode within
  3 s of the target, as ``search_recall.py`` counts), and CPU per passage and
  per query (one thread).
* **Search modes** on the archive as ingested (its embedding store):
  ``words`` (graded, the former default), ``meaning``, ``hybrid`` (the new
  default): recall@5, MRR, query CPU and wall p50/p95 including the query's
  embedding.
* ``--transcribe``: CPU seconds of transcribing one sample episode (one thread,
  the default preset) against embedding its segments, in the same run: the
  cost goal (embedding ≤ 5 % of transcription).
* ``--scale N``: N random int8 rows in a :class:`~indexer.embeddings.VectorTable`:
  bytes in memory and on disk, and nearest-neighbour CPU p50/p95 (one thread).
* ``--first-query``: a fresh ``indexer search`` process, wall time (model load).

Results: ``benchmarks/results/meaning.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from indexer import Archive  # noqa: E402
from indexer.embeddings import EMBEDDING_MODELS, load_model, passages  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TOLERANCE = 3.0


def load_queries() -> list[dict]:
    return yaml.safe_load((ROOT / "benchmarks" / "paraphrases.yaml").read_text(encoding="utf-8"))["queries"]


def found_rank(items, q) -> int | None:
    """1-based rank of the first (episode, start, end) on the target, or None."""
    for i, (episode, start, end) in enumerate(items):
        if episode == q["episode"] and start <= q["end"] + TOLERANCE and end >= q["start"] - TOLERANCE:
            return i + 1
    return None


def scores(ranks: list[int | None]) -> dict:
    n = max(1, len(ranks))
    return {"queries": len(ranks), "recall@5": round(sum(1 for r in ranks if r and r <= 5) / n, 3),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 3), "missed@20": sum(1 for r in ranks if not r)}


def models_by_context(archive: Archive, queries, contexts) -> list[dict]:
    transcripts = list(archive.transcripts())
    rows = []
    for name in EMBEDDING_MODELS:
        model = load_model(name)
        for context in contexts:
            items, texts = [], []
            for t in transcripts:
                for p in passages(t, context):
                    items.append((t.episode_id, p.start, p.end))
                    texts.append(p.text)
            t0 = time.process_time()
            matrix = model.embed_passages(texts)
            passage_cpu = (time.process_time() - t0) / max(1, len(texts))
            ranks, query_cpu = [], []
            for q in queries:
                t0 = time.process_time()
                vector = model.embed_query(q["query"])
                query_cpu.append(time.process_time() - t0)
                order = np.argsort(-(matrix @ vector))[:20]
                ranks.append(found_rank([items[i] for i in order], q))
            english = [r for r, q in zip(ranks, queries) if q.get("lang") == "en"]
            rows.append({"model": name, "context": context, **scores(ranks),
                         "english_found@5": sum(1 for r in english if r and r <= 5), "english": len(english),
                         "passage_cpu_ms": round(passage_cpu * 1000, 2),
                         "query_cpu_ms_p50": round(statistics.median(query_cpu) * 1000, 2)})
            print(rows[-1], flush=True)
    return rows


def search_modes(archive: Archive, queries, modes=("words", "meaning", "hybrid")) -> list[dict]:
    archive.search("communauté", limit=5)  # open the index and load the model and the vectors first
    rows = []
    for mode in modes:
        ranks, cpu, wall = [], [], []
        for q in queries:
            t0, w0 = time.process_time(), time.perf_counter()
            hits = archive.search(q["query"], limit=20, match=mode)
            cpu.append(time.process_time() - t0)
            wall.append(time.perf_counter() - w0)
            ranks.append(found_rank([(h.episode, h.start, h.end) for h in hits], q))
        rows.append({"mode": mode, **scores(ranks), "cpu_ms_p50": ms(cpu, 50), "cpu_ms_p95": ms(cpu, 95),
                     "wall_ms_p50": ms(wall, 50), "wall_ms_p95": ms(wall, 95)})
        print(rows[-1], flush=True)
    return rows


def ms(values, pct) -> float:
    return round(float(np.percentile(values, pct)) * 1000, 1)


def transcription_vs_embedding(archive_root: Path) -> dict:
    """One episode, in this process, one thread: transcription CPU vs embedding its segments."""
    from indexer.transcribe import TranscribeOptions, transcribe_file

    audio = archive_root / "audio" / "metier-community-manager.mp3"
    t0 = time.process_time()
    transcript = transcribe_file(audio, TranscribeOptions(cpu_threads=1))
    transcribe_cpu = time.process_time() - t0
    model = load_model()
    texts = [p.text for p in passages(transcript)]
    t0 = time.process_time()
    model.embed_passages(texts)
    embed_cpu = time.process_time() - t0
    hours = transcript.duration / 3600
    return {"audio_s": round(transcript.duration, 1), "segments": len(texts),
            "transcribe_cpu_s": round(transcribe_cpu, 2), "embed_cpu_s": round(embed_cpu, 3),
            "embed_share": round(embed_cpu / transcribe_cpu, 4),
            "embed_cpu_s_per_audio_hour": round(embed_cpu / hours, 1),
            "transcribe_cpu_s_per_audio_hour": round(transcribe_cpu / hours, 1)}


def scale(n: int, dim: int = 384, queries: int = 30, k: int = 40) -> dict:
    """A table of ``n`` random rows: memory, disk (int8 + scales), and nearest-neighbour CPU."""
    from indexer.embeddings.table import VectorTable

    rng = np.random.default_rng(0)
    vectors = rng.integers(-127, 128, size=(n, dim), dtype=np.int8)
    table = VectorTable(store=None, episodes=["x"], offsets=np.array([0, n]), segments=np.arange(n, dtype=np.int32),
                        starts=np.zeros(n, np.float32), ends=np.zeros(n, np.float32), vectors=vectors,
                        scales=np.full(n, 1 / 127 / np.sqrt(dim), np.float32),
                        bits=np.packbits(vectors > 0, axis=1))
    cpu = []
    for _ in range(queries):
        q = rng.standard_normal(dim).astype(np.float32)
        q /= np.linalg.norm(q)
        t0 = time.process_time()
        table.nearest(q, k)
        cpu.append(time.process_time() - t0)
    allowed = np.sort(rng.choice(n, size=n // 10, replace=False))
    filtered = []
    for _ in range(queries):
        q = rng.standard_normal(dim).astype(np.float32)
        t0 = time.process_time()
        table.nearest(q, k, allowed)
        filtered.append(time.process_time() - t0)
    return {"rows": n, "dim": dim, "memory_mb": round(table.nbytes / 1e6, 1),
            "disk_mb": round(n * (dim + 4 + 4 + 4 + 4 + 8) / 1e6, 1),
            "nearest_cpu_ms_p50": ms(cpu, 50), "nearest_cpu_ms_p95": ms(cpu, 95),
            "filtered_10pct_cpu_ms_p95": ms(filtered, 95)}


def first_query(archive_root: Path) -> dict:
    exe = Path(sys.executable).with_name("indexer")
    out = {}
    for mode in ("words", "hybrid"):
        t0 = time.perf_counter()
        subprocess.run([str(exe), "search", "les gens qui surveillent les commentaires", "--archive",
                        str(archive_root), "--match", mode, "--limit", "5"], check=True, capture_output=True)
        out[f"{mode}_wall_s"] = round(time.perf_counter() - t0, 2)
    return out


def markdown(report: dict) -> str:
    lines = ["# Search by meaning (issue 22)", "", "`python benchmarks/meaning.py " + " ".join(report["args"]) + "`",
             "", f"Paraphrase set: {report['queries']} queries (`benchmarks/paraphrases.yaml`, written before "
             "tuning), a hit counts in the target episode within 3 s of the target.", ""]
    for arch in report["archives"]:
        lines += [f"## {arch['archive']}", "", "### Models × context (meaning alone, brute force)", "",
                  "| model | context | recall@5 | MRR | missed@20 | English found@5 | CPU ms/passage | CPU ms/query |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in arch["models"]:
            lines.append(f"| {r['model']} | {r['context']} | {r['recall@5']} | {r['mrr']} | {r['missed@20']} | "
                         f"{r['english_found@5']}/{r['english']} | {r['passage_cpu_ms']} | {r['query_cpu_ms_p50']} |")
        lines += ["", "### Search modes (the archive's store, the default model and context)", "",
                  "| mode | recall@5 | MRR | missed@20 | CPU ms p50 / p95 | wall ms p50 / p95 |", "|---|---|---|---|---|---|"]
        for r in arch["modes"]:
            lines.append(f"| {r['mode']} | {r['recall@5']} | {r['mrr']} | {r['missed@20']} | {r['cpu_ms_p50']} / "
                         f"{r['cpu_ms_p95']} | {r['wall_ms_p50']} / {r['wall_ms_p95']} |")
        lines.append("")
    for key in ("transcribe", "scale", "first_query"):
        if report.get(key):
            lines += [f"## {key}", "", "```", json.dumps(report[key], indent=1), "```", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("archives", nargs="+", type=Path)
    p.add_argument("--contexts", default="0,1")
    p.add_argument("--scale", type=int, default=0)
    p.add_argument("--transcribe", action="store_true")
    p.add_argument("--first-query", action="store_true")
    p.add_argument("--name", default="meaning")
    args = p.parse_args(argv)
    queries = load_queries()
    contexts = [int(c) for c in args.contexts.split(",")]
    report = {"args": [str(a) for a in (argv or sys.argv[1:])], "queries": len(queries), "archives": []}
    for root in args.archives:
        archive = Archive(root)
        report["archives"].append({"archive": str(root), "models": models_by_context(archive, queries, contexts),
                                   "modes": search_modes(archive, queries)})
    if args.transcribe:
        report["transcribe"] = transcription_vs_embedding(args.archives[0])
        print(report["transcribe"], flush=True)
    if args.scale:
        report["scale"] = scale(args.scale)
        print(report["scale"], flush=True)
    if args.first_query:
        report["first_query"] = first_query(args.archives[0])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", "utf-8")
    md = markdown(report)
    (RESULTS / f"{args.name}.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
