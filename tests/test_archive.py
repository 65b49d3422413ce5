"""Archive layout, episode ids, sidecars, settings and hashes."""


import pytest

from indexer.archive import (
    ArchiveLayout, HashCache, episode_id, load_settings, load_sidecar, parse_timecode, sha256_file,
)
from indexer.errors import SidecarError
from indexer.files import atomic_write_json, read_json


@pytest.mark.parametrize("path, expected", [
    ("episode.mp3", "episode"),
    ("2011/Débat #2 – Les CM.mp3", "2011/debat-2-les-cm"),
    ("Émission spéciale (partie 1).m4a", "emission-speciale-partie-1"),
    ("with space/and_underscore-ok.ogg", "with-space/and_underscore-ok"),
    ("🎙️.wav", None),  # nothing left after folding: a stable hash instead
])
def test_episode_ids_are_stable_and_url_safe(path, expected):
    value = episode_id(path)
    assert value == episode_id(path)
    assert all(c.isalnum() or c in "/_-" for c in value) and value.isascii()
    if expected:
        assert value == expected
    else:
        assert len(value) == 8


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_full_sidecar(tmp_path):
    sidecar = write(tmp_path / "ep.yaml", """
title: "[Narocast] #0 – Discussions sur le Community Management"
date: 2010-11-15
speakers:
  - {name: Sandra, start: 0, end: 62.5}
  - {name: Marc, start: "00:01:02.5", end: 130}
language: fr
source_url: https://example.org/narocast-0
description: Un épisode.
chapters:
  - {start: 60, title: Deuxième partie}
  - {start: 0, title: Introduction}
""")
    meta = load_sidecar(sidecar)
    assert meta.title.startswith("[Narocast]") and meta.date == "2010-11-15"
    assert meta.speakers == ("Sandra", "Marc")
    assert [c.title for c in meta.chapters] == ["Introduction", "Deuxième partie"]
    assert meta.chapter_at(59) == "Introduction" and meta.chapter_at(61) == "Deuxième partie"
    assert meta.speaker_at(10, 20) == "Sandra" and meta.speaker_at(60, 70) == "Marc"


def test_json_sidecar_and_single_speaker(tmp_path):
    meta = load_sidecar(write(tmp_path / "ep.json", '{"title": "T", "date": "2011", "speakers": ["Sandra"]}'))
    assert meta.date == "2011" and meta.speaker_at(0, 1) == "Sandra"


@pytest.mark.parametrize("text, field", [
    ("title: [unclosed", "not valid YAML"),
    ("- just\n- a list", "expected a mapping"),
    ("date: 15/11/2010", "'date'"),
    ("date: 2010-13-45", "'date'"),
    ("speakers: 0", "'speakers'"),
    ("speakers: [{name: A, start: 10, end: 5}]", "speakers[0]"),
    ("chapters: [{start: abc, title: X}]", "chapters[0].start"),
    ("chapters: [{start: 3}]", "chapters[0]"),
    ("titel: typo", "unknown field 'titel'"),
])
def test_bad_sidecars_name_the_file_and_field(tmp_path, text, field):
    path = write(tmp_path / "ep.yaml", text)
    with pytest.raises(SidecarError) as info:
        load_sidecar(path)
    message = str(info.value)
    assert str(path) in message and field in message
    assert "\n" not in message


def test_settings(tmp_path):
    assert load_settings(tmp_path).model == "base"
    write(tmp_path / "archive.yaml", "language: auto\nglossary: [OWNI, e-réputation]\n")
    settings = load_settings(tmp_path)
    assert settings.language is None and settings.glossary == ("OWNI", "e-réputation")
    write(tmp_path / "archive.yaml", "glossary: OWNI\n")
    with pytest.raises(SidecarError, match="glossary"):
        load_settings(tmp_path)


def test_layout_lists_audio_and_sidecars(tmp_path):
    layout = ArchiveLayout(tmp_path)
    write(tmp_path / "audio" / "b.mp3", "x")
    write(tmp_path / "audio" / "b.yaml", "title: B")
    write(tmp_path / "audio" / "sub" / "a.OGG", "x")
    write(tmp_path / "audio" / "notes.txt", "x")
    write(tmp_path / "audio" / ".hidden.mp3", "x")
    files = [p.relative_to(layout.audio_dir).as_posix() for p in layout.audio_files()]
    assert files == ["b.mp3", "sub/a.OGG"]
    episode = layout.episode_for(tmp_path / "audio" / "b.mp3")
    assert episode.id == "b" and episode.meta.title == "B"
    assert layout.transcript_path("sub/a") == tmp_path / "transcripts" / "sub" / "a.json"


def test_timecodes():
    assert parse_timecode("754") == 754
    assert parse_timecode("12:34") == 754
    assert parse_timecode("00:12:34.5") == 754.5
    for bad in ("", "1:2:3:4", "ab", "1::2"):
        with pytest.raises(ValueError):
            parse_timecode(bad)


def test_hash_cache_reuses_by_size_and_mtime(tmp_path):
    audio = write(tmp_path / "a.mp3", "hello")
    cache = HashCache(tmp_path / "hashes.json")
    first = cache.sha256(audio)
    cache.save()
    reloaded = HashCache(tmp_path / "hashes.json")
    saved = (tmp_path / "hashes.json").stat().st_ino
    assert reloaded.sha256(audio) == first
    reloaded.save()   # nothing new: the file is not written again (a write replaces it: a new inode)
    assert (tmp_path / "hashes.json").stat().st_ino == saved
    write(audio, "changed")
    assert reloaded.sha256(audio) != first


def test_read_json_gives_the_default_for_a_lost_or_damaged_file(tmp_path):
    path = tmp_path / "state" / "cache.json"
    assert read_json(path) is None and read_json(path, {}) == {}          # missing
    atomic_write_json(path, {"é": [1, 2]}, ensure_ascii=False, indent=1)
    assert read_json(path, {}) == {"é": [1, 2]} and path.read_text(encoding="utf-8").endswith("]\n}\n")
    for damaged in ("{not json", "[1, 2]", "", "\xff"):                   # invalid, not an object, empty
        path.write_text(damaged, encoding="latin-1")
        assert read_json(path, {"default": True}) == {"default": True}
    path.unlink()
    path.mkdir()                                                            # unreadable: a folder
    assert read_json(path, {}) == {}


def test_a_damaged_hash_cache_only_costs_rehashing(tmp_path):
    audio = write(tmp_path / "a.mp3", "hello")
    (tmp_path / "hashes.json").write_text("[1, 2]")
    cache = HashCache(tmp_path / "hashes.json")
    assert cache.sha256(audio) == sha256_file(audio)
