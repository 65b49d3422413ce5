"""Per-segment tables, hours by year and by speaker, speaking time and turns."""

from __future__ import annotations

import pandas as pd

from ..corrections import CORRECTED_FLAG, names_of_speakers
from .episodes import UNDATED, UNKNOWN, one_episode, episode_data

SEGMENT_COLUMNS = ["episode", "title", "date", "year", "segment_id", "start", "end", "duration", "speaker",
                   "flags", "suspect", "corrected", "words", "min_probability", "text"]


def segment_table(archive, episode: str | None = None) -> pd.DataFrame:
    """One row per segment (of one episode, or all), speakers attributed, in archive order."""
    found = [one_episode(archive, episode)] if episode is not None else episode_data(archive)
    rows = []
    for data in found:
        for seg in data.transcript.segments:
            rows.append({
                "episode": data.id, "title": data.title, "date": data.date, "year": data.year,
                "segment_id": seg.id, "start": seg.start, "end": seg.end, "duration": seg.end - seg.start,
                "speaker": seg.speaker or UNKNOWN, "flags": tuple(seg.flags),
                "suspect": seg.suspect, "corrected": CORRECTED_FLAG in seg.flags, "words": len(seg.words),
                "min_probability": min((w.probability for w in seg.words), default=float("nan")),
                "text": seg.text.strip(),
            })
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


def hours_by_year(archive) -> pd.Series:
    """Hours of transcribed audio per year (index: ``"2011"``…, then :data:`UNDATED`)."""
    hours: dict[str, float] = {}
    for data in episode_data(archive):
        hours[data.year] = hours.get(data.year, 0.0) + data.transcript.duration / 3600
    index = sorted(y for y in hours if y != UNDATED) + ([UNDATED] if UNDATED in hours else [])
    return pd.Series([hours[y] for y in index], index=pd.Index(index, name="year"), name="hours", dtype=float)


def hours_by_speaker(archive) -> pd.Series:
    """Speaking time in hours per speaker over the whole archive, longest first (see the module doc)."""
    table = segment_table(archive)
    hours = table.groupby("speaker")["duration"].sum() / 3600
    return _by_size(hours).rename("hours")


def speaking_time(archive, episode: str) -> pd.DataFrame:
    """Per speaker of one episode: ``seconds``, ``share`` of the attributed time, ``segments``."""
    table = segment_table(archive, episode)
    grouped = table.groupby("speaker").agg(seconds=("duration", "sum"), segments=("segment_id", "count"))
    total = grouped["seconds"].sum()
    grouped["share"] = grouped["seconds"] / total if total else 0.0
    return grouped.loc[_by_size(grouped["seconds"]).index, ["seconds", "share", "segments"]]


def speaker_turns(archive, episode: str) -> pd.DataFrame:
    """The automatic speaker turns of one episode (``start``, ``end``, ``duration``,
    ``speaker``, named where editors or the sidecar named the label); empty if the
    speakers stage did not run on it (sidecar turns, ``speakers: off``)."""
    transcript = archive.transcript(episode)
    names = names_of_speakers(archive.root, transcript)
    turns = transcript.diarization.turns if transcript.diarization else ()
    return turns_frame([(t.start, t.end, names.get(t.name, t.name)) for t in turns])


def turns_frame(turns) -> pd.DataFrame:
    """``(start, end, speaker)`` triples, or :class:`~indexer.archive.SpeakerTurn` (what
    :func:`indexer.speakers.diarize` returns), as a DataFrame."""
    rows = [(t.start, t.end, t.name) if hasattr(t, "name") else tuple(t) for t in turns]
    frame = pd.DataFrame(rows, columns=["start", "end", "speaker"])
    frame["duration"] = frame["end"] - frame["start"]
    return frame


def turn_speaking_time(turns: pd.DataFrame) -> pd.DataFrame:
    """Per speaker of a turns table: ``seconds``, ``share`` and ``turns``, most first."""
    grouped = turns.groupby("speaker").agg(seconds=("duration", "sum"), turns=("start", "count"))
    total = grouped["seconds"].sum()
    grouped["share"] = grouped["seconds"] / total if total else 0.0
    return grouped.loc[_by_size(grouped["seconds"]).index, ["seconds", "share", "turns"]]


def _by_size(values: pd.Series) -> pd.Series:
    """Largest first, ties by name; :data:`UNKNOWN` last."""
    keys = sorted(values.index, key=lambda k: (k == UNKNOWN, -values[k], k))
    return values.loc[keys]
