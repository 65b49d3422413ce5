"""The voice library (issue 24): names by voice across episodes, on deterministic voice prints.

Transcripts are built by hand with automatic labels and their voice prints
(``diarization["voiceprints"]``, backend ``fake``): unit vectors chosen so that
a voice is exactly alike itself and unlike the others. The library is rebuilt
with :func:`indexer.ingest.voices.update_voices`, the function the ingest calls
at the end of a run (the ingest itself is covered by the batch test at the end).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import numpy as np
import pytest

from helpers.archives import build_search_archive, search_transcript
from indexer import Archive
from indexer.corrections import effective_episode
from indexer.errors import LockError, VoiceError
from indexer.ingest.guard import IngestLock
from indexer.ingest.voices import update_voices
from indexer.speakers.library import load_library
from indexer.speakers.prints import VoicePrint
from indexer.transcript import save_transcript

DIM = 8


def voice(i: int, tilt: float = 0.0) -> np.ndarray:
    """Voice ``i``: the unit vector on axis i, ``tilt`` of the way towards the next axis."""
    v = np.zeros(DIM, np.float32)
    v[i] = 1.0 - tilt
    v[(i + 1) % DIM] = tilt
    return v / np.linalg.norm(v)


SANDRA, JULIEN, CLAIRE, STRANGER = 0, 2, 4, 6


def voiced(episode_id: str, speakers: list[tuple[int, float]], audio_sha="sha", backend="fake") -> object:
    """An episode where each (voice, seconds) speaks in turn, labelled S1, S2… with its print."""
    rows, turns, prints, t = [], [], {}, 0.0
    for k, (v, seconds) in enumerate(speakers):
        label = f"S{k + 1}"
        rows.append((t, t + seconds, f"Parole numéro {k + 1} sur la modération du forum {episode_id}.", label, []))
        turns.append([t, t + seconds, label])
        prints[label] = VoicePrint(voice(v) if v < DIM else voice(v - DIM, 0.5), seconds).to_dict()
        t += seconds
    transcript = search_transcript(episode_id, rows)
    return replace(transcript, audio_sha256=audio_sha, diarization={
        "backend": backend, "fingerprint": "test", "mode": "auto", "labels": [f"S{k + 1}" for k in range(len(speakers))],
        "turns": turns, "voiceprints": prints})


@pytest.fixture
def voices_archive(tmp_path):
    """ep1: Sandra then Julien; ep2: Julien then Claire; ep3: Sandra then a stranger; indexed."""
    episodes = {"ep1": [(SANDRA, 20.0), (JULIEN, 15.0)], "ep2": [(JULIEN, 12.0), (CLAIRE, 18.0)],
                "ep3": [(SANDRA, 10.0), (STRANGER, 25.0)]}
    root = build_search_archive(tmp_path / "archive", {e: (None, True, [(0, sum(s for _, s in v), "x", None, [])])
                                                       for e, v in episodes.items()})
    for episode_id, speakers in episodes.items():
        save_transcript(voiced(episode_id, speakers), root / "transcripts" / f"{episode_id}.json")
    archive = Archive(root)
    archive.reindex(progress=False)
    update_voices(root, backend="fake")
    return archive


def shown(archive, episode_id):
    return {label: (n.name, n.source) for label, n in effective_episode(archive.layout, episode_id).names.items()}


def speakers_found(archive, query):
    return sorted({h.speaker for h in archive.search(query, limit=50)})


def test_a_name_given_once_names_that_voice_in_every_episode_at_the_next_update(voices_archive):
    archive = voices_archive
    archive.name_speakers("ep1", {"S1": "Sandra", "S2": "Julien"})
    assert shown(archive, "ep2") == {}                 # not before the library is rebuilt
    update = update_voices(archive.root)
    assert sorted(update.changed) == ["ep1", "ep2", "ep3"] and sorted(update.reindexed) == ["ep1", "ep2", "ep3"]
    assert shown(archive, "ep2") == {"S1": ("Julien", "automatic")}
    assert shown(archive, "ep3") == {"S1": ("Sandra", "automatic")}
    names = effective_episode(archive.layout, "ep3").transcript.diarization.names
    assert names["S1"]["source"] == "automatic" and names["S1"]["similarity"] > 0.99
    # Claire and the stranger were never named: they keep their labels.
    assert effective_episode(archive.layout, "ep2").transcript.segments[1].speaker == "S2"
    # The names reach the index (speaker:), hits, quotes and pages.
    assert speakers_found(archive, "speaker:julien modération") == ["Julien"]
    assert {h.episode for h in archive.search("modération", speaker="Julien", limit=50)} == {"ep1", "ep2"}
    assert archive.quote("ep3", 0.0, 5.0).citation.startswith("Sandra, ")
    assert "Julien :" in archive.export_page("ep2", "md")


def test_an_unknown_voice_keeps_its_label_even_when_it_is_the_nearest(voices_archive):
    archive = voices_archive
    archive.name_speakers("ep1", {"S1": "Sandra"})
    # ep4: a voice half way between Sandra and nobody (similarity 0.71): nearest to her, below the threshold.
    save_transcript(voiced("ep4", [(SANDRA + DIM, 20.0)]), archive.layout.transcript_path("ep4"))
    update_voices(archive.root)
    assert shown(archive, "ep4") == {}
    assert shown(archive, "ep3") == {"S1": ("Sandra", "automatic")}


def test_an_editors_name_always_wins_over_an_automatic_one(voices_archive):
    archive = voices_archive
    archive.name_speakers("ep1", {"S1": "Sandra", "S2": "Julien"})
    update_voices(archive.root)
    archive.name_speakers("ep3", {"S1": "Claire Dubois"})          # the editor disagrees
    assert shown(archive, "ep3") == {"S1": ("Claire Dubois", "named")}
    archive.name_speakers("ep2", {"S2": "Julien"})                  # the name given to another label here
    assert shown(archive, "ep2") == {"S2": ("Julien", "named")}     # the automatic Julien on S1 gives way
    update_voices(archive.root)
    assert shown(archive, "ep3") == {"S1": ("Claire Dubois", "named")}
    assert shown(archive, "ep2")["S2"] == ("Julien", "named") and "S1" not in shown(archive, "ep2")
    assert speakers_found(archive, "speaker:claire modération") == ["Claire Dubois"]


def test_names_follow_the_voice_when_a_new_transcription_numbers_labels_otherwise(voices_archive):
    archive = voices_archive
    archive.name_speakers("ep1", {"S1": "Sandra"})
    # Same audio, diarized again by another backend (prints not comparable): a second of another
    # voice is found first, so Sandra is now S2; found by her turns.
    save_transcript(voiced("ep1", [(JULIEN, 1.0), (SANDRA, 19.0), (CLAIRE, 15.0)], backend="other"),
                    archive.layout.transcript_path("ep1"))
    assert shown(archive, "ep1") == {"S2": ("Sandra", "named")}
    # Other audio (the file was replaced): found by the voice print alone.
    save_transcript(voiced("ep1", [(CLAIRE, 5.0), (JULIEN, 15.0), (SANDRA, 20.0)], audio_sha="other"),
                    archive.layout.transcript_path("ep1"))
    assert shown(archive, "ep1") == {"S3": ("Sandra", "named")}
    archive.reindex(progress=False)
    assert speakers_found(archive, "speaker:sandra") == ["Sandra"]


def test_the_voices_table(voices_archive):
    archive = voices_archive
    assert len(archive.voices()) == 0 and "Aucune voix" in archive.voices()._repr_html_()
    archive.name_speakers("ep1", {"S1": "Sandra", "S2": "Julien"})
    archive.update_voices()
    table = archive.voices()
    assert [r.name for r in table] == ["Sandra", "Julien"]                  # most speaking time first
    sandra, julien = table["Sandra"], table["Julien"]
    assert (sandra.episodes, sandra.confirmed, sandra.automatic, sandra.seconds) == (2, 1, 1, 30.0)
    assert (julien.episodes, julien.confirmed, julien.automatic, julien.seconds) == (2, 1, 1, 27.0)
    frame = table.to_dataframe()
    assert list(frame.columns) == ["name", "episodes", "seconds", "confirmed", "automatic", "conflict"]
    html = table._repr_html_()
    assert "temps de parole" in html and "0,5" in html and "Sandra" in html   # 30 s = « 0,5 » min


def test_rename_merge_and_forget(voices_archive):
    archive = voices_archive
    archive.name_speakers("ep1", {"S1": "Sandra", "S2": "Julien"})
    archive.name_speakers("ep2", {"S2": "Claire"})
    archive.update_voices()
    archive.rename_voice("Sandra", "Sandra Lenoir")
    assert shown(archive, "ep1")["S1"] == ("Sandra Lenoir", "named")
    assert shown(archive, "ep3")["S1"] == ("Sandra Lenoir", "automatic")
    assert speakers_found(archive, "speaker:lenoir") == ["Sandra Lenoir"]
    assert "Sandra Lenoir" in archive.voices() and "Sandra" not in archive.voices()
    archive.merge_voices(["Claire"], into="Julien")               # one person named two ways
    assert archive.voices()["Julien"].confirmed == 2
    assert shown(archive, "ep2")["S2"] == ("Julien", "named")
    archive.forget_voice("Sandra Lenoir")
    assert "Sandra Lenoir" not in archive.voices()
    assert "S1" not in shown(archive, "ep3")                      # no automatic name from a forgotten voice
    assert shown(archive, "ep1")["S1"] == ("Sandra Lenoir", "named")   # the editor's name stays
    with pytest.raises(VoiceError, match="no known voice named 'Personne'"):
        archive.rename_voice("Personne", "X")
    actions = json.loads(archive.layout.voice_actions_path.read_text())["actions"]
    assert [a["kind"] for a in actions] == ["rename", "merge", "forget"]


def test_voices_on_the_command_line(voices_archive):
    from click.testing import CliRunner

    from indexer.cli import main

    archive = voices_archive
    archive.name_speakers("ep1", {"S1": "Sandra"})
    runner = CliRunner()
    where = ["--archive", str(archive.root)]
    result = runner.invoke(main, ["voices", "rebuild", *where])
    assert result.exit_code == 0 and "1 known voice(s), 1 speaker(s) named automatically" in result.output
    result = runner.invoke(main, ["voices", "list", *where, "--json"])
    assert result.exit_code == 0 and json.loads(result.output)[0]["name"] == "Sandra"
    assert runner.invoke(main, ["voices", "rename", "Sandra", "Sandra Lenoir", *where]).exit_code == 0
    assert "Sandra Lenoir" in runner.invoke(main, ["voices", "list", *where]).output
    result = runner.invoke(main, ["voices", "forget", "Nobody", *where])
    assert result.exit_code == 1 and result.output.startswith("error: no known voice named 'Nobody'")
    assert runner.invoke(main, ["voices", "merge", "Sandra Lenoir", "--into", "Sandra L.", *where]).exit_code == 0
    assert shown(archive, "ep3")["S1"] == ("Sandra L.", "automatic")


def test_one_name_for_two_clearly_different_voices_is_said_and_nothing_is_lost(voices_archive, caplog):
    archive = voices_archive
    archive.name_speakers("ep1", {"S1": "Sandra"})
    archive.update_voices()
    with caplog.at_level(logging.WARNING, logger="indexer"):
        archive.name_speakers("ep2", {"S2": "Sandra"})               # Claire's voice, called Sandra
    said = [r.getMessage() for r in caplog.records if "clearly different" in r.getMessage()]
    assert len(said) == 1 and "ep2: 'Sandra' was given to S2" in said[0] and "S1 of ep1" in said[0]
    update = archive.update_voices()
    assert any("'Sandra' is given to two clearly different voices" in p for p in update.problems)
    assert archive.voices()["Sandra"].conflict
    # Both names stay; the doubtful voice names nothing automatically.
    assert shown(archive, "ep1") == {"S1": ("Sandra", "named")}
    assert shown(archive, "ep2") == {"S2": ("Sandra", "named")}
    assert "S1" not in shown(archive, "ep3")


def test_a_damaged_or_missing_library_is_rebuilt_from_the_corrections(voices_archive, caplog):
    archive = voices_archive
    archive.name_speakers("ep1", {"S1": "Sandra"})
    archive.update_voices()
    path = archive.layout.voice_library_path
    good = load_library(path).to_dict()
    path.write_text("{ not json")
    with caplog.at_level(logging.WARNING, logger="indexer"):
        assert shown(archive, "ep3") == {}                          # no automatic names, no error
        assert shown(archive, "ep3") == {}
    warned = [r.getMessage() for r in caplog.records if "not a valid voice library" in r.getMessage()]
    assert len(warned) == 1                                          # said once, not per episode
    update = archive.update_voices()
    assert any(p.endswith("rebuilt from the corrections, sidecars and transcripts") for p in update.problems)
    assert shown(archive, "ep3") == {"S1": ("Sandra", "automatic")}
    path.unlink()
    archive.update_voices()
    rebuilt = load_library(path).to_dict()
    assert {k: v for k, v in rebuilt.items() if k != "built"} == {k: v for k, v in good.items() if k != "built"}


def test_an_episode_too_short_to_embed_gets_no_name_and_no_error(voices_archive):
    archive = voices_archive
    archive.name_speakers("ep1", {"S1": "Sandra"})
    # Sandra's voice, but 1.5 s of it: too little to be sure of (min 3 s).
    save_transcript(voiced("ep5", [(SANDRA, 1.5)]), archive.layout.transcript_path("ep5"))
    short = voiced("ep6", [(SANDRA, 1.5)])
    save_transcript(replace(short, diarization=replace(short.diarization, voiceprints={})),
                    archive.layout.transcript_path("ep6"))                     # no print at all
    archive.update_voices()
    assert shown(archive, "ep5") == {} and shown(archive, "ep6") == {}
    archive.name_speakers("ep6", {"S1": "Sandra"})                   # named; no print to enrol: no error
    archive.update_voices()
    assert shown(archive, "ep6") == {"S1": ("Sandra", "named")}
    assert archive.voices()["Sandra"].confirmed == 1


def test_the_library_is_written_whole_and_only_under_the_ingest_lock(voices_archive, monkeypatch, caplog):
    import indexer.files

    archive = voices_archive
    archive.name_speakers("ep1", {"S1": "Sandra"})
    archive.update_voices()
    path = archive.layout.voice_library_path
    before = path.read_bytes()
    with IngestLock(archive.layout.ingest_lock_path):
        with pytest.raises(LockError, match="another ingest"):
            archive.update_voices()
        with caplog.at_level(logging.WARNING, logger="indexer"):
            archive.rename_voice("Sandra", "Sandra Lenoir")     # recorded; applied by the next ingest
        assert any("applied when the next ingest" in r.getMessage() for r in caplog.records)
    assert path.read_bytes() == before
    # A crash while writing leaves the previous library, whole.
    real_replace = indexer.files.os.replace

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(indexer.files.os, "replace", full_disk)
    with pytest.raises(Exception):
        archive.update_voices()
    monkeypatch.setattr(indexer.files.os, "replace", real_replace)
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    archive.update_voices()
    assert shown(archive, "ep3") == {"S1": ("Sandra Lenoir", "automatic")}
