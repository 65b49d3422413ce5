"""Archive statistics: exact figures on hand-made archives, and on the sample archive from its sidecars."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import yaml

from helpers import SAMPLE_ARCHIVE, write_wav
from helpers.archives import build_search_archive, SEARCH_EPISODES
from indexer import Archive, stats
from indexer.errors import QueryError, TranscriptError
from indexer.stats import UNDATED, UNKNOWN

PANEL, MONOLOGUE, NO_SIDECAR, GAP = "2010/cm-table-ronde", "2011/owni-debat", "2012/sans-sidecar", "2013/trou"

# A fourth episode whose middle segment falls between two turns: nobody is attributed.
GAP_EPISODE = ("""
title: Un trou
date: 2013-05
speakers:
  - {name: Alice Martin, start: 0, end: 10}
  - {name: Eve Moreau, start: 30, end: 40}
""", True, [
    (0, 10, "Les réseaux sociaux, encore.", None, []),
    (20, 25, "Personne ne parle ici, ou bien ?", None, []),
    (30, 40, "Réseau social : le community manager répond.", None, []),
])


@pytest.fixture
def archive(tmp_path):
    """The search fixtures' three episodes plus GAP, and one audio file not transcribed yet (no index)."""
    root = build_search_archive(tmp_path / "archive", {**SEARCH_EPISODES, GAP: GAP_EPISODE})
    write_wav(root / "audio" / "2014" / "pas-encore.wav", 1)
    return Archive(root)


# --- hand-made archive: exact figures ------------------------------------------------------------

def test_overview(archive):
    summary = stats.overview(archive)
    assert summary.episodes == 5 and summary.transcribed == 4
    assert summary.hours == pytest.approx((45 + 24 + 10 + 40) / 3600)
    assert summary.speakers == ("Alice Martin", "Bruno Dupont", "Claire Petit", "Denis", "Eve Moreau")
    assert (summary.first_date, summary.last_date) == ("2010-11-05", "2013-05")
    assert summary.years == {"2010": 1, "2011": 1, "2013": 1, UNDATED: 2}
    assert summary.undated == 2  # the episode without sidecar and the one not transcribed
    assert (summary.segments, summary.words, summary.suspect_segments) == (18, 0, 1)
    assert "5 episodes (4 transcribed)" in str(summary)
    assert "indexer-overview" in summary._repr_html_()


def test_speakers_are_attributed_by_correction_then_turns_then_single_speaker(archive):
    table = stats.segment_table(archive)
    by_episode = table.groupby("episode")["speaker"].apply(list).to_dict()
    assert by_episode[PANEL] == ["Alice Martin"] * 6 + ["Bruno Dupont"] * 3
    assert by_episode[MONOLOGUE] == ["Claire Petit"] * 4
    assert by_episode[NO_SIDECAR] == ["Denis"] * 2
    assert by_episode[GAP] == ["Alice Martin", UNKNOWN, "Eve Moreau"]
    archive.set_speaker(PANEL, 0, "Zoé Leroy")
    archive.set_speaker(GAP, (19, 26), "Bruno Dupont")
    table = stats.segment_table(archive)
    assert list(table[table.episode == PANEL].speaker)[:2] == ["Zoé Leroy", "Alice Martin"]
    assert list(table[table.episode == GAP].speaker) == ["Alice Martin", "Bruno Dupont", "Eve Moreau"]


def test_hours_by_year_and_by_speaker(archive):
    by_year = stats.hours_by_year(archive)
    assert list(by_year.index) == ["2010", "2011", "2013", UNDATED]
    assert list(by_year * 3600) == pytest.approx([45, 24, 40, 10])
    by_speaker = stats.hours_by_speaker(archive) * 3600
    assert by_speaker.to_dict() == pytest.approx(
        {"Alice Martin": 40, "Claire Petit": 24, "Bruno Dupont": 15, "Eve Moreau": 10, "Denis": 10, UNKNOWN: 5})
    assert list(by_speaker.index) == ["Alice Martin", "Claire Petit", "Bruno Dupont", "Denis", "Eve Moreau",
                                      UNKNOWN]


def test_speaking_time_in_an_episode(archive):
    panel = stats.speaking_time(archive, PANEL)
    assert list(panel.columns) == ["seconds", "share", "segments"]
    assert panel.to_dict("index") == {"Alice Martin": {"seconds": 30.0, "share": 30 / 45, "segments": 6},
                                      "Bruno Dupont": {"seconds": 15.0, "share": 15 / 45, "segments": 3}}
    archive.correct(PANEL, 6, "Texte corrigé, même locuteur.")  # a text correction keeps the speaker
    archive.set_speaker(PANEL, (0, 12), "Zoé Leroy")
    panel = stats.speaking_time(archive, PANEL)
    assert panel["seconds"].to_dict() == {"Alice Martin": 20.0, "Bruno Dupont": 15.0, "Zoé Leroy": 10.0}
    with pytest.raises(TranscriptError, match="did you mean 2010/cm-table-ronde"):
        stats.speaking_time(archive, "2010/cm-table-rond")


def test_term_frequency_by_year_episode_and_speaker(archive):
    terms = ["réseaux sociaux", "community manager", "Communauté", "owni"]
    by_year = stats.term_frequency(archive, terms)
    # « réseaux » / « sociaux » across two segments counts; « Sociaux mais pas réseaux » does not;
    # the plural « communautés », « @owni » and « Réseau social » count.
    assert by_year.to_dict("index") == {
        "2010": {"réseaux sociaux": 3, "community manager": 1, "Communauté": 3, "owni": 1},
        "2011": {"réseaux sociaux": 1, "community manager": 0, "Communauté": 1, "owni": 1},
        "2013": {"réseaux sociaux": 2, "community manager": 1, "Communauté": 0, "owni": 0},
        UNDATED: {"réseaux sociaux": 0, "community manager": 1, "Communauté": 1, "owni": 0},
    }
    assert list(by_year.columns) == terms and by_year.index.name == "year"
    by_episode = stats.term_frequency(archive, "réseaux sociaux", by="episode")
    assert by_episode["réseaux sociaux"].to_dict() == {PANEL: 3, MONOLOGUE: 1, GAP: 2, NO_SIDECAR: 0}
    assert list(by_episode.index) == [PANEL, MONOLOGUE, GAP, NO_SIDECAR]  # by date, undated last
    by_speaker = stats.term_frequency(archive, ["réseaux sociaux", "community manager"], by="speaker")
    assert by_speaker.to_dict("index") == {
        "Alice Martin": {"réseaux sociaux": 3, "community manager": 1},
        "Bruno Dupont": {"réseaux sociaux": 1, "community manager": 0},  # the phantom segment
        "Claire Petit": {"réseaux sociaux": 1, "community manager": 0},
        "Denis": {"réseaux sociaux": 0, "community manager": 1},
        "Eve Moreau": {"réseaux sociaux": 1, "community manager": 1},
        UNKNOWN: {"réseaux sociaux": 0, "community manager": 0},
    }


def test_term_frequency_options_and_corrections(archive):
    clean = stats.term_frequency(archive, "réseaux sociaux", exclude_suspect=True)
    assert clean.loc["2010", "réseaux sociaux"] == 2
    per_hour = stats.term_frequency(archive, "réseaux sociaux", per_hour=True)
    assert per_hour.loc["2010", "réseaux sociaux"] == pytest.approx(3 / (45 / 3600))
    assert per_hour.loc[UNDATED, "réseaux sociaux"] == 0
    archive.correct(MONOLOGUE, 1, "Les médias sociaux changent le métier de journaliste.")
    assert stats.term_frequency(archive, "réseaux sociaux").loc["2011", "réseaux sociaux"] == 0
    with pytest.raises(QueryError, match="no word to count"):
        stats.term_frequency(archive, ["réseaux", "de la"])
    with pytest.raises(QueryError, match="valid: year, episode, speaker"):
        stats.term_frequency(archive, "réseaux", by="month")


def test_review_table_on_suspect_segments(tmp_path):
    episodes = dict(SEARCH_EPISODES)
    sidecar, audio, rows = episodes[PANEL]
    rows = [(*row[:4], ["repeated", "suspect"]) if "<script>" in row[2] else row for row in rows]
    episodes[PANEL] = (sidecar, audio, rows)
    archive = Archive(build_search_archive(tmp_path / "archive", episodes))
    table = stats.review_table(archive)
    assert list(table.segment_id) == [7, 8] and set(table.episode) == {PANEL}
    assert list(table.reasons) == ["repeated", "phantom"]
    assert table.min_probability.isna().all()  # hand-made segments have no words
    html = stats.review_players(table)._repr_html_()
    assert "<table class='indexer-review'>" in html and html.count("<audio ") == 2 and "data:audio" not in html
    assert re.findall(r"<script[^>]*>", html) == ["<script class='indexer-clips'>"]  # the players' own, and no other
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "archive.correct(&#x27;2010/cm-table-ronde&#x27;, 7, " in html
    archive.correct(PANEL, 8, "Merci.")
    assert list(stats.review_table(archive).segment_id) == [7]
    assert sorted(stats.review_table(archive, include_corrected=True).segment_id) == [7, 8]
    assert stats.review_players(table.iloc[:0])._repr_html_() == "<p>Rien à relire.</p>"


# --- the sample archive, transcribed for real: exact figures from its sidecars ---------------------------

def sidecars():
    return {path.relative_to(SAMPLE_ARCHIVE / "audio").with_suffix("").as_posix():
            yaml.safe_load(path.read_text(encoding="utf-8"))
            for path in sorted((SAMPLE_ARCHIVE / "audio").rglob("*.yaml"))}


def references():
    return {path.relative_to(SAMPLE_ARCHIVE / "reference").with_suffix("").as_posix():
            json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((SAMPLE_ARCHIVE / "reference").rglob("*.json"))}


def names(sidecar) -> list[str]:
    return [s if isinstance(s, str) else s["name"] for s in sidecar.get("speakers", [])]


def test_sample_overview(ingested_sample):
    archive = Archive(ingested_sample)
    summary = stats.overview(archive)
    cars, refs = sidecars(), references()
    dates = sorted(str(c["date"]) for c in cars.values())
    assert summary.episodes == summary.transcribed == len(cars) == 4
    assert summary.speakers == tuple(sorted({n for c in cars.values() for n in names(c)})) \
        == ("Claire Dubois", "Julien Morel", "Sophie Martin")
    assert (summary.first_date, summary.last_date, summary.undated) == (dates[0], dates[-1], 0) \
        == ("2010-11-18", "2012-02-15", 0)
    assert summary.years == {"2010": 1, "2011": 2, "2012": 1}
    # Hours from the transcripts' durations; the references' durations agree to 3 decimals.
    transcripts = list(archive.transcripts())
    assert summary.hours == pytest.approx(sum(t.duration for t in transcripts) / 3600)
    assert round(summary.hours, 3) == round(sum(r["duration"] for r in refs.values()) / 3600, 3) == 0.107
    assert summary.segments == sum(len(t.segments) for t in transcripts)
    assert summary.words == sum(len(t.words) for t in transcripts)
    assert summary.suspect_segments == sum(s.suspect for t in transcripts for s in t.segments)
    assert summary.low_confidence_segments == sum("low-confidence-words" in s.flags
                                                  for t in transcripts for s in t.segments)
    assert summary.corrected_segments == 0


def test_sample_hours_by_year(ingested_sample):
    by_year = stats.hours_by_year(Archive(ingested_sample))
    refs, cars = references(), sidecars()
    expected: dict[str, float] = {}
    for episode, ref in refs.items():
        year = str(cars[episode]["date"])[:4]
        expected[year] = expected.get(year, 0.0) + ref["duration"] / 3600
    assert by_year.round(3).to_dict() == {y: round(h, 3) for y, h in sorted(expected.items())} \
        == {"2010": 0.030, "2011": 0.050, "2012": 0.027}


def test_sample_speaking_time(ingested_sample):
    archive = Archive(ingested_sample)
    cars, refs = sidecars(), references()
    for episode in cars:
        transcript = archive.transcript(episode)
        meta = archive.episode(episode).meta
        expected: dict[str, float] = {}
        for seg in transcript.segments:
            who = meta.speaker_at(seg.start, seg.end) or UNKNOWN
            expected[who] = expected.get(who, 0.0) + seg.end - seg.start
        table = stats.speaking_time(archive, episode)
        assert table["seconds"].to_dict() == pytest.approx(expected)
        assert set(table.index) - {UNKNOWN} == set(names(cars[episode]))
        assert table["share"].sum() == pytest.approx(1.0)
        assert table["segments"].sum() == len(transcript.segments)
        assert list(table["seconds"]) == sorted(table["seconds"], reverse=True) or UNKNOWN in table.index
    # Over the archive, each voice's time is close to what the reference script has them say.
    spoken: dict[str, float] = {}
    for ref in refs.values():
        for sentence in ref["sentences"]:
            spoken[sentence["speaker"]] = spoken.get(sentence["speaker"], 0.0) + sentence["end"] - sentence["start"]
    by_speaker = stats.hours_by_speaker(archive) * 3600
    for name, seconds in spoken.items():
        assert by_speaker[name] == pytest.approx(seconds, abs=30), name
    assert list(by_speaker.drop(UNKNOWN, errors="ignore").index) == ["Julien Morel", "Claire Dubois", "Sophie Martin"]
    total = sum(s.end - s.start for t in archive.transcripts() for s in t.segments)
    assert by_speaker.sum() == pytest.approx(total)


def test_sample_term_counts_agree_with_the_index(sample_copy):
    archive = Archive(sample_copy)
    archive.reindex(progress=False)  # phrase pairs across segments, as a full index has them
    terms = ["réseaux sociaux", "community manager", "communauté", "modération", "Twitter"]
    by_episode = stats.term_frequency(archive, terms, by="episode")
    assert by_episode.to_numpy().sum() > 0
    for episode in by_episode.index:
        for term in terms:
            hits = archive.search(f'"{term}"', episode=episode, limit=1000)
            count = by_episode.loc[episode, term]
            assert (count > 0) == (len(hits) > 0), (episode, term, count, len(hits))
            assert count >= len(hits)
    by_year = stats.term_frequency(archive, terms)
    by_speaker = stats.term_frequency(archive, terms, by="speaker")
    assert (by_year.sum() == by_episode.sum()).all() and (by_speaker.sum() == by_episode.sum()).all()
    assert list(by_year.index) == ["2010", "2011", "2012"]


def test_sample_word_confidence(sample_copy):
    archive = Archive(sample_copy)
    machine = list(archive.transcripts())
    words = stats.word_confidence(archive)
    probabilities = [w.probability for t in machine for w in t.words]
    assert len(words) == len(probabilities) > 0
    assert words["probability"].between(0, 1).all()
    assert words["probability"].mean() == pytest.approx(sum(probabilities) / len(probabilities))
    assert set(words["episode"]) == {t.episode_id for t in machine}
    # Machine words: a correction (whose new words carry probability 1.0) changes nothing here.
    first = machine[0].segments[0]
    archive.correct(machine[0].episode_id, first.id, "Un tout autre texte, bien plus long que l'original.")
    assert stats.word_confidence(archive)["probability"].tolist() == words["probability"].tolist()


def test_sample_review_table(sample_copy):
    archive = Archive(sample_copy)
    threshold = 0.5
    table = stats.review_table(archive, max_probability=threshold)
    expected = {(t.episode_id, s.id) for t in archive.transcripts() for s in t.segments
                if s.suspect or any(w.probability < threshold for w in s.words)}
    assert set(zip(table.episode, table.segment_id)) == expected and len(table) == len(expected) > 0
    assert list(table.columns) == stats.REVIEW_COLUMNS
    segments = {(t.episode_id, s.id): s for t in archive.transcripts() for s in t.segments}
    suspect = [segments[key].suspect for key in zip(table.episode, table.segment_id)]
    for row, is_suspect in zip(table.itertuples(), suspect):
        assert row.marked.count("[?") == len(row.low_words)
        assert is_suspect or (row.low_words and row.min_probability < threshold)
        assert row.audio_path.is_file()
    assert suspect == sorted(suspect, reverse=True)
    unsure = table[[not s for s in suspect]].min_probability.tolist()
    assert unsure == sorted(unsure)
    stricter = stats.review_table(archive, max_probability=0.2)
    assert set(zip(stricter.episode, stricter.segment_id)) <= expected
    assert len(stats.review_table(archive, max_probability=0.0)) == sum(
        s.suspect for t in archive.transcripts() for s in t.segments)
    # A corrected segment has been checked, even when the editor kept the text: it leaves the table.
    first = suspect.index(False)  # a segment that is only unsure (a suspect one stays suspect)
    episode, segment_id = table.episode[first], int(table.segment_id[first])
    archive.correct(episode, segment_id, table.text[first])
    after = stats.review_table(archive, max_probability=threshold)
    assert (episode, segment_id) not in set(zip(after.episode, after.segment_id)) and len(after) == len(table) - 1
    again = archive.review_table(threshold, include_corrected=True)  # same words, same probabilities
    assert again.drop(columns="audio_path").equals(table.drop(columns="audio_path"))
    # Rewritten words are the editor's: they are no longer unsure.
    archive.correct(episode, segment_id, "Texte entièrement récrit par une éditrice.")
    assert len(archive.review_table(threshold, include_corrected=True)) == len(table) - 1
    html = stats.review_players(after, max_players=2)._repr_html_()
    assert html.count("<audio ") == 2 and html.count("<tr>") == len(after) + 1 and "<mark>" in html


def test_archive_facade_helpers(ingested_sample):
    archive = Archive(ingested_sample)
    assert archive.overview() == stats.overview(archive)
    pd.testing.assert_frame_equal(archive.review_table(), stats.review_table(archive))


def test_a_snapshot_gives_the_same_figures(sample_copy):
    archive = Archive(sample_copy)
    archive.correct("table-ronde-engagement", 0, "Bonjour à tous, parlons des réseaux sociaux.")
    snapshot = stats.Snapshot(archive)
    assert stats.overview(snapshot) == stats.overview(archive)
    pd.testing.assert_series_equal(stats.hours_by_year(snapshot), stats.hours_by_year(archive))
    pd.testing.assert_series_equal(stats.hours_by_speaker(snapshot), stats.hours_by_speaker(archive))
    terms = ["réseaux sociaux", "community manager"]
    for by in stats.BY_VALUES:
        pd.testing.assert_frame_equal(stats.term_frequency(snapshot, terms, by=by),
                                      stats.term_frequency(archive, terms, by=by))
    pd.testing.assert_frame_equal(stats.word_confidence(snapshot), stats.word_confidence(archive))
    pd.testing.assert_frame_equal(stats.review_table(snapshot), stats.review_table(archive))
    pd.testing.assert_frame_equal(stats.segment_table(snapshot), stats.segment_table(archive))
    pd.testing.assert_frame_equal(stats.speaking_time(snapshot, "table-ronde-engagement"),
                                  stats.speaking_time(archive, "table-ronde-engagement"))
