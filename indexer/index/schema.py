"""The one schema of the index, the frequent words of phrase pairs, and the documents of an episode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from whoosh import fields

from ..archive import EpisodeMeta
from ..transcript import Transcript
from .analysis import french_analyzer, name_analyzer
from .fields import DOUBT_PROBABILITY, DateField, DoubtField, PairsField, SegmentText, doubtful_chunks

SCHEMA_VERSION = 2  # 2: light French stemmer on accented words; sound keys of doubted words


def common_terms(texts: Iterable[str], share: float = 0.005, limit: int = 2000) -> frozenset[str]:
    """Index terms found in at least ``share`` of ``texts`` (at most ``limit`` of them)."""
    analyzer = french_analyzer()
    df: dict[str, int] = {}
    n = 0
    for text in texts:
        n += 1
        for term in {t.text for t in analyzer(text)}:
            df[term] = df.get(term, 0) + 1
    threshold = max(1.0, share * n)
    frequent = sorted((t for t, c in df.items() if c >= threshold), key=lambda t: -df[t])
    return frozenset(frequent[:limit])


def _unscored(field):
    """A filter-like field: no per-document length is kept (cheaper to index)."""
    field.scorable = False
    return field


def build_schema(common: Iterable[str] = ()) -> fields.Schema:
    """The one schema of the index (version :data:`SCHEMA_VERSION`).

    ``common``: the frequent terms whose adjacent pairs are indexed (``pairs``).
    """
    text = SegmentText(stored=True)
    return fields.Schema(
        kind=fields.ID(),                          # "episode" on episode documents only
        episode=fields.ID(stored=True),
        segment=fields.STORED(),
        start=fields.STORED(),
        end=fields.STORED(),
        text=text,
        pairs=PairsField(text, common),
        doubt=DoubtField(),
        speaker=_unscored(fields.TEXT(analyzer=name_analyzer(), stored=True)),
        chapter=fields.TEXT(analyzer=french_analyzer(), stored=True),
        flags=fields.KEYWORD(stored=True, lowercase=True),
        date=DateField(),
        # Episode documents only. They share no indexed field with segments, so
        # no segment query matches them and no mask is needed (a mask turns off
        # Whoosh's block-max skipping: every match is then scored).
        episode_doc=fields.ID(stored=True),
        title=fields.TEXT(analyzer=french_analyzer(), stored=True),
        speakers=fields.TEXT(analyzer=name_analyzer(), stored=True),
        datestr=fields.STORED(),
        audio=fields.STORED(),
        duration=fields.STORED(),
    )


@dataclass(frozen=True)
class IndexEntry:
    """What the index is given for one episode.

    ``transcript``: the effective transcript (corrections applied). ``meta``:
    its sidecar; None or empty, the transcript's own fields are used (the
    episode id as title, the speakers named on its segments). ``audio_path``:
    relative to ``ARCHIVE/audio/`` like ``Transcript.audio_path`` (None: the
    transcript's own), or absolute.
    """

    transcript: Transcript
    meta: EpisodeMeta | None = None
    audio_path: str | None = None


def episode_documents(entry: IndexEntry) -> Iterator[dict]:
    """The Whoosh documents of one episode: one for the episode, one per segment."""
    transcript, audio_path = entry.transcript, entry.audio_path
    meta = entry.meta or EpisodeMeta()
    date_value = DateField.value_for(meta.date) if meta.date else None
    speakers = list(meta.speakers) or sorted({s.speaker for s in transcript.segments if s.speaker})
    yield dict(
        kind="episode", episode_doc=transcript.episode_id, title=meta.title or transcript.episode_id,
        speakers=", ".join(speakers), datestr=meta.date,
        audio=audio_path if audio_path is not None else transcript.audio_path,
        duration=transcript.duration,
    )
    segments = transcript.segments
    for i, seg in enumerate(segments):
        text = seg.text.strip()
        following = segments[i + 1].text.strip() if i + 1 < len(segments) else ""
        speaker = seg.speaker or ""  # who speaks: decided by effective_episode
        yield dict(
            episode=transcript.episode_id, segment=seg.id,
            start=seg.start, end=seg.end, text=text, pairs=text + "\x00" + following,
            doubt=doubtful_chunks(seg.words, DOUBT_PROBABILITY) or None,
            speaker=speaker or None, chapter=meta.chapter_at(seg.start) or None,
            flags=" ".join(seg.flags) or None, date=date_value,
        )
