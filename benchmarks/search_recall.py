"""Search recall on archives with timed reference texts: strict AND, graded words, hybrid.

    python benchmarks/search_recall.py archive benchmarks/out/degraded

For each archive (which must have ``reference/<episode>.json`` with timed
sentences, as the sample archive has, and transcripts), the index is rebuilt,
then for every reference sentence the two rarest words (more than three
letters, not stop words; rarity counted over all reference sentences) are
searched, as a researcher remembering the moment would:

* recall@5: a top-5 hit lands in the right episode within 3 s of the sentence;
* MRR: mean of 1 / rank of the first such hit (0 when none in the top 20);
* the same with one random edit (insertion, deletion, substitution or
  transposition) in the rarer word: the user's typo;
* a precision check: two-word queries of plausible French words never spoken
  in the archive; a query *fails* when a hit claims every word exactly.

The modes run side by side on the same index: ``match="all"`` (the strict
AND of the words: the old behaviour), graded words (``match="words"``), the
hybrid default (words and meaning), and the first version of hybrid search
(``hybrid-rrf``). Results go to
``benchmarks/results/search_recall.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer import Archive  # noqa: E402
from meaning import fusion  # noqa: E402 (benchmarks/meaning.py: the first version of hybrid search, to compare)
from indexer.index import FOLD_MAP, FRENCH_STOP_WORDS  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TOLERANCE = 3.0  # s around the sentence
# graded: words only, the default before meaning; hybrid-rrf: the first version of hybrid (benchmarks/meaning.py)
MODES = {"and": "all", "graded": "words", "hybrid": "hybrid", "hybrid-rrf": "hybrid"}

# Plausible words of talks about communities and the web that the sample
# archive never says (checked against its transcripts and references at run time).
NEVER_SAID = [
    "parapluie montagne", "facture électricité", "randonnée glacier", "boulangerie croissant",
    "tracteur moisson", "aquarium dauphin", "chirurgien hôpital", "tempête marine",
    "violoncelle orchestre", "vendanges tonneau", "piscine plongeon", "fromagerie affinage",
    "cathédrale vitrail", "locomotive vapeur", "banquise pingouin", "boussole randonneur",
    "marathon chronomètre", "potager tomates", "escalade falaise", "cerisier printemps",
]


def words_of(text: str) -> list[str]:
    out = []
    for w in re.findall(r"\w+(?:['’]\w+)*", text):
        w = re.split(r"['’]", w)[-1] if re.match(r"^(?:l|d|j|m|n|s|t|c|qu)['’]", w, re.I) else w
        if len(w) > 3 and w.lower().translate(FOLD_MAP) not in FRENCH_STOP_WORDS and not w.isdigit():
            out.append(w)
    return out


def load_references(root: Path) -> list[tuple[str, dict]]:
    refs = []
    for path in sorted((root / "reference").rglob("*.json")):
        episode = path.relative_to(root / "reference").with_suffix("").as_posix()
        for sentence in json.loads(path.read_text(encoding="utf-8"))["sentences"]:
            refs.append((episode, sentence))
    return refs


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)  # keep the first letter: who mistypes that?
    kind = rng.choice(["insert", "delete", "substitute", "transpose"])
    letter = rng.choice("aeiourstnlc")
    if kind == "insert":
        return word[:i] + letter + word[i:]
    if kind == "delete":
        return word[:i] + word[i + 1:]
    if kind == "substitute":
        return word[:i] + (letter if letter != word[i] else "e") + word[i + 1:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:] if word[i] != word[i + 1] else word[:i] + word[i + 1:]


def evaluate(archive: Archive, queries: list[tuple[str, str, float, float]], match: str) -> dict:
    ranks, times = [], []
    for query, episode, start, end in queries:
        t0 = time.perf_counter()
        hits = archive.search(query, limit=20, match=match)
        times.append((time.perf_counter() - t0) * 1000)
        rank = next((i + 1 for i, h in enumerate(hits)
                     if h.episode == episode and h.start <= end + TOLERANCE and h.end >= start - TOLERANCE), None)
        ranks.append(rank)
    n = max(1, len(ranks))
    return {"queries": len(ranks), "recall@5": round(sum(1 for r in ranks if r and r <= 5) / n, 3),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 3),
            "empty_or_missed": sum(1 for r in ranks if not r),
            "median_ms": round(statistics.median(times), 1) if times else None,
            "max_ms": round(max(times), 1) if times else None}


def precision(archive: Archive, match: str, spoken: set[str]) -> dict:
    checked, failures, approximate_only = 0, [], 0
    for query in NEVER_SAID:
        if any(w.lower().translate(FOLD_MAP) in spoken for w in query.split()):
            continue  # said after all: not a fair check
        checked += 1
        hits = archive.search(query, limit=20, match=match)
        if any(not h.approximate for h in hits):
            failures.append(query)
        elif hits:
            approximate_only += 1
    return {"queries": checked, "failures": len(failures), "failed": failures,
            "answered_with_approximate_hits": approximate_only}


def word_error_rate(archive: Archive, root: Path) -> float | None:
    """Of the transcripts against the reference texts (lowercased, punctuation removed), with jiwer."""
    try:
        import jiwer
    except ImportError:
        return None

    def norm(text: str) -> str:
        return " ".join(re.findall(r"\w+", text.lower()))

    refs, hyps = [], []
    for path in sorted((root / "reference").rglob("*.json")):
        episode = path.relative_to(root / "reference").with_suffix("").as_posix()
        refs.append(norm(" ".join(s["text"] for s in json.loads(path.read_text(encoding="utf-8"))["sentences"])))
        hyps.append(norm(" ".join(s.text for s in archive.transcript(episode).segments)))
    return round(jiwer.wer(refs, hyps), 3)


def run_archive(root: Path, seed: int) -> dict:
    if not (root / "reference").is_dir() or not (root / "transcripts").is_dir():
        raise SystemExit(f"{root}: needs reference/*.json and transcripts/ "
                         f"(run `indexer ingest --archive {root}` first)")
    archive = Archive(root)
    archive.reindex(progress=False)
    refs = load_references(root)
    df: dict[str, int] = {}
    for _, sentence in refs:
        for w in {w.lower() for w in words_of(sentence["text"])}:
            df[w] = df.get(w, 0) + 1
    rng = random.Random(seed)
    plain, typos = [], []
    for episode, sentence in refs:
        words = list(dict.fromkeys(words_of(sentence["text"])))
        if len(words) < 2:
            continue
        rare = sorted(words, key=lambda w: (df[w.lower()], -len(w)))[:2]
        rare.sort(key=words.index)
        plain.append((" ".join(rare), episode, sentence["start"], sentence["end"]))
        rarest = min(rare, key=lambda w: (df[w.lower()], -len(w)))
        if len(rarest) >= 5:
            typoed = [typo(w, rng) if w == rarest else w for w in rare]
            typos.append((" ".join(typoed), episode, sentence["start"], sentence["end"]))
    spoken = set()
    for t in archive.transcripts():
        for seg in t.segments:
            spoken.update(w.lower().translate(FOLD_MAP) for w in re.findall(r"\w+", seg.text))
    for _, sentence in refs:
        spoken.update(w.lower().translate(FOLD_MAP) for w in re.findall(r"\w+", sentence["text"]))
    report = {"archive": str(root), "sentences": len(refs), "wer": word_error_rate(archive, root), "modes": {}}
    for name, match in MODES.items():
        with fusion(name):
            report["modes"][name] = {
                "rare_words": evaluate(archive, plain, match),
                "with_typo": evaluate(archive, typos, match),
                "precision": precision(archive, match, spoken),
            }
    report["examples"] = {"rare_words": [q for q, *_ in plain[:5]], "with_typo": [q for q, *_ in typos[:5]]}
    return report


def markdown(reports: list[dict]) -> str:
    lines = ["# Search recall: strict AND, graded words, hybrid (words and meaning)", "",
             "Two rarest words of each reference sentence (recall@5 within 3 s, MRR over the top 20); "
             "the same with one random edit in the rarer word; precision: queries of words never spoken "
             "that got a hit claiming every word exactly. `python benchmarks/search_recall.py ARCHIVE...`", "",
             "| archive (WER) | mode | recall@5 | MRR | missed | with typo: recall@5 | MRR | precision failures | "
             "median ms |", "|---|---|---|---|---|---|---|---|---|"]
    for r in reports:
        for name, m in r["modes"].items():
            a, t, p = m["rare_words"], m["with_typo"], m["precision"]
            lines.append(f"| {r['archive']} ({r['wer']}, {a['queries']} q) | {name} | {a['recall@5']} | {a['mrr']} | "
                         f"{a['empty_or_missed']} | {t['recall@5']} | {t['mrr']} | {p['failures']} / {p['queries']} | "
                         f"{a['median_ms']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("archives", nargs="+", type=Path)
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--name", default="search_recall")
    args = p.parse_args(argv)
    reports = [run_archive(a, args.seed) for a in args.archives]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(reports, ensure_ascii=False, indent=1) + "\n",
                                               encoding="utf-8")
    md = markdown(reports)
    (RESULTS / f"{args.name}.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
