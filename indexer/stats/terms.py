"""Terms over time: occurrences counted with the index's French analyzer."""

from __future__ import annotations

from typing import Iterable, Sequence

import pandas as pd

from ..errors import QueryError
from .episodes import UNDATED, UNKNOWN, episode_data

BY_VALUES = ("year", "episode", "speaker")


def term_tokens(term: str) -> tuple[str, ...]:
    """The index terms of ``term`` (stemmed, folded, stop words dropped); QueryError if none."""
    tokens = tuple(t.text for t in _analyzer()(term, mode="query"))
    if not tokens:
        raise QueryError(f"term {term!r} has no word to count (only stop words such as « le », « de »?)")
    return tokens


def _analyzer():
    """The index's French analyzer, imported here: ``import indexer.stats`` does not load Whoosh's index."""
    from ..index import french_analyzer

    return french_analyzer()


def _positions(analyzer, texts: Iterable[str | None]) -> list[tuple[set[str], int]]:
    """Index terms at each position of the texts laid end to end, with the text they come from.

    A text None (a left-out segment) is a gap no phrase spans.
    """
    stream: list[tuple[set[str], int]] = []
    for n, text in enumerate(texts):
        if text is None:
            stream.append((set(), n))
            continue
        by_pos: dict[int, set[str]] = {}
        for token in analyzer(text, positions=True, mode="index"):
            by_pos.setdefault(token.pos, set()).add(token.text)  # @owni is also indexed as owni
        stream.extend((by_pos[p], n) for p in sorted(by_pos))
    return stream


def count_term(stream: Sequence[tuple[set[str], int]], tokens: Sequence[str]) -> list[int]:
    """Where ``tokens`` occur in a stream from :func:`_positions`: the text index of each occurrence's first word."""
    found = []
    size = len(tokens)
    for i in range(len(stream) - size + 1):
        if all(tokens[k] in stream[i + k][0] for k in range(size)):
            found.append(stream[i][1])
    return found


def term_frequency(archive, terms: str | Sequence[str], by: str = "year", per_hour: bool = False,
                   exclude_suspect: bool = False) -> pd.DataFrame:
    """How often each of ``terms`` is said, per year, episode or speaker (one column per term).

    Counts occurrences with the index's analyzer (see the module doc). By year,
    every year with a transcript has a row, zeros included; by episode, rows are
    in date order. ``per_hour`` divides by the hours of audio of the year or
    episode (by speaker: by the speaker's speaking time), to compare periods
    with more or less recorded material. ``exclude_suspect`` leaves out segments
    flagged suspect (Whisper's inventions from silence often repeat a phrase).
    """
    if by not in BY_VALUES:
        raise QueryError(f"cannot count terms by {by!r}; valid: {', '.join(BY_VALUES)}")
    terms = [terms] if isinstance(terms, str) else list(terms)
    if not terms:
        raise QueryError("no term to count")
    wanted = {term: term_tokens(term) for term in terms}
    analyzer = _analyzer()
    counts: dict[str, dict[str, int]] = {}
    hours: dict[str, float] = {}
    order: list[tuple[str, str]] = []  # (sort key, row) for episodes
    for data in episode_data(archive):
        segments = [s for s in data.transcript.segments if s.text.strip()]
        speakers = [s.speaker or UNKNOWN for s in segments]
        if by == "speaker":
            for seg, who in zip(segments, speakers):
                if exclude_suspect and seg.suspect:
                    continue
                hours[who] = hours.get(who, 0.0) + (seg.end - seg.start) / 3600
                counts.setdefault(who, {})
        else:
            row = data.year if by == "year" else data.id
            hours[row] = hours.get(row, 0.0) + data.transcript.duration / 3600
            counts.setdefault(row, {})
            if by == "episode":
                order.append((data.date or "~", row))
        stream = _positions(analyzer, (None if exclude_suspect and s.suspect else s.text for s in segments))
        for term, tokens in wanted.items():
            for n in count_term(stream, tokens):
                row = speakers[n] if by == "speaker" else data.year if by == "year" else data.id
                counts[row][term] = counts[row].get(term, 0) + 1
    if by == "year":
        index = sorted(r for r in counts if r != UNDATED) + ([UNDATED] if UNDATED in counts else [])
    elif by == "episode":
        index = [row for _, row in sorted(order)]
    else:
        index = sorted(counts, key=lambda r: (r == UNKNOWN, r))
    frame = pd.DataFrame([[counts[r].get(t, 0) for t in terms] for r in index],
                         index=pd.Index(index, name=by), columns=pd.Index(terms, name="term"), dtype=int)
    if per_hour:
        frame = frame.div(pd.Series({r: hours[r] for r in index}), axis=0)
    return frame
