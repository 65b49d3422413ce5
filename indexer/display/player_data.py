"""The transcript player's data: one JSON document per episode, built by a pure function.

:func:`player_data` turns an episode (its effective transcript, machine
transcript and metadata) into the one document the player receives: words with
times, probabilities and marks, segments with flags, speakers, chapters,
sections (chapter → speaker turn) and the citation fields. Everything the page
shows is in it, as data; :func:`wire_data` is how the page carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..archive import safe_url
from ..corrections import CORRECTED_FLAG, normalise_token
from ..quotes import EpisodeContext, QuoteOptions
from ..quotes.citation import check_citation_format
from ..sections import sections
from ..transcript import Transcript

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PlayerOptions:
    low_confidence: float = QuoteOptions.low_confidence  # words below this are marked, as in quotes
    citation_format: str = QuoteOptions.citation_format
    # Longest clip inlined (base64) when the audio cannot be served by Jupyter:
    # 10 minutes of 48 kbit/s mp3 is 3.6 MB, 4.8 MB as base64 in the notebook.
    embed_seconds: float = 600.0
    embed_before: float = 30.0          # seconds of the clip before the start asked for
    height: str = "28em"                # of the scrolling transcript


@dataclass(frozen=True)
class AudioSource:
    """What the ``<audio>`` element plays: ``src`` from ``offset`` (episode seconds) to ``end``."""

    src: str = ""
    offset: float = 0.0
    end: float | None = None            # None: to the end of the episode
    note: str = ""                      # shown above the transcript (e.g. "a clip only")


def player_data(ctx: EpisodeContext, *, machine: Transcript | None = None, start: float | None = None,
                end: float | None = None, marked: Iterable[int] = (), select: tuple[int, int] | None = None,
                audio: AudioSource | None = None, options: PlayerOptions | None = None,
                player_id: str = "") -> dict:
    """The JSON document of the player for one episode (pure: reads no file).

    ``ctx`` holds the effective transcript (corrections applied); ``machine``
    the machine transcript, to tell corrected words from the machine's (without
    it every word of a corrected segment is marked). ``start``/``end`` is where
    the player opens, ``marked`` the indices (in ``ctx.words``) of words to mark
    (a hit's matches), ``select`` a first/last word index range shown as the
    current quote.
    """
    options = options or PlayerOptions()
    check_citation_format(options.citation_format)
    meta = ctx.meta
    segments = ctx.transcript.segments
    machine_words = _machine_words(machine)
    speakers: list[str] = []

    def speaker_index(name: str | None) -> int | None:
        if not name:
            return None
        if name not in speakers:
            speakers.append(name)
        return speakers.index(name)

    marked = frozenset(marked)
    words = []
    for k, (w, s) in enumerate(zip(ctx.words, ctx.segment_of)):
        seg = segments[s]
        corrected = CORRECTED_FLAG in seg.flags and \
            machine_words.get((round(w.start, 3), round(w.end, 3))) != normalise_token(w.word)
        words.append({
            "text": w.word.strip(), "space": w.word[:1].isspace(),
            "start": round(w.start, 3), "end": round(w.end, 3), "p": round(w.probability, 3),
            "low": w.probability < options.low_confidence, "corrected": corrected, "marked": k in marked,
            "segment": s, "speaker": speaker_index(w.speaker),
        })
    first_word: dict[int, int] = {}
    for k, s in enumerate(ctx.segment_of):
        first_word.setdefault(s, k)
    counts: dict[int, int] = {}
    for s in ctx.segment_of:
        counts[s] = counts.get(s, 0) + 1
    position = {id(seg): i for i, seg in enumerate(segments)}
    chapters = sorted(meta.chapters, key=lambda c: c.start)
    return {
        "schema": SCHEMA_VERSION, "id": player_id,
        "episode": ctx.episode_id, "title": meta.title or ctx.episode_id, "date": meta.date,
        "source_url": safe_url(meta.source_url), "language": meta.language or ctx.transcript.language or "fr",
        "duration": round(ctx.duration, 3),
        "citation_format": options.citation_format, "low_confidence": options.low_confidence,
        "start": start, "end": end, "select": list(select) if select else None,
        "audio": {"src": audio.src, "offset": audio.offset, "end": audio.end, "note": audio.note}
        if audio and audio.src else {"src": "", "offset": 0.0, "end": None, "note": audio.note if audio else ""},
        "speakers": speakers,
        "chapters": [{"start": c.start, "title": c.title} for c in chapters],
        "segments": [{"id": seg.id, "start": seg.start, "end": seg.end,
                      "speaker": speaker_index(seg.speaker),
                      "flags": list(seg.flags), "suspect": seg.suspect, "corrected": CORRECTED_FLAG in seg.flags,
                      "estimated": i in ctx.estimated,
                      "first": first_word.get(i, 0), "count": counts.get(i, 0)}
                     for i, seg in enumerate(segments)],
        "sections": [{"title": section.title, "start": section.start,
                      "paragraphs": [{"speaker": speaker_index(p.speaker), "start": p.start,
                                      "segments": [position[id(seg)] for seg in p.segments]}
                                     for p in section.paragraphs]}
                     for section in sections(ctx.transcript, meta)],
        "words": words,
    }


def _machine_words(machine: Transcript | None) -> dict[tuple[float, float], str]:
    if machine is None:
        return {}
    return {(round(w.start, 3), round(w.end, 3)): normalise_token(w.word)
            for seg in machine.segments for w in seg.words}


def marked_words(ctx: EpisodeContext, segment_id: int, text: str, spans: Iterable[tuple[int, int]]) -> list[int]:
    """Indices in ``ctx.words`` of the words of segment ``segment_id`` inside the character ``spans`` of ``text``."""
    spans = list(spans)
    found, pos = [], 0
    for k, (w, s) in enumerate(zip(ctx.words, ctx.segment_of)):
        if ctx.transcript.segments[s].id != segment_id:
            continue
        core = w.word.strip()
        at = text.find(core, pos)
        if at < 0:
            continue
        pos = at + len(core)
        if any(a < pos and at < b for a, b in spans):
            found.append(k)
    return found


WORD_KEYS = ("text", "space", "start", "end", "p", "low", "corrected", "marked", "segment", "speaker")


def wire_data(data: dict) -> dict:
    """``data`` as the page carries it: words as columns (player.js rebuilds the objects), and no
    audio source (the ``<audio>`` element has it).

    Repeating ten keys on every word is 55 % of the document: two hours of words
    take 1.2 MB as columns instead of 2.8 MB as objects. An inlined clip was in
    both the element and the data: a 6-minute episode made a 5.6 MB output.
    """
    words = data["words"]
    columns = {key: [w[key] for w in words] for key in WORD_KEYS}
    for key in ("space", "low", "corrected", "marked"):
        columns[key] = [int(v) for v in columns[key]]
    audio = {**data["audio"], "src": ""}
    return {**{k: v for k, v in data.items() if k not in ("words", "audio")}, "audio": audio, "word_columns": columns}

