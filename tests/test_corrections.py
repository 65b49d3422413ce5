"""Corrections: the overlay file, word-timing alignment, re-anchoring, and the index following them."""

from __future__ import annotations

import getpass
import json
import logging
import threading
from dataclasses import replace

import pytest

from indexer import Archive
from indexer.corrections import (
    Correction, add_correction, align_words, apply_corrections, corrections_path, effective_episode,
    load_corrections, stale_corrections,
)
from indexer.errors import (CorrectionError, IndexerError, QuoteError, SpeakerNameError, TranscriptError,
                            WorkingCopyError)
from indexer.transcript import Word, load_transcript, save_transcript

from helpers import archive_fingerprint
from helpers.quotes import EPISODE, SEGMENTS, TITLE, build_quote_archive, make_transcript

FIXED = "Aujourd'hui on parle de communauté avec Tweetdeck et ses amis."


@pytest.fixture
def archive(tmp_path):
    return build_quote_archive(tmp_path / "archive")


def W(start, end, word, p=0.9):
    return Word(start, end, word, p)


# --- aligning corrected words with the machine's timings -----------------------------

ORIGINAL = [W(0.0, 0.4, " Le"), W(0.5, 1.0, " commun"), W(1.0, 1.5, " notaire"), W(1.6, 2.0, " anime"),
            W(2.1, 2.6, " tout.")]


@pytest.mark.parametrize("text, expected", [
    # unchanged words keep their timings, whatever their case or punctuation
    ("Le commun notaire anime tout.", [(0.0, 0.4), (0.5, 1.0), (1.0, 1.5), (1.6, 2.0), (2.1, 2.6)]),
    ("le Commun notaire anime tout !", [(0.0, 0.4), (0.5, 1.0), (1.0, 1.5), (1.6, 2.0), (2.1, 2.6)]),
    # two wrong words → one right word spanning both
    ("Le communautaire anime tout.", [(0.0, 0.4), (0.5, 1.5), (1.6, 2.0), (2.1, 2.6)]),
    # one word → two, sharing its span in proportion to their length
    ("Le commun note hier anime tout.", [(0.0, 0.4), (0.5, 1.0), (1.0, 1.25), (1.25, 1.5), (1.6, 2.0),
                                         (2.1, 2.6)]),
    # added after the last word with no room left: zero-length at the edge
    ("Le commun notaire anime tout à fait.", [(0.0, 0.4), (0.5, 1.0), (1.0, 1.5), (1.6, 2.0), (2.1, 2.6),
                                              (2.6, 2.6), (2.6, 2.6)]),
    # inserted between neighbours: the gap between them
    ("Le commun notaire, lui, anime tout.", [(0.0, 0.4), (0.5, 1.0), (1.0, 1.5), (1.5, 1.6), (1.6, 2.0),
                                             (2.1, 2.6)]),
    # deleted words disappear, the others keep their times
    ("Le notaire anime.", [(0.0, 0.4), (1.0, 1.5), (1.6, 2.0)]),
])
def test_align_words(text, expected):
    words = align_words(ORIGINAL, text, 0.0, 2.6)
    assert "".join(w.word for w in words).strip() == text
    assert [t for w in words for t in (w.start, w.end)] == pytest.approx([t for pair in expected for t in pair], abs=1e-3)
    kept = {(o.start, o.end) for o in ORIGINAL}
    assert [w.probability for w in words] == [0.9 if (w.start, w.end) in kept else 1.0 for w in words]
    assert all(a.end <= b.start + 1e-6 for a, b in zip(words, words[1:]))


def test_align_words_inserted_at_the_edges_use_the_segment_bounds():
    words = align_words(ORIGINAL[1:3], "Oui commun notaire enfin", 0.2, 1.8)
    assert [t for w in words for t in (w.start, w.end)] == pytest.approx([0.2, 0.5, 0.5, 1.0, 1.0, 1.5, 1.5, 1.8])


def test_align_words_without_original_words_spreads_over_the_segment():
    words = align_words([], "un deux trois", 10.0, 13.0)
    assert words[0].start == 10.0 and words[-1].end == 13.0 and len(words) == 3
    assert align_words(ORIGINAL, "", 0, 2.6) == []


def test_detached_french_punctuation_sticks_to_its_word():
    words = align_words(ORIGINAL[:2], "« Le commun » !", 0.0, 1.0)
    assert [w.word for w in words] == [" « Le", " commun » !"]
    assert [(w.start, w.end) for w in words] == [(0.0, 0.4), (0.5, 1.0)]


# --- the overlay -------------------------------------------------------------------------

def test_correct_writes_an_overlay_not_the_transcript(archive):
    transcript_file = archive.layout.transcript_path(EPISODE)
    machine_bytes = transcript_file.read_bytes()
    correction = archive.correct(EPISODE, 1, FIXED)
    assert transcript_file.read_bytes() == machine_bytes

    path = corrections_path(archive.root, EPISODE)
    assert path == archive.root / "corrections" / "2010" / "narocast-0.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema"] == 1 and data["episode"] == EPISODE
    [entry] = data["corrections"]
    assert entry["kind"] == "text" and entry["segment_id"] == 1
    assert entry["before"] == SEGMENTS[1][2] and entry["after"] == FIXED
    assert entry["source_text"] == SEGMENTS[1][2] and (entry["start"], entry["end"]) == (6.8, 14.0)
    assert entry["who"] == getpass.getuser() and entry["when"].startswith("20")
    assert archive.corrections(EPISODE) == [correction]
    assert not list(path.parent.glob(".*.tmp"))


def test_second_correction_records_what_was_shown_before(archive):
    archive.correct(EPISODE, 1, FIXED, author="sandra")
    second = archive.correct(EPISODE, 1, FIXED.replace("amis", "amies"), author="marc")
    assert second.before == FIXED and second.who == "marc"
    assert archive.quote(EPISODE, 6.8, 14.0).text.endswith("ses amies.")


def test_concurrent_editors_lose_no_correction(archive):
    def edit(n):
        for i in range(5):
            add_correction(archive.root, EPISODE, Correction("speaker", f"editor{n}-{i}", segment_id=0,
                                                             start=0.5, end=6.3, source_text=SEGMENTS[0][2]))

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(load_corrections(archive.root, EPISODE)) == 20


def test_a_damaged_overlay_names_the_file(archive):
    path = corrections_path(archive.root, EPISODE)
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(TranscriptError) as info:
        load_corrections(archive.root, EPISODE)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    path.write_text('{"schema": 9, "corrections": []}', encoding="utf-8")
    with pytest.raises(TranscriptError, match="schema 9"):
        load_corrections(archive.root, EPISODE)


@pytest.mark.parametrize("call, kind, message", [
    (lambda a: a.correct(EPISODE, 42, "x"), CorrectionError, "has no segment 42"),
    (lambda a: a.correct("nope", 1, "x"), TranscriptError, "unknown episode 'nope'"),
    (lambda a: a.set_speaker(EPISODE, (20, 10), "Julie"), CorrectionError, "ends (10 s) before it starts (20 s)"),
    (lambda a: a.set_speaker(EPISODE, (40, 50), "Julie"), CorrectionError, "no segment"),
    (lambda a: a.set_speaker(EPISODE, 1, "  "), SpeakerNameError, "cannot be empty"),
    (lambda a: a.set_speaker(EPISODE, 1, "Julie\nFAKE"), SpeakerNameError, "has a control character"),
])
def test_bad_corrections_are_one_line_errors(archive, call, kind, message):
    with pytest.raises(IndexerError) as info:
        call(archive)
    assert type(info.value) is kind
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not corrections_path(archive.root, EPISODE).exists()


# --- effective transcript, search and quotes -------------------------------------------------

def test_apply_corrections_returns_a_new_effective_transcript(archive):
    machine = load_transcript(archive.layout.transcript_path(EPISODE))
    archive.correct(EPISODE, 1, FIXED)
    effective = apply_corrections(machine, archive.corrections(EPISODE))
    assert machine.segments[1].text.strip() == SEGMENTS[1][2], "the argument is not changed"
    seg = effective.segments[1]
    assert seg.text == FIXED and "corrected" in seg.flags
    assert [w.word.strip() for w in seg.words] == FIXED.split()
    original = machine.segments[1].words
    fixed = next(w for w in seg.words if w.word.strip() == "Tweetdeck")
    wrong = next(w for w in original if w.word.strip() == "Trucmuche")
    assert (fixed.start, fixed.end, fixed.probability) == (wrong.start, wrong.end, 1.0)
    assert [(w.start, w.end) for w in seg.words if w.word.strip() != "Tweetdeck"] == \
        [(w.start, w.end) for w in original if w.word.strip() != "Trucmuche"]


def test_correction_changes_search_and_quotes_at_once(archive):
    assert archive.search("trucmuche", match="words") and not archive.search("tweetdeck", match="words")
    archive.correct(EPISODE, 1, FIXED)
    hits = archive.search("tweetdeck", match="words")          # same Archive object, no reindex
    assert [(h.episode, h.segment_id) for h in hits] == [(EPISODE, 1)]
    assert not archive.search("trucmuche", match="words")
    q = archive.quote(hits[0])
    assert q.text == FIXED and "corrected" in q.flags
    assert "low-confidence" not in q.flags and "[?" not in q.marked_text
    assert archive.quote(EPISODE, 11.1, 11.8).text == "Tweetdeck"


def test_corrections_survive_reindex(archive):
    archive.correct(EPISODE, 1, FIXED)
    archive.set_speaker(EPISODE, 2, "Julie")
    archive.reindex(progress=False)
    assert archive.search("tweetdeck", match="words") and not archive.search("trucmuche", match="words")
    fresh = Archive(archive.root)
    assert fresh.search("tweetdeck", match="words") and not fresh.search("trucmuche", match="words")
    assert [h.segment_id for h in fresh.search("métier", speaker="Julie", match="words")] == [2]


def test_batch_indexing_applies_corrections(archive):
    from indexer.ingest import EpisodeResult, RunReport
    from indexer.ingest.saving import EpisodeWriter
    from indexer.ingest.state import RunState

    archive.correct(EPISODE, 1, FIXED)
    archive.reindex(progress=False)
    archive.index.delete_episode(EPISODE)
    archive.index.close()
    assert not archive.search("tweetdeck", match="words")
    state = RunState.start(archive.layout, RunReport(str(archive.root), ""))
    state.index = archive.index
    episode = archive.episode(EPISODE)
    result = EpisodeResult(EPISODE, episode.audio_path.name, "reindexed")
    assert EpisodeWriter(state).index_or_fail(episode, archive.transcript(EPISODE), result) == result
    archive.index.close()
    assert archive.search("tweetdeck", match="words") and not archive.search("trucmuche", match="words")


def test_effective_episode_is_the_machine_transcript_as_shown_with_its_meta(archive):
    archive.correct(EPISODE, 1, FIXED)
    archive.set_speaker(EPISODE, 2, "Julie")
    shown = effective_episode(archive.layout, EPISODE)
    assert shown.episode_id == EPISODE and shown.machine == archive.transcript(EPISODE)
    assert shown.transcript.segments[1].text == FIXED and shown.transcript.segments[2].speaker == "Julie"
    assert shown.meta.title == TITLE and [c.kind for c in shown.corrections] == ["text", "speaker"]
    assert effective_episode(archive.layout, shown.machine).transcript == shown.transcript
    with pytest.raises(QuoteError, match="unknown episode 'nope'"):
        effective_episode(archive.layout, "nope", error=QuoteError)


# --- a working copy ---------------------------------------------------------------------------

def test_a_working_copy_takes_corrections_and_leaves_the_archive_untouched(archive, tmp_path):
    (archive.root / "runs").mkdir()
    (archive.root / "runs" / "ingest-1.json").write_text("{}")
    (archive.root / ".indexer").mkdir(exist_ok=True)  # reindex takes the writer lock there
    before = archive_fingerprint(archive.root)
    copy = archive.working_copy(tmp_path / "work" / "copy")
    assert copy.root == tmp_path / "work" / "copy" and copy.index_options == archive.index_options
    audio = copy.layout.audio_dir / f"{EPISODE}.mp3"
    assert audio.is_symlink() and audio.resolve() == (archive.layout.audio_dir / f"{EPISODE}.mp3").resolve()
    assert not copy.layout.transcript_path(EPISODE).is_symlink()
    assert (copy.layout.audio_dir / f"{EPISODE}.yaml").is_file() and not (copy.root / "runs").exists()
    assert not copy.layout.state_dir.exists()
    copy.correct(EPISODE, 1, FIXED)
    assert copy.search("tweetdeck", match="words") and copy.quote(EPISODE, 11.1, 11.8).text == "Tweetdeck"
    assert archive_fingerprint(archive.root) == before
    original = Archive(archive.root)
    assert original.search("trucmuche", match="words") and not original.search("tweetdeck", match="words")


@pytest.mark.parametrize("where, message", [
    (lambda archive, tmp: archive.root / "transcripts" / "copy", "inside the archive it would copy"),
    (lambda archive, tmp: archive.root, "inside the archive it would copy"),
    (lambda archive, tmp: tmp.joinpath("full").mkdir() or tmp.joinpath("full", "x").write_text("x") and tmp / "full",
     "exists and is not an empty folder"),
    (lambda archive, tmp: tmp.joinpath("file").write_text("x") and tmp / "file", "exists and is not an empty folder"),
])
def test_a_working_copy_is_refused_in_one_line(archive, tmp_path, where, message):
    before = archive_fingerprint(archive.root)
    with pytest.raises(WorkingCopyError) as info:
        archive.working_copy(where(archive, tmp_path))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert archive_fingerprint(archive.root) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    assert archive.working_copy(empty).transcripts()


# --- speakers -----------------------------------------------------------------------------

def test_set_speaker_by_segment_and_by_time_range(archive):
    assert archive.quote(EPISODE, 15, 16).speaker == "Marc"      # from the sidecar's turns
    by_id = archive.set_speaker(EPISODE, 2, "Julie", author="ed")
    assert (by_id.kind, by_id.before, by_id.after, by_id.segment_id) == ("speaker", "Marc", "Julie", 2)
    q = archive.quote(EPISODE, 15, 16)
    assert q.speaker == "Julie" and "speaker-corrected" in q.flags and q.citation.startswith("Julie, «")
    assert archive.quote(EPISODE, 22, 23).speaker == "Marc"
    assert [h.segment_id for h in archive.search("métier", speaker="Julie", match="words")] == [2]

    by_range = archive.set_speaker(EPISODE, (0, 14.2), "Sandrine")
    assert by_range.segment_id is None and by_range.before == "Sandra"
    assert archive.quote(EPISODE, 1, 2).speaker == "Sandrine"
    assert archive.quote(EPISODE, 8, 9).speaker == "Sandrine"
    assert archive.quote(EPISODE, 15, 16).speaker == "Julie"
    assert {h.speaker for h in archive.search("bonjour OR trucmuche", match="words")} == {"Sandrine"}


# --- re-transcription ---------------------------------------------------------------------

def retranscribe(archive, rows, first_id=0):
    """Write a new machine transcript for the episode, as a new ingest would."""
    save_transcript(make_transcript(EPISODE, f"{EPISODE}.mp3", rows, first_id=first_id),
                    archive.layout.transcript_path(EPISODE))


def shifted(rows, by):
    return [(s + by, e + by, text, low) for s, e, text, low in rows]


def test_corrections_survive_retranscription(archive):
    archive.correct(EPISODE, 1, FIXED)
    archive.set_speaker(EPISODE, 2, "Julie")
    # New model: slightly different words and times, an extra segment first, so other ids.
    rows = [(0.0, 0.4, "Euh.", {})] + shifted(SEGMENTS, 0.3)
    rows[2] = (rows[2][0], rows[2][1], "Aujourd'hui on parle de communautés avec Trucmuch et ses amis.", {})
    retranscribe(archive, rows)
    archive.reindex(progress=False)

    assert stale_corrections(archive.transcript(EPISODE), archive.corrections(EPISODE)) == []
    hits = archive.search("tweetdeck", match="words")
    assert [(h.segment_id, h.start) for h in hits] == [(2, 7.1)]
    assert not archive.search("trucmuch", match="words")
    q = archive.quote(hits[0])
    assert q.text == FIXED and q.start == pytest.approx(7.1)
    assert archive.quote(EPISODE, 15.0, 16.0).speaker == "Julie"


def test_correction_follows_a_segment_split_in_two(archive):
    archive.correct(EPISODE, 1, FIXED)
    rows = list(SEGMENTS)
    rows[1:2] = [(6.8, 10.0, "Aujourd'hui on parle de communauté", {}), (10.2, 14.0, "avec Trucmuche et ses amis.", {})]
    retranscribe(archive, rows)
    effective = apply_corrections(archive.transcript(EPISODE), archive.corrections(EPISODE))
    assert [s.text for s in effective.segments][:3] == [" " + SEGMENTS[0][2], FIXED, " " + SEGMENTS[2][2]]
    merged = effective.segments[1]
    assert (merged.start, merged.end) == (6.8, 14.0) and len(merged.words) == len(FIXED.split())


def test_stale_corrections_are_reported_not_dropped(archive, caplog):
    correction = archive.correct(EPISODE, 1, FIXED)
    rows = list(SEGMENTS)
    rows[1] = (6.8, 14.0, "Une phrase entièrement différente sur un autre sujet.", {})
    retranscribe(archive, rows)
    transcript = archive.transcript(EPISODE)
    assert stale_corrections(transcript, archive.corrections(EPISODE)) == [correction]
    with caplog.at_level(logging.WARNING, logger="indexer"):
        archive.reindex(progress=False)
    assert "no longer matches its segment" in caplog.text and EPISODE in caplog.text
    assert archive.corrections(EPISODE) == [correction], "kept in the overlay"
    assert not archive.search("tweetdeck", match="words")
    assert archive.quote(EPISODE, 7, 13).text.startswith("Une phrase")


def test_similarity_threshold_decides_what_still_applies():
    machine = make_transcript(EPISODE, "", SEGMENTS)
    correction = Correction("text", FIXED, segment_id=1, start=6.8, end=14.0, source_text=SEGMENTS[1][2])
    close = replace(machine, segments=[replace(machine.segments[1], id=7, text=" Aujourd'hui on parle de la communauté avec Trucmuche.")])
    far = replace(machine, segments=[replace(machine.segments[1], text=" Rien à voir avec ce qui était dit.")])
    moved = replace(machine, segments=[replace(machine.segments[1], start=60.0, end=66.0)])
    assert stale_corrections(close, [correction]) == []
    assert stale_corrections(far, [correction]) == [correction]
    assert stale_corrections(moved, [correction]) == [correction]
