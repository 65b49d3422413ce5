"""The Whoosh index of transcript segments, and the French analyzer it uses.

``ARCHIVE/index/`` is derived data: it is rebuilt from ``ARCHIVE/transcripts/``
by :meth:`TranscriptIndex.rebuild`. It holds

* one document per segment: text, speaker, chapter, times, flags, the episode
  id and its date;
* one document per episode (``kind=episode``, id in ``episode_doc``): title,
  date, speakers and audio path, stored once instead of on every segment.
  Queries on ``title:`` and ``speakers:`` are answered on these documents and
  turned into episode ids (see :mod:`indexer.search`).

Phrases: every segment also indexes the pairs of adjacent *frequent* words
(after stop-word removal) in a ``pairs`` field, plus such a pair crossing into
the next segment ("common grams"). A phrase of two frequent words such as
« réseaux sociaux » is then one term lookup instead of an intersection of two
long posting lists with a position check, and it is found (once, on the first
segment) when it straddles two segments. The frequent words are chosen from
the archive at rebuild; an index created empty by ``ingest`` has none until
the first ``indexer reindex`` (phrases then all use positions: correct, slower
on a large archive, and not found across a segment boundary).

``index/indexer-index.json`` records :data:`SCHEMA_VERSION`; an index written by
another version is refused with :class:`~indexer.errors.IndexSchemaError`.

Locking: Whoosh's write lock is ``fcntl.flock`` on ``index/WRITELOCK``. The
kernel releases it when the owner dies (even on SIGKILL), so a dead process
leaves no stale lock; the empty ``WRITELOCK`` file staying behind is harmless,
and segment files of a writer that died before committing are removed by the
next commit. What a killed commit or a killed rebuild leaves is cleaned by
:func:`recover_index` (``ingest`` runs it first).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import re
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from whoosh import fields, index as whoosh_index, scoring
from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StopFilter
from whoosh.filedb.filestore import FileStorage
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint

from .archive import EpisodeMeta, atomic_write_text, pid_alive
from .errors import IndexCorruptError, IndexSchemaError, LockError, writing
from .progress import progress_bar
from .stemfr import french_stem
from .sounds import words as sound_words
from .transcript import Transcript

log = logging.getLogger("indexer")

SCHEMA_VERSION = 2  # 2: light French stemmer on accented words; sound keys of doubted words
META_FILE = "indexer-index.json"
DOUBT_PROBABILITY = 0.4  # words below it get sound keys in ``doubt`` (as the low-confidence-words flag)
REINDEX_HINT = "reindex with `indexer reindex ARCHIVE`"
CORRUPT_HINT = "the transcripts are intact: `indexer ingest ARCHIVE` or `indexer reindex ARCHIVE` rebuilds it"
NO_INDEX_MESSAGE = "no index yet: run `indexer ingest ARCHIVE` or `indexer reindex`"
PAIR_SEPARATOR = "+"  # never inside a token (tokens are \w, ', ., @, #)
# Beside the index during a rebuild: the new index, then (for the swap) the old
# one; "<prefix><pid>-<random>", the same suffix for both folders of one rebuild.
REBUILD_PREFIX = ".index-rebuild-"
OLD_PREFIX = ".index-old-"
LEFTOVER_AGE = 3600.0  # s: such a folder naming no pid (older versions) is dead once untouched this long


# --- French analysis -----------------------------------------------------------

# Words, keeping inner apostrophes (aujourd'hui, l'engagement: the elision filter
# splits the latter), dotted names (owni.fr, 2.0), handles and hashtags.
TOKEN_PATTERN = r"[@#]?\w+(?:['’.]\w+)*"

# accent_map leaves the ligatures alone.
LIGATURES = {ord("œ"): "oe", ord("æ"): "ae"}
FOLD_MAP = {**accent_map, **LIGATURES}

# Elided articles/pronouns/conjunctions, either apostrophe. Only these prefixes
# are split, so aujourd'hui, quelqu'un and prud'hommes stay one word.
ELISION = re.compile(r"^(?:l|d|j|m|n|s|t|c|ç|qu|jusqu|lorsqu|puisqu|quoiqu|presqu)['’](?=\w)")

# Snowball's French list (what whoosh ships as stoplists["fr"]) plus common
# forms it lacks (les, a, ça, cet, cette…), folded like the tokens: accents never
# matter, at the price of sûr/sur and dû/du colliding.
_STOP_WORDS = """
ai aie aient aies ait as au aura aurai auraient aurais aurait auras aurez auriez
aurions aurons auront aux avaient avais avait avec avez aviez avions avons ayant
ayante ayantes ayants ayez ayons c ce ces d dans de des du elle en es est et eu
eue eues eurent eus eusse eussent eusses eussiez eussions eut eux eûmes eût eûtes
furent fus fusse fussent fusses fussiez fussions fut fûmes fût fûtes il j je l la
le leur lui m ma mais me mes moi mon même n ne nos notre nous on ont ou par pas
pour qu que qui s sa se sera serai seraient serais serait seras serez seriez
serions serons seront ses soient sois soit sommes son sont soyez soyons suis sur
t ta te tes toi ton tu un une vos votre vous y à étaient étais était étant étante
étantes étants étiez étions été étée étées étés êtes
a les ça cela ceci cet cette celui celle ceux celles où dont donc car ni si
elles ils leurs aussi très
"""
FRENCH_STOP_WORDS = frozenset(w.translate(FOLD_MAP) for w in _STOP_WORDS.split())


class ElisionFilter(Filter):
    """``l'engagement`` → ``engagement``, ``d’une`` → ``une``; ``’`` becomes ``'``."""

    def __call__(self, tokens):
        for t in tokens:
            text = t.text
            if "'" in text or "’" in text:
                m = ELISION.match(text)
                if m:
                    text = text[m.end():]
                    if t.chars:
                        t.startchar += m.end()
                t.text = text.replace("’", "'")
            yield t


class HandleFilter(Filter):
    """``@owni`` / ``#cm`` are indexed as themselves and as the bare word.

    So the query ``@owni`` finds only the handle, while ``owni`` finds both the
    handle and the spoken name. At query time only the token itself is kept.
    """

    def __call__(self, tokens):
        for t in tokens:
            yield t
            if t.mode != "query" and len(t.text) > 1 and t.text[0] in "@#":
                text, t.text = t.text, t.text[1:]
                if t.chars:
                    t.startchar += 1
                yield t
                t.text = text
                if t.chars:
                    t.startchar -= 1


class FrenchStemFilter(Filter):
    """Light French stemming of the accented word, then accent folding, with a cache.

    Handles and hashtags are left alone. See :mod:`indexer.stemfr` for why the
    stemmer sees the accents.
    """

    def __init__(self, cachesize: int = 100_000):
        self.cachesize = cachesize
        self._cache: dict[str, str] = {}

    def __getstate__(self):  # pickled with the schema: no cache
        return {"cachesize": self.cachesize}

    def __setstate__(self, state):
        self.__init__(**state)

    def __eq__(self, other):
        return type(other) is type(self)

    def __call__(self, tokens):
        cache = self._cache
        for t in tokens:
            text = t.text
            if text[0] not in "@#" and text.replace("'", "").isalpha():  # not owni.fr, 2.0
                stemmed = cache.get(text)
                if stemmed is None:
                    if len(cache) >= self.cachesize:
                        cache.clear()
                    stemmed = cache[text] = french_stem(text.translate(LIGATURES)).translate(FOLD_MAP)
                t.text = stemmed
            else:
                t.text = text.translate(FOLD_MAP)
            yield t


class FoldedStopFilter(StopFilter):
    """Whoosh's StopFilter, comparing the *folded* word with the (folded) list, so
    « à », « a », « été » and « ete » are all stop words while the kept tokens
    keep their accents for the stemmer."""

    def __init__(self, stoplist: Iterable[str]):
        super().__init__(stoplist=frozenset(stoplist), minsize=1)

    def __call__(self, tokens):
        stops = self.stops
        pos = None
        for t in tokens:
            if t.text.translate(FOLD_MAP) not in stops:
                if t.positions:  # renumbered, as StopFilter(renumber=True)
                    if pos is None:
                        pos = t.pos
                    else:
                        pos += 1
                        t.pos = pos
                t.stopped = False
                yield t
            elif not t.removestops:
                t.stopped = True
                yield t


def french_analyzer(stoplist: Iterable[str] | None = FRENCH_STOP_WORDS):
    """Lowercase, split elisions, drop stop words, stem, fold accents (in that order).

    The light stemmer sees the accented word (see :mod:`indexer.stemfr`) and
    folds accents itself, so « visibilite » = « visibilité » and
    « prolongée » = « prolonger » = « prolongé ». Stop words are removed with
    positions renumbered, so phrase queries ignore them but keep word order.
    """
    chain = (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | ElisionFilter()
    )
    if stoplist is not None:
        chain = chain | FoldedStopFilter(frozenset(stoplist))
    return chain | HandleFilter() | FrenchStemFilter()


def name_analyzer():
    """Speaker names: words, lowercased and accent-folded, no stemming."""
    return RegexTokenizer(r"\w+") | LowercaseFilter() | CharsetFilter(FOLD_MAP)


# --- fields --------------------------------------------------------------------

class SegmentText(fields.TEXT):
    """French TEXT field that keeps the analysis of the last few values.

    The ``pairs`` field is built from the same tokens, so each segment is
    analysed once, not twice, while indexing.
    """

    def __init__(self, **kwargs):
        super().__init__(analyzer=french_analyzer(), phrase=True, **kwargs)
        self._recent: dict[str, list[tuple[int, str]]] = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_recent", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._recent = {}

    def analyze(self, text: str) -> list[tuple[int, str]]:
        """(position, term) of each indexed token of ``text``."""
        found = self._recent.get(text)
        if found is None:
            found = [(t.pos, t.text) for t in self.analyzer(text, positions=True, mode="index")]
            if len(self._recent) >= 8:
                self._recent.clear()
            self._recent[text] = found
        return found

    def index(self, value, **kwargs):
        if not isinstance(value, str):
            return super().index(value, **kwargs)
        positions: dict[str, list[int]] = {}
        for pos, term in self.analyze(value):
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
    field's analysis (see :class:`SegmentText`).
    """

    def __init__(self, text_field: SegmentText, common: Iterable[str] = ()):
        super().__init__(analyzer=RegexTokenizer(r"\S+"), phrase=False)
        self.text_field = text_field
        self.common = frozenset(common)

    def index(self, value, **kwargs):
        common = self.common
        if not common:
            return []
        text, _, next_text = value.partition("\x00")
        tokens = [(pos, term) for pos, term in self.text_field.analyze(text) if term in common]
        by_pos: dict[int, list[str]] = {}
        for pos, term in tokens:
            by_pos.setdefault(pos, []).append(term)
        counts: dict[str, int] = {}
        for pos, firsts in by_pos.items():
            for a in firsts:
                for b in by_pos.get(pos + 1, ()):
                    key = a + PAIR_SEPARATOR + b
                    counts[key] = counts.get(key, 0) + 1
        own = self.text_field.analyze(text)
        if own and next_text and own[-1][1] in common:
            following = self.text_field.analyze(next_text)
            if following:
                last_pos, first_pos = own[-1][0], following[0][0]
                for a in (t for p, t in own if p == last_pos and t in common):
                    for b in (t for p, t in following if p == first_pos and t in common):
                        key = a + PAIR_SEPARATOR + b
                        counts[key] = counts.get(key, 0) + 1
        boost = self.format.field_boost
        return [(k.encode("utf-8"), n, n * boost, pack_uint(n)) for k, n in counts.items()]


class DoubtField(fields.TEXT):
    """Sound keys (:mod:`indexer.sounds`) of the words the recogniser was unsure of.

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
        boost = self.format.field_boost
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


# --- the index -----------------------------------------------------------------

@dataclass(frozen=True)
class IndexOptions:
    limitmb: int = 256          # memory per writer process for sorting postings
    procs: int = 0              # rebuild writer processes; 0: 2 for a large archive, else 1
    multisegment: bool = True   # with procs>1: keep one segment per process (no final merge)
    commit_every: int = 50      # episodes per commit when updating many
    optimize_after: int = 20    # merge into one segment when there are more
    sample_segments: int = 30_000  # read to choose the frequent words at rebuild
    lock_timeout: float = 10.0  # seconds to wait for another writer


def episode_documents(transcript: Transcript, meta: EpisodeMeta | None,
                      audio_path: str | None = None) -> Iterator[dict]:
    """The Whoosh documents of one episode: one for the episode, one per segment.

    ``audio_path`` is relative to ``ARCHIVE/audio/`` like ``Transcript.audio_path``
    (the default), or absolute.

    Without a sidecar (``meta`` None or empty) the transcript's own fields are
    used: the episode id as title, the speakers named on its segments.
    """
    meta = meta or EpisodeMeta()
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
        speaker = seg.speaker or meta.speaker_at(seg.start, seg.end) or ""
        yield dict(
            episode=transcript.episode_id, segment=seg.id,
            start=seg.start, end=seg.end, text=text, pairs=text + "\x00" + following,
            doubt=doubtful_chunks(seg.words, DOUBT_PROBABILITY) or None,
            speaker=speaker or None, chapter=meta.chapter_at(seg.start) or None,
            flags=" ".join(seg.flags) or None, date=date_value,
        )


def _read_meta(index_dir: Path) -> dict | None:
    path = index_dir / META_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexSchemaError(f"unreadable index metadata: {e}", path, REINDEX_HINT) from e


def _write_meta(index_dir: Path) -> str:
    build = uuid.uuid4().hex
    atomic_write_text(index_dir / META_FILE, json.dumps({"schema_version": SCHEMA_VERSION, "build": build}) + "\n")
    return build


def index_exists(index_dir: str | Path) -> bool:
    index_dir = Path(index_dir)
    # A TOC file, not whoosh's exists_in(): that one opens the index, and a
    # damaged TOC raises there instead of in open(), which says what to do.
    return index_dir.is_dir() and any(index_dir.glob(f"_{whoosh_index._DEF_INDEX_NAME}_*.toc"))


class FastBM25F(scoring.BM25F):
    """Whoosh's BM25F, with each segment's field lengths read once into a list.

    Scoring a frequent term visits every posting (BM25 block bounds are flat on
    short segments), and Whoosh's per-document length lookup goes through four
    Python calls; a list index is a third of the per-hit cost less. Same scores
    (test_fast_bm25f_scores_like_bm25f); falls back to Whoosh's lookup if its
    length column is not the expected one-byte column.
    """

    def scorer(self, searcher, fieldname, text, qf=1):
        scorer = super().scorer(searcher, fieldname, text, qf=qf)
        if hasattr(scorer, "dfl"):
            lengths = _field_lengths(searcher.reader(), fieldname)
            if lengths is not None:
                scorer.dfl = lengths.__getitem__
        return scorer


def _field_lengths(reader, fieldname: str) -> list[int] | None:
    cache = reader.__dict__.setdefault("_indexer_lengths", {})
    if fieldname not in cache:
        cache[fieldname] = None
        try:
            from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
            from whoosh.util.numeric import byte_to_length

            column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if column is not None and column._fixedlen == 1:
                table = [1] + [byte_to_length(b) for b in range(1, 256)]
                raw = column._dbfile.get(column._basepos, column._count)
                lengths = [table[b] for b in raw]
                lengths.extend([1] * (reader.doc_count_all() + 1 - len(lengths)))
                cache[fieldname] = lengths
        except (AttributeError, ImportError, TypeError):
            log.debug("field lengths of %s: Whoosh's own lookup", fieldname, exc_info=True)
    return cache[fieldname]


class TranscriptIndex:
    """One archive's Whoosh index. Writers are opened per call and always closed."""

    def __init__(self, index_dir: Path, ix, build: str, options: IndexOptions):
        self.index_dir = index_dir
        self.options = options
        self._ix = ix
        self._build = build
        self._searcher = None

    # -- opening ---------------------------------------------------------------

    @classmethod
    def open(cls, index_dir: str | Path, options: IndexOptions | None = None,
             create: bool = True) -> "TranscriptIndex":
        """Open the index, making an empty one if there is none (unless not ``create``).

        Raises IndexSchemaError if there is no index and not ``create`` (with
        :data:`NO_INDEX_MESSAGE`), or if it was written with another
        :data:`SCHEMA_VERSION`.
        """
        index_dir = Path(index_dir)
        options = options or IndexOptions()
        if not index_exists(index_dir):
            if not create:
                raise IndexSchemaError(NO_INDEX_MESSAGE, index_dir)
            index_dir.mkdir(parents=True, exist_ok=True)
            ix = whoosh_index.create_in(str(index_dir), build_schema())
            return cls(index_dir, ix, _write_meta(index_dir), options)
        meta = _read_meta(index_dir)
        version = (meta or {}).get("schema_version")
        if version != SCHEMA_VERSION:
            raise IndexSchemaError(
                f"index has schema version {version}, this indexer needs {SCHEMA_VERSION}",
                index_dir, REINDEX_HINT,
            )
        index = cls(index_dir, None, meta.get("build", ""), options)
        try:
            index._ix = whoosh_index.open_dir(str(index_dir))
            # Open every segment now: a truncated segment file fails here, in one
            # place, not as an EOFError in the middle of a search.
            index._searcher = index._ix.searcher(weighting=FastBM25F())
        except Exception as e:  # unpickling a schema whose classes changed, truncated TOC or segment
            raise IndexCorruptError(f"index unreadable ({type(e).__name__}: {str(e)[:160]})", index_dir,
                                    CORRUPT_HINT) from e
        return index

    @property
    def schema(self) -> fields.Schema:
        return self._ix.schema

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    # -- reading ---------------------------------------------------------------

    def searcher(self):
        """A cached searcher, refreshed only when the index changed on disk."""
        meta = _read_meta(self.index_dir)
        if meta is None and self._searcher is not None:
            return self._searcher  # another process is swapping a rebuilt index in
        meta = meta or {}
        if meta.get("build") != self._build:
            # Rebuilt (by another process or object): the directory holds a new index.
            self.close()
            self._ix = whoosh_index.open_dir(str(self.index_dir))
            self._build = meta.get("build", "")
        if self._searcher is not None and not self._searcher.up_to_date():
            # Not Searcher.refresh(): whoosh-reloaded 2.7.5 reuses readers by
            # segment id, keeping segments merged away and missing new deletions
            # (test_searcher_is_cached_and_refreshed_when_the_index_changes).
            self._searcher.close()
            self._searcher = None
        if self._searcher is None:
            self._searcher = self._ix.searcher(weighting=FastBM25F())
        return self._searcher

    def episode_ids(self) -> list[str]:
        s = self.searcher()
        return sorted(s.stored_fields(n)["episode_doc"] for n in s.document_numbers(kind="episode"))

    def doc_count(self) -> int:
        """Number of (live) segment documents."""
        s = self.searcher()
        return s.doc_count() - sum(1 for _ in s.document_numbers(kind="episode"))

    def episode_doc_count(self, episode_id: str) -> int:
        s = self.searcher()
        return sum(1 for _ in s.document_numbers(episode=episode_id))

    # -- writing ---------------------------------------------------------------

    @contextmanager
    def _writer(self, ix=None, optimize: bool = False, **writer_kwargs):
        """A Whoosh writer as a context manager: commit on success, cancel on error."""
        ix = ix or self._ix
        with writing(self.index_dir):  # disk full or read-only: one line, the last commit stays in force
            try:
                writer = ix.writer(timeout=self.options.lock_timeout, **writer_kwargs)
            except whoosh_index.LockError as e:
                raise LockError("another process is writing the index", self.index_dir,
                                "wait for it to finish, then retry") from e
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            if optimize or len(ix._segments()) >= self.options.optimize_after:
                writer.commit(optimize=True)
            else:
                writer.commit()

    def update_episode(self, transcript: Transcript, meta: EpisodeMeta | None,
                       audio_path: str | None = None) -> int:
        """Replace this episode's documents (and only these) in one commit."""
        with self._writer() as writer:
            return self._replace(writer, transcript, meta, audio_path)

    def update_episodes(self, items: Iterable[tuple[Transcript, EpisodeMeta | None]], progress: bool = False) -> int:
        """Replace many episodes, committing every ``options.commit_every`` episodes."""
        items = iter(items)
        total = 0
        bar = progress_bar(None, "index", "episode", progress)
        try:
            while True:
                batch = [item for _, item in zip(range(self.options.commit_every), items)]
                if not batch:
                    return total
                with self._writer() as writer:
                    for item in batch:
                        total += self._replace(writer, *item)
                        bar.update(1)
        finally:
            bar.close()

    def _replace(self, writer, transcript: Transcript, meta: EpisodeMeta | None,
                 audio_path: str | None = None) -> int:
        writer.delete_by_term("episode", transcript.episode_id)
        writer.delete_by_term("episode_doc", transcript.episode_id)
        count = 0
        for doc in episode_documents(transcript, meta, audio_path):
            writer.add_document(**doc)
            count += 1
        return count - 1

    def delete_episode(self, episode_id: str) -> int:
        with self._writer() as writer:
            return (writer.delete_by_term("episode", episode_id)
                    + writer.delete_by_term("episode_doc", episode_id))

    def optimize(self) -> None:
        with self._writer(optimize=True):
            pass

    @classmethod
    def build(cls, index_dir: str | Path, items: Iterable[tuple[Transcript, EpisodeMeta | None]],
              options: IndexOptions | None = None, progress: bool = True) -> "TranscriptIndex":
        """Build (or replace, whatever its schema) the index in ``index_dir``."""
        index = cls(Path(index_dir), None, "", options or IndexOptions())
        index.rebuild(items, progress=progress)
        return index

    def rebuild(self, items: Iterable[tuple[Transcript, EpisodeMeta | None]], progress: bool = True) -> int:
        """Build a new index from ``(transcript, meta)`` pairs, then swap it in.

        The new index is written beside the old one, which stays searchable
        (and untouched if this fails) until the swap. Returns the number of
        segments indexed.
        """
        parent = self.index_dir.parent
        items = iter(items)
        sample, sampled = [], 0
        for item in items:
            sample.append(item)
            sampled += len(item[0].segments)
            if sampled >= self.options.sample_segments:
                break
        common = common_terms(s.text for item in sample for s in item[0].segments)
        items = itertools.chain(sample, items)
        tmp = parent / f"{REBUILD_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            ix = whoosh_index.create_in(str(tmp), build_schema(common))
            kwargs = {"limitmb": self.options.limitmb}
            # Whoosh's multiprocessing writer pays off past the sample size (memory:
            # about limitmb x 2 per process).
            procs = self.options.procs or (min(2, os.cpu_count() or 1) if sampled >= self.options.sample_segments else 1)
            multisegment = procs > 1 and self.options.multisegment
            if procs > 1:
                kwargs.update(procs=procs, multisegment=multisegment)
            count = 0
            bar = progress_bar(None, "reindex", "episode", progress)
            try:
                with self._writer(ix, optimize=not multisegment, **kwargs) as writer:
                    for transcript, meta, *audio in items:
                        for doc in episode_documents(transcript, meta, *audio):
                            writer.add_document(**doc)
                        count += len(transcript.segments)
                        bar.update(1)
            finally:
                bar.close()
            build = _write_meta(tmp)
            log.info("indexed %d segments (%d frequent words for phrase pairs)", count, len(common))
            ix.close()
            self.close()
            self._swap_in(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._ix = whoosh_index.open_dir(str(self.index_dir))
        self._build = build
        return count

    def _swap_in(self, new_dir: Path) -> None:
        old = None
        if self.index_dir.exists():
            old = self.index_dir.parent / (OLD_PREFIX + new_dir.name.removeprefix(REBUILD_PREFIX))
            self.index_dir.rename(old)
        new_dir.rename(self.index_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


# --- crash recovery --------------------------------------------------------------

_TOC_TEMP = re.compile(r"^_MAIN_\d+\.toc\.[0-9.]+$")


def recover_index(index_dir: Path) -> int:
    """Clean what a killed Whoosh commit or a killed rebuild leaves behind.

    Whoosh's write lock is a flock, freed by the kernel when its owner dies, so
    the index never stays locked. A killed commit leaves the previous TOC in
    force (the new one is written to a temporary name, then renamed), plus the
    temporary TOC, the writer's ``MAIN.tmp`` folder and segment files no TOC
    names; the next commit removes only the last. These are removed while
    holding the write lock, so no live writer's files are touched.

    A killed rebuild leaves its folders beside the index (see
    :func:`_recover_rebuilds`). Returns the number of files and folders removed.
    """
    removed = _recover_rebuilds(index_dir)
    if not index_dir.is_dir():
        return removed
    storage = FileStorage(str(index_dir))
    lock = storage.lock("WRITELOCK")
    if not lock.acquire(False):
        return removed  # a live writer: its files are not leftovers
    try:
        count = 0
        for path in index_dir.iterdir():
            if _TOC_TEMP.match(path.name):
                path.unlink()
                count += 1
            elif path.is_dir() and path.name.endswith(".tmp"):
                shutil.rmtree(path, ignore_errors=True)
                count += 1
        toc = None
        if index_exists(index_dir):
            with contextlib.suppress(Exception):  # damaged: TranscriptIndex.open says so, ingest rebuilds it
                toc = whoosh_index.TOC.read(storage, whoosh_index._DEF_INDEX_NAME)
        if toc is not None:
            before = set(os.listdir(index_dir))
            whoosh_index.clean_files(storage, whoosh_index._DEF_INDEX_NAME, toc.generation, toc.segments)
            count += len(before - set(os.listdir(index_dir)))
        if count:
            log.warning("index: removed %d file(s) of a commit that was interrupted (the index holds its "
                        "last complete commit; what it missed is indexed now)", count)
        return removed + count
    finally:
        lock.release()


def _recover_rebuilds(index_dir: Path) -> int:
    """Remove the rebuild and old-index folders of rebuilds that were killed.

    Only folders whose rebuild is over: its process is gone (or, for a name
    without a pid, the folder has not changed for :data:`LEFTOVER_AGE`) and no
    writer holds its lock. A rebuild killed between the two renames of the
    swap left no index at all: its new index (complete: the swap starts after
    the commit), or else the index it replaced, is put back first.
    """
    parent = index_dir.parent
    if not parent.is_dir():
        return 0
    leftovers = [p for p in parent.iterdir() if p.is_dir() and p.name.startswith((REBUILD_PREFIX, OLD_PREFIX))
                 and _abandoned(p)]
    if not index_dir.exists():
        olds = sorted((p for p in leftovers if p.name.startswith(OLD_PREFIX)),
                      key=lambda p: p.stat().st_mtime, reverse=True)
        for old in olds:
            new = parent / (REBUILD_PREFIX + old.name.removeprefix(OLD_PREFIX))
            found = new if new in leftovers else old
            if (_read_meta_quietly(found) or {}).get("schema_version") == SCHEMA_VERSION:
                try:
                    found.rename(index_dir)
                except OSError:  # an index appeared meanwhile: keep it
                    break
                leftovers.remove(found)
                log.warning("index: a rebuild was killed while swapping indexes; %s", "its new index is now "
                            "in place" if found is new else "the index it was replacing is back in place")
                break
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    if leftovers:
        log.warning("index: removed %d folder(s) left by a rebuild that was interrupted (%s)", len(leftovers),
                    ", ".join(sorted(p.name for p in leftovers)))
    return len(leftovers)


def _abandoned(folder: Path) -> bool:
    """The rebuild that made ``folder`` is over (it removes its folders itself unless killed)."""
    token = folder.name.removeprefix(REBUILD_PREFIX).removeprefix(OLD_PREFIX)
    pid, dash, _ = token.partition("-")
    try:
        if dash and pid.isdigit():
            if int(pid) == os.getpid() or pid_alive(int(pid)):
                return False
        elif time.time() - folder.stat().st_mtime < LEFTOVER_AGE:
            return False
        lock = FileStorage(str(folder)).lock("WRITELOCK")
        if not lock.acquire(False):
            return False  # a writer (or a process it forked) still works there
        lock.release()
    except OSError:
        return False
    return True


def discard_index(index_dir: Path) -> None:
    """Remove an unreadable index (rebuilt from the transcripts, the source of truth)."""
    storage = FileStorage(str(index_dir))
    lock = storage.lock("WRITELOCK")
    if not lock.acquire(False):
        raise LockError("another process is writing the index", index_dir, "wait for it to finish, then retry")
    try:
        for path in index_dir.iterdir():
            if path.name == "WRITELOCK":
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    finally:
        lock.release()


def _read_meta_quietly(index_dir: Path) -> dict | None:
    try:
        return _read_meta(index_dir)
    except IndexSchemaError:
        return None
