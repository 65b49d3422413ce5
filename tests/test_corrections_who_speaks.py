"""One "who speaks" rule (issue 26): one function decides it for sidecar and automatic turns alike, it is
applied once in effective_episode(), and every reader (index, quotes, player, pages, statistics) reads the
speaker the effective transcript's segments and words carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import Archive
from indexer.archive import ArchiveLayout, EpisodeMeta
from indexer.corrections import effective_episode
from indexer.transcript import Segment, SpeakerTurn, Transcript, Word, save_transcript, speaker_of_span

PACKAGE = Path(__file__).resolve().parent.parent / "indexer"

# Ana speaks twice (2 s + 2 s) and Ben once (3 s) in [0, 7]: summed per name, Ana has the most; the
# single longest turn is Ben's (the rule EpisodeMeta.speaker_at followed before issue 26).
SPLIT_TURNS = (SpeakerTurn("Ana", 0, 2), SpeakerTurn("Ben", 2, 5), SpeakerTurn("Ana", 5, 7))


def test_the_rule_sums_overlap_per_name_then_takes_the_nearest_turn_within_two_seconds():
    assert speaker_of_span(SPLIT_TURNS, 0, 7) == "Ana"
    assert speaker_of_span([SpeakerTurn("Ana", 0, 10)], 11.0, 11.5) == "Ana"      # a word in a pause
    assert speaker_of_span([SpeakerTurn("Ana", 0, 10)], 13.0, 13.5) is None       # too far from any turn


def test_sidecar_turns_follow_the_same_rule_as_automatic_turns():
    assert EpisodeMeta(speakers=("Ana", "Ben"), turns=SPLIT_TURNS).speaker_at(0, 7) == "Ana"
    assert EpisodeMeta(speakers=("Ana", "Ben"), turns=SPLIT_TURNS).speaker_at(7.5, 8.0) == "Ana"
    assert EpisodeMeta(speakers=("Solo",)).speaker_at(0, 1) == "Solo"             # the only speaker


def test_the_rule_is_written_once_and_applied_once():
    """No reader brings back its own ``seg.speaker or meta.speaker_at(...)``."""
    allowed = {"speaker_at(": {"archive/meta.py", "corrections/effective.py"},
               "speaker_of_span(": {"transcript_speakers.py", "archive/meta.py", "speakers/assign.py"}}
    for call, places in allowed.items():
        found = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
                 if p.read_text(encoding="utf-8").count(call) > p.read_text(encoding="utf-8").count(f"def {call}")}
        assert found <= places, f"{call} is used outside {sorted(places)}: {sorted(found - places)}"


def _word(start: float, end: float, text: str) -> Word:
    return Word(start, end, f" {text}", 0.9)


@pytest.fixture
def archive(tmp_path) -> Archive:
    """One episode: sidecar turns (Ana 0–10, Ben 10–30), a segment straddling the change of turn, and a
    segment whose speaker the transcript already holds (an editor's or the speakers stage's)."""
    root = tmp_path / "archive"
    (root / "audio").mkdir(parents=True)
    (root / "audio" / "ep.wav").write_bytes(b"")
    (root / "audio" / "ep.yaml").write_text(
        "title: Ép\nspeakers:\n  - {name: Ana, start: 0, end: 10}\n  - {name: Ben, start: 10, end: 30}\n",
        encoding="utf-8")
    segments = [
        Segment(0, 0.0, 4.0, "Bonjour à tous.", [_word(0.0, 1.5, "Bonjour"), _word(1.5, 2.0, "à"),
                                                 _word(2.0, 4.0, "tous.")]),
        Segment(1, 8.0, 14.0, "Merci Ana, à moi.", [_word(8.0, 9.5, "Merci"), _word(9.5, 10.5, "Ana,"),
                                                    _word(11.0, 12.0, "à"), _word(12.0, 14.0, "moi.")]),
        Segment(2, 15.0, 20.0, "Zoé répond.", [_word(15.0, 17.0, "Zoé"), _word(17.0, 20.0, "répond.")],
                speaker="Zoé"),
    ]
    save_transcript(Transcript("ep", "ep.wav", "0" * 64, 30.0, "fr", "test", "test", {}, segments),
                    root / "transcripts" / "ep.json")
    return Archive(root)


def test_the_effective_transcript_carries_who_speaks_on_segments_and_words(archive):
    shown = effective_episode(archive.layout, "ep").transcript
    assert [s.speaker for s in shown.segments] == ["Ana", "Ben", "Zoé"]
    # Within a segment without a speaker, each word by itself; a segment's own speaker holds for its words.
    assert [[w.speaker for w in s.words] for s in shown.segments] == \
        [["Ana"] * 3, ["Ana", "Ana", "Ben", "Ben"], ["Zoé", "Zoé"]]
    machine = archive.transcript("ep")
    assert [s.speaker for s in machine.segments] == [None, None, "Zoé"]   # the machine transcript is not edited


def test_every_reader_shows_the_speaker_the_effective_transcript_carries(archive):
    from indexer import stats
    from indexer.display.player_data import player_data
    from indexer.index import episode_documents
    from indexer.sections import sections
    from indexer.quotes import EpisodeContext

    shown = effective_episode(archive.layout, "ep")
    expected = [s.speaker for s in shown.transcript.segments]
    indexed = [d["speaker"] for d in episode_documents(shown.entry()) if "segment" in d]
    ctx = EpisodeContext.load(archive.layout, "ep")
    quoted = [ctx.segment_quote(i).speaker for i in range(3)]
    data = player_data(ctx)
    played = [data["speakers"][s["speaker"]] for s in data["segments"]]
    paragraphs = [(p.speaker, seg.id) for section in sections(shown.transcript, shown.meta)
                  for p in section.paragraphs for seg in p.segments]
    table = stats.segment_table(archive, "ep")
    assert indexed == quoted == played == [who for who, _ in paragraphs] == list(table["speaker"]) == expected
    # A quote across the change of turn inside segment 1 is said by whoever says most of its words.
    assert ctx.quote(9.6, 14.0).speaker == "Ben" and ctx.quote(8.0, 10.4).speaker == "Ana"


def test_a_layout_without_sidecar_leaves_speakers_unknown(tmp_path):
    root = tmp_path / "archive"
    (root / "audio").mkdir(parents=True)
    save_transcript(Transcript("x", "x.wav", "0" * 64, 5.0, "fr", "t", "t", {},
                               [Segment(0, 0.0, 5.0, "Bonjour.", [_word(0.0, 5.0, "Bonjour.")])]),
                    root / "transcripts" / "x.json")
    shown = effective_episode(ArchiveLayout(root), "x").transcript
    assert shown.segments[0].speaker is None and shown.segments[0].words[0].speaker is None
