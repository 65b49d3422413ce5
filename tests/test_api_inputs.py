"""Issue 25, the low items on caller input: each one clear line, nothing stored or cut wrong.

Red before the fix: `engagement~99` was reported as ~9; a 300,000-id episode filter ran past the time limit
and answered nothing; padding -5 or NaN made an empty clip and fade -1 a raw pydub error; a hit of another
archive was quoted from this one; ``segment_id=True`` corrected segment 1; a 1 MB correction was stored.
"""

from __future__ import annotations

import math

import pytest

from helpers.archives import build_search_archive
from helpers.hardening import fake_archive, ingest
from indexer import Archive
from indexer.errors import CorrectionError, QueryError, QuoteError
from indexer.quotes import QuoteOptions


@pytest.fixture(scope="module")
def searchable(tmp_path_factory):
    archive = Archive(build_search_archive(tmp_path_factory.mktemp("search") / "archive"))
    archive.reindex(progress=False)
    return archive


def test_a_large_edit_distance_is_quoted_as_typed(searchable):
    for typed in ("99", "12"):
        with pytest.raises(QueryError, match=f"edit distance ~{typed} is too large"):
            searchable.search(f"engagement~{typed}")
    assert searchable.search("communauter~")   # the usual typo query still works


def test_an_episode_filter_of_300000_ids_is_refused_in_one_line(searchable):
    with pytest.raises(QueryError, match="episode filter too long \\(300,000 episodes"):
        searchable.search("réseaux", episode=[f"ep/{n}" for n in range(300_000)])
    assert searchable.search("réseaux", episode=["2011/owni-debat"] * 3)  # repeated ids count once


@pytest.fixture
def archive(tmp_path):
    root = fake_archive(tmp_path / "archive", {"a.wav": 4.0, "b.wav": 4.5})
    assert not ingest(root).failed
    return Archive(root)


@pytest.mark.parametrize("padding, fade", [(-5, 0.05), (math.nan, 0.05), (math.inf, 0.05), (0.25, -1),
                                           (0.25, math.nan), ("1", 0.05)])
def test_clip_padding_and_fade_must_be_seconds(archive, tmp_path, padding, fade):
    quote = archive.quote("a", 0.0, 2.0)
    with pytest.raises(QuoteError, match="clip (padding|fade) must be a number of seconds"):
        quote.export(tmp_path / "clip.wav", padding=padding, fade=fade)
    with pytest.raises(QuoteError, match="clip (padding|fade) must be a number of seconds"):
        QuoteOptions(padding=padding, fade=fade)
    assert not (tmp_path / "clip.wav").exists()


def test_a_hit_is_quoted_from_its_own_archive_only(archive, tmp_path):
    other = Archive(fake_archive(tmp_path / "other", {"a.wav": 3.0}))
    assert not ingest(other.root).failed
    word = archive.transcript("a").segments[0].words[0].word.strip()
    (hit, *_) = [h for h in archive.search(word) if h.episode == "a"]
    with pytest.raises(QuoteError, match="this hit was found in the archive"):
        other.quote(hit)
    assert archive.quote(hit).episode == "a"


@pytest.mark.parametrize("segment_id", [True, "0", 0.0, None])
def test_a_segment_id_is_a_whole_number(archive, segment_id):
    with pytest.raises(CorrectionError, match="segment id is a whole number"):
        archive.correct("a", segment_id, "texte")
    assert archive.corrections("a") == []


def test_a_correction_is_bounded_and_on_one_line(archive):
    for text in ("x" * 1_000_000, "une ligne\net une autre", "un \x1b[2J écran effacé"):
        with pytest.raises(CorrectionError):
            archive.correct("a", 0, text)
    assert archive.corrections("a") == []
    archive.correct("a", 0, "une correction ordinaire")
    assert len(archive.corrections("a")) == 1
