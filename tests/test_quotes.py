"""Quotes: snapping, text, speakers, citations, clips, exports, baskets, CLI (the notebook: test_notebooks.py).

Real files throughout: tones made by ffmpeg, hand-written transcripts whose word
times fall inside the audio, a real Whoosh index.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.quotes import (DURATION, EPISODE, EVIL, SEGMENTS, SOLO, SOLO_SEGMENTS, TITLE, add_episode,
                            build_quote_archive, make_transcript)
from indexer import Archive
from indexer.cli import main
from indexer.errors import AudioError, QuoteError
from indexer.quotes import EXPORT_FORMATS, Quote, QuoteBasket, QuoteOptions, cut, export_segment, safe_name
from indexer.transcript import Word

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def archive(tmp_path):
    return build_quote_archive(tmp_path / "archive")


def words_in(start: float, end: float) -> list[Word]:
    transcript = make_transcript(EPISODE, "", SEGMENTS)
    return [w for w in transcript.words if min(w.end, end) - max(w.start, start) > 0.02]


def duration_of(path: Path) -> float:
    """Seconds of audio a decoder actually produces (headers can be approximate)."""
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1",
                          "-ar", "16000", "-"], capture_output=True, check=True).stdout
    return len(raw) / 2 / 16000


def tags_of(path: Path) -> dict[str, str]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "json",
                          str(path)], capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    tags = dict((data.get("format") or {}).get("tags") or {})
    for stream in data.get("streams") or []:  # Ogg keeps Vorbis comments on the stream
        tags.update(stream.get("tags") or {})
    return {k.lower(): v for k, v in tags.items()}


# --- text and snapping -----------------------------------------------------------------

def test_quote_text_is_the_words_in_range(archive):
    q = archive.quote(EPISODE, 7.0, 12.0)
    expected = words_in(7.0, 12.0)
    assert q.text == " ".join(w.word.strip() for w in expected)
    assert (q.start, q.end) == (expected[0].start, expected[-1].end)
    assert [w.word.strip() for w in q.words] == q.text.split()


def test_range_snaps_outward_to_word_boundaries(archive):
    all_words = make_transcript(EPISODE, "", SEGMENTS).words
    word = next(w for w in all_words if w.start <= 9.0 <= w.end)
    q = archive.quote(EPISODE, word.start + 0.1, word.end - 0.1)
    assert q.text == word.word.strip() and (q.start, q.end) == (word.start, word.end)
    # Touching a neighbour's edge does not pull it in.
    nxt = all_words[all_words.index(word) + 1]
    q = archive.quote(EPISODE, word.start, nxt.start + 0.001)
    assert q.text == word.word.strip()


def test_quote_of_a_hit_is_its_segment_with_metadata(archive):
    hits = archive.search("trucmuche")
    q = archive.quote(hits[0])
    assert q.text == SEGMENTS[1][2]
    assert q.segment_ids == (1,)
    assert (q.episode, q.speaker, q.title, q.date) == (EPISODE, "Sandra", TITLE, "2010-11-15")
    assert q.source_url == "https://example.org/narocast-0" and q.chapter == "Introduction"


def test_low_confidence_words_are_flagged_and_marked(archive):
    q = archive.quote(EPISODE, 6.8, 14.0)
    assert "low-confidence" in q.flags and q.low_confidence
    assert "[?Trucmuche]" in q.marked_text
    assert "[?" not in q.text and q.text.count("[") == 0
    assert q.marked_text.replace("[?Trucmuche]", "Trucmuche") == q.text
    clean = archive.quote(EPISODE, 0.5, 6.3)
    assert "low-confidence" not in clean.flags and clean.marked_text == clean.text


def test_speaker_from_turns_single_speaker_or_nobody(archive, tmp_path):
    assert archive.quote(EPISODE, 15, 16).speaker == "Marc"
    assert archive.quote(EPISODE, 15, 16).chapter == "Le métier"
    assert archive.quote(SOLO, 1, 2).speaker == "Claire"
    # No sidecar: no speaker, the episode id stands for the title, empty parts leave the citation.
    root = tmp_path / "bare"
    add_episode(root, "bare", SOLO_SEGMENTS, None, ext="wav", duration=6)
    q = Archive(root).quote("bare", 1, 5)
    assert q.speaker is None and q.title == "bare"
    assert q.citation == "« bare », 00:00:01–00:00:05"


def test_quote_spanning_two_turns_takes_the_main_speaker(archive):
    q = archive.quote(EPISODE, 12.5, 21.0)
    assert q.speaker == "Marc" and "several-speakers" in q.flags


# --- widening and narrowing -------------------------------------------------------------

def test_extend_by_words_both_sides_and_each_side(archive):
    q = archive.quote(EPISODE, 9.0, 10.0)
    n = len(q.words)
    all_words = make_transcript(EPISODE, "", SEGMENTS).words
    first = all_words.index(next(w for w in all_words if w.start == q.start))
    wider = q.extend(words=2)
    assert len(wider.words) == n + 4
    assert wider.text == " ".join(w.word.strip() for w in all_words[first - 2:first + n + 2])
    assert q.extend(before=1, after=0).start == all_words[first - 1].start
    assert q.extend(after=3).end == all_words[first + n - 1 + 3].end
    assert q.extend(words=2).extend(words=-2) == q
    assert len(q.words) == n, "quotes are immutable"
    with pytest.raises(QuoteError, match="leaves no words"):
        q.extend(words=-n)


def test_extend_stops_at_the_edges_of_the_episode(archive):
    q = archive.quote(EPISODE, 0.5, 1.0).extend(words=1000)
    assert q.text.startswith("Bonjour") and q.text.endswith("bientôt !")


def test_extend_by_segments(archive):
    q = archive.quote(EPISODE, 9.0, 10.0)
    assert q.extend(segments=0).text == q.text
    whole = q.extend(segments=1)
    assert whole.segment_ids == (0, 1, 2)
    assert whole.text == " ".join(text for _, _, text, _ in SEGMENTS[:3])
    assert whole.extend(segments=-1).segment_ids == (1,)


def test_sentence_crosses_segments(archive):
    q = archive.quote(EPISODE, 18.5, 19.5)           # « écouter » in segment 2
    sentence = q.sentence()
    assert sentence.text == "Il faut écouter les gens avant de parler."
    assert sentence.segment_ids == (2, 3)
    assert archive.quote(EPISODE, 1.0, 2.0).sentence().text == SEGMENTS[0][2]


# --- citations -----------------------------------------------------------------------------

def test_default_citation(archive):
    q = archive.quote(EPISODE, 6.8, 14.0)
    assert q.citation == f"Sandra, « {TITLE} », 2010-11-15, 00:00:06–00:00:14"


def test_citation_format_is_configurable(archive):
    q = archive.quote(EPISODE, 6.8, 14.0, options=QuoteOptions(citation_format="{title} ({date}) @ {start_exact}"))
    assert q.citation == f"{TITLE} (2010-11-15) @ 00:00:06.800"
    assert q.cite("{speaker} — {episode}") == f"Sandra — {EPISODE}"
    with pytest.raises(QuoteError, match="unknown citation field 'nope'"):
        q.cite("{nope}")


def _seconds(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


@pytest.mark.parametrize("start, end", [(7.0, 12.0), (0.0, 3.0), (21.6, 30.0)])
def test_citation_timecodes_and_clip_agree(archive, start, end):
    q = archive.quote(EPISODE, start, end)
    cited = re.search(r"(\d\d:\d\d:\d\d)–(\d\d:\d\d:\d\d)$", q.citation)
    cited_start, cited_end = _seconds(cited.group(1)), _seconds(cited.group(2))
    # The citation shows the words' span: start rounded down, end rounded up.
    assert cited_start <= q.start < cited_start + 1 and cited_end - 1 < q.end <= cited_end
    clip_start, clip_end = q.clip_span
    assert clip_start == pytest.approx(max(0.0, q.start - 0.25))
    assert clip_end == pytest.approx(min(DURATION, q.end + 0.25))
    clip = q.clip()
    assert abs(len(clip) / 1000 - (clip_end - clip_start)) <= 0.02
    assert clip.frame_rate == 16000


def test_clip_duration_is_word_span_plus_padding(archive):
    q = archive.quote(EPISODE, 7.0, 12.0)
    for padding in (0.0, 0.25, 1.0):
        assert abs(len(q.clip(padding=padding)) / 1000 - (q.end - q.start + 2 * padding)) <= 0.02
    assert abs(len(q.with_options(padding=0.5).clip()) / 1000 - (q.duration + 1.0)) <= 0.02


def test_clip_of_a_missing_audio_file_is_an_audio_error(archive):
    q = archive.quote(EPISODE, 7.0, 12.0)
    (archive.layout.audio_dir / f"{EPISODE}.mp3").unlink()
    with pytest.raises(AudioError, match="file not found"):
        q.clip()
    # The notebook display reads no file: its player finds out when it is played (tests/test_display_clips.py).
    assert "indexer-clip" in q._repr_html_()


# --- exports -------------------------------------------------------------------------------

@pytest.mark.parametrize("ext, tolerance", [("mp3", 0.02), ("wav", 0.02), ("ogg", 0.02),
                                            ("m4a", 0.08)])  # AAC adds a priming frame (1024 samples)
def test_export_decodes_and_carries_the_citation(archive, tmp_path, ext, tolerance):
    q = archive.quote(EPISODE, 7.0, 12.0)
    path = q.export(tmp_path / "out" / f"clip.{ext}")
    assert path.is_file() and not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    assert abs(duration_of(path) - (q.clip_span[1] - q.clip_span[0])) <= tolerance
    tags = tags_of(path)
    assert tags["comment"] == q.citation
    assert tags["artist"] == "Sandra" and tags["date"] == "2010-11-15"
    assert tags["title"] == q.text[:79].rstrip() + "…" if len(q.text) > 80 else tags["title"] == q.text


def test_export_refuses_unknown_formats(archive, tmp_path):
    q = archive.quote(EPISODE, 7.0, 12.0)
    with pytest.raises(QuoteError, match="valid formats: m4a, mp3, ogg, wav"):
        q.export(tmp_path / "clip.flac")
    assert not list(tmp_path.glob("*clip*"))
    assert set(EXPORT_FORMATS) == {"mp3", "wav", "ogg", "m4a"}


class FailingSegment:
    """Stands for a pydub segment whose export raises ``error``."""

    def __init__(self, error):
        self.error = error

    def export(self, *args, **kwargs):
        raise self.error


def test_an_encoder_failure_is_an_audio_error_and_a_bug_is_itself(tmp_path):
    from pydub.exceptions import CouldntEncodeError

    with pytest.raises(AudioError, match=r"cannot encode clip as mp3 \(Unknown encoder 'libmp3lame'\)"):
        export_segment(FailingSegment(CouldntEncodeError("Encoding failed.\nUnknown encoder 'libmp3lame'")),
                       tmp_path / "a.mp3")
    with pytest.raises(TypeError, match="a bug"):  # not hidden as "cannot encode"
        export_segment(FailingSegment(TypeError("a bug")), tmp_path / "b.mp3")
    assert not list(tmp_path.iterdir())  # no temporary file left either way


def test_to_dict_json_markdown_and_text(archive):
    q = archive.quote(EPISODE, 6.8, 14.0)
    data = json.loads(q.to_json())
    assert data == json.loads(json.dumps(q.to_dict()))
    assert data["text"] == q.text and data["citation"] == q.citation and data["speaker"] == "Sandra"
    assert data["marked_text"] == q.marked_text and data["flags"] == ["low-confidence"]
    assert data["clip"]["start"] == pytest.approx(q.start - 0.25)
    assert [w["word"] for w in data["words"]] == q.text.split()
    md = q.to_markdown("clips/01.mp3")
    lines = md.splitlines()
    assert lines[0] == f"> {q.text}" and lines[1] == ">"
    assert lines[2].startswith("> — Sandra, « \\[Narocast\\] \\#0") and "(https://example.org/narocast-0)" in lines[2]
    assert lines[-1] == "[▶ Écouter l'extrait](clips/01.mp3)"
    assert q.to_text() == f"« {q.text} »\n— {q.citation}"


def test_markdown_escapes_what_pages_escape():
    """One escaper for quotes and pages: GFM reads ~text~ as struck through."""
    q = Quote("ep", 1.0, 2.0, "~non~ *oui*", "Sandra", "Titre ~barré~", "2010-11-15", "", "")
    md = q.to_markdown()
    assert md.startswith("> \\~non\\~ \\*oui\\*\n") and "« Titre \\~barré\\~ »" in md
    assert QuoteBasket([q], title="~a~").to_markdown().startswith("# \\~a\\~\n")


def test_html_display_escapes_and_embeds_audio(archive):
    q = archive.quote(EVIL, 1.0, 5.0)
    page = html = q._repr_html_()
    assert re.findall(r"<script[^>]*>", html) == ["<script class='indexer-clips'>"]  # the player's own, and no other
    assert "<script>" not in page and "<b>balises" not in page
    assert "&lt;b&gt;balises&lt;/b&gt; &amp;" in page and "&lt;script&gt;" in page
    assert "<audio " in page and "data:audio/" not in page  # the clip is cut when it is played


# --- long files: clips seek, they do not decode from the start ---------------------------

def long_mp3(tmp_path: Path, minutes: int = 120) -> Path:
    """A two-hour CBR mp3 in a fraction of a second: one encoded minute, repeated."""
    one = tmp_path / "minute.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=8000:duration=60", "-ac", "1", "-b:a", "8k",
                    "-write_xing", "0", "-id3v2_version", "0", str(one)], check=True)
    path = tmp_path / "long.mp3"
    path.write_bytes(one.read_bytes() * minutes)
    return path


def test_clip_from_a_two_hour_file_seeks(tmp_path, monkeypatch):
    import indexer.audio

    path = long_mp3(tmp_path)
    commands = []
    real_run = subprocess.run

    def spy(cmd, *args, **kwargs):
        commands.append(list(cmd))
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(indexer.audio.subprocess, "run", spy)
    late = cut(path, 7100, 7120, padding=0.25, fade=0.05)
    early = cut(path, 10, 30, padding=0.25, fade=0.05)

    assert abs(len(late) / 1000 - 20.5) <= 0.02 and abs(len(early) / 1000 - 20.5) <= 0.02
    decodes = [c for c in commands if Path(c[0]).name == "ffmpeg"]
    assert decodes and all("-ss" in c and c.index("-ss") < c.index("-i") for c in decodes), decodes
    assert float(decodes[0][decodes[0].index("-ss") + 1]) == pytest.approx(7099.75)
    assert float(decodes[0][decodes[0].index("-t") + 1]) == pytest.approx(20.5)
    # ffmpeg seeks before it decodes (-ss before -i): a late clip costs what an early one does.
    # How long it takes is a benchmark's business (docs/editing.md: a fraction of a second from a two-hour file).


# --- basket --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("../../etc/passwd", "etc-passwd"),
    ("/absolute/path", "absolute-path"),
    ("..", "quote"),
    ("", "quote"),
    ("[Narocast] #0 – Discussions", "narocast-0-discussions"),
    ("a\\b/c:d", "a-b-c-d"),
    ("Émission spéciale", "emission-speciale"),
])
def test_safe_names(text, expected):
    assert safe_name(text) == expected
    assert "/" not in expected and ".." not in expected


def test_basket_exports_article_json_and_clips(archive, tmp_path):
    basket = QuoteBasket(title="Brouillon")
    basket.add(archive.quote(EPISODE, 6.8, 14.0), archive.quote(EPISODE, 18.5, 19.5).sentence())
    out = basket.export(tmp_path / "draft")
    assert out.markdown == (tmp_path / "draft" / "article.md").resolve()
    names = [p.name for p in out.clips]
    # number, episode id, title (cut at 40 characters), start time
    assert names == ["01-2010-narocast-0-narocast-0-discussions-sur-le-community-000006.mp3",
                     "02-2010-narocast-0-narocast-0-discussions-sur-le-community-000017.mp3"]
    md = out.markdown.read_text(encoding="utf-8")
    assert md.startswith("# Brouillon\n")
    for q, name in zip(basket, names):
        assert f"> {q.text}" in md and f"]({name})" in md
        assert (tmp_path / "draft" / name).is_file()
    data = json.loads(out.json.read_text(encoding="utf-8"))
    assert [d["clip_file"] for d in data["quotes"]] == names
    assert data["quotes"][1]["text"] == "Il faut écouter les gens avant de parler."
    assert data["quotes"][0]["citation"] == basket[0].citation


def test_basket_names_from_metadata_stay_in_the_folder(archive, tmp_path):
    folder = tmp_path / "nest" / "draft"
    out = QuoteBasket([archive.quote(EVIL, 1.0, 5.0)]).export(folder, name="../../../escape")
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()
                     and "archive" not in p.parts)
    assert all(p.parent == Path("nest/draft") for p in written), written
    assert out.clips[0].parent == folder.resolve()
    assert ".." not in out.clips[0].name and "passwd" in out.clips[0].name
    assert out.markdown.name == "escape.md"
    assert not (tmp_path / "etc").exists()


def test_basket_without_audio_still_writes_the_draft(archive, tmp_path, caplog):
    q = archive.quote(EPISODE, 6.8, 14.0)
    (archive.layout.audio_dir / f"{EPISODE}.mp3").unlink()
    out = QuoteBasket([q]).export(tmp_path / "draft")
    assert out.clips == (None,) and "no clip for quote 1" in caplog.text
    assert q.text in out.markdown.read_text(encoding="utf-8")


# --- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("episode, start, end, message", [
    (EPISODE, 12.0, 7.0, "end 7 s is not after start 12 s"),
    (EPISODE, 7.0, 7.0, "is not after start"),
    (EPISODE, 40.0, 45.0, "beyond the end of episode '2010/narocast-0'"),
    (EPISODE, -1.0, 5.0, "negative"),
    (EPISODE, 6.31, 6.79, "no words between"),
    ("2010/narocast-O", 1.0, 2.0, "unknown episode '2010/narocast-O'"),
])
def test_invalid_ranges_are_one_line_quote_errors(archive, episode, start, end, message):
    with pytest.raises(QuoteError) as info:
        archive.quote(episode, start, end)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_unknown_episode_suggests_close_ids(archive):
    with pytest.raises(QuoteError, match="did you mean 2010/narocast-0"):
        archive.quote("2010/narocast-O", 1, 2)


# --- CLI -----------------------------------------------------------------------------------

def test_cli_quote_formats_and_clip(archive, tmp_path):
    runner = CliRunner()
    root = str(archive.root)
    result = runner.invoke(main, ["quote", EPISODE, "00:00:07", "12", "--archive", root, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["text"] == archive.quote(EPISODE, 7, 12).text and data["speaker"] == "Sandra"

    clip = tmp_path / "extrait.ogg"
    result = runner.invoke(main, ["quote", EPISODE, "7", "0:12", "--archive", root, "--clip", str(clip),
                                  "--format", "md"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("> ") and f"]({clip})" in result.output
    assert tags_of(clip)["comment"] == archive.quote(EPISODE, 7, 12).citation

    result = runner.invoke(main, ["quote", EPISODE, "7", "12", "--archive", root])
    assert result.exit_code == 0 and result.output.startswith("« ") and "— Sandra, «" in result.output


def test_cli_quote_errors(archive):
    runner = CliRunner()
    result = runner.invoke(main, ["quote", EPISODE, "12", "7", "--archive", str(archive.root)])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: ") and len(result.output.strip().splitlines()) == 1
    result = runner.invoke(main, ["quote", EPISODE, "douze", "14", "--archive", str(archive.root)])
    assert result.exit_code == 2 and "'douze' is not seconds or hh:mm:ss" in result.output
