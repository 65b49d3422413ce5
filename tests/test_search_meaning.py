"""Search by meaning and hybrid search on the deterministic fake embedding model (plumbing):
fusion, match modes, filters typed or given (issue 23 item 4), suspect ranking (issue 23 item 1),
more like this, bad input, the CLI lines (issue 23 item 7)."""

import json
import shutil

import pytest
from click.testing import CliRunner

from indexer.cli import main
from indexer.errors import EmbeddingStoreError, QueryError
from indexer.search import Hit

def where(hits):
    return [(h.episode, h.segment_id) for h in hits]


def test_a_paraphrase_is_found_by_meaning_only_and_says_so(meaning_archive):
    hits = meaning_archive.search("censure")  # no segment says it; the fake model maps it to « modération »
    assert hits and set(where(hits)[:2]) == {("2013/entretien", 1), ("2013/entretien", 2)}
    assert hits[0].found_by == "meaning" and hits[0].to_dict()["matched"] == {"censure": "meaning"}
    assert hits[0].similarity > 0
    frame = hits.to_dataframe()
    assert list(frame["found_by"])[:1] == ["meaning"] and frame["similarity"].iloc[0] == hits[0].similarity
    assert not meaning_archive.search("censure", match="words")  # meaning off


def test_words_said_rank_first_then_meaning(meaning_archive):
    hits = meaning_archive.search("modération")
    assert where(hits)[0] == ("2013/entretien", 1) and hits[0].to_dict()["matched"] == {"modération": "exact"}
    assert hits[0].found_by == "words+meaning"
    assert len(hits) > 1 and all(h.found_by == "meaning" for h in hits[1:] if str(h.matched.get("modération")) != "exact")


def test_a_loose_word_does_not_push_a_paraphrase_down(meaning_archive):
    """One word of four (« bonjour ») is not word evidence: the moment nearest in meaning (« un événement
    réunit le public », no query word) ranks above it (rank fusion put the one-word hit first)."""
    hits = meaning_archive.search("bonjour spectateurs rencontre censure", limit=5)
    ids = where(hits)
    assert hits[ids.index(("2011/debat", 2))].found_by == "meaning"
    assert ids.index(("2011/debat", 2)) < ids.index(("2013/entretien", 0))


def test_half_the_words_rank_as_word_search_ranks_them(meaning_archive):
    """One word of two (the other misheard) is word evidence: it ranks as with match="words", above a
    segment nearer in meaning that holds no query word (« abonnés » for « fans »)."""
    hits = meaning_archive.search("modération fans", limit=5)
    words = meaning_archive.search("modération fans", limit=5, match="words")
    held = [w for w in where(words) if w in where(hits)]
    assert held and where(hits)[:len(held)] == held
    assert ("2011/debat", 1) in where(hits) and hits[where(hits).index(("2011/debat", 1))].found_by == "meaning"


def test_meaning_alone_and_strict_all(meaning_archive):
    assert all(h.found_by == "meaning" for h in meaning_archive.search("modération", match="meaning"))
    assert where(meaning_archive.search("modération", match="all")) == [("2013/entretien", 1)]
    assert where(meaning_archive.search("modération", match="any")) == where(meaning_archive.search("modération"))
    with pytest.raises(QueryError, match="unknown match mode"):
        meaning_archive.search("x", match="sense")


@pytest.mark.parametrize("typed, given", [
    ("date:2011", {"date": "2011"}),
    ("date:[2011 TO 2012]", {"date": ("2011", "2012")}),
    ('speaker:"Julien Morel"', {"speaker": "Julien Morel"}),
    ("episode:2011/debat", {"episode": "2011/debat"}),
])
@pytest.mark.parametrize("match", ["hybrid", "words", "meaning"])
def test_filters_typed_or_given_give_the_same_hits(meaning_archive, typed, given, match):
    for words in ("communauté public", "censure", "moderateurs"):  # exact, meaning only, approximate
        typed_hits = meaning_archive.search(f"{words} {typed}", match=match)
        given_hits = meaning_archive.search(words, match=match, **given)
        assert where(typed_hits) == where(given_hits)
        assert [h.matched for h in typed_hits] == [h.matched for h in given_hits]
        assert all(h.episode == "2011/debat" for h in typed_hits)


def test_a_typed_filter_keeps_approximate_matching(meaning_archive):
    """Issue 23: `moderateurs date:2013` found nothing while `moderateurs` found the moment."""
    hits = meaning_archive.search("moderateur date:2013", match="words")
    assert ("2013/entretien", 2) in where(hits)


def test_a_suspect_segment_ranks_below_a_clean_one_of_the_same_class_and_stays_marked(meaning_archive):
    for match in ("words", "hybrid", "all"):
        hits = meaning_archive.search("confiance public", match=match)
        ids = where(hits)
        assert ids.index(("2013/entretien", 4)) < ids.index(("2013/entretien", 3)), match
        assert hits[ids.index(("2013/entretien", 3))].suspect
    assert ("2013/entretien", 3) not in where(meaning_archive.search("confiance public", exclude_suspect=True))


def test_more_like_this_never_returns_the_same_moment(meaning_archive):
    hits = meaning_archive.similar("2013/entretien", 5, 10, limit=3)
    assert hits and ("2013/entretien", 1) not in where(hits)
    assert where(hits)[0] == ("2013/entretien", 2)  # « modérateurs » = « modération » for the fake model
    again = hits[0].similar(limit=3)
    assert ("2013/entretien", 2) not in where(again)
    assert where(meaning_archive.similar("2013/entretien", 5, 10, limit=3, date="2011")) == \
        [h for h in where(meaning_archive.similar("2013/entretien", 5, 10, limit=10)) if h[0] == "2011/debat"][:3]
    with pytest.raises(QueryError, match="no segment"):
        meaning_archive.similar("2013/entretien", 500, 510)
    made_by_hand = Hit("2013/entretien", "Entretien", "", "", "", 5.0, 10.0, "x", "x", 0.0)
    with pytest.raises(QueryError, match="use archive.similar"):
        made_by_hand.similar()


def test_bad_input_one_line_each(meaning_archive):
    with pytest.raises(QueryError, match="empty query"):
        meaning_archive.search("  ")
    for match in ("hybrid", "meaning"):
        with pytest.raises(QueryError, match="only stop words"):
            meaning_archive.search("le la de", match=match)
    long = " ".join(["modération"] * 300)  # 3,299 characters: too long for words, cut for meaning
    hits = meaning_archive.search(long)
    assert hits and any("answered by meaning only" in w for w in hits.warnings)
    assert any("cut to its first 40 tokens" in w for w in hits.warnings)
    assert all("\n" not in w for w in hits.warnings)
    with pytest.raises(QueryError, match="too long"):
        meaning_archive.search(long, match="words")
    english = meaning_archive.search("community trust")  # the fake model's "multilingual" words
    assert {"2011/debat", "2013/entretien"} & {h.episode for h in english}


def test_a_missing_or_corrupt_store_is_one_line_and_words_still_answer(meaning_archive):
    store = meaning_archive.layout.embeddings_dir
    (store / "store.json").write_text("{not json", encoding="utf-8")
    hits = meaning_archive.search("modération")
    assert where(hits)[:1] == [("2013/entretien", 1)]
    assert len(hits.warnings) == 1 and "embedding store unreadable" in hits.warnings[0]
    with pytest.raises(EmbeddingStoreError):
        meaning_archive.search("modération", match="meaning")
    shutil.rmtree(store)
    assert "no embedding store" in meaning_archive.search("modération").warnings[0]
    result = CliRunner().invoke(main, ["search", "censure", "--archive", str(meaning_archive.root),
                                       "--match", "meaning"])
    assert result.exit_code == 1 and "no embedding store" in result.output and "Traceback" not in result.output
    meaning_archive.reindex(progress=False)  # rebuilt (by ingest too: tests/test_embeddings_store.py)
    assert meaning_archive.search("censure")[0].found_by == "meaning"


def test_cli_search_prints_episode_times_and_a_quote_line(meaning_archive):
    root = str(meaning_archive.root)
    result = CliRunner().invoke(main, ["search", "censure", "--archive", root, "--date", "2012..2014", "-n", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("[00:00:10–00:00:15] 2013/entretien · Entretien")
    assert "matched: meaning" in result.output
    quote = next(line.strip() for line in lines if line.strip().startswith("indexer quote"))
    assert quote == f"indexer quote 2013/entretien 00:00:10.00 00:00:15.00 --archive {root}"
    quoted = CliRunner().invoke(main, quote.split()[1:])
    assert quoted.exit_code == 0 and "modérateurs travaillent" in quoted.output
    as_json = json.loads(CliRunner().invoke(main, ["search", "censure", "--archive", root, "--json"]).output)
    assert as_json[0]["found_by"] == "meaning" and as_json[0]["quote"] == quote
    like = CliRunner().invoke(main, ["similar", "2013/entretien", "5", "10", "--archive", root, "-n", "1"])
    assert like.exit_code == 0 and "[00:00:10–00:00:15] 2013/entretien" in like.output
    for command in (["search", "x", "--date", "2011..2010x"], ["similar", "nope/x", "1"]):
        bad = CliRunner().invoke(main, command + ["--archive", root])
        assert bad.exit_code == 1 and bad.output.startswith("error: ") and len(bad.output.splitlines()) == 1


def test_search_box_has_match_and_filters(meaning_archive):
    from indexer.search import search_box

    box = search_box(meaning_archive)
    text, filters = box.children[0].children
    match, speaker, period, episode, suspect = filters.children
    output = box.children[1]
    period.value = "2013"
    match.value = "words"
    text.value = "censure"  # said nowhere: words alone find nothing
    assert "Aucun résultat" in str(output.outputs[0]["data"]["text/html"])
    match.value = "meaning"
    assert "modérateurs travaillent" in str(output.outputs[0]["data"]["text/html"])
    assert "sens" in str(output.outputs[0]["data"]["text/html"])
    period.value = "2011"
    assert "modérateurs travaillent" not in str(output.outputs[0]["data"]["text/html"])
