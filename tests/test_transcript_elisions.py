"""Elisions are one word (« c'est », not « c » + « 'est »): at transcription, on load, and everywhere after.

Hand-built words as Whisper writes them (leading spaces, the apostrophe at the
start of the second part), transcripts of schema 2 written as they are on disk
today, and the real weights on a French sentence spoken by espeak-ng.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict

import pytest
from helpers import write_wav

from indexer import Archive
from indexer.corrections import apply_corrections
from indexer.corrections.overlay import Correction
from indexer.elisions import merge_elisions
from indexer.quotes import join_words
from indexer.transcript import SCHEMA_VERSION, Segment, Transcript, Word, load_transcript, save_transcript

EPISODE = "2012/elisions"


def w(text, start, end, probability=0.9):
    return Word(start, end, text, probability)


# « Quel coup c'est d'abord, aujourd'hui qu’il vient, l'on dit peut-être. » as Whisper splits it.
SPLIT = [w(" Quel", 0.0, 0.4), w(" coup", 0.5, 0.9), w(" c", 1.0, 1.1, 0.35), w("'est", 1.1, 1.3, 0.98),
         w(" d", 1.4, 1.5, 0.8), w("'abord,", 1.5, 1.9, 0.6), w(" aujourd", 2.0, 2.4), w("'hui", 2.4, 2.6, 0.5),
         w(" qu", 2.7, 2.8), w("’il", 2.8, 2.9, 0.7), w(" vient,", 3.0, 3.4), w(" l", 3.5, 3.55, 0.45),
         w("'on", 3.55, 3.7), w(" dit", 3.8, 4.0), w(" peut", 4.1, 4.3), w("-être.", 4.3, 4.8, 0.3)]
WHOLE = ["Quel", "coup", "c'est", "d'abord,", "aujourd'hui", "qu’il", "vient,", "l'on", "dit", "peut-être."]
TEXT = "Quel coup c'est d'abord, aujourd'hui qu’il vient, l'on dit peut-être."


def test_split_words_are_joined_spanning_both_parts_at_the_lower_probability():
    merged = merge_elisions(SPLIT)
    assert [x.word.strip() for x in merged] == WHOLE
    cest = merged[2]
    assert (cest.word, cest.start, cest.end, cest.probability) == (" c'est", 1.0, 1.3, 0.35)
    assert (merged[3].start, merged[3].end, merged[3].probability) == (1.4, 1.9, 0.6)
    assert merged[5].word == " qu’il"  # the typographic apostrophe too
    assert (merged[-1].word, merged[-1].probability) == (" peut-être.", 0.3)
    assert join_words(merged) == join_words(SPLIT) == TEXT  # the text never changes
    assert merged[0] is SPLIT[0]  # untouched words are the same objects


@pytest.mark.parametrize("words, expected", [
    # A space before the apostrophe: a quotation mark that opens, not an elision.
    ([w(" il", 0, 1), w(" dit", 1, 2), w(" 'bonjour'", 2, 3)], [" il", " dit", " 'bonjour'"]),
    # A dash between spaces is not a hyphen.
    ([w(" oui", 0, 1), w(" -", 1, 1.1), w(" non", 1.1, 2)], [" oui", " -", " non"]),
    # The apostrophe alone, then the rest: one word.
    ([w(" c", 0, 1), w("'", 1, 1.1), w("est", 1.1, 2)], [" c'est"]),
    # The apostrophe at the end of the first part.
    ([w(" l'", 0, 1), w("on", 1, 2)], [" l'on"]),
    # Punctuation alone before an apostrophe: nothing to join to.
    ([w(" «", 0, 0.1), w("'ici", 0.1, 1)], [" «", "'ici"]),
    # Words made by hand (no leading spaces anywhere): a missing space says nothing.
    ([w("c", 0, 1), w("'est", 1, 2)], ["c", "'est"]),
    ([], []),
])
def test_only_parts_written_without_a_space_are_joined(words, expected):
    assert [x.word for x in merge_elisions(words)] == expected


def split_transcript(schema: int = 2) -> dict:
    """A transcript as an older version wrote it (words cut at their apostrophes), as a JSON dict."""
    words = [Word(x.start + 0.5, x.end + 0.5, x.word, x.probability, "S1") for x in SPLIT]
    t = Transcript(EPISODE, f"{EPISODE}.wav", "0" * 64, 8.0, "fr", "base", "faster-whisper", {}, [
        Segment(0, 0.5, 5.3, TEXT, words, speaker=None)], diarization=None)
    data = asdict(t)
    data["schema"] = schema
    if schema == 1:
        for word in data["segments"][0]["words"]:
            del word["speaker"]
        del data["diarization"]
    return data


@pytest.mark.parametrize("schema", [1, 2])
def test_older_transcripts_are_migrated_on_load_without_transcribing(tmp_path, schema):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(split_transcript(schema)), encoding="utf-8")
    t = load_transcript(path)
    assert SCHEMA_VERSION == 3 and t.schema == 3
    words = t.segments[0].words
    assert [x.word.strip() for x in words] == WHOLE
    assert (words[2].start, words[2].end, words[2].probability) == (1.5, 1.8, 0.35)
    assert t.segments[0].text == TEXT
    if schema == 2:
        assert {x.speaker for x in words} == {"S1"}
    save_transcript(t, tmp_path / "again.json")
    stored = json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))
    assert stored["schema"] == 3
    assert [x["word"].strip() for x in stored["segments"][0]["words"]] == WHOLE


def test_a_schema_3_transcript_is_read_as_written(tmp_path):
    data = split_transcript(2)
    data["schema"] = 3
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert len(load_transcript(path).segments[0].words) == len(SPLIT)  # no second pass over new files


@pytest.fixture
def old_archive(tmp_path):
    """An archive whose transcript was written before schema 3 (split words), with its audio."""
    root = tmp_path / "archive"
    write_wav(root / "audio" / f"{EPISODE}.wav", 8.0)
    path = root / "transcripts" / f"{EPISODE}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(split_transcript(2)), encoding="utf-8")
    archive = Archive(root)
    archive.reindex(progress=False)
    return archive


def test_a_quote_never_starts_or_ends_inside_a_word(old_archive):
    q = old_archive.quote(EPISODE, 0.5, 1.4)  # « Quel coup »
    assert q.text == "Quel coup"
    assert q.extend(after=1).text == "Quel coup c'est"
    assert q.extend(after=2).text == "Quel coup c'est d'abord,"  # not « c'est d »
    wider = old_archive.quote(EPISODE, 2.5, 3.1).extend(words=3)  # « aujourd'hui », three words each side
    assert wider.text == "coup c'est d'abord, aujourd'hui qu’il vient, l'on"
    assert (wider.start, wider.end) == (1.0, 4.2)
    inside = old_archive.quote(EPISODE, 1.62, 1.78)  # inside the second half of « c'est »
    assert inside.text == "c'est" and (inside.start, inside.end) == (1.5, 1.8)
    assert "[?c'est]" in old_archive.quote(EPISODE, 1.5, 2.4).marked_text  # 0.35: the weaker part


def test_the_player_and_the_index_see_whole_words(old_archive):
    from indexer.display.player_data import player_data
    from indexer.quotes import EpisodeContext

    ctx = EpisodeContext.load(old_archive.layout, EPISODE)
    assert [x["text"] for x in player_data(ctx)["words"]] == WHOLE
    # The index's unsure words (sound keys) are whole words, with their neighbours whole.
    from indexer.index import IndexEntry, episode_documents

    doubt = next(d["doubt"] for d in episode_documents(IndexEntry(old_archive.transcript(EPISODE))) if d.get("doubt"))
    assert "coup\tc'est\td'abord," in doubt.splitlines()
    assert "dit\tpeut-être.\t" in doubt.splitlines()
    # Search still splits elisions for matching (« d'abord » → abord).
    hits = old_archive.search("abord")
    assert len(hits) == 1 and "d&#x27;<mark>abord</mark>" in hits[0].snippet
    assert len(old_archive.search("aujourd'hui")) == 1


def test_a_correction_keeps_the_timing_and_confidence_of_the_whole_words(old_archive):
    """The corrections' alignment matches « c'est » to « c'est »: unchanged words keep their time
    and probability; before schema 3 it saw « c » + « 'est » and spread new words over them."""
    machine = old_archive.transcript(EPISODE)
    fixed = TEXT.replace("Quel coup", "Quel beau coup")
    correction = Correction("text", fixed, TEXT, 0, 0.5, 5.3, TEXT)
    words = apply_corrections(machine, [correction]).segments[0].words
    cest = next(x for x in words if x.word.strip() == "c'est")
    assert (cest.start, cest.end, cest.probability) == (1.5, 1.8, 0.35)
    assert [x.word.strip() for x in words] == ["Quel", "beau", *WHOLE[1:]]


# --- the real weights -----------------------------------------------------------------

# espeak-ng's French is hard for the base model; at this rate, with short gaps between words, it
# hears three of the four « c'est » (tried: 135-170 words a minute, two voices, two sentences).
SENTENCE = "C'est vrai. Aujourd'hui, c'est un grand jour. L'on sait qu'il faut venir. C'est l'heure."


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    path = tmp_path_factory.mktemp("elisions") / "elisions.wav"
    subprocess.run(["espeak-ng", "-v", "fr", "-s", "160", "-g", "2", "-w", str(path), SENTENCE], check=True)
    return path


@pytest.mark.weights
@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_real_transcription_stores_whole_elisions(spoken, engine, monkeypatch):
    """Whatever words the model hears: what it split at an apostrophe is stored as one word that
    spans both parts at the lower probability, and no stored word starts with an apostrophe."""
    from indexer.transcribe import TranscribeOptions, run, transcribe_file

    raw = []
    real = run.iter_segments

    def recording(*args, **kwargs):
        for language, segment in real(*args, **kwargs):
            raw.append(segment)
            yield language, segment

    monkeypatch.setattr(run, "iter_segments", recording)
    transcript = transcribe_file(spoken, TranscribeOptions(language="fr", engine=engine))
    words = transcript.words
    raw_words = [x for s in raw for x in s.words]
    # The model did split (else this test proves nothing): some raw word is the rest of the one before.
    split = [(a, b) for s in raw for a, b in zip(s.words, s.words[1:])
             if b.word[:1] in ("'", "’") and a.word.strip()]
    assert split, f"no elision split by {engine}: {[x.word for x in raw_words]}"
    assert not [x.word for x in words if x.word.strip()[:1] in ("'", "’")]
    with_apostrophe = [x for x in words if "'" in x.word or "’" in x.word]
    assert with_apostrophe, [x.word for x in words]
    for x in with_apostrophe:
        core = x.word.strip().rstrip(".,!?;:")
        assert core[0].isalpha() and core[-1].isalpha() or core.endswith(("'", "’")), x.word
    for a, b in split:
        whole = next(x for x in words if x.start == a.start and a.word in x.word)
        assert whole.word.startswith(a.word + b.word)
        assert whole.end >= b.end and whole.probability == min(a.probability, b.probability)
    assert " ".join(s.text for s in transcript.segments) == " ".join(s.text for s in raw)
    assert len(words) < len(raw_words)
