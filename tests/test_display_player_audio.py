"""The notebook player's audio: found without importing jupyter_server, inlined once.

The first ``archive.player()`` took 4.1-4.5 s, 2.9 s of it importing
jupyter_server to read the running servers' files; an inlined clip was in the
``<audio>`` element and again in the player's JSON. Times are measured in
benchmarks/player.py, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from helpers.player import PANEL, build_player_archive

from indexer import Archive
from indexer.display.player_audio import notebook_audio, server_root


@pytest.fixture
def archive(tmp_path):
    return Archive(build_player_archive(tmp_path / "archive"))


def write_server(runtime, name: str, **info) -> None:
    runtime.mkdir(parents=True, exist_ok=True)
    (runtime / name).write_text(json.dumps(info), encoding="utf-8")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_running_servers_are_read_from_the_runtime_folder(tmp_path):
    from indexer.display.player_audio import running_servers

    runtime = tmp_path / "runtime"
    write_server(runtime, "jpserver-1.json", pid=os.getpid(), root_dir=str(tmp_path / "lab"))
    write_server(runtime, "jpserver-2.json", pid=dead_pid(), root_dir=str(tmp_path))  # a server that died
    write_server(runtime, "jpserver-3.json", root_dir=str(tmp_path))                 # no pid
    (runtime / "jpserver-4.json").write_text("{half written", encoding="utf-8")
    write_server(runtime, "kernel-5.json", pid=os.getpid(), root_dir=str(tmp_path))  # not a server
    assert [s["root_dir"] for s in running_servers(runtime)] == [str(tmp_path / "lab")]
    assert server_root(tmp_path / "lab" / "notebooks", runtime_dir=runtime) == tmp_path / "lab"
    assert server_root(tmp_path / "elsewhere", runtime_dir=runtime) is None
    assert list(running_servers(tmp_path / "missing")) == []


def test_the_runtime_folder_is_jupyters(tmp_path, monkeypatch):
    runtime = tmp_path / "runtime"
    write_server(runtime, "jpserver-9.json", pid=os.getpid(), root_dir=str(tmp_path))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    assert server_root(tmp_path / "notebooks") == tmp_path


def test_the_first_player_does_not_import_jupyter_server(archive, tmp_path):
    """In a fresh interpreter set up as a kernel is, with a server whose root holds the archive."""
    script = textwrap.dedent(f"""
        import json, os, sys
        import IPython
        runtime = {str(tmp_path / "runtime")!r}
        os.makedirs(runtime)
        with open(os.path.join(runtime, "jpserver-1.json"), "w") as f:
            json.dump({{"pid": os.getpid(), "root_dir": {str(tmp_path)!r}}}, f)
        os.environ["JUPYTER_RUNTIME_DIR"] = runtime
        os.chdir({str(tmp_path)!r})
        from indexer import Archive
        player = Archive("archive").player({PANEL!r}, 4.2)
        html = player._repr_html_()
        print(json.dumps({{"src": player.data["audio"]["src"],
                           "jupyter_server": sorted(m for m in sys.modules if m.startswith("jupyter_server"))}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.splitlines()[-1])
    assert found == {"src": f"archive/audio/{PANEL}.wav", "jupyter_server": []}


def test_an_inlined_clip_is_in_the_page_once(archive, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "no-server"))
    player = archive.player(PANEL, 4.2)
    src = player.data["audio"]["src"]
    assert src.startswith("data:audio/")  # no server: the episode is inlined
    html = player._repr_html_()
    assert html.count("data:audio/") == 1 and html.count(src) == 1
    assert f"src='{src}'" in html  # in the <audio> element; the player's JSON does not repeat it
    data = json.loads(html.split("class='ip-data'>")[1].split("</script>")[0])
    assert data["audio"]["src"] == "" and data["audio"]["offset"] == player.data["audio"]["offset"]
    assert len(html) < 1.2 * len(src) + 60_000


def test_an_inlined_clip_is_cut_in_one_ffmpeg_run(archive, tmp_path, monkeypatch):
    from indexer import audio

    calls = []
    real = audio.subprocess.run
    monkeypatch.setattr(audio.subprocess, "run", lambda cmd, **kw: calls.append(cmd[0]) or real(cmd, **kw))
    source = notebook_audio(archive.layout.audio_dir / f"{PANEL}.wav", 0.0, 30.0, cwd=tmp_path,
                            root=tmp_path / "elsewhere")
    assert source.src.startswith("data:audio/mpeg;base64,") and len(calls) == 1
