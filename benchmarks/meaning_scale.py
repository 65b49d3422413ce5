"""Search by meaning at 1,000 hours: a synthetic archive searched through the real code path.

Used by ``benchmarks/meaning.py --scale-hours 1000``:

* **The archive** (built once into ``benchmarks/out/meaning-scale-<hours>h/``,
  reused after): the French-like talks of ``benchmarks/search.py`` (600
  segments an hour) in a real Whoosh index, and an embedding store of one row
  per segment written as ingest writes it (int8 shards and a manifest, the
  default model's fingerprint). The vectors are real USE-multilingual vectors
  of the first :data:`REAL_ROWS` segments' texts; every other row is a
  normalised mix of two of those plus noise (embedding 600,000 texts would
  take ~20 CPU-minutes on this shared machine). Mixes stay in the region of
  the space that real texts occupy, which random vectors do not.
* **Queries** (:func:`measure`, run in a fresh process): the paraphrase set
  through ``Archive.search`` in each mode, one thread, embedding of the query
  included: CPU and wall p50/p95 (and the short word queries of
  ``benchmarks/search.py``, words vs hybrid); the table's bytes in memory, the process's
  RSS before and after loading it, the store's bytes on disk; the first query
  of the process (index, model and vectors loaded).
* **First-pass loss**: the sign-bit first pass
  (:meth:`~indexer.embeddings.VectorTable.nearest`) against exact scoring of
  every row, for paraphrase queries and "more like this" queries (a row's own
  vector): recall of the true top k, at 600,000 rows and at the
  :data:`REAL_ROWS` real rows alone; with the rows it keeps for exact scoring
  (``RESCORED``) as set, and four times as many, and what each costs.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from search import QUERIES as SEARCH_QUERIES  # noqa: E402 (the word and approximate queries of search.py)
REAL_ROWS = 60_000
SEED = 22


def scale_root(hours: int) -> Path:
    return ROOT / "benchmarks" / "out" / f"meaning-scale-{hours}h"


def build(hours: int, progress=print) -> Path:
    """The synthetic archive of ``hours`` (index and embedding store), unless it is already complete."""
    from search import corpus, to_transcript  # benchmarks/search.py: the synthetic talks

    from indexer.archive import ArchiveLayout
    from indexer.embeddings import EmbeddingStore, load_model
    from indexer.embeddings.store import EpisodeVectors, digest, quantize
    from indexer.index import IndexEntry, IndexOptions, TranscriptIndex

    root = scale_root(hours)
    layout = ArchiveLayout(root)
    done = root / "built.json"
    if done.is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    (root / "archive.yaml").write_text("language: fr\n", encoding="utf-8")
    t0 = time.process_time()
    TranscriptIndex.build(layout.index_dir, (IndexEntry(*to_transcript(*ep)) for ep in corpus(hours)),
                          IndexOptions(procs=1), progress=False)
    index_cpu = time.process_time() - t0
    progress(f"index of {hours} h built ({index_cpu:.0f} CPU s)")

    model = load_model()
    rng = np.random.default_rng(SEED)
    real: list[np.ndarray] = []
    store = EmbeddingStore.create(layout.embeddings_dir, model)
    t0 = time.process_time()
    made = 0
    for episode_id, _date, _speakers, texts in corpus(hours):
        n = len(texts)
        if made < REAL_ROWS:
            vectors = model.embed_passages(texts)
            real.append(vectors)
        else:
            pool = np.concatenate(real) if len(real) > 1 else real[0]
            real = [pool]
            a, b = rng.integers(0, len(pool), n), rng.integers(0, len(pool), n)
            mix = pool[a] + rng.uniform(0.2, 1.0, (n, 1)).astype(np.float32) * pool[b]
            mix += rng.normal(0, 0.01, mix.shape).astype(np.float32)
            vectors = mix / np.linalg.norm(mix, axis=1, keepdims=True)
        q, s = quantize(vectors.astype(np.float32))
        shard = EpisodeVectors(np.arange(n, dtype=np.int32), np.arange(n, dtype=np.float32) * 6,
                               np.arange(1, n + 1, dtype=np.float32) * 6,
                               np.array([digest(t) for t in texts], np.int64), q, s)
        shard.save(store.shard_path(episode_id), store.fingerprint)
        store.versions[episode_id] = "synthetic"
        made += n
    store._save_manifest()  # what ingest does once its shards are written
    embed_cpu = time.process_time() - t0
    progress(f"store of {made:,} rows written ({embed_cpu:.0f} CPU s)")
    done.write_text(json.dumps({"hours": hours, "rows": made, "real_rows": REAL_ROWS,
                                "index_cpu_s": round(index_cpu), "embed_cpu_s": round(embed_cpu)}) + "\n")
    return root


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def pct(values, q) -> float:
    return round(float(np.percentile(values, q)) * 1000, 1)


def exact_top(table, query: np.ndarray, k: int) -> np.ndarray:
    scores = np.empty(len(table), np.float32)
    for first in range(0, len(table), 65_536):
        part = slice(first, first + 65_536)
        scores[part] = (table.vectors[part].astype(np.float32) @ query) * table.scales[part]
    return np.argpartition(-scores, k)[:k]


def first_pass_recall(table, queries: list[np.ndarray], ks=(5, 20, 40), rows: int | None = None) -> dict:
    """Share of the exact top k that the two-pass search returns (over ``rows`` first rows if given)."""
    from indexer.embeddings.table import VectorTable

    if rows is not None and rows < len(table):
        table = VectorTable(table.store, ["x"], np.array([0, rows]), table.segments[:rows], table.starts[:rows],
                            table.ends[:rows], table.vectors[:rows], table.scales[:rows], table.bits[:rows])
    out = {"rows": len(table)}
    for k in ks:
        found = [len(set(exact_top(table, q, k).tolist()) & {r for r, _ in table.nearest(q, k)}) / k for q in queries]
        out[f"recall@{k}"] = round(statistics.mean(found), 4)
        out[f"worst@{k}"] = round(min(found), 3)
    return out


def measure(root: Path, queries: list[str], repeats: int = 2) -> dict:
    """In this (fresh) process: the first query, then every query of every mode, then the first-pass loss."""
    from indexer import Archive
    from indexer.embeddings import load_model, load_table
    from indexer.embeddings import table as table_module

    rss = {"start": round(rss_mb())}
    t0, c0 = time.perf_counter(), time.process_time()
    archive = Archive(root)
    archive.search(queries[0], limit=20)
    first = {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(time.process_time() - c0, 2)}
    rss["after_first_query"] = round(rss_mb())
    table = load_table(archive.layout.embeddings_dir)
    # What each part holds: measured again in a process of its own (one part loaded at a time).
    rss.update(parts_rss(root))
    result = {"rows": len(table), "dim": int(table.vectors.shape[1]), "first_query": first,
              "table_mb": round(table.nbytes / 1e6, 1), "rss_mb": rss,
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6),
              "disk_mb": round(dir_mb(archive.layout.embeddings_dir), 1),
              "index_disk_mb": round(dir_mb(archive.layout.index_dir), 1), "modes": {}}
    short = [q for kind, q, filters in SEARCH_QUERIES if kind in ("word", "approx") and not filters]
    for name, mode, filters, asked in (
            ("words", "words", {}, queries), ("meaning", "meaning", {}, queries), ("hybrid", "hybrid", {}, queries),
            ("hybrid, date=2012 (1/8 of the archive)", "hybrid", {"date": "2012"}, queries),
            ("words, short queries", "words", {}, short), ("hybrid, short queries", "hybrid", {}, short)):
        cpu, wall = [], []
        for _ in range(repeats):
            for q in asked:
                t0, c0 = time.perf_counter(), time.process_time()
                archive.search(q, limit=20, match=mode, **filters)
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - t0)
        result["modes"][name] = {"queries": len(cpu), "cpu_ms_p50": pct(cpu, 50), "cpu_ms_p95": pct(cpu, 95),
                                 "wall_ms_p50": pct(wall, 50), "wall_ms_p95": pct(wall, 95)}
    model = load_model(table.store.model_name)
    rng = np.random.default_rng(SEED)
    paraphrases = [model.embed_query(q) for q in queries]
    like_this = [table.vector(int(r)) / np.linalg.norm(table.vector(int(r))) for r in rng.integers(0, len(table), 40)]
    result["first_pass"] = {}
    for keep in (table_module.RESCORED, 4 * table_module.RESCORED):
        saved, table_module.RESCORED = table_module.RESCORED, keep
        try:
            cpu = []
            for q in paraphrases:
                c0 = time.process_time()
                table.nearest(q, 40)
                cpu.append(time.process_time() - c0)
            result["first_pass"][keep] = {
                "nearest_cpu_ms_p50": pct(cpu, 50), "nearest_cpu_ms_p95": pct(cpu, 95),
                "paraphrases": first_pass_recall(table, paraphrases),
                "more_like_this": first_pass_recall(table, like_this),
                "paraphrases_real_rows_only": first_pass_recall(table, paraphrases, rows=REAL_ROWS),
            }
        finally:
            table_module.RESCORED = saved
    return result


PARTS = """
import json, os, sys
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
from indexer.embeddings import load_model, load_table
from indexer.index import TranscriptIndex
out = {"python_and_imports": rss()}
load_model().embed_query("bonjour"); out["model"] = rss() - out["python_and_imports"]
before = rss(); table = load_table(sys.argv[1] + "/embeddings"); out["vectors"] = rss() - before
before = rss(); ix = TranscriptIndex.open(sys.argv[1] + "/index", create=False); ix.memos().searcher.doc_count()
out["index_opened"] = rss() - before
print(json.dumps({k: round(v) for k, v in out.items()}))
"""


def parts_rss(root: Path) -> dict:
    """MB of resident memory each part adds, loaded one after the other in a fresh process."""
    out = subprocess.run([sys.executable, "-c", PARTS, str(root)], capture_output=True, text=True, check=True)
    return {f"{k}_adds" if k != "python_and_imports" else k: v for k, v in json.loads(out.stdout).items()}


def run(hours: int, queries: list[str]) -> dict:
    """Build (once) then measure in a fresh process, one thread."""
    root = build(hours)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, str(root)], input=json.dumps(queries), capture_output=True,
                         text=True, env=env, check=True)
    return {"hours": hours, **json.loads((root / "built.json").read_text()), **json.loads(out.stdout)}


if __name__ == "__main__":  # the fresh process of run()
    sys.path.insert(0, str(ROOT))
    print(json.dumps(measure(Path(sys.argv[1]), json.loads(sys.stdin.read()))))
