"""The French analyzer of segment texts and titles, and the analyzer of speaker names.

Whoosh's ``Tokenizer | Filter | …`` chains: elisions, stop words, handles, light stemming, accent folding.
"""

from __future__ import annotations

import re
from typing import Iterable

from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StopFilter
from whoosh.support.charset import accent_map

from .stemmer import french_stem

# Words, keeping inner apostrophes (aujourd'hui, l'engagement: the elision filter
# splits the latter), dotted names (owni.fr, 2.0), handles and hashtags.
TOKEN_PATTERN = r"[@#]?\w+(?:['’.]\w+)*"

# accent_map leaves the ligatures alone.
LIGATURES = {ord("œ"): "oe", ord("æ"): "ae"}
FOLD_MAP = {**accent_map, **LIGATURES}

# Elided articles/pronouns/conjunctions, either apostrophe. Only these prefixes
# are split, so aujourd'hui, quelqu'un and prud'hommes stay one word.
ELISION = re.compile(r"^(?:l|d|j|m|n|s|t|c|ç|qu|jusqu|lorsqu|puisqu|quoiqu|presqu)['’](?=\w)")

# Snowball's French list (what whoosh ships as stoplists["fr"]) plus common
# forms it lacks (les, a, ça, cet, cette…), folded like the tokens: accents never
# matter, at the price of sûr/sur and dû/du colliding.
_STOP_WORDS = """
ai aie aient aies ait as au aura aurai auraient aurais aurait auras aurez auriez
aurions aurons auront aux avaient avais avait avec avez aviez avions avons ayant
ayante ayantes ayants ayez ayons c ce ces d dans de des du elle en es est et eu
eue eues eurent eus eusse eussent eusses eussiez eussions eut eux eûmes eût eûtes
furent fus fusse fussent fusses fussiez fussions fut fûmes fût fûtes il j je l la
le leur lui m ma mais me mes moi mon même n ne nos notre nous on ont ou par pas
pour qu que qui s sa se sera serai seraient serais serait seras serez seriez
serions serons seront ses soient sois soit sommes son sont soyez soyons suis sur
t ta te tes toi ton tu un une vos votre vous y à étaient étais était étant étante
étantes étants étiez étions été étée étées étés êtes
a les ça cela ceci cet cette celui celle ceux celles où dont donc car ni si
elles ils leurs aussi très
"""
FRENCH_STOP_WORDS = frozenset(w.translate(FOLD_MAP) for w in _STOP_WORDS.split())


class ElisionFilter(Filter):
    """``l'engagement`` → ``engagement``, ``d’une`` → ``une``; ``’`` becomes ``'``."""

    def __call__(self, tokens):
        for t in tokens:
            text = t.text
            if "'" in text or "’" in text:
                m = ELISION.match(text)
                if m:
                    text = text[m.end():]
                    if t.chars:
                        t.startchar += m.end()
                t.text = text.replace("’", "'")
            yield t


class HandleFilter(Filter):
    """``@owni`` / ``#cm`` are indexed as themselves and as the bare word.

    So the query ``@owni`` finds only the handle, while ``owni`` finds both the
    handle and the spoken name. At query time only the token itself is kept.
    """

    def __call__(self, tokens):
        for t in tokens:
            yield t
            if t.mode != "query" and len(t.text) > 1 and t.text[0] in "@#":
                text, t.text = t.text, t.text[1:]
                if t.chars:
                    t.startchar += 1
                yield t
                t.text = text
                if t.chars:
                    t.startchar -= 1


class FrenchStemFilter(Filter):
    """Light French stemming of the accented word, then accent folding, with a cache.

    Handles and hashtags are left alone. See :mod:`indexer.index.stemmer` for why the
    stemmer sees the accents.
    """

    def __init__(self, cachesize: int = 100_000):
        self.cachesize = cachesize
        self._cache: dict[str, str] = {}

    def __getstate__(self):  # pickled with the schema: no cache
        return {"cachesize": self.cachesize}

    def __setstate__(self, state):
        self.__init__(**state)

    def __eq__(self, other):
        return type(other) is type(self)

    def __call__(self, tokens):
        cache = self._cache
        for t in tokens:
            text = t.text
            if text[0] not in "@#" and text.replace("'", "").isalpha():  # not owni.fr, 2.0
                stemmed = cache.get(text)
                if stemmed is None:
                    if len(cache) >= self.cachesize:
                        cache.clear()
                    stemmed = cache[text] = french_stem(text.translate(LIGATURES)).translate(FOLD_MAP)
                t.text = stemmed
            else:
                t.text = text.translate(FOLD_MAP)
            yield t


class FoldedStopFilter(StopFilter):
    """Whoosh's StopFilter, comparing the *folded* word with the (folded) list, so
    « à », « a », « été » and « ete » are all stop words while the kept tokens
    keep their accents for the stemmer."""

    def __init__(self, stoplist: Iterable[str]):
        super().__init__(stoplist=frozenset(stoplist), minsize=1)

    def __call__(self, tokens):
        stops = self.stops
        pos = None
        for t in tokens:
            if t.text.translate(FOLD_MAP) not in stops:
                if t.positions:  # renumbered, as StopFilter(renumber=True)
                    if pos is None:
                        pos = t.pos
                    else:
                        pos += 1
                        t.pos = pos
                t.stopped = False
                yield t
            elif not t.removestops:
                t.stopped = True
                yield t


def french_analyzer(stoplist: Iterable[str] | None = FRENCH_STOP_WORDS):
    """Lowercase, split elisions, drop stop words, stem, fold accents (in that order).

    The light stemmer sees the accented word (see :mod:`indexer.index.stemmer`) and
    folds accents itself, so « visibilite » = « visibilité » and
    « prolongée » = « prolonger » = « prolongé ». Stop words are removed with
    positions renumbered, so phrase queries ignore them but keep word order.
    """
    chain = (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | ElisionFilter()
    )
    if stoplist is not None:
        chain = chain | FoldedStopFilter(frozenset(stoplist))
    return chain | HandleFilter() | FrenchStemFilter()


def name_analyzer():
    """Speaker names: words, lowercased and accent-folded, no stemming."""
    return RegexTokenizer(r"\w+") | LowercaseFilter() | CharsetFilter(FOLD_MAP)
