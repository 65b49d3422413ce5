"""One rule for audio paths: the layout's (ArchiveLayout.audio_file), for hits, quotes, the player and pages.

A transcript names its audio relative to ``ARCHIVE/audio/``. When the episode's
own audio is gone, a search hit followed the transcript's ``audio_path`` even
out of the archive (``../../other/secret.wav``), while ``archive.quote``
refused it. Now every reader asks the layout, and none follows it.
"""

from __future__ import annotations

import json

import pytest
from helpers import write_wav

from indexer.errors import AudioError

EPISODE = "2011/owni-debat"


@pytest.mark.parametrize("escape", ["../../other/secret.wav", "{outside}/secret.wav"])
def test_no_reader_follows_an_audio_path_out_of_the_archive(search_archive, tmp_path, escape):
    secret = tmp_path / "other" / "secret.wav"
    write_wav(secret, 30.0)  # a file that would play, were the path followed
    root = search_archive.root
    (root / "audio" / f"{EPISODE}.wav").unlink()  # the episode's own audio is gone
    path = root / "transcripts" / f"{EPISODE}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["audio_path"] = escape.format(outside=tmp_path / "other")
    assert (root / "audio" / data["audio_path"]).resolve() == secret.resolve()
    path.write_text(json.dumps(data), encoding="utf-8")
    search_archive.reindex(progress=False)

    hits = search_archive.search("journaliste", episode=EPISODE)
    assert hits and all(hit.episode == EPISODE for hit in hits)
    hit = hits[0]
    assert hit.audio_path is None and hit.to_dict()["audio_path"] is None
    with pytest.raises(AudioError, match="no audio file"):
        hit.clip()
    assert search_archive.quote(hit).audio_path is None                      # the quote's rule
    assert search_archive.player(EPISODE).data["audio"]["src"] == ""         # the player's
    page = search_archive.export_page(EPISODE, "html", out=tmp_path / "page.html")
    assert "secret.wav" not in page                                         # the page's


def test_an_audio_path_inside_the_archive_is_found(search_archive):
    hit = search_archive.search("journaliste")[0]
    assert hit.audio_path == search_archive.layout.audio_dir / f"{hit.episode}.wav"
    assert hit.audio_path.is_file()
