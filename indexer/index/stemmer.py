"""French light stemming (Savoy's "UniNE" algorithm, as Lucene's FrenchLightStemmer).

Why not Snowball: Snowball needs the accents (it treats ``é`` as a vowel), so
folding accents first broke participles (« prolongée » ``prolonge`` vs
« prolonger » ``prolong``), and stemming first made « visibilite » and
« visibilité » differ. Savoy's light stemmer strips plural and feminine
endings and a few derivational suffixes, then folds the accents itself
(in ``norm``), so the accented and unaccented spellings of a word, and its
participles, get one stem. It is a faithful port of Lucene's
``org.apache.lucene.analysis.fr.FrenchLightStemmer`` (what Elasticsearch's
``light_french`` runs), checked against the examples of Lucene's own test.

:func:`french_stem` adds two rules of ours around it, for verb forms the
algorithm leaves apart: « entrez » is stemmed as « entrer », and a stem's final
``i`` goes, because Savoy's ``-ie`` rule runs before its ``-er`` rule
(« publiée », « publié » → ``publ`` but « publier » → ``publi``).
"""

from __future__ import annotations

_NORM_FOLD = str.maketrans({"à": "a", "á": "a", "â": "a", "ô": "o", "è": "e", "é": "e", "ê": "e",
                            "ù": "u", "û": "u", "î": "i", "ç": "c"})


def french_stem(word: str) -> str:
    """The stem the index uses: :func:`light_stem` plus two verb rules (see above)."""
    if len(word) > 5 and word.endswith("ez"):
        word = word[:-2] + "er"
    stem = light_stem(word)
    return stem[:-1] if len(stem) > 4 and stem.endswith("i") and stem.isalpha() else stem


# Savoy's suffix rules in Lucene's order: (word longer than, suffixes, letters
# cut, new ending written over the last letters left, stop here). Each
# replaces one ``if (len > L && endsWith(s, len, "…")) { len -= k; s[len-1] = …;
# return norm(s, len); }`` of FrenchLightStemmer.java; "ement" and "isation"
# have extra conditions and are handled in the loop.
_RULES = [
    (9, ("issement",), 6, "r", True),
    (8, ("issant",), 4, "r", True),
    (6, ("ement",), 4, "", True),
    (11, ("ficatrice",), 5, "er", True),
    (10, ("ficateur",), 4, "er", True),
    (9, ("catrice",), 3, "quer", True),
    (8, ("cateur",), 2, "quer", True),
    (8, ("atrice",), 4, "er", True),
    (7, ("ateur",), 3, "er", True),
    (6, ("trice",), 1, "eur", False),
    (5, ("ième",), 4, "", True),
    (7, ("teuse",), 2, "r", True),
    (6, ("teur",), 1, "r", True),
    (5, ("euse",), 2, "", True),
    (8, ("ère",), 1, "er", True),
    (7, ("ive",), 1, "f", True),
    (4, ("folle", "molle"), 2, "u", True),
    (9, ("nnelle",), 5, "", True),
    (9, ("nnel",), 3, "", True),
    (4, ("ète",), 1, "et", False),
    (8, ("ique",), 4, "", False),
    (8, ("esse",), 3, "", True),
    (7, ("inage",), 3, "", True),
    (9, ("isation",), 7, "", True),
    (9, ("isateur",), 7, "", True),
    (8, ("ation",), 5, "", True),
    (8, ("ition",), 5, "", True),
]


def light_stem(word: str) -> str:
    """The light stem of a lowercased ``word`` (accents of long words folded)."""
    w = word
    if len(w) > 5 and w.endswith("x"):
        if w[-3:-1] == "au" and w[-4] != "e":
            w = w[:-2] + "l" + w[-1]
        w = w[:-1]
    if len(w) > 3 and w.endswith("x"):
        w = w[:-1]
    if len(w) > 3 and w.endswith("s"):
        w = w[:-1]
    for longer, suffixes, cut, ending, stop in _RULES:
        if len(w) > longer and w.endswith(suffixes):
            w = w[:-cut]
            w = w[:len(w) - len(ending)] + ending
            if suffixes == ("ement",) and len(w) > 3 and w.endswith("ive"):
                w = w[:-2] + "f"  # administrativement → administratif
            elif suffixes == ("isation",) and len(w) > 5 and w.endswith("ual"):
                w = w[:-2] + "el"  # ritualisation → rituel
            if stop:
                return _norm(w)
    return _norm(w)


def _norm(word: str) -> str:
    n = len(word)
    if n > 4:
        word = word.translate(_NORM_FOLD)
        out = [word[0]]
        for ch in word[1:]:  # collapse repeated letters (not digits: SOLR-3463)
            if not (ch == out[-1] and ch.isalpha()):
                out.append(ch)
        word = "".join(out)
    n = len(word)
    if n > 4 and word.endswith("ie"):
        word = word[:-2]
        n -= 2
    if n > 4:
        if word[-1] == "r":
            word = word[:-1]
        if word[-1] == "e":
            word = word[:-1]
        if word[-1] == "e":
            word = word[:-1]
        if word[-1] == word[-2] and word[-1].isalpha():
            word = word[:-1]
    return word
