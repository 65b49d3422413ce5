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


def light_stem(word: str) -> str:
    """The light stem of a lowercased ``word`` (accents of long words folded)."""
    s = list(word)
    n = len(s)

    def ends(suffix: str) -> bool:
        return n >= len(suffix) and "".join(s[n - len(suffix):n]) == suffix

    if n > 5 and s[n - 1] == "x":
        if s[n - 3] == "a" and s[n - 2] == "u" and s[n - 4] != "e":
            s[n - 2] = "l"
        n -= 1
    if n > 3 and s[n - 1] == "x":
        n -= 1
    if n > 3 and s[n - 1] == "s":
        n -= 1
    if n > 9 and ends("issement"):
        n -= 6
        s[n - 1] = "r"
        return _norm(s, n)
    if n > 8 and ends("issant"):
        n -= 4
        s[n - 1] = "r"
        return _norm(s, n)
    if n > 6 and ends("ement"):
        n -= 4
        if n > 3 and ends("ive"):
            n -= 1
            s[n - 1] = "f"
        return _norm(s, n)
    if n > 11 and ends("ficatrice"):
        n -= 5
        s[n - 2], s[n - 1] = "e", "r"
        return _norm(s, n)
    if n > 10 and ends("ficateur"):
        n -= 4
        s[n - 2], s[n - 1] = "e", "r"
        return _norm(s, n)
    if n > 9 and ends("catrice"):
        n -= 3
        s[n - 4], s[n - 3], s[n - 2] = "q", "u", "e"
        return _norm(s, n)
    if n > 8 and ends("cateur"):
        n -= 2
        s[n - 4], s[n - 3], s[n - 2], s[n - 1] = "q", "u", "e", "r"
        return _norm(s, n)
    if n > 8 and ends("atrice"):
        n -= 4
        s[n - 2], s[n - 1] = "e", "r"
        return _norm(s, n)
    if n > 7 and ends("ateur"):
        n -= 3
        s[n - 2], s[n - 1] = "e", "r"
        return _norm(s, n)
    if n > 6 and ends("trice"):
        n -= 1
        s[n - 3], s[n - 2], s[n - 1] = "e", "u", "r"
    if n > 5 and ends("ième"):
        return _norm(s, n - 4)
    if n > 7 and ends("teuse"):
        n -= 2
        s[n - 1] = "r"
        return _norm(s, n)
    if n > 6 and ends("teur"):
        n -= 1
        s[n - 1] = "r"
        return _norm(s, n)
    if n > 5 and ends("euse"):
        return _norm(s, n - 2)
    if n > 8 and ends("ère"):
        n -= 1
        s[n - 2] = "e"
        return _norm(s, n)
    if n > 7 and ends("ive"):
        n -= 1
        s[n - 1] = "f"
        return _norm(s, n)
    if n > 4 and (ends("folle") or ends("molle")):
        n -= 2
        s[n - 1] = "u"
        return _norm(s, n)
    if n > 9 and ends("nnelle"):
        return _norm(s, n - 5)
    if n > 9 and ends("nnel"):
        return _norm(s, n - 3)
    if n > 4 and ends("ète"):
        n -= 1
        s[n - 2] = "e"
    if n > 8 and ends("ique"):
        n -= 4
    if n > 8 and ends("esse"):
        return _norm(s, n - 3)
    if n > 7 and ends("inage"):
        return _norm(s, n - 3)
    if n > 9 and ends("isation"):
        n -= 7
        if n > 5 and ends("ual"):
            s[n - 2] = "e"
        return _norm(s, n)
    if n > 9 and ends("isateur"):
        return _norm(s, n - 7)
    if n > 8 and ends("ation"):
        return _norm(s, n - 5)
    if n > 8 and ends("ition"):
        return _norm(s, n - 5)
    return _norm(s, n)


def _norm(s: list[str], n: int) -> str:
    word = "".join(s[:n])
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
