"""How a query word matched a hit is a small type (issue 26), and JSON and the CLI keep their strings."""

from __future__ import annotations

import json

import pytest

from indexer.search import Hit, Match, MatchKind


@pytest.mark.parametrize("text, kind, form", [
    ("exact", MatchKind.EXACT, ""),
    ("approx:sauf gardée", MatchKind.APPROX, "sauf gardée"),
    ("approx:12:30", MatchKind.APPROX, "12:30"),   # a form holding a colon
    ("meaning", MatchKind.MEANING, ""),
])
def test_a_match_reads_and_writes_the_strings_json_has_always_held(text, kind, form):
    match = Match.parse(text)
    assert (match.kind, match.form) == (kind, form) and str(match) == text
    assert Match.parse(str(match)) == match and eval(repr(match)) == match


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        Match.parse("fuzzy:x")


def test_a_hit_says_how_each_word_matched_in_its_json_and_its_text():
    hit = Hit("ep", "T", "", "", "", 0.0, 1.0, "sauf gardée", "sauf gardée", 1.0,
              matched={"message": Match(MatchKind.EXACT), "sauvegardé": Match.approx("sauf gardée")},
              query_words=("message", "sauvegardé", "absent"))
    assert json.loads(json.dumps(hit.to_dict()))["matched"] == {"message": "exact", "sauvegardé": "approx:sauf gardée"}
    assert hit.matched_text() == "message, sauvegardé ≈ sauf gardée, absent (absent)"
    assert hit.approximate and hit.found_by == "words"
    by_meaning = Hit("ep", "T", "", "", "", 0.0, 1.0, "x", "x", 1.0, matched={"censure": Match.parse("meaning")},
                     query_words=("censure",))
    assert by_meaning.found_by == "meaning" and by_meaning.to_dict()["matched"] == {"censure": "meaning"}
