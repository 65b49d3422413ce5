"""The custom Whoosh fields of the index: segment text, phrase pairs, doubted sounds, dates."""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterable

from whoosh import fields
from whoosh.analysis import RegexTokenizer
from whoosh.system import pack_uint

from .analysis import french_analyzer
from .sounds import words as sound_words

DOUBT_PROBABILITY = 0.4  # words below it get sound keys in ``doubt`` (as the low-confidence-words flag)
PAIR_SEPARATOR = "+"  # never inside a token (tokens are \w, ', ., @, #)


class RecentAnalyses:
    """The analysis of the last few texts: what the ``text`` and ``pairs`` fields share.

    Whoosh indexes a document field by field, and both fields need the
    segment's tokens (``pairs`` also the next segment's, which is the next
    document's text). Owned by the ``text`` field (:class:`SegmentText`) and
    read by ``pairs`` through it (:class:`PairsField`), it makes each segment
    text analysed once, not twice, while indexing. A cache only: it is left out
    of the schema pickled into the index.
    """

    SIZE = 8  # texts kept: a document's own text and the next one's

    def __init__(self, analyzer):
        self.analyzer = analyzer
        self._found: dict[str, list[tuple[int, str]]] = {}

    def __call__(self, text: str) -> list[tuple[int, str]]:
        """(position, term) of each indexed token of ``text``."""
        found = self._found.get(text)
        if found is None:
            found = [(t.pos, t.text) for t in self.analyzer(text, positions=True, mode="index")]
            if len(self._found) >= self.SIZE:
                self._found.clear()
            self._found[text] = found
        return found


class SegmentText(fields.TEXT):
    """French TEXT field whose recent analyses (``analyses``) are shared with the ``pairs`` field."""

    def __init__(self, **kwargs):
        super().__init__(analyzer=french_analyzer(), phrase=True, **kwargs)
        self.analyses = RecentAnalyses(self.analyzer)

    def __getstate__(self):  # pickled with the schema: not the cache
        state = dict(self.__dict__)
        state.pop("analyses", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.analyses = RecentAnalyses(self.analyzer)

    def index(self, value, **kwargs):
        if not isinstance(value, str):
            return super().index(value, **kwargs)
        positions: dict[str, list[int]] = {}
        for pos, term in self.analyses(value):
            positions.setdefault(term, []).append(pos)
        boost = self.format.field_boost
        encode = self.format.encode
        return [(term.encode("utf-8"), len(p), len(p) * boost, encode(p)) for term, p in positions.items()]


class PairsField(fields.TEXT):
    """Adjacent pairs of *frequent* words, plus such a pair into the next segment.

    Like Lucene's common grams: a phrase of two frequent words (« réseaux
    sociaux ») is one term lookup instead of intersecting two long posting
    lists and checking positions; phrases with a rarer word stay positional,
    which is cheap because the rare word's postings are short. ``common`` is
    chosen from the archive's own word frequencies at rebuild (see
    :func:`common_terms`) and pickled with the schema, so updates and queries
    use the same set.

    The value is ``text + "\x00" + next_text``; tokens come from the ``text``
    field's analyses (:class:`RecentAnalyses`), shared so that a segment text
    is analysed once.
    """

    def __init__(self, text_field: SegmentText, common: Iterable[str] = ()):
        super().__init__(analyzer=RegexTokenizer(r"\S+"), phrase=False)
        self.text_field = text_field
        self.common = frozenset(common)

    def index(self, value, **kwargs):
        common = self.common
        if not common:
            return []
        analyses = self.text_field.analyses
        text, _, next_text = value.partition("\x00")
        tokens = [(pos, term) for pos, term in analyses(text) if term in common]
        by_pos: dict[int, list[str]] = {}
        for pos, term in tokens:
            by_pos.setdefault(pos, []).append(term)
        counts: dict[str, int] = {}
        for pos, firsts in by_pos.items():
            for a in firsts:
                for b in by_pos.get(pos + 1, ()):
                    key = a + PAIR_SEPARATOR + b
                    counts[key] = counts.get(key, 0) + 1
        own = analyses(text)
        if own and next_text and own[-1][1] in common:
            following = analyses(next_text)
            if following:
                last_pos, first_pos = own[-1][0], following[0][0]
                for a in (t for p, t in own if p == last_pos and t in common):
                    for b in (t for p, t in following if p == first_pos and t in common):
                        key = a + PAIR_SEPARATOR + b
                        counts[key] = counts.get(key, 0) + 1
        return _counted(self, counts)


class DoubtField(fields.TEXT):
    """Sound keys (:mod:`indexer.index.sounds`) of the words the recogniser was unsure of.

    For each word below :data:`DOUBT_PROBABILITY`, the keys of it and of it
    glued to each neighbour (« sauf gardée » → ``sofgardE``), so a query word
    misheard, split or glued there is found by sound. The value is the words
    around each doubted word (see :func:`doubtful_chunks`).
    Not positional and not scored on its own (no field lengths). Only doubted
    words: keys of every word pair cost 3.8x the index size and 5x the build
    time on the 100-hour benchmark, and splits come with low probabilities.
    """

    def __init__(self):
        super().__init__(analyzer=RegexTokenizer(r"\S+"), phrase=False)
        self.scorable = False

    def index(self, value, **kwargs):
        counts: dict[str, int] = {}
        for chunk in value.split("\n"):
            before, word, after = (sound_words(part) for part in (chunk.split("\t") + ["", ""])[:3])
            keys = [k for k, _, _ in word]
            if word and before:
                keys.append(before[-1][0] + word[0][0])
            if word and after:
                keys.append(word[-1][0] + after[0][0])
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
        return _counted(self, counts)


def _counted(field: fields.TEXT, counts: dict[str, int]) -> list[tuple]:
    """What ``Field.index`` returns for terms with these counts and no positions."""
    boost = field.format.field_boost
    return [(k.encode("utf-8"), n, n * boost, pack_uint(n)) for k, n in counts.items()]


def doubtful_chunks(words, threshold: float) -> str:
    """``previous\tword\tnext`` for each word below ``threshold`` probability, one per line."""
    chunks = []
    for i, w in enumerate(words):
        if w.probability < threshold:
            before = words[i - 1].word.strip() if i > 0 else ""
            after = words[i + 1].word.strip() if i + 1 < len(words) else ""
            chunks.append(f"{before}\t{w.word.strip()}\t{after}")
    return "\n".join(chunks)


class DateField(fields.NUMERIC):
    """Dates as ``year << 9 | day of the year``; ``date:2011`` and
    ``date:[2010 TO 2011-06]`` cover whole years/months (a partial date is the
    range it spans).

    With ``shift_step=9`` Whoosh also indexes the value shifted by 9 bits, which
    is the year: a range of whole years is one term per year, however many
    episode dates it covers.
    """

    def __init__(self, **kwargs):
        # (signed: whoosh-reloaded's unsigned ranges without a lower bound match everything)
        super().__init__(int, bits=32, shift_step=9, signed=True, **kwargs)

    @staticmethod
    def encode(day: dt.date) -> int:
        return day.year << 9 | day.timetuple().tm_yday

    @classmethod
    def bounds(cls, text: str) -> tuple[int, int]:
        m = re.fullmatch(r"\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*", str(text))
        try:
            year, month, day = (int(g) if g else None for g in m.groups())
            first = dt.date(year, month or 1, day or 1)
            if day:
                last = first
            elif month:
                last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
            else:
                last = dt.date(year, 12, 31)
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"not a date (YYYY, YYYY-MM or YYYY-MM-DD): {text!r}") from None
        if not (month or day):  # whole years: exactly the year's shifted term
            return year << 9, year << 9 | 511
        return cls.encode(first), cls.encode(last)

    @classmethod
    def value_for(cls, date: str) -> int | None:
        """The indexed value of an episode date; a partial date is its first day."""
        if not date:
            return None
        lo, _ = cls.bounds(date)
        return lo if lo & 511 else lo | 1  # a bare year: its 1 January

    def self_parsing(self):
        return True

    # Not constant-score queries: Whoosh would first list every matching document.
    def parse_query(self, fieldname, qstring, boost=1.0):
        from whoosh import query

        if qstring == "*":
            return query.Every(fieldname, boost=boost)
        lo, hi = self.bounds(qstring)
        return query.NumericRange(fieldname, lo, hi, boost=boost, constantscore=False)

    def parse_range(self, fieldname, start, end, startexcl, endexcl, boost=1.0):
        from whoosh import query

        lo = self.bounds(start)[0] if start else None
        hi = self.bounds(end)[1] if end else None
        return query.NumericRange(fieldname, lo, hi, startexcl, endexcl, boost=boost, constantscore=False)
