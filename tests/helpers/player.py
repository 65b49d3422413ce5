"""Hand-built episodes for the transcript player's tests (no model: words, times and audio are made here).

``build_player_archive(root)`` writes a small archive: ``2011/panel`` (two
speakers by sidecar turns, two chapters, a low-confidence word, a suspect
segment, timed words as Whisper spaces them, a WAV of the episode's length)
and ``2011/hostile`` (markup in the title and the text). ``long_transcript``
makes a two-hour episode of about 20,000 words, in memory.
"""

from __future__ import annotations

from helpers import write_wav

from indexer.archive import Chapter, EpisodeMeta, SpeakerTurn
from indexer.corrections import with_speakers
from indexer.transcript import Segment, Transcript, Word, save_transcript

PANEL = "2011/panel"
HOSTILE = "2011/hostile"
PANEL_SIDECAR = """
title: "Débat : la modération des communautés"
date: 2011-05-12
speakers:
  - {name: Alice Martin, start: 0, end: 12}
  - {name: Bruno Dupont, start: 12, end: 30}
chapters:
  - {start: 0, title: Introduction}
  - {start: 12, title: Le débat}
"""
HOSTILE_SIDECAR = """
title: "Titre </script><script>window.injected = 1</script> <b>gras</b>"
date: 2011-06-01
speakers: [Eve]
"""

# (start, end, [(word, start, end, probability)], flags)
PANEL_SEGMENTS = [
    (0.5, 4.0, [("Bonjour", 0.5, 1.0, 0.95), ("à", 1.1, 1.3, 0.9), ("tous,", 1.4, 1.9, 0.92),
                ("bienvenue.", 2.0, 3.0, 0.3)], []),
    (4.0, 8.0, [("On", 4.2, 4.5, 0.9), ("parle", 4.6, 5.0, 0.9), ("de", 5.1, 5.3, 0.9),
                ("modération", 5.4, 6.4, 0.85), ("aujourd'hui.", 6.5, 7.6, 0.9)], []),
    (8.0, 11.5, [("Merci", 8.2, 8.8, 0.6), ("d'avoir", 8.9, 9.5, 0.6), ("regardé.", 9.6, 10.4, 0.6)],
     ["phantom", "suspect"]),
    (12.0, 16.0, [("La", 12.2, 12.4, 0.9), ("communauté", 12.5, 13.4, 0.97), ("anime", 13.5, 14.1, 0.9),
                  ("le", 14.2, 14.4, 0.9), ("débat.", 14.5, 15.5, 0.9)], []),
    (16.0, 20.0, [("Les", 16.2, 16.5, 0.9), ("réseaux", 16.6, 17.2, 0.9), ("sociaux", 17.3, 17.9, 0.9),
                  ("changent", 18.0, 18.7, 0.45), ("tout.", 18.8, 19.6, 0.9)], []),
    (20.0, 26.0, [("Une", 20.2, 20.5, 0.9), ("communauté", 20.6, 21.5, 0.9), ("se", 21.6, 21.8, 0.9),
                  ("gère", 21.9, 22.5, 0.9), ("au", 22.6, 22.8, 0.9), ("quotidien.", 22.9, 24.0, 0.9)], []),
]
HOSTILE_SEGMENTS = [
    (0.0, 3.0, [("Du", 0.1, 0.4, 0.9), ("texte", 0.5, 1.0, 0.9), ("<img", 1.1, 1.5, 0.9),
                ("src=x", 1.6, 2.0, 0.9), ("onerror=window.injected=2>", 2.1, 2.9, 0.9)], []),
    (3.0, 6.0, [("Une", 3.1, 3.4, 0.9), ("phrase", 3.5, 4.0, 0.9), ("banale.", 4.1, 5.0, 0.9)], []),
]
AUDIO_SECONDS = {PANEL: 30.0, HOSTILE: 8.0}


def make_transcript(episode_id: str, rows, duration: float) -> Transcript:
    segments = []
    for i, (start, end, words, flags) in enumerate(rows):
        timed = [Word(s, e, " " + text, p) for text, s, e, p in words]  # Whisper's leading spaces
        segments.append(Segment(id=i, start=start, end=end, text="".join(w.word for w in timed).strip(),
                                words=timed, flags=list(flags)))
    return Transcript(episode_id=episode_id, audio_path=f"{episode_id}.wav", audio_sha256="0" * 64,
                      duration=duration, language="fr", model="test", engine="test", options={},
                      segments=segments, created="2026-01-01T00:00:00")


def build_player_archive(root):
    """Audio (WAV), sidecars and transcripts of the two episodes under ``root`` (no index)."""
    for episode, sidecar, rows in ((PANEL, PANEL_SIDECAR, PANEL_SEGMENTS), (HOSTILE, HOSTILE_SIDECAR, HOSTILE_SEGMENTS)):
        audio = root / "audio" / f"{episode}.wav"
        write_wav(audio, AUDIO_SECONDS[episode])
        audio.with_suffix(".yaml").write_text(sidecar, encoding="utf-8")
        save_transcript(make_transcript(episode, rows, AUDIO_SECONDS[episode]),
                        root / "transcripts" / f"{episode}.json")
    return root


WORDS = ("la communauté anime le débat sur les réseaux sociaux et la modération des échanges "
         "entre les membres qui parlent chaque jour de leur métier").split()


def long_transcript(hours: float = 2.0, words_per_second: float = 2.8, words_per_segment: int = 12):
    """A synthetic episode of ``hours`` (2 h ≈ 20,000 words), with turns every 3 minutes and chapters every 15."""
    duration = hours * 3600
    step = 1 / words_per_second
    count = int(duration * words_per_second)
    segments, words = [], []
    for k in range(count):
        start = k * step
        text = WORDS[k % len(WORDS)] + ("." if k % words_per_segment == words_per_segment - 1 else "")
        words.append(Word(round(start, 3), round(start + step * 0.8, 3), " " + text, 0.3 if k % 97 == 0 else 0.9))
        if len(words) == words_per_segment or k == count - 1:
            segments.append(Segment(id=len(segments), start=words[0].start, end=words[-1].end,
                                    text="".join(w.word for w in words).strip(), words=words,
                                    flags=["suspect", "compression"] if len(segments) % 50 == 7 else []))
            words = []
    transcript = Transcript(episode_id="long/two-hours", audio_path="long/two-hours.wav", audio_sha256="0" * 64,
                            duration=duration, language="fr", model="test", engine="test", options={},
                            segments=segments)
    names = ("Alice Martin", "Bruno Dupont", "Claire Petit")
    turns = tuple(SpeakerTurn(names[n % 3], n * 180.0, (n + 1) * 180.0) for n in range(int(duration // 180) + 1))
    chapters = tuple(Chapter(n * 900.0, f"Partie {n + 1}") for n in range(int(duration // 900)))
    meta = EpisodeMeta(title="Deux heures de débat", date="2012-01-01", speakers=names, turns=turns,
                       chapters=chapters)
    return with_speakers(transcript, meta), meta  # who speaks, as effective_episode gives it
