"""What a search may ask for (:class:`SearchOptions`) and the bounds every query is held to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

QUERY_FIELDS = ("text", "speaker", "episode", "date", "chapter", "title", "speakers", "flags")
# Fields indexed on the episode documents only: resolved to episode ids first.
EPISODE_FIELDS = frozenset({"title", "speakers"})
MAX_EDIT_DISTANCE = 2
SMALL_FILTER = 0.02  # filters allowing fewer documents than this share are AND-ed into the query
FUZZY_PREFIX = 1  # letters a fuzzy term must share with its matches (`mot~1/2` asks for more)
# hybrid: graded words fused with meaning (the default; "any", its former name, still works);
# words: graded words only; meaning: meaning only; all: every word, strictly (AND).
MATCH_MODES = ("hybrid", "words", "meaning", "all")
MATCH_ALIASES = {"any": "hybrid"}
# Fields a query may filter by (typed `speaker:x`, or given as arguments): one path for both.
FILTER_FIELDS = tuple(f for f in QUERY_FIELDS if f != "text")
# Bounds on hostile queries (issue 15): on a 10,000-segment archive `a*` took
# 78 s and a 100 KB query 3.4 s before these.
MAX_QUERY_CHARS = 1000
MAX_MEANING_QUERY_CHARS = 10_000  # a longer plain query is answered by meaning alone (cut to the model's tokens)
MAX_QUERY_CLAUSES = 64      # words, phrases, fields... of one query
MAX_WILDCARD_TERMS = 256    # index terms one wildcard may expand to
MIN_WILDCARD_LETTERS = 3    # letters a wildcard starting with * or ? must hold
MAX_EPISODE_FILTER = 10_000  # episode ids of one filter (10,000: 0.1 s of CPU on a small archive)
QUERY_TIME_LIMIT = 10.0     # s; a query still running then is stopped
ECHO_CHARS = 60             # of the query quoted back in an error


@dataclass(frozen=True)
class SearchOptions:
    limit: int = 20
    speaker: str | None = None
    episode: str | Sequence[str] | None = None  # id, ids, or a prefix ending in "*"
    date: str | tuple[str | None, str | None] | None = None  # "2011", ("2010", "2011-06")
    exclude_suspect: bool = False
    context: int = 0               # neighbouring segments on each side, in Hit.context
    group_by_episode: bool = False  # hits of one episode together, best episode first
    match: str = "hybrid"          # see MATCH_MODES
