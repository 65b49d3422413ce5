"""Searching the index: query language, graded matching, hits.

Query language (Whoosh's, with French defaults): plain words are graded
(segments with every word first, then most words, then close forms: see
:mod:`indexer.search.graded`; ``match="all"`` AND-s them strictly);
``"réseaux sociaux"`` is a phrase (``"…"~2``: two words may come between); ``OR``, ``NOT``, parentheses; fields
``speaker:``, ``episode:``, ``chapter:``, ``title:``, ``speakers:``,
``flags:`` and ``date:2011`` / ``date:[2010 TO 2011-06]``; wildcards
``commun*`` (matched against stems); typos with ``communauter~`` (edit
distance 1, ``~2`` for two; the first letter must match, ``~1/2`` asks for
two). Ranking is BM25F. Hostile queries are bounded (wildcard expansion,
length, clauses, time: the ``MAX_*`` constants of :mod:`~indexer.search.options`).

Speed (Whoosh is pure Python, so the work per query is what is avoided):
one searcher is cached per index and reopened only after a change; phrases of
frequent words are single ``pairs`` terms (see :mod:`indexer.index`); API
filters are AND-ed into the query when narrow (an episode) and otherwise
passed as a document set cached per searcher (a speaker, a period); no masks
or constant-score wrappers, which make Whoosh list every matching document;
highlighting re-analyses only the 20 hits shown, matching the index terms
of the query (wildcards and typos expanded), with no Whoosh fragmenter.

One role per module: ``options`` (what a search asks, the bounds), ``query``
(parse, check, rewrite, typed filters split from the words), ``graded``
(approximate matching), ``meaning`` (search by meaning, hybrid fusion, more
like this), ``run`` (the search itself), ``hits`` (the results as data). The HTML of hits is in :mod:`indexer.display`.
"""

from ..display.search_box import search_box
from .hits import Hit, Hits, hit_lines, quote_command
from .match import Match, MatchKind
from .meaning import similar
from .options import MATCH_MODES, QUERY_FIELDS, SearchOptions
from .query import filter_query, parse_query, split_filters
from .run import search

__all__ = ["Hit", "Hits", "MATCH_MODES", "Match", "MatchKind", "QUERY_FIELDS", "SearchOptions", "filter_query",
           "hit_lines",
           "parse_query", "quote_command", "search", "search_box", "similar", "split_filters"]
