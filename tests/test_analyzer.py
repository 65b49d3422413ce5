"""The French analyzer: what is indexed for a piece of text (table-driven)."""

import pytest
from whoosh.lang.snowball.french import FrenchStemmer

from indexer.index import FRENCH_STOP_WORDS, french_analyzer

ANALYZER = french_analyzer()
NO_STOPS = french_analyzer(stoplist=None)


def terms(text, analyzer=ANALYZER, mode="index"):
    return [t.text for t in analyzer(text, mode=mode)]


def term(word):
    (only,) = terms(word, NO_STOPS)
    return only


@pytest.mark.parametrize("text, expected", [
    # Elisions, with ' and ’, leave the word; the elided article is dropped.
    ("l'engagement", ["engag"]),
    ("L’engagement", ["engag"]),
    ("d'une", ["une"]),
    ("d’une", ["une"]),
    ("qu'il", ["il"]),
    ("qu’il", ["il"]),
    ("jusqu'à", ["a"]),
    ("c'est", ["est"]),
    ("lorsqu'on", ["on"]),
    ("s'engager", ["engag"]),
    # Not elisions: one word, the apostrophe normalised to '.
    ("aujourd'hui", ["aujourd'hui"]),
    ("aujourd’hui", ["aujourd'hui"]),
    ("quelqu'un", ["quelqu'un"]),
])
def test_elisions(text, expected):
    assert terms(text, NO_STOPS) == expected


@pytest.mark.parametrize("text, expected", [
    ("d’une communauté", ["communaut"]),      # « une » is a stop word
    ("qu'il faut animer", ["faut", "anim"]),
    ("jusqu'à aujourd'hui", ["aujourd'hui"]),
    ("C'est le travail du community manager", ["travail", "community", "manag"]),
    ("Les réseaux sociaux et les marques", ["reseau", "social", "marqu"]),
    ("the web", ["the", "web"]),                 # French stop words, not Whoosh's English ones
    ("le la les de des à a", []),
])
def test_stop_words_are_french(text, expected):
    assert terms(text) == expected


@pytest.mark.parametrize("a, b", [
    ("réseaux", "reseaux"),
    ("événement", "evenement"),
    ("visibilité", "visibilite"),
    ("Été", "ete"),
    ("cœur", "coeur"),
    ("RÉSEAUX", "réseaux"),
])
def test_accents_and_case_never_matter(a, b):
    assert terms(a, NO_STOPS) == terms(b, NO_STOPS)


def test_accents_are_folded_before_stemming():
    # The Snowball stemmer treats é as a vowel, so stemming before folding
    # would index « visibilité » and « visibilite » under different stems.
    stem = FrenchStemmer().stem
    assert stem("visibilité") != stem("visibilite")
    assert term("visibilité") == term("visibilite")


@pytest.mark.parametrize("words", [
    ("communauté", "communautés", "communaute"),
    ("réseau", "réseaux"),
    ("social", "sociaux", "sociale"),
    ("événement", "événements"),
    ("marque", "marques"),
    # What the Snowball stemmer really joins (not promised beyond this):
    ("animer", "animateur", "animatrice", "animation", "anime"),
    ("engagement", "engagements", "engager"),
])
def test_stemming_joins(words):
    assert len({term(w) for w in words}) == 1


@pytest.mark.parametrize("a, b", [
    ("commun", "communauté"),
    ("information", "informatique"),
    ("public", "publicité"),
])
def test_stemming_keeps_apart(a, b):
    assert term(a) != term(b)


@pytest.mark.parametrize("a, b", [
    ("vrai", "vraiment"),     # the stemmer over-merges: searching « vrai » finds « vraiment »
    ("animer", "animation"),
    ("marché", "marcher"),
    ("journal", "journalisme"),
    ("commun", "communication"),
])
def test_stemming_over_merges_documented(a, b):
    assert term(a) == term(b)


@pytest.mark.parametrize("text, mode, expected", [
    ("@owni", "index", ["@owni", "owni"]),   # the handle and the bare word, same position
    ("@owni", "query", ["@owni"]),           # so `@owni` finds only the handle, `owni` both
    ("#cm", "index", ["#cm", "cm"]),
    ("#CM", "query", ["#cm"]),
    ("Owni", "query", ["owni"]),
    ("owni.fr", "index", ["owni.fr"]),
    ("web 2.0", "index", ["web", "2.0"]),
])
def test_handles_hashtags_and_names(text, mode, expected):
    assert terms(text, mode=mode) == expected


def test_handle_and_bare_word_share_a_position():
    tokens = [(t.pos, t.text) for t in ANALYZER("suivez @owni", positions=True)]
    assert tokens == [(0, "suiv"), (1, "@owni"), (1, "owni")]


@pytest.mark.parametrize("text", ["réseaux sociaux", "réseaux et sociaux", "les réseaux, les sociaux"])
def test_positions_ignore_stop_words_but_keep_order(text):
    tokens = [(t.pos, t.text) for t in ANALYZER(text, positions=True)]
    (p1, w1), (p2, w2) = tokens
    assert (w1, w2) == ("reseau", "social") and p2 == p1 + 1


def test_character_offsets_point_at_the_word():
    text = "Dans l’engagement d'une @owni"
    spans = [text[t.startchar:t.endchar] for t in ANALYZER(text, chars=True)]
    assert spans == ["engagement", "@owni", "owni"]


def test_stop_list_is_folded_and_french():
    assert {"a", "les", "etait", "ete", "ca"} <= FRENCH_STOP_WORDS
    assert not {"reseau", "communaute", "the"} & FRENCH_STOP_WORDS
