"""The data the transcript player receives, its HTML, its audio source, and the kernel bridge.

The browser side (highlight, clicks, selections, long episodes) is in
tests/test_display_player_browser.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import send_from_front_end
from helpers.player import HOSTILE, PANEL, build_player_archive, long_transcript

from indexer import Archive
from indexer.errors import QuoteError
from indexer.display.page import PageOptions
from indexer.display.player import basket_bridge, json_for_script, player_html
from indexer.display.player_audio import notebook_audio, page_audio
from indexer.display.player_data import PlayerOptions, player_data
from indexer.quotes import EpisodeContext, QuoteBasket, join_words


@pytest.fixture
def archive(tmp_path):
    archive = Archive(build_player_archive(tmp_path / "archive"))
    archive.reindex(progress=False)
    return archive


def data_of(archive, episode=PANEL, **kwargs):
    ctx = EpisodeContext.load(archive.layout, episode)
    return player_data(ctx, machine=ctx.machine, **kwargs)


def test_words_times_probabilities_and_speakers(archive):
    data = data_of(archive)
    words = data["words"]
    assert [w["text"] for w in words[:4]] == ["Bonjour", "à", "tous,", "bienvenue."]
    assert all(w["space"] for w in words)  # Whisper's leading spaces, kept for joining
    assert (words[3]["start"], words[3]["end"], words[3]["p"]) == (2.0, 3.0, 0.3)
    # Low confidence: the quotes' threshold (0.5), not the segment flag's (0.4).
    assert [w["text"] for w in words if w["low"]] == ["bienvenue.", "changent"]
    assert data["low_confidence"] == 0.5
    assert data["speakers"] == ["Alice Martin", "Bruno Dupont"]
    by_text = {w["text"]: w for w in words}
    assert data["speakers"][by_text["modération"]["speaker"]] == "Alice Martin"
    assert data["speakers"][by_text["débat."]["speaker"]] == "Bruno Dupont"
    assert [data["segments"][w["segment"]]["id"] for w in words[:5]] == [0, 0, 0, 0, 1]
    assert (data["episode"], data["title"], data["date"]) == (PANEL, "Débat : la modération des communautés",
                                                              "2011-05-12")
    assert data["citation_format"] == "{speaker}, « {title} », {date}, {start}–{end}"


def test_segments_flags_sections_and_chapters(archive):
    data = data_of(archive)
    suspect = [s for s in data["segments"] if s["suspect"]]
    assert [(s["id"], s["flags"]) for s in suspect] == [(2, ["phantom", "suspect"])]
    first, count = suspect[0]["first"], suspect[0]["count"]
    assert [w["text"] for w in data["words"][first:first + count]] == ["Merci", "d'avoir", "regardé."]
    assert data["chapters"] == [{"start": 0.0, "title": "Introduction"}, {"start": 12.0, "title": "Le débat"}]
    sections = data["sections"]
    assert [s["title"] for s in sections] == ["Introduction", "Le débat"]
    assert [[data["speakers"][p["speaker"]] for p in s["paragraphs"]] for s in sections] == \
        [["Alice Martin"], ["Bruno Dupont"]]
    assert sections[1]["paragraphs"][0]["segments"] == [3, 4, 5]


def test_corrections_are_applied_and_their_words_marked(archive):
    archive.correct(PANEL, 1, "On parle de la modération aujourd'hui.")
    archive.set_speaker(PANEL, 4, "Zoé Leroy")
    data = data_of(archive)
    segment = data["segments"][1]
    assert segment["corrected"] and "corrected" in segment["flags"]
    words = data["words"][segment["first"]:segment["first"] + segment["count"]]
    assert [(w["text"], w["corrected"]) for w in words] == [
        ("On", False), ("parle", False), ("de", False), ("la", True), ("modération", False), ("aujourd'hui.", False)]
    assert not any(w["corrected"] for w in data["words"] if data["segments"][w["segment"]]["id"] != 1)
    zoe = data["speakers"].index("Zoé Leroy")
    assert {w["speaker"] for w in data["words"] if data["segments"][w["segment"]]["id"] == 4} == {zoe}
    # Without the machine transcript, every word of a corrected segment is marked.
    ctx = EpisodeContext.load(archive.layout, PANEL)
    blind = player_data(ctx)["words"]
    assert all(w["corrected"] for w in blind if w["segment"] == 1)


def test_the_python_line_of_a_selection_recreates_the_same_quote(archive):
    """The player writes archive.quote(ep, first word's start, last word's end): it must give those words back."""
    data = data_of(archive)
    words = data["words"]
    for first in range(len(words)):
        for last in range(first, min(first + 6, len(words))):
            quote = archive.quote(PANEL, words[first]["start"], words[last]["end"])
            assert quote.text == " ".join(w["text"] for w in words[first:last + 1]), (first, last)


def test_a_hit_opens_at_the_hit_with_its_words_marked(archive):
    hits = archive.search("modération")
    hit = next(h for h in hits if h.episode == PANEL)
    player = hit.player()
    data = player.data
    assert [w["text"] for w in data["words"] if w["marked"]] == ["modération"]
    assert (data["start"], data["end"]) == (hit.start, hit.end)
    quote = archive.quote(PANEL, 12.2, 15.5)
    data = quote.player().data
    assert data["select"] == [quote.first, quote.last]
    assert join_words(quote.words) == " ".join(w["text"] for w in data["words"][quote.first:quote.last + 1])


def test_json_in_the_page_cannot_close_its_script():
    text = json_for_script({"title": "</script><script>alert(1)</script><!-- & \u2028"})
    assert "</" not in text and "<!--" not in text and "<" not in text
    assert json.loads(text)["title"] == "</script><script>alert(1)</script><!-- & \u2028"


def test_html_has_only_the_players_scripts_and_escapes_every_text(archive):
    archive.correct(HOSTILE, 1, "Une phrase </script><script>window.injected = 3</script> corrigée.")
    page = archive.export_page(HOSTILE, "html")
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ["<script type='application/json' class='ip-data'>", "<script>"]
    assert "window.injected" not in page.split("<script type='application/json'")[0].replace(
        "&lt;/script&gt;&lt;script&gt;window.injected", "")
    assert "<b>gras</b>" not in page and "<img src=x" not in page
    data = json.loads(re.search(r"class='ip-data'>(.*?)</script>", page, re.S).group(1))
    assert data["title"] == "Titre </script><script>window.injected = 1</script> <b>gras</b>"
    assert "</script><script>window.injected" in " ".join(data["word_columns"]["text"])


def test_unknown_citation_field_is_refused(archive):
    with pytest.raises(QuoteError, match="unknown citation field 'who'"):
        data_of(archive, options=PlayerOptions(citation_format="{who}, {title}"))


def test_audio_under_the_server_root_is_a_relative_path(archive, tmp_path):
    audio = archive.layout.audio_dir / f"{PANEL}.wav"
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    source = notebook_audio(audio, 0.0, 30.0, cwd=notebooks, root=tmp_path)
    assert source.src == "../archive/audio/2011/panel.wav" and source.offset == 0 and not source.note


def test_audio_outside_the_server_root_is_a_short_inlined_clip(archive, tmp_path):
    audio = archive.layout.audio_dir / f"{PANEL}.wav"
    elsewhere = tmp_path / "other-root"
    elsewhere.mkdir()
    whole = notebook_audio(audio, 5.0, 30.0, cwd=elsewhere, root=elsewhere)
    assert whole.src.startswith("data:audio/") and (whole.offset, whole.end, whole.note) == (0.0, None, "")
    clip = notebook_audio(audio, 20.0, 30.0, PlayerOptions(embed_seconds=8.0, embed_before=2.0),
                          cwd=elsewhere, root=None)
    assert clip.src.startswith("data:audio/") and (clip.offset, clip.end) == (18.0, 26.0)
    assert "hors du dossier du serveur Jupyter" in clip.note
    assert len(clip.src) < len(whole.src) / 2


def test_an_inlined_clip_falls_back_to_wav_without_an_mp3_encoder_but_a_bug_surfaces(archive, tmp_path,
                                                                                      monkeypatch):
    from indexer import audio as audio_module

    audio = archive.layout.audio_dir / f"{PANEL}.wav"
    monkeypatch.setattr(audio_module, "MP3_ENCODER", "libno-such-mp3")  # ffmpeg: "Unknown encoder"
    assert notebook_audio(audio, 5.0, 30.0, cwd=tmp_path, root=tmp_path / "elsewhere").src.startswith("data:audio/wav")

    def bug(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(audio_module.subprocess, "run", bug)
    with pytest.raises(TypeError, match="a bug"):
        notebook_audio(audio, 5.0, 30.0, cwd=tmp_path, root=tmp_path / "elsewhere")


def test_exported_page_links_or_copies_the_audio(archive, tmp_path):
    out = tmp_path / "site" / "panel.html"
    page = archive.export_page(PANEL, "html", out=out)
    src = re.search(r"<audio class='ip-audio' [^>]*src='([^']*)'", page).group(1)
    assert (out.parent / src).resolve() == (archive.layout.audio_dir / f"{PANEL}.wav").resolve()
    copied = archive.export_page(PANEL, "html", out=out, options=PageOptions(copy_audio=True))
    assert "src='panel.wav'" in copied and (out.parent / "panel.wav").is_file()
    assert page_audio(None, out.parent).note == "fichier audio introuvable"


def test_the_bridge_adds_the_selection_to_the_basket(archive):
    pytest.importorskip("anywidget")
    ctx = EpisodeContext.load(archive.layout, PANEL)
    basket = QuoteBasket()
    bridge = basket_bridge("abc", ctx, basket)
    replies = []
    bridge.send = replies.append  # no front end here: catch what would go to it
    send_from_front_end(bridge, {"kind": "add", "request": 1, "episode": PANEL, "start": 12.2, "end": 15.5})
    send_from_front_end(bridge, {"kind": "add", "request": 2, "episode": PANEL, "start": 99.0, "end": 100.0})
    assert len(basket) == 1 and basket[0].text == "La communauté anime le débat."
    assert replies[0] == {"request": 1, "ok": True, "citation": basket[0].citation, "count": 1}
    assert replies[1]["ok"] is False and "beyond the end" in replies[1]["error"]
    assert bridge.count == 1 and bridge.player_id == "abc"


def test_a_two_hour_transcript_gives_one_compact_document():
    transcript, meta = long_transcript()
    data = player_data(EpisodeContext.build(transcript, meta))
    assert 19_000 < len(data["words"]) < 21_000
    assert len(data["sections"]) == 8 and len(data["speakers"]) == 3
    size = len(player_html(data))
    assert size < 4_000_000, f"{size / 1e6:.1f} MB of HTML for two hours"


def test_static_files_are_package_data():
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    assert "static/*.js" in project["tool"]["setuptools"]["package-data"]["indexer"]
    from indexer.display.player import static_text

    assert "IndexerPlayer" in static_text("player.js") and ".indexer-player" in static_text("player.css")
    assert "export default" in static_text("bridge.js")
