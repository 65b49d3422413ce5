"""Graded matching of plain queries: every word, most words, then close forms.

A plain query (words only: no operator, phrase, field, wildcard or ``~``) is
answered in tiers, so that one wrongly transcribed word no longer empties the
answer:

1. segments holding every word (exactly today's AND query);
2. then segments holding most of the words, and segments where a word is
   only *approximate*: its stem within a few edits of a stem of the
   transcript (« acceuil » → « accueil »), glued to its neighbour
   (« Radio USB » → « RadioUSB », « a joint » → « Ajoint »), or sounding like
   a word, or a pair of adjacent words, that the recogniser was unsure of
   (« sauvegardé » → « sauf gardée », « échec » → « et chaque »; keys from
   :mod:`indexer.index.sounds`, field ``doubt``).

Within the second tier hits are ordered by the number of words matched
(coordination), then by the number matched exactly, then by BM25F: a segment
holding both words, one of them approximately, is likelier the moment sought
than one holding only one of them. Segments matching every word, exactly or
not, are looked for first (an AND, which Whoosh answers by skipping); the
slower OR of the words runs only when they are too few. Every hit says how
each query word matched (:attr:`indexer.search.Hit.matched`).

Approximate forms are looked for only for *rare* words (in at most
:data:`RARE_SHARE` of the segments, or absent): a frequent word is found as it
is, and its close forms would only add noise and time. The edit distance
grows with the word's length (:func:`max_edits`); words the recogniser was
unsure of (probability below ``indexer.index.DOUBT_PROBABILITY``) are reached
by sound, and one edit further.

Measured (``benchmarks/search_recall.py``): sound keys of *every* word (a
field beside ``text``) cost 31-45 % more index and 50 % more build CPU, and
brought no recall over stems plus doubted words' sounds (0.94 both on the
degraded sample, MRR 0.903 vs 0.905): they were dropped. Sound keys of
every word *pair* cost 3.8x the index size and 5x the build time.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from whoosh import query as wq

from ..index import TOKEN_PATTERN, sounds
from .match import EXACT, Match

APPROX_BOOST = 0.3       # an approximate word scores like a third of an exact one
RARE_SHARE = 0.002       # words in more segments than this share are not expanded
RARE_MIN = 5             # ...unless in at most this many segments (small archives)
MAX_EXPANSIONS = 8       # close forms kept per query word and kind (closest first)
SOUND_PREFIX = 1         # key letters a sound match must share
TEXT_PREFIX = 1          # stem letters a close stem must share (as `mot~`)

# Anything beyond bare words makes the query "explicit": it keeps Whoosh's meaning.
_EXPLICIT = re.compile(r'\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b|["()\[\]{}:*?~^]')


def max_edits(length: int) -> int:
    """Edits allowed between a word (stem or sound key) of ``length`` letters and its match.

    Elasticsearch's ``fuzziness: AUTO`` (0 up to 2 letters, 1 up to 5, then 2),
    one letter stricter for short words, whose close forms are mostly other words.
    """
    return 0 if length <= 3 else 1 if length <= 5 else 2


@dataclass
class QueryWord:
    label: str                                   # as typed
    terms: frozenset[str]                        # its index terms (stems)
    approx_terms: dict[str, int] = field(default_factory=dict)   # close stems → edits
    approx_sounds: dict[str, int] = field(default_factory=dict)  # close sound keys of doubted words → edits


def plain_words(text: str) -> list[str] | None:
    """The words of a plain query, or None when it uses explicit syntax."""
    if _EXPLICIT.search(text):
        return None
    return re.findall(TOKEN_PATTERN, text)


def expand(memos, typed: list[str]) -> list[QueryWord]:
    """The query words with their close forms (rare words only), in query order
    (``memos``: the index's :class:`~indexer.index.memos.SearcherMemos`)."""
    searcher = memos.searcher
    analyzer = searcher.schema["text"].analyzer
    reader = searcher.reader()
    n_docs = max(1, searcher.doc_count())
    rare = max(RARE_MIN, RARE_SHARE * n_docs)
    found: list[QueryWord] = []
    keys = [sounds.sound_key(w.lower().lstrip("@#")) for w in typed]
    for i, word in enumerate(typed):
        terms = frozenset(t.text for t in analyzer(word, mode="query"))
        if not terms:
            continue  # a stop word: only used below, glued to its neighbour
        qw = QueryWord(word, terms)
        df = max(reader.doc_frequency("text", t) for t in terms)
        if df <= rare:
            for t in terms | _joined_terms(analyzer, typed, i):
                if not t.startswith(("@", "#")):
                    _add(qw.approx_terms, close_terms(memos, "text", t, max_edits(len(t)), TEXT_PREFIX))
            # Words the recogniser doubted, alone or glued to a neighbour, by
            # sound and one edit further than a stem.
            for key in _keys_around(keys, i):
                if len(key) >= 4:
                    edits = min(2, max_edits(len(key)) + 1)
                    _add(qw.approx_sounds, close_terms(memos, "doubt", key, edits, SOUND_PREFIX))
        qw.approx_terms = _closest(qw.approx_terms, exclude=terms)
        qw.approx_sounds = _closest(qw.approx_sounds)
        common = {t: d for t, d in qw.approx_terms.items() if reader.doc_frequency("text", t) > rare}
        if common:
            # A misspelling of a frequent word (« communoté »): that word alone.
            # An OR of it with rare look-alikes defeats Whoosh's skipping
            # (170 ms instead of 23 on 60 hours of the benchmark corpus) for no better hit.
            best = min(common, key=lambda t: (common[t], -reader.doc_frequency("text", t)))
            qw.approx_terms, qw.approx_sounds = {best: common[best]}, {}
        found.append(qw)
    return found


def _joined_terms(analyzer, typed: list[str], i: int) -> set[str]:
    """Index terms of the word glued to each neighbour (« Radio USB » ~ « RadioUSB »)."""
    out = set()
    for a, b in ((i - 1, i), (i, i + 1)):
        if 0 <= a and b < len(typed):
            out.update(t.text for t in analyzer(typed[a] + typed[b], mode="query"))
    return out


def _keys_around(keys: list[str], i: int) -> list[str]:
    """The word's own key, and its key glued to each neighbour's (ASR splits and joins)."""
    out = [keys[i]]
    if i > 0 and keys[i - 1]:
        out.append(keys[i - 1] + keys[i])
    if i + 1 < len(keys) and keys[i + 1]:
        out.append(keys[i] + keys[i + 1])
    return [k for k in out if len(k) >= 2]


def _add(into: dict[str, int], found: dict[str, int]) -> None:
    for term, d in found.items():
        if d < into.get(term, 99):
            into[term] = d


def _closest(found: dict[str, int], exclude=frozenset()) -> dict[str, int]:
    items = sorted((d, t) for t, d in found.items() if t not in exclude)
    return {t: d for d, t in items[:MAX_EXPANSIONS]}


def close_terms(memos, fieldname: str, word: str, maxdist: int, prefix: int) -> dict[str, int]:
    """Terms of ``fieldname`` within ``maxdist`` edits of ``word`` sharing its first ``prefix`` letters.

    Like Whoosh's ``terms_within`` (the same restricted Damerau-Levenshtein
    distance), but the terms sharing the prefix are decoded once per searcher
    and compared in C by rapidfuzz: Whoosh's Python distance made an
    approximate query cost 70-360 ms on the 100-hour benchmark. Returns
    term → edits.
    """
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    searcher = memos.searcher
    if fieldname not in searcher.schema:
        return {}
    if maxdist == 0:
        return {word: 0} if searcher.reader().doc_frequency(fieldname, word) else {}
    candidates = memos.terms_with_prefix(fieldname, word[:prefix])
    found = process.extract(word, candidates, scorer=OSA.distance, score_cutoff=maxdist, limit=None)
    return {term: int(d) for term, d, _ in found}


def graded_query(words: list[QueryWord], every: bool = False, at_least: int = 1) -> wq.Query:
    """Any (or ``every``, or ``at_least`` some) of the words, exact or approximate (approximate forms boosted
    down). ``at_least``: an OR of every combination of that many words (Whoosh's ``minmatch`` is not
    implemented): intersections skip through the postings, where the OR of all the words reads them all."""
    per_word = []
    for w in words:
        alts = [wq.Term("text", t) for t in sorted(w.terms)]
        alts += [wq.Term("text", t, boost=APPROX_BOOST / (1 + d)) for t, d in w.approx_terms.items()]
        alts += [wq.Term("doubt", k, boost=APPROX_BOOST / (1 + d)) for k, d in w.approx_sounds.items()]
        per_word.append(wq.Or(alts) if len(alts) > 1 else alts[0])
    if len(per_word) == 1:
        return per_word[0]
    if every:
        return wq.And(per_word)
    if at_least > 1:
        return wq.Or([wq.And(list(c)) for c in itertools.combinations(per_word, at_least)])
    return wq.Or(per_word)


def match(analyzer, text: str, words: list[QueryWord]) -> tuple[dict[str, Match], list[tuple[int, int]]]:
    """How each query word matched ``text`` (exact or approximate; absent if not), and where."""
    by_term: dict[str, list[tuple[int, int]]] = {}
    for t in analyzer(text, chars=True, mode="index"):
        by_term.setdefault(t.text, []).append((t.startchar, t.endchar))
    by_key: dict[str, list[tuple[int, int]]] | None = None
    matched: dict[str, Match] = {}
    spans: list[tuple[int, int]] = []
    for w in words:
        exact = [s for t in w.terms for s in by_term.get(t, ())]
        if exact:
            matched[w.label] = EXACT
            spans += exact
            continue
        close = sorted((d, s) for t, d in w.approx_terms.items() for s in by_term.get(t, ()))
        if not close and w.approx_sounds:
            if by_key is None:
                by_key = {}
                for key, start, end in sounds.units(text):
                    by_key.setdefault(key, []).append((start, end))
            close = sorted((d, s) for k, d in w.approx_sounds.items() for s in by_key.get(k, ()))
        if close:
            start, end = close[0][1]
            matched[w.label] = Match.approx(text[start:end])
            spans.append((start, end))
    return matched, spans


def rank_key(matched: dict[str, Match], score: float) -> tuple:
    """Most words matched first, then most matched exactly, then BM25F."""
    exact = sum(1 for v in matched.values() if v.is_exact)
    return (-len(matched), -exact, -score)
