"""What a notebook shows is French: hit and review tables, quotes, the overview, the plots and the
statistics' tables, with French numbers and dates; rendering reads no file (no clip is cut)."""

from __future__ import annotations

import re

import pytest

from helpers.cli import fake_archive
from indexer import Archive
from indexer.display import i18n
from indexer.display.locales.fr import MESSAGES as FRENCH


@pytest.fixture
def no_clip_cut(monkeypatch):
    """Cutting audio fails the test: a ``_repr_html_`` must not do it."""
    import indexer.audio

    def refuse(*args, **kwargs):
        raise AssertionError("a clip was cut while rendering")

    monkeypatch.setattr(indexer.audio, "encoded_clip", refuse)
    monkeypatch.setattr(indexer.audio, "load_clip", refuse, raising=False)


def headers(html: str) -> list[str]:
    return re.findall(r"<th[^>]*>([^<]*)</th>", html)


def test_the_hit_table_is_french(search_archive, no_clip_cut):
    hits = search_archive.search("réseaux sociaux", match="words")
    html = hits._repr_html_()
    assert headers(html) == ["moment", "épisode", "intervenant", "texte", "trouvé", "écouter"]
    assert re.search(rf"<p>{len(hits)} résultats pour <code>réseaux sociaux</code></p>", html)
    assert "5 novembre 2010" in html and "2010-11-05" not in html  # the sidecar's date, the French way
    assert "segment suspect (erreur de transcription possible)" in html  # the phantom segment's ⚠
    for english in ("hits for", "time</th>", "speaker</th>", "listen</th>", "matched</th>"):
        assert english not in html
    none = search_archive.search("zzzzqqq", match="words")._repr_html_()
    assert none == "<p>Aucun résultat pour <code>zzzzqqq</code>.</p>"


def test_the_review_table_is_french(search_archive, no_clip_cut):
    review = search_archive.statistics().review(rows=5)
    html = review._repr_html_()
    assert headers(html) == ["moment", "épisode", "intervenant", "pourquoi", "texte", "écouter"]
    assert re.search(r"<p>1 segment à relire</p>", html)  # only the phantom segment: no word probabilities
    assert "phrase fantôme" in html and ">phantom<" not in html  # its flag, named in French


def test_unsure_words_are_counted_the_french_way(tmp_path, no_clip_cut):
    statistics = Archive(fake_archive(tmp_path / "archive")).statistics()
    table = statistics.review_table(max_probability=0.75)
    unsure = table[table.reasons.str.contains("low-confidence-words")]   # codes in the data
    assert len(unsure) and all(unsure.low_words.map(len))
    html = statistics.review(max_probability=0.75, rows=len(table))._repr_html_()
    counts = [len(words) for words in unsure.low_words]
    for n in set(counts):   # « 2 mots < 0,75 »: the count, and the threshold with a decimal comma
        assert f"{n} mot{'s' if n > 1 else ''} &lt; 0,75" in html
    assert "low-confidence" not in html and "0.75" not in html
    shown = statistics.french_table(table[["episode", "reasons"]]).to_html()
    assert "mots peu sûrs" in shown and "low-confidence" not in shown


def test_a_quote_shows_in_french(search_archive, no_clip_cut):
    hit = search_archive.search("merci vidéo", match="words")[0]
    quote = search_archive.quote(hit)
    html = quote._repr_html_()
    assert "<small>[suspect, horodatage estimé]</small>" in html and "estimated-timing" not in html
    markdown = quote.to_markdown(clip_link="extrait.mp3")
    assert "[▶ Écouter l'extrait](extrait.mp3)" in markdown


def test_the_overview_writes_numbers_the_french_way(search_archive):
    html = search_archive.statistics().summary()._repr_html_()
    assert re.search(r"<th[^>]*>épisodes</th><td[^>]*>3 \(3 transcrits\)</td>", html)
    assert re.search(r"\d+,\d\u00a0% des segments suspects", html)  # « 6,7 % », not « 6.7% »
    assert not re.search(r"\d\.\d%", html)


def test_the_plots_speak_french(search_archive):
    overview = search_archive.statistics()
    hours = overview.plot_hours()
    (by_year, by_speaker) = hours.axes
    assert (by_year.get_title(), by_year.get_xlabel(), by_year.get_ylabel()) == (
        "Heures d'enregistrement par année", "année", "heures")
    assert by_speaker.get_xlabel() == "heures"
    assert hours._repr_png_().startswith(b"\x89PNG")  # drawn in memory
    terms = overview.plot_terms(["réseaux sociaux", "community manager"])
    for ax in terms.axes:
        assert ax.get_xlabel() == "année" and ax.get_ylabel() == "occurrences"
        assert ax.get_legend().get_title().get_text() == "terme"
    words = overview.plot_word_confidence(0.5)
    assert (words.axes[0].get_xlabel(), words.axes[0].get_ylabel()) == ("probabilité", "mots")
    speaking = overview.plot_speaking_time("2010/cm-table-ronde")
    assert speaking.axes[1].get_xlabel() == "secondes"
    assert [t.get_text() for t in speaking.axes[1].get_yticklabels()] == ["Alice Martin", "Bruno Dupont"]


def test_undated_and_unknown_are_shown_in_french(search_archive):
    (search_archive.root / "audio" / "2011" / "owni-debat.yaml").unlink()  # no sidecar: no date, nobody named
    overview = Archive(search_archive.root).statistics()
    chart = overview.plot_hours()
    years = [t.get_text() for t in chart.axes[0].get_xticklabels()]
    assert years[-1] == "sans date" and "undated" not in years
    assert "inconnu" in [t.get_text() for t in chart.axes[1].get_yticklabels()]
    table = overview.speaking_table("2010/cm-table-ronde").to_html()
    shown = [h.strip() for h in re.findall(r">([^<>]+)</th>", table) if h != "&nbsp;"]
    assert shown[:4] == ["secondes", "part", "segments", "intervenant"], shown
    assert ">30,0<" in table and ">67\u00a0%<" in table  # Alice: 30 s of 45, « 67 % »


def test_a_second_catalog_changes_what_the_tables_say(search_archive):
    english = {**FRENCH, "column.time": "time", "column.episode": "episode", "column.speaker": "speaker",
               "column.text": "text", "hits.matched": "matched", "column.listen": "listen",
               "hits.count": {"one": "{n} hit for {query}", "other": "{n} hits for {query}"}}
    i18n.add_catalog("en", english)
    try:
        with i18n.language("en"):
            html = search_archive.search("réseaux sociaux", match="words")._repr_html_()
        assert headers(html) == ["time", "episode", "speaker", "text", "matched", "listen"]
        assert re.search(r"<p>\d+ hits for <code>", html) and "November 5, 2010" in html
    finally:
        i18n._catalogs.pop("en", None)
