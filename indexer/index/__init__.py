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

Locking: Whoosh's write lock is ``fcntl.flock`` on ``index/MAIN_WRITELOCK``. The
kernel releases it when the owner dies (even on SIGKILL), so a dead process
leaves no stale lock; the empty lock file staying behind is harmless, and
segment files of a writer that died before committing are removed by the next
commit. What a killed commit or a killed rebuild leaves is cleaned by
:func:`recover_index` (``ingest`` runs it first).

The files, in the order of the imports between them:

* ``stemmer.py``, ``analysis.py``: the French light stemmer, the tokenizer and
  filters, ``french_analyzer`` and ``name_analyzer``;
* ``sounds.py``: sound keys of words (the ``doubt`` field, graded search);
* ``fields.py``: the custom fields (segment text, phrase pairs, doubted sounds, dates);
* ``schema.py``: the schema, the frequent words, ``IndexEntry`` and the documents of an episode;
* ``whoosh_internals.py``: the only place that reads private Whoosh internals;
* ``meta.py``: ``indexer-index.json`` and whether an index exists;
* ``scoring.py``: ``FastBM25F`` and the field lengths it owns;
* ``writing.py``: ``IndexOptions`` and the lifecycle of a writer;
* ``rebuild.py``: a new index written beside the old one, then swapped in;
* ``store.py``: ``TranscriptIndex``, the object the rest of the package uses;
* ``memos.py``: ``SearcherMemos``, what one searcher worked out (filters, episode fields, terms), owned by the index;
* ``recovery.py``: cleaning after a killed commit or rebuild, discarding an unreadable index.
"""

from __future__ import annotations

# What the rest of the package, the tests, the benchmarks and the notebooks import
# from ``indexer.index``. The analysis and field classes are also here for the
# indexes already on disk: Whoosh pickles the schema into the index, and those
# written before this package was split name them ``indexer.index.<Class>``.
from . import sounds
from .analysis import (
    FOLD_MAP, FRENCH_STOP_WORDS, TOKEN_PATTERN, ElisionFilter, FoldedStopFilter, FrenchStemFilter, HandleFilter,
    french_analyzer, name_analyzer,
)
from .fields import DOUBT_PROBABILITY, PAIR_SEPARATOR, DateField, DoubtField, PairsField, SegmentText
from .meta import META_FILE, index_exists
from .recovery import discard_index, recover_index
from .schema import SCHEMA_VERSION, IndexEntry, build_schema, common_terms, episode_documents
from .scoring import FastBM25F
from .store import TranscriptIndex
from .writing import IndexOptions

# Whoosh pickles these classes into every index's TOC. They are pickled under the
# package's name, not their file's, so that moving them between the files of
# indexer/index/ never makes an index unreadable; indexes written before the
# split name them the same way, and older versions of indexer read new ones.
for _pickled in (ElisionFilter, FoldedStopFilter, FrenchStemFilter, HandleFilter,
                 DateField, DoubtField, PairsField, SegmentText):
    _pickled.__module__ = __name__
del _pickled

__all__ = [
    "DOUBT_PROBABILITY", "FOLD_MAP", "FRENCH_STOP_WORDS", "META_FILE", "PAIR_SEPARATOR", "SCHEMA_VERSION",
    "TOKEN_PATTERN", "DateField", "DoubtField", "ElisionFilter", "FastBM25F", "FoldedStopFilter", "FrenchStemFilter",
    "HandleFilter", "IndexEntry", "IndexOptions", "PairsField", "SegmentText", "TranscriptIndex", "build_schema",
    "common_terms", "discard_index", "episode_documents", "french_analyzer", "index_exists", "name_analyzer",
    "recover_index", "sounds",
]
