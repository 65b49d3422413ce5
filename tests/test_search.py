"""Queries, hits, HTML display and the CLI on a small real index (the notebook: test_notebooks.py)."""

import json
import re

import pytest
from click.testing import CliRunner

from conftest import build_search_archive
from indexer import Archive
from indexer.cli import main
from indexer.errors import QueryError
from indexer.search import Hit, Hits, hit_lines, search_box

def found(archive, query, **kwargs):
    kwargs.setdefault("match", "words")  # these tests are about words; meaning: tests/test_search_meaning.py
    return [(h.episode.split("/")[0], h.segment_id) for h in archive.search(query, **kwargs)]


@pytest.mark.parametrize("query, expected", [
    # words, accents, elisions, stems
    ("reseaux", {("2010", 0), ("2010", 4), ("2010", 8), ("2011", 1), ("2012", 0)}),
    ("evenement", {("2010", 3), ("2011", 3)}),
    ("visibilite", {("2010", 4), ("2011", 0)}),
    ("communautés", {("2010", 1), ("2010", 2), ("2010", 6), ("2011", 2), ("2012", 1)}),
    ("engagement", {("2010", 1), ("2011", 2)}),       # and « engagée » (light stemming)
    ("animateur", {("2010", 2), ("2012", 1)}),          # animer/anime/animateur share a stem
    ("aujourd'hui", {("2010", 0)}),
    # words are AND-ed; OR; NOT
    ("réseaux journaliste", {("2011", 1)}),
    ("journaliste OR fans", {("2011", 1), ("2012", 1)}),  # « journalisme » has its own stem
    ("réseaux NOT sociaux", {("2010", 4)}),
    # handles: `@owni` only the handle, `owni` the handle and the spoken name
    ("@owni", {("2010", 3)}),
    ("owni", {("2010", 3), ("2011", 0)}),
    ("#cm", {("2010", 3)}),
    # fields
    ("speaker:dupont", {("2010", 6), ("2010", 7), ("2010", 8)}),
    ('speaker:"alice martin" animer', {("2010", 2)}),
    ("speaker:denis", {("2012", 0), ("2012", 1)}),
    ("episode:2011/owni-debat réseaux", {("2011", 1)}),
    ("chapter:débat communautés", {("2010", 6)}),
    ("date:2011 réseaux", {("2011", 1)}),
    ("date:[2010 TO 2011] fans", set()),
    ("date:[2011-01 TO 2011-06] visibilite", {("2011", 0)}),
    ("title:journalisme", {("2011", 0), ("2011", 1), ("2011", 2), ("2011", 3)}),
    ("speakers:petit lecteurs", {("2011", 2)}),
    # phrases on episode-level fields (they raised KeyError: 'episode' before)
    ('speakers:"claire petit" lecteurs', {("2011", 2)}),
    ('speakers:"claire dupont" lecteurs', set()),  # names of two episodes
    # a clause that matches nothing is not dropped from the AND
    ("title:zzz lecteurs", set()),
    ("zzzqqq* lecteurs", set()),
    ("qqqqqqqq~ lecteurs", set()),
    ("lecteurs NOT title:zzz", {("2011", 2)}),
    ('title:"table ronde" @owni', {("2010", 3)}),
    ("flags:suspect", {("2010", 8)}),
    # wildcards and typos
    ("communaut*", {("2010", 1), ("2010", 2), ("2010", 6), ("2011", 2), ("2012", 1)}),
    ("communauter~", {("2010", 1), ("2010", 2), ("2010", 6), ("2011", 2), ("2012", 1)}),
    ("jornaliste~", {("2011", 1)}),
])
def test_queries(search_archive, query, expected):
    assert set(found(search_archive, query, match="all")) == expected
    # The default (graded) mode puts the same hits first, then partial or approximate ones.
    default = found(search_archive, query, limit=50)
    assert set(default[:len(expected)]) == expected


def test_pure_negation_returns_segments_only(search_archive):
    hits = search_archive.search("NOT réseaux", limit=100)
    assert len(hits) == 15 - 5 and all(h.text for h in hits)
    assert len(search_archive.search("NOT réseaux", limit=100, exclude_suspect=True)) == 10


def test_phrases_keep_word_order(search_archive):
    assert ("2012", 0) not in found(search_archive, '"réseaux sociaux"')  # « Sociaux mais pas réseaux »
    assert found(search_archive, '"sociaux réseaux"') == [("2012", 0)]  # stop words between are ignored
    assert found(search_archive, '"réseaux sociaux changent"') == [("2011", 1)]
    assert found(search_archive, '"changent réseaux sociaux"') == []


def test_a_phrase_across_two_segments_is_found_once(search_archive):
    hits = found(search_archive, '"réseaux sociaux"')
    assert ("2010", 4) in hits  # « … sur les réseaux » | « sociaux reste … »
    assert ("2010", 5) not in hits
    assert len(hits) == len(set(hits)) == 4


def test_api_filters(search_archive):
    assert set(found(search_archive, "réseaux", speaker="Alice Martin")) == {("2010", 0), ("2010", 4)}
    assert set(found(search_archive, "réseaux", speaker="dupont")) == {("2010", 8)}
    assert set(found(search_archive, "réseaux", episode="2011/owni-debat")) == {("2011", 1)}
    assert set(found(search_archive, "réseaux", episode=["2011/owni-debat", "2012/sans-sidecar"])) == \
        {("2011", 1), ("2012", 0)}
    assert set(found(search_archive, "réseaux", episode="2010/*")) == {("2010", 0), ("2010", 4), ("2010", 8)}
    assert set(found(search_archive, "réseaux", date="2011")) == {("2011", 1)}
    assert set(found(search_archive, "réseaux", date=("2010", "2010-12"))) == {("2010", 0), ("2010", 4), ("2010", 8)}
    assert found(search_archive, "réseaux", date=("2012", None)) == []
    assert set(found(search_archive, "réseaux", date=(None, "2010"))) == {("2010", 0), ("2010", 4), ("2010", 8)}
    assert set(found(search_archive, "réseaux", date="2011-03-15")) == {("2011", 1)}
    assert found(search_archive, "réseaux", date="2011-03-16") == []


def test_search_memos_are_kept_beside_the_searcher_and_start_again_with_a_new_one(search_archive):
    found(search_archive, "réseaux", speaker="dupont")  # a wide filter: its documents are worked out once
    searcher = search_archive.index.searcher()
    assert not [name for name in vars(searcher) if name.startswith("_indexer")]  # nothing hung on Whoosh's object
    memos = search_archive.index.memos()
    assert memos.searcher is searcher and memos.filters and memos.episodes
    assert search_archive.index.memos() is memos  # kept by the index between searches
    search_archive.update_index("2011/owni-debat")  # the index changes: a new searcher, new memos
    fresh = search_archive.index.memos()
    assert fresh.searcher is not searcher and fresh is not memos and not fresh.filters
    assert set(found(search_archive, "réseaux", speaker="dupont")) == {("2010", 8)}


def test_suspect_segments_are_marked_and_can_be_excluded(search_archive):
    hits = search_archive.search("vidéo", match="words")
    assert [h.suspect for h in hits] == [True] and hits[0].flags == ("phantom", "suspect")
    assert search_archive.search("vidéo", exclude_suspect=True, match="words") == []
    assert "⚠" in hits._repr_html_()


@pytest.mark.parametrize("query, message", [
    ("", "empty query"),
    ("   ", "empty query"),
    ("le la les de", "only stop words"),
    ("date:[abc TO 2011]", "not a date"),
    ("date:2011-xx", "not a date"),
    ("orateur:dupont", "unknown field 'orateur:'"),
    ("communauté~5", "edit distance ~5 is too large"),
])
def test_bad_queries_raise_one_line_query_errors(search_archive, query, message):
    with pytest.raises(QueryError, match=re.escape(message)) as error:
        search_archive.search(query)
    assert "\n" not in str(error.value)


def test_bad_filters_raise_query_errors(search_archive):
    with pytest.raises(QueryError, match="not a date"):
        search_archive.search("réseaux", date="hier")


def test_hit_fields_and_highlights(search_archive):
    (hit,) = search_archive.search('"community manager"', episode="2010/*")
    assert (hit.episode, hit.segment_id, hit.start, hit.end) == ("2010/cm-table-ronde", 1, 5.0, 10.0)
    assert hit.timecode == "00:00:05"
    assert hit.snippet == ("L&#x27;engagement d’une communauté, c&#x27;est le travail du "
                           "<mark>community manager</mark>.")
    assert hit.marked() == "L'engagement d’une communauté, c'est le travail du *community manager*."
    assert hit.score > 0 and hit.speaker == "Alice Martin" and hit.chapter == "Introduction"


def test_highlights_follow_stems_accents_and_typos(search_archive):
    (hit,) = search_archive.search("evenement", episode="2010/*", match="words")
    assert "<mark>événements</mark>" in hit.snippet
    snippets = " ".join(h.snippet for h in search_archive.search("communauter~"))
    assert "<mark>communauté</mark>" in snippets and "<mark>communautés</mark>" in snippets


def test_context_gives_neighbouring_segments(search_archive):
    (hit,) = search_archive.search("hashtag", context=1, match="words")
    assert hit.context == ("Qu'il soit animateur ou modérateur, il doit animer la communauté jusqu'à tard.",
                           "La visibilité des marques sur les réseaux")


def test_group_by_episode_keeps_each_episode_together(search_archive):
    hits = search_archive.search("réseaux", group_by_episode=True)
    episodes = [h.episode for h in hits]
    assert episodes == sorted(episodes, key=episodes.index)  # contiguous runs
    for episode in set(episodes):
        starts = [h.start for h in hits if h.episode == episode]
        assert starts == sorted(starts)


def test_transcript_text_cannot_inject_markup(search_archive):
    hits = search_archive.search("script")
    html = hits._repr_html_()
    assert re.findall(r"<script[^>]*>", html) == ["<script class='indexer-clips'>"]  # the players' own, and no other
    assert "<script>" not in html and "<b>gras" not in html
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in html
    assert "&amp; &lt;b&gt;gras&lt;/b&gt;" in html


def test_metadata_cannot_inject_markup(tmp_path):
    episodes = {"x/evil": ("""
title: "<img src=x onerror=alert(1)>"
speakers: ["<b>Mallory</b>"]
""", True, [(0, 3, "Un texte sans danger.", None, [])])}
    archive = Archive(build_search_archive(tmp_path / "a", episodes))
    archive.reindex(progress=False)
    hits = archive.search("texte")
    html = hits._repr_html_() + Hits([], query="<i>q</i>")._repr_html_()
    assert "<img" not in html and "<b>Mallory" not in html and "<i>q" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_html_table_has_a_player_per_hit(search_archive):
    hits = search_archive.search("réseaux", limit=3)
    html = hits._repr_html_()
    assert html.count("<tr>") == 4
    assert html.count("<audio ") == 3 and "data:audio/" not in html  # cut when played (test_display_clips.py)


def test_a_hit_without_audio_path_shows_no_player(search_archive):
    hits = search_archive.search("fans", match="words")
    hits[0].audio_path = None
    html = hits._repr_html_()
    assert "<audio" not in html and "pas d'audio" in html


def test_play_returns_an_audio_clip(search_archive):
    from IPython.display import Audio

    hit = search_archive.search("hashtag")[0]
    player = hit.play()
    assert isinstance(player, Audio) and player.data[:4] == b"RIFF"
    assert abs(len(hit.clip()) / 1000 - (hit.end - hit.start + 2)) < 0.1  # 1 s padding each side


def test_dataframe_and_json(search_archive):
    hits = search_archive.search("réseaux")
    frame = hits.to_dataframe()
    assert list(frame["episode"]) == [h.episode for h in hits]
    assert {"timecode", "title", "speaker", "text", "score", "start", "end"} <= set(frame.columns)
    rows = hits.to_json()
    json.dumps(rows)
    assert {"episode", "title", "start", "end", "text", "snippet", "score", "speaker", "flags"} <= set(rows[0])


def test_search_box_runs_a_search(search_archive):
    box = search_box(search_archive)
    text, _ = box.children[0].children
    text.value = '"réseaux sociaux"'
    output = box.children[1]
    assert output.outputs and "réseaux" in str(output.outputs[0]["data"]["text/html"])
    text.value = "orateur:x"
    assert "unknown field" in str(output.outputs)


# --- CLI -------------------------------------------------------------------------

def cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_search_json(search_archive):
    result = cli("search", '"réseaux sociaux"', "--archive", str(search_archive.root), "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert len(hits) == 4 and {"episode", "title", "start", "end", "text", "snippet", "score"} <= set(hits[0])


def test_cli_search_filters_and_limit(search_archive):
    result = cli("search", "réseaux", "--archive", str(search_archive.root), "--speaker", "Alice Martin",
                 "--limit", "1", "--json")
    assert result.exit_code == 0
    (hit,) = json.loads(result.output)
    assert hit["speaker"] == "Alice Martin"
    result = cli("search", "réseaux", "--archive", str(search_archive.root), "--episode", "2011/owni-debat", "--json",
                 "--match", "words")
    assert [h["episode"] for h in json.loads(result.output)] == ["2011/owni-debat"]


def test_cli_search_readable_output(search_archive):
    root = str(search_archive.root)
    result = cli("search", "hashtag", "--archive", root, "--match", "words")
    assert result.exit_code == 0
    assert result.output.splitlines() == [  # issue 23: the episode id, start–end, and a ready quote line
        "[00:00:15–00:00:20] 2010/cm-table-ronde · Table ronde : les community managers — Alice Martin",
        "    Suivez @owni et le *hashtag* #cm pour les événements de la semaine.",
        f"    indexer quote 2010/cm-table-ronde 00:00:15.00 00:00:20.00 --archive {root}",
    ]


def test_cli_lines_escape_the_transcript_not_the_marks():
    hit = Hit(episode="e", title="T\x1b[2J", date="", speaker="", chapter="", start=0.0, end=1.0,
              text="un\x1b[31m mot\nFORGED", snippet="", score=1.0, spans=((8, 11),))
    bold = lambda s: f"\x1b[1m{s}\x1b[0m"  # noqa: E731 (a terminal's mark)
    assert hit_lines(hit, bold) == ["[00:00:00–00:00:01] e · T\\x1b[2J", "    un\\x1b[31m \x1b[1mmot\x1b[0m\\nFORGED",
                                    "    indexer quote e 00:00:00.00 00:00:01.00"]


@pytest.mark.parametrize("args, message", [
    (["search", "orateur:x"], "error: unknown field 'orateur:'"),
    (["search", ""], "error: empty query"),
])
def test_cli_errors_are_one_line(search_archive, args, message):
    result = CliRunner().invoke(main, args + ["--archive", str(search_archive.root)])
    assert result.exit_code == 1
    assert result.output.strip().startswith(message) and len(result.output.strip().splitlines()) == 1


def test_cli_without_index(tmp_path):
    root = build_search_archive(tmp_path / "archive")
    result = CliRunner().invoke(main, ["search", "réseaux", "--archive", str(root)])
    assert result.exit_code == 1
    assert "no index yet: run `indexer ingest ARCHIVE` or `indexer reindex`" in result.output


def test_cli_reindex(tmp_path):
    root = build_search_archive(tmp_path / "archive")
    result = cli("reindex", str(root), "--quiet")
    assert result.exit_code == 0 and "indexed 15 segments" in result.output
    assert (root / "index" / "indexer-index.json").is_file()
    result = cli("reindex", "--archive", str(root), "--quiet")
    assert result.exit_code == 0
    result = CliRunner().invoke(main, ["reindex", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "no transcripts/ folder" in result.output


@pytest.mark.parametrize("command", ["search", "reindex"])
def test_cli_help_has_an_example(command):
    result = cli(command, "--help")
    assert result.exit_code == 0 and "Example: indexer " + command in result.output
