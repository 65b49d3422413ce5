"""Issue 25: text from sidecars, transcripts and corrections never reaches a terminal raw, never forges a
subtitle cue, a Markdown heading or raw HTML.

Red before the fix: an OSC 52 sequence in a title went through `quote` and `export --format md`; a name with
line breaks and a text with ``-->`` forged or dropped SRT cues; a newline in a chapter title made a heading;
VTT kept ``<`` and ``&``; a quote's Markdown source link held a raw ``<script>``.
"""

from __future__ import annotations

import json
import re

import pytest

from helpers.hardening import cli, fake_archive, ingest
from indexer import Archive
from indexer.archive import load_sidecar
from indexer.errors import SidecarError

OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"   # writes "rm -rf ~" to the clipboard of many terminals
FORGED_CUE = "\n\n99\n00:00:00,000 --> 00:59:00,000\nCue forgée"


@pytest.fixture
def archive(tmp_path):
    root = fake_archive(tmp_path / "archive", {"a.wav": 4.0, "b.wav": 4.5})
    assert not ingest(root).failed
    return root


def edit_text(root, episode, text):
    path = root / "transcripts" / f"{episode}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["segments"][0]["text"] = text
    data["segments"][0]["words"][0]["word"] = " " + text   # quotes are made of words, pages of segments
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize("field, value", [
    ("title", f"Titre {OSC52}"), ("description", f"Une description {OSC52}"),
    ("speakers", [f"Alice{FORGED_CUE}"]), ("speakers", [{"name": "Alice\nBob", "start": 0, "end": 2}]),
    ("chapters", [{"start": 0, "title": f"Introduction {OSC52}"}]),
])
def test_control_characters_in_a_sidecar_are_refused_with_the_field_named(tmp_path, field, value):
    sidecar = tmp_path / "episode.json"
    sidecar.write_text(json.dumps({field: value}))
    with pytest.raises(SidecarError) as caught:
        load_sidecar(sidecar)
    assert field in caught.value.one_line() and "control character" in caught.value.one_line()


def test_line_breaks_in_a_title_or_chapter_are_spaces(tmp_path):
    sidecar = tmp_path / "episode.yaml"
    sidecar.write_text('title: |\n  Un titre\n  # sur deux lignes\nchapters:\n  - {start: 0, title: "Intro\\n# Forgé"}\n')
    meta = load_sidecar(sidecar)
    assert meta.title == "Un titre # sur deux lignes" and meta.chapters[0].title == "Intro # Forgé"


def test_no_escape_sequence_reaches_the_terminal(archive):
    (archive / "audio" / "a.json").write_text(json.dumps({"title": f"Titre {OSC52}"}))
    result = cli("quote", "a", "0", "2", "--archive", archive)
    assert result.exit_code == 1 and "\x1b" not in result.output and "title" in result.output, result.output
    (archive / "audio" / "a.json").unlink()
    edit_text(archive, "a", f"Une phrase {OSC52} piégée")   # a hand-edited transcript
    for command in (["quote", "a", "0", "2"], ["quote", "a", "0", "2", "--format", "md"],
                    ["export", "a", "--format", "md"], ["export", "a", "--format", "txt"],
                    ["export", "a", "--format", "html"]):
        result = cli(*command, "--archive", archive)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output, (command, result.output)
        assert "piégée" in result.output


def srt_cues(text: str) -> list[str]:
    """The text of each cue, parsed as players do: blocks apart by a blank line, the 2nd line the timing."""
    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        assert re.fullmatch(r"\d+", lines[0]) and " --> " in lines[1], block
        cues.append("\n".join(lines[2:]))
    return cues


def test_subtitle_cues_cannot_be_forged(archive):
    segments = len(Archive(archive).transcript("a").segments)
    edit_text(archive, "a", f"Bonjour{FORGED_CUE}")
    Archive(archive).set_speaker("a", 0, "00:00:00,000 --> 00:59:00,000")
    srt = cli("export", "a", "--format", "srt", "--archive", archive).output
    cues = srt_cues(srt)
    assert len(cues) == segments and all("-->" not in cue and "\n" not in cue for cue in cues), srt
    vtt = cli("export", "a", "--format", "vtt", "--archive", archive).output
    assert vtt.count(" --> ") == segments, vtt


def test_vtt_escapes_markup(archive):
    edit_text(archive, "a", "<b>gras</b> & <i>co</i>")
    vtt = Archive(archive).export_page("a", "vtt")
    assert "&lt;b&gt;gras&lt;/b&gt; &amp; &lt;i&gt;co&lt;/i&gt;" in vtt and "<b>" not in vtt


def test_markdown_keeps_a_chapter_title_and_a_source_link_inert(archive):
    from indexer.archive import Chapter, EpisodeMeta
    from indexer.display.page import to_markdown

    page = to_markdown(Archive(archive).transcript("a"),
                       EpisodeMeta(title="Titre", chapters=(Chapter(0.0, "Intro\n# Forgé\n<script>x</script>"),),
                                   source_url="https://example.org/<script>alert(1)</script>"))
    assert not [line for line in page.splitlines() if line.startswith("# Forgé")], page
    assert "<script>" not in page, page
    (archive / "audio" / "a.yaml").write_text('source_url: "https://example.org/a b/<script>alert(1)</script>"\n')
    markdown = Archive(archive).quote("a", 0, 2).to_markdown()
    assert "<script>" not in markdown and "](https://example.org/a%20b/%3Cscript%3E" in markdown, markdown
