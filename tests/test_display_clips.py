"""No I/O in any ``_repr_html_``: hit tables, review tables, quotes and baskets show a player per clip
with the clip's length, and the clip is cut only when it is played (by the kernel bridge).

Real files (WAVs written here, ffmpeg, a real index); the browser side is in test_display_player_browser.py.
"""

from __future__ import annotations

import builtins
import io
import os
import re
import subprocess
from pathlib import Path

import pytest
from helpers import send_from_front_end

from indexer import stats
from indexer.display.clips import Clip, ClipSet, answer, clock
from indexer.quotes import QuoteBasket

EPISODE = "2010/cm-table-ronde"


class NoIO:
    """Any file opened, stat-ed or process started while active fails the test."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def __enter__(self):
        def refuse(*args, **kwargs):
            raise AssertionError(f"I/O in a repr: {args[:1]}")

        for owner, name in ((builtins, "open"), (io, "open"), (os, "stat"), (os, "lstat"), (os, "listdir"),
                            (os, "scandir"), (subprocess.Popen, "__init__")):
            self.monkeypatch.setattr(owner, name, refuse)
        return self

    def __exit__(self, *exc):
        self.monkeypatch.undo()


def shown_objects(archive):
    hits = archive.search("réseaux", limit=3)
    review = stats.review_players(stats.review_table(archive))
    quote = archive.quote(EPISODE, 5.0, 10.0)
    return {"hits": hits, "review": review, "quote": quote, "basket": QuoteBasket([quote, quote])}


def test_no_repr_reads_a_file_or_runs_ffmpeg(search_archive, monkeypatch):
    objects = shown_objects(search_archive)
    for path in search_archive.layout.audio_dir.rglob("*.wav"):
        path.unlink()  # a repr that looked at the files would now say so
    first = {name: obj._repr_html_() for name, obj in objects.items()}  # imports done here
    with NoIO(monkeypatch):
        again = {name: obj._repr_html_() for name, obj in objects.items()}
    for name, page in again.items():
        assert "data:audio" not in page, name
        assert page.count("class='indexer-clip'") >= 1 and "class='ix-play'" in page, name
        assert re.sub(r"[0-9a-f]{32}", "ID", page) == re.sub(r"[0-9a-f]{32}", "ID", first[name]), name


def test_players_show_the_clips_length_before_they_are_played(search_archive):
    hits = search_archive.search("réseaux", limit=3)
    page = hits._repr_html_()
    # A hit's clip: its segment and a second each side (segments of 5 and 6 s here).
    lengths = re.findall(r"<button type='button' class='ix-play'[^>]*>▶ (\d+:\d\d)</button>", page)
    assert lengths == [clock(h.end + 1.0 - max(0.0, h.start - 1.0)) for h in hits]
    assert set(lengths) <= {"0:06", "0:07", "0:08"}
    assert "0:00 / 0:00" not in page
    q = search_archive.quote(EPISODE, 5.0, 10.0)
    assert f"▶ {clock(q.clip_span[1] - q.clip_span[0])}</button>" in q._repr_html_()


def test_the_bridge_cuts_a_clip_when_it_is_asked_for(search_archive, monkeypatch):
    from indexer.display.hits import hits_outputs

    hits = search_archive.search("réseaux", limit=3)
    outputs = hits_outputs(hits)
    assert len(outputs) == 2  # the table, then the bridge
    table, bridge = outputs
    clips_id = re.search(r"data-indexer-clips='([0-9a-f]{32})'", table.data).group(1)
    assert bridge.clips_id == clips_id
    replies = []
    monkeypatch.setattr(bridge, "send", lambda content, buffers=None: replies.append((content, buffers)))

    def ask(content):
        send_from_front_end(bridge, content)
        return replies.pop()

    reply, buffers = ask({"kind": "clip", "request": 7, "clip": 1})
    assert reply == {"request": 7, "ok": True, "mime": "audio/mpeg"}
    clip = Path(search_archive.root) / "clip.mp3"
    clip.write_bytes(buffers[0])
    seconds = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                                    "csv=p=0", str(clip)], capture_output=True, text=True, check=True).stdout)
    hit = hits[1]
    # (mp3 adds its encoder's padding, about a frame and a half)
    assert seconds == pytest.approx(hit.end + 1.0 - max(0.0, hit.start - 1.0), abs=0.25)
    # Only clips of the table can be asked for, by number; the page names no file.
    for wrong in (3, -1, "../../etc/passwd", 1.0, None):
        assert ask({"kind": "clip", "request": 8, "clip": wrong})[0] == {"request": 8, "ok": False,
                                                                      "error": "pas d'extrait de ce numéro"}
    (search_archive.layout.audio_dir / f"{hit.episode}.wav").unlink()
    assert ask({"kind": "clip", "request": 10, "clip": 1})[0] == {"request": 10, "ok": False,  # the file went away
                                                                   "error": "pas d'audio pour cet extrait"}


def test_a_bug_while_cutting_surfaces(tmp_path, monkeypatch):
    from indexer import audio

    def bug(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(audio, "encoded_clip", bug)
    clips = ClipSet.of([Clip(tmp_path / "x.wav", 0.0, 1.0)])
    with pytest.raises(TypeError, match="a bug"):  # not "no audio": the kernel's log shows it
        answer(clips, {"kind": "clip", "request": 1, "clip": 0})


def test_notebooks_display_the_table_and_its_bridge(search_archive, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects, **kw: shown.extend(objects))
    for obj in shown_objects(search_archive).values():
        shown.clear()
        obj._ipython_display_()
        assert [type(o).__name__ for o in shown] == ["HTML", "ClipBridge"]
        assert f"data-indexer-clips='{shown[1].clips_id}'" in shown[0].data
    # The search box shows both too (an Output's append_display_data).
    from indexer.search import search_box

    box = search_box(search_archive)
    box.children[0].children[0].value = "réseaux"
    outputs = box.children[1].outputs
    assert "text/html" in outputs[0]["data"] and "application/vnd.jupyter.widget-view+json" in outputs[1]["data"]
