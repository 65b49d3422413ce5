"""BM25F with each segment's field lengths read once into a list (same scores, less per hit)."""

from __future__ import annotations

import logging
import weakref

from whoosh import scoring
from whoosh.util.numeric import byte_to_length

from .whoosh_internals import one_byte_lengths

log = logging.getLogger("indexer")

_BYTE_TO_LENGTH = [1] + [byte_to_length(b) for b in range(1, 256)]


class FieldLengths:
    """Each segment's field lengths as a list, read once per segment reader and field.

    Keyed by the reader itself, weakly: a segment reader never changes (a commit
    or a deletion gives the searcher new readers, read anew), and its entries go
    when the reader does. None for a field whose lengths cannot be read so
    (Whoosh's own lookup is used then).
    """

    def __init__(self):
        self._by_reader: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self, reader, fieldname: str) -> list[int] | None:
        by_field = self._by_reader.setdefault(reader, {})
        if fieldname not in by_field:
            by_field[fieldname] = self._read(reader, fieldname)
        return by_field[fieldname]

    @staticmethod
    def _read(reader, fieldname: str) -> list[int] | None:
        try:
            raw = one_byte_lengths(reader, fieldname)
        except (AttributeError, ImportError, TypeError):
            log.debug("field lengths of %s: Whoosh's own lookup", fieldname, exc_info=True)
            return None
        if raw is None:
            return None
        lengths = [_BYTE_TO_LENGTH[b] for b in raw]
        lengths.extend([1] * (reader.doc_count_all() + 1 - len(lengths)))
        return lengths


class FastBM25F(scoring.BM25F):
    """Whoosh's BM25F, with each segment's field lengths read once into a list.

    Scoring a frequent term visits every posting (BM25 block bounds are flat on
    short segments), and Whoosh's per-document length lookup goes through four
    Python calls; a list index is a third of the per-hit cost less. Same scores
    (test_fast_bm25f_scores_like_bm25f); falls back to Whoosh's lookup if its
    length column is not the expected one-byte column. One per searcher, which
    owns the lengths it read (:class:`FieldLengths`).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lengths = FieldLengths()

    def scorer(self, searcher, fieldname, text, qf=1):
        scorer = super().scorer(searcher, fieldname, text, qf=qf)
        if hasattr(scorer, "dfl"):
            lengths = self.lengths.get(searcher.reader(), fieldname)
            if lengths is not None:
                scorer.dfl = lengths.__getitem__
        return scorer
