"""The quote tests' archive: three episodes with sidecars, timed words (one low-confidence word) and tone
audio made by ffmpeg in mp3, ogg and wav; no model."""

from __future__ import annotations

from pathlib import Path

from helpers.media import ffmpeg_output
from indexer import Archive
from indexer.transcript import Segment, Transcript, Word, save_transcript

EPISODE = "2010/narocast-0"
TITLE = "[Narocast] #0 – Discussions sur le Community Management"
SIDECAR = f"""
title: "{TITLE}"
date: 2010-11-15
speakers:
  - {{name: Sandra, start: 0, end: 14.2}}
  - {{name: Marc, start: 14.2, end: 60}}
source_url: https://example.org/narocast-0
chapters:
  - {{start: 0, title: Introduction}}
  - {{start: 14.2, title: Le métier}}
"""
# (start, end, text, {word: probability}) — "Trucmuche" is the machine's mistake.
SEGMENTS = [
    (0.5, 6.3, "Bonjour à tous, bienvenue dans Narocast.", {}),
    (6.8, 14.0, "Aujourd'hui on parle de communauté avec Trucmuche et ses amis.", {"Trucmuche": 0.3}),
    (14.5, 21.0, "Le métier change vite. Il faut écouter les gens", {}),
    (21.5, 27.0, "avant de parler. Merci Sandra, à bientôt !", {}),
]
DURATION = 30.0

SOLO = "2011/solo"  # one speaker named in the sidecar, no turns
SOLO_SIDECAR = 'title: "Seule en scène"\ndate: 2011-02\nspeakers: [Claire]\n'
SOLO_SEGMENTS = [(1.0, 5.0, "La communauté, c'est d'abord des gens.", {})]

EVIL = "2012/evil"  # metadata that must not escape an export folder or the HTML
EVIL_SIDECAR = 'title: "../../etc/passwd <script>alert(1)</script>"\n'
EVIL_SEGMENTS = [(1.0, 5.0, "Un texte avec <b>balises</b> & esperluette.", {})]


def timed_words(text: str, start: float, end: float, low: dict[str, float] | None = None) -> list[Word]:
    """Whisper-style words (leading space) spread evenly with 50 ms gaps."""
    tokens = text.split()
    step = (end - start) / len(tokens)
    return [Word(round(start + i * step, 3), round(start + (i + 1) * step - 0.05, 3), " " + token,
                 (low or {}).get(token, 0.9)) for i, token in enumerate(tokens)]


def make_transcript(episode_id: str, audio_path: str, rows, duration: float = DURATION,
                    first_id: int = 0) -> Transcript:
    segments = [Segment(first_id + i, s, e, " " + text, timed_words(text, s, e, low))
                for i, (s, e, text, low) in enumerate(rows)]
    return Transcript(episode_id, audio_path, "0" * 64, duration, "fr", "test", "test", {}, segments,
                      "2024-01-01T00:00:00+00:00", "test-fingerprint")


def tone(path: Path, seconds: float, rate: int = 16000) -> Path:
    return ffmpeg_output(["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}:duration={seconds}",
                          "-ac", "1"], path)


def add_episode(root: Path, episode_id: str, rows, sidecar: str | None, ext: str = "mp3",
                duration: float = DURATION) -> Path:
    audio = tone(root / "audio" / f"{episode_id}.{ext}", duration)
    if sidecar is not None:
        audio.with_suffix(".yaml").write_text(sidecar, encoding="utf-8")
    save_transcript(make_transcript(episode_id, f"{episode_id}.{ext}", rows, duration),
                    root / "transcripts" / f"{episode_id}.json")
    return audio


def build_quote_archive(root: Path, index: bool = True) -> Archive:
    """The test archive: three episodes, sidecars, transcripts, and (optionally) the index."""
    add_episode(root, EPISODE, SEGMENTS, SIDECAR)
    add_episode(root, SOLO, SOLO_SEGMENTS, SOLO_SIDECAR, ext="ogg", duration=6)
    add_episode(root, EVIL, EVIL_SEGMENTS, EVIL_SIDECAR, ext="wav", duration=6)
    archive = Archive(root)
    if index:
        archive.reindex(progress=False)
    return archive
