"""Readable pages (HTML, Markdown) and subtitle/text exports of an episode, and `indexer export`."""

from __future__ import annotations

import json
import html
import re
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from indexer import Archive
from indexer.archive import Chapter, EpisodeMeta, SpeakerTurn
from indexer.cli import main
from indexer.corrections import with_speakers
from indexer.errors import FormatError, TranscriptError
from indexer.display.page import FORMATS, PageOptions, md_escape, render, render_page, sections
from indexer.transcript import Segment, Transcript

PANEL = "2010/cm-table-ronde"      # turns (Alice 0–30, Bruno 30–60), two chapters, a <script> segment
MONOLOGUE = "2011/owni-debat"      # one speaker in the sidecar
NO_SIDECAR = "2012/sans-sidecar"   # speakers named on the segments


class Tags(HTMLParser):
    """Start tags, and the text inside each tag name, of an HTML page."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: dict[str, list[str]] = {}
        self._open: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "br"):
            self._open.append(tag)

    def handle_endtag(self, tag):
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data):
        for tag in self._open:
            self.text.setdefault(tag, []).append(data)


def transcript_of(segments, duration=60.0, episode="demo"):
    return Transcript(episode_id=episode, audio_path=f"{episode}.wav", audio_sha256="0" * 64, duration=duration,
                      language="fr", model="test", engine="test", options={}, segments=segments)


@pytest.fixture
def archive(search_archive):
    return search_archive


# --- pages -------------------------------------------------------------------------------------

def test_markdown_page_has_title_facts_chapters_and_speaker_turns(archive):
    page = archive.export_page(PANEL, "md")
    lines = page.splitlines()
    assert lines[0] == "# Table ronde : les community managers"
    assert "- **Date :** 5 novembre 2010" in lines
    assert "- **Intervenants :** Alice Martin, Bruno Dupont" in lines
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Introduction [00:00:00]", "## Débat sur l'animation [00:00:30]"]
    turns = [line for line in lines if line.startswith("**")]
    # One paragraph per speaker turn, each opened by its timecode.
    assert [t.split("**")[1] for t in turns] == ["\\[00:00:00\\] Alice Martin :", "\\[00:00:30\\] Bruno Dupont :"]
    assert "Bonjour à tous, aujourd'hui on parle des réseaux sociaux." in turns[0]
    assert "sociaux reste un vrai défi" in turns[0]
    # Markup in the transcript stays text.
    assert "<script>" not in page and "\\<script\\>alert(1)\\</script\\>" in page
    assert "\\<b\\>gras\\</b\\>" in page


def test_html_page_escapes_transcript_text(archive):
    page = archive.export_page(PANEL, "html")
    assert page.startswith("<!DOCTYPE html>")
    # The only scripts are the player's (its data as JSON, its code); the transcript's never runs.
    assert re.findall(r"<script[^>]*>", page) == ["<script type='application/json' class='ip-data'>", "<script>"]
    assert "<script>alert(1)" not in page and "\\u003cscript\\u003ealert(1)" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;gras&lt;/b&gt;" in page  # without JavaScript
    parsed = Tags(page)
    names = [tag for tag, _ in parsed.tags]
    assert "b" not in names
    assert "".join(parsed.text["h1"]) == "Table ronde : les community managers"
    h2 = [t.strip() for t in parsed.text["h2"] if t.strip()]
    assert "Introduction" in h2 and "Débat sur l'animation" in h2
    turns = [attrs for tag, attrs in parsed.tags if tag == "p" and attrs.get("class") == "turn"]
    assert [t["id"] for t in turns] == ["t-0", "t-30"]
    assert re.findall(r"<span class='speaker'>([^<]*) :</span>", page) == ["Alice Martin", "Bruno Dupont"]
    assert re.findall(r"href='#t-\d+'>\[(\d\d:\d\d:\d\d)\]", page) == ["00:00:00", "00:00:30"]
    # The phantom segment is kept but marked as unsure.
    assert "class='segment suspect'" in page


def test_pages_escape_sidecar_fields_and_refuse_non_web_links():
    meta = EpisodeMeta(title="<img src=x onerror=alert(1)> *Titre*", date="2011", speakers=("A <b>",),
                       source_url="javascript:alert(1)", description="- <i>desc</i>",
                       chapters=(Chapter(0, "# <u>chap</u>"),))
    transcript = transcript_of([Segment(0, 0, 5, "Bonjour [lien](javascript:x) `code` | a")])
    html_page = render_page(transcript, meta, "html")
    assert "<img" not in html_page and "<u>" not in html_page and "<i>" not in html_page
    assert "href='javascript" not in html_page and "Source" not in html_page
    md = render_page(transcript, meta, "md")
    assert md.startswith("# \\<img src=x onerror=alert(1)\\> \\*Titre\\*\n")
    assert "## \\# \\<u\\>chap\\</u\\> [00:00:00]" in md
    assert "\\[lien\\](javascript:x) \\`code\\` \\| a" in md
    assert "\n\\- \\<i\\>desc\\</i\\>\n" in md
    assert "Source" not in md


def test_web_source_link_is_kept(archive):
    meta = EpisodeMeta(title="T", source_url="https://example.org/a b")
    transcript = transcript_of([Segment(0, 0, 5, "Bonjour")])
    assert "- **Source :** <https://example.org/a%20b>" in render_page(transcript, meta, "md")
    assert "<a href='https://example.org/a b'>" in render_page(transcript, meta, "html")


def test_long_turns_are_cut_into_paragraphs_with_timecodes(archive):
    meta = archive.episode(MONOLOGUE).meta
    transcript = with_speakers(archive.transcript(MONOLOGUE), meta)  # who speaks, as effective_episode gives it
    one = sections(transcript, meta)
    assert len(one) == 1 and one[0].title == "" and len(one[0].paragraphs) == 1
    assert one[0].paragraphs[0].speaker == "Claire Petit"
    cut = sections(transcript, meta, PageOptions(paragraph_seconds=15))
    assert [p.start for p in cut[0].paragraphs] == [0.0, 12.0]
    md = render_page(transcript, meta, "md", PageOptions(paragraph_seconds=15))
    assert re.findall(r"^\*\*\\\[(\S+)\\\] Claire Petit :\*\*", md, re.M) == ["00:00:00", "00:00:12"]


def test_segments_a_moment_before_a_chapter_belong_to_it():
    meta = EpisodeMeta(turns=(SpeakerTurn("A", 0, 100),), speakers=("A",),
                       chapters=(Chapter(0.5, "Un"), Chapter(20.0, "Deux")))
    transcript = transcript_of([Segment(0, 0.2, 10, "début"), Segment(1, 19.4, 25, "deux"),
                                Segment(2, 25, 30, "suite")])
    found = sections(transcript, meta)
    assert [(s.title, [seg.id for p in s.paragraphs for seg in p.segments]) for s in found] == \
        [("Un", [0]), ("Deux", [1, 2])]
    late = sections(transcript, meta, PageOptions(chapter_tolerance=0.0))
    assert [s.title for s in late] == ["", "Un", "Deux"]


def test_pages_show_corrections(archive):
    archive.correct(PANEL, 1, "L'engagement d'une communauté, c'est le métier du community manager.")
    archive.set_speaker(PANEL, 2, "Zoé Leroy")
    md = archive.export_page(PANEL, "md")
    assert "c'est le métier du community manager." in md and "c'est le travail du" not in md
    assert "**\\[00:00:10\\] Zoé Leroy :** Qu'il soit animateur" in md
    assert "**\\[00:00:15\\] Alice Martin :** Suivez @owni" in md  # Alice again after Zoé's turn
    assert "Zoé Leroy" in md.split("\n\n")[1]  # among the speakers at the top
    html_page = archive.export_page(PANEL, "html")
    assert "class='segment corrected'" in html_page


def test_export_page_writes_the_file(archive, tmp_path):
    out = tmp_path / "pages" / "panel.html"
    text = archive.export_page(PANEL, "html", out=out)
    assert out.read_text(encoding="utf-8") == text


# --- subtitles and text through the existing exporters ---------------------------------------------

CUE = re.compile(r"(?:(\d+)\n)?(\d\d:\d\d:\d\d[,.]\d\d\d) --> (\d\d:\d\d:\d\d[,.]\d\d\d)\n(.*?)\n(?:\n|$)", re.S)


def seconds(stamp: str) -> float:
    h, m, s = stamp.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def parse_cues(text: str, fmt: str) -> list[tuple[float, float, str]]:
    if fmt == "vtt":
        assert text.startswith("WEBVTT\n\n")
        text = text[len("WEBVTT\n\n"):]
    cues, position = [], 0
    for n, match in enumerate(CUE.finditer(text), 1):
        assert match.start() == position, f"unparsed text at {position}: {text[position:match.start()]!r}"
        number, start, end, body = match.groups()
        if fmt == "srt":
            assert number == str(n) and "," in start and "," in end
        else:
            assert number is None and "." in start and "." in end
        cues.append((seconds(start), seconds(end), html.unescape(body) if fmt == "vtt" else body))  # VTT escapes < &
        position = match.end()
    assert position == len(text)
    return cues


def check_cues(cues, transcript: Transcript, speakers: list[str | None]):
    assert len(cues) == len(transcript.segments)
    starts = [c[0] for c in cues]
    assert starts == sorted(starts)
    for (start, end, body), seg, speaker in zip(cues, transcript.segments, speakers):
        assert start == pytest.approx(seg.start, abs=5e-4) and end == pytest.approx(seg.end, abs=5e-4)
        assert end >= start
        text = seg.text.strip().replace("-->", "->")
        assert body == (f"{speaker}: {text}" if speaker else text)


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_parse_back_with_speakers(archive, fmt):
    panel = archive.transcript(PANEL)
    check_cues(parse_cues(archive.export_page(PANEL, fmt), fmt), panel,
               ["Alice Martin"] * 6 + ["Bruno Dupont"] * 3)
    # A monologue gets no name on each cue, whoever said who speaks (the sidecar, or the segments).
    check_cues(parse_cues(archive.export_page(MONOLOGUE, fmt), fmt), archive.transcript(MONOLOGUE), [None] * 4)
    check_cues(parse_cues(archive.export_page(NO_SIDECAR, fmt), fmt), archive.transcript(NO_SIDECAR), [None] * 2)


def test_txt_and_json_exports(archive):
    archive.correct(MONOLOGUE, 0, "Le journalisme de données chez OWNI.")
    txt = archive.export_page(MONOLOGUE, "txt")
    assert txt.splitlines()[0] == "Le journalisme de données chez OWNI." and len(txt.splitlines()) == 4
    data = Transcript.from_dict(json.loads(archive.export_page(MONOLOGUE, "json")))
    assert data.segments[0].text == "Le journalisme de données chez OWNI." and "corrected" in data.segments[0].flags
    assert archive.transcript(MONOLOGUE).segments[0].text.startswith("Le journalisme de données chez Owni")


def test_unknown_formats_and_episodes(archive):
    assert FORMATS == ("html", "json", "md", "srt", "txt", "vtt")
    with pytest.raises(FormatError, match="valid formats: html, json, md, srt, txt, vtt"):
        archive.export_page(PANEL, "pdf")
    with pytest.raises(FormatError, match="unknown export format 'pdf'; valid formats: html, json, md"):
        render(archive.transcript(PANEL), EpisodeMeta(), "pdf")
    with pytest.raises(FormatError, match="valid formats: html, md"):
        render_page(archive.transcript(PANEL), EpisodeMeta(), "srt")
    with pytest.raises(TranscriptError, match="did you mean 2010/cm-table-ronde"):
        archive.export_page("2010/cm-table-rond", "md")


def test_md_escape():
    assert md_escape("a*b_c `d` [e](f) <g> #h |i| ~j~ \\") == "a\\*b\\_c \\`d\\` \\[e\\](f) \\<g\\> \\#h \\|i\\| \\~j\\~ \\\\"
    assert md_escape("l'été : « oui » !") == "l'été : « oui » !"


# --- the command line --------------------------------------------------------------------------------

def test_cli_export_prints_or_writes(archive, tmp_path):
    runner = CliRunner()
    root = str(archive.root)
    result = runner.invoke(main, ["export", PANEL, "--archive", root])
    assert result.exit_code == 0, result.output
    assert result.output == archive.export_page(PANEL, "md")
    out = tmp_path / "panel.html"
    result = runner.invoke(main, ["export", PANEL, "--archive", root, "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # The same page, its audio linked relative to the folder it is written in.
    assert out.read_text(encoding="utf-8") == archive.export_page(PANEL, "html", out=tmp_path / "again.html")
    assert str(out) in result.output
    result = runner.invoke(main, ["export", PANEL, "--archive", root, "--format", "srt"])
    assert result.exit_code == 0 and len(parse_cues(result.output, "srt")) == 9


def test_cli_export_errors(archive):
    runner = CliRunner()
    result = runner.invoke(main, ["export", "2010/nope", "--archive", str(archive.root)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "unknown episode '2010/nope'" in lines[0]
    result = runner.invoke(main, ["export", PANEL, "--archive", str(archive.root), "--format", "pdf"])
    assert result.exit_code == 2 and "'pdf' is not one of" in result.output


def test_cli_export_choices_are_the_formats():
    command = main.commands["export"]
    choices = next(p.type.choices for p in command.params if p.name == "fmt")
    assert sorted(choices) == list(FORMATS)
    result = CliRunner().invoke(main, ["export", "--help"])
    assert result.exit_code == 0 and "Example: indexer export" in result.output


# --- the sample archive, transcribed for real ----------------------------------------------------------

def test_sample_archive_exports(ingested_sample):
    archive = Archive(ingested_sample)
    ids = sorted(e.id for e in archive.episodes())
    assert ids
    for episode in ids:
        transcript = archive.transcript(episode)
        meta = archive.episode(episode).meta
        speakers = [s.speaker for s in with_speakers(transcript, meta).segments]
        speakers = [None] * len(speakers) if len(set(speakers)) == 1 else speakers  # a monologue: no names
        for fmt in ("srt", "vtt"):
            check_cues(parse_cues(archive.export_page(episode, fmt), fmt), transcript, speakers)
        md = archive.export_page(episode, "md")
        assert md.startswith(f"# {md_escape(meta.title)}\n")
        headings = re.findall(r"^## (.*) \[\d\d:\d\d:\d\d\]$", md, re.M)
        chapters = sorted(meta.chapters, key=lambda c: c.start)
        used = {max((i for i, c in enumerate(chapters) if c.start <= s.start + 1.0), default=-1)
                for s in transcript.segments if s.text.strip()}
        assert headings == [md_escape(chapters[i].title) for i in sorted(used) if i >= 0]
        timecodes = re.findall(r"^\*\*\\\[(\d\d:\d\d:\d\d)\\\]", md, re.M)
        assert timecodes and timecodes == sorted(timecodes)
