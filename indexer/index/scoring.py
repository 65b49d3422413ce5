"""BM25F with each segment's field lengths read once into a list (same scores, less per hit)."""

from __future__ import annotations

import logging

from whoosh import scoring

log = logging.getLogger("indexer")


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
