"""The query language: parsing, checks against hostile queries, and rewriting into Whoosh queries.

Bounds: see :mod:`indexer.search.options`. Rewriting expands wildcards and
typos to the index's terms, phrases of frequent words to ``pairs`` terms, and
episode-level fields to episode ids; :func:`filter_query` turns the API filters
into one query.
"""

from __future__ import annotations

import re

from whoosh import query as wq
from whoosh.qparser import AndGroup, FuzzyTermPlugin, QueryParser, QueryParserError
from whoosh.qparser.plugins import FieldsPlugin

from ..errors import QueryError
from ..index import PAIR_SEPARATOR, TOKEN_PATTERN, DateField, name_analyzer
from ..index.whoosh_internals import expanded_terms
from . import graded
from .options import (ECHO_CHARS, EPISODE_FIELDS, FILTER_FIELDS, FUZZY_PREFIX, MAX_EDIT_DISTANCE,
                      MAX_EPISODE_FILTER, MAX_QUERY_CHARS, MAX_QUERY_CLAUSES, MAX_WILDCARD_TERMS,
                      MIN_WILDCARD_LETTERS, QUERY_FIELDS, SearchOptions)


def make_parser(schema) -> QueryParser:
    """The parser of the query language, over the fields a query may name (:data:`QUERY_FIELDS`).

    The other fields (``start``, ``audio``…) are only stored: Whoosh's parser
    raises a bare Exception on them, so it does not see them, and ``start:1``
    is refused below as an unknown field, in one line.
    """
    queryable = schema.copy()  # shallow: 0.01 ms
    for name in list(queryable.names()):
        if name not in QUERY_FIELDS:
            queryable.remove(name)
    parser = QueryParser("text", queryable, group=AndGroup)
    parser.replace_plugin(FieldsPlugin(remove_unknown=False))
    parser.add_plugin(FuzzyTermPlugin())
    return parser


def echo(text: str) -> str:
    """The query as quoted in an error: its start only, when it is long."""
    return repr(text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…")


def parse_query(schema, text: str) -> wq.Query:
    """Parse the query language into a Whoosh query; QueryError if it is not valid."""
    if not text or not text.strip():
        raise QueryError("empty query")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query too long ({len(text):,} characters, at most {MAX_QUERY_CHARS:,}): {echo(text)}")
    # Whoosh reads one digit after a word's ~ (`mot~99` is `mot~9` and a word "9"): check what was typed.
    for typed in re.findall(r"(?<=\w)~(\d+)", text):
        if int(typed) > MAX_EDIT_DISTANCE:
            raise QueryError(f"edit distance ~{typed} is too large (at most ~{MAX_EDIT_DISTANCE})")
    try:
        q = make_parser(schema).parse(text)
    # The parser is lenient: it raises only its own error, and lets through the
    # ValueError of a field's parse_range (a bad date in date:[abc TO 2011]).
    except (QueryParserError, ValueError) as e:
        raise QueryError(f"cannot parse query {echo(text)}: {e}") from e
    leaves = [leaf for leaf in _walk(q) if leaf.is_leaf()]
    if len(leaves) > MAX_QUERY_CLAUSES:
        raise QueryError(f"query too long ({len(leaves)} words or clauses, at most {MAX_QUERY_CLAUSES}): "
                         f"{echo(text)}")
    for leaf in _walk(q):
        error = getattr(leaf, "error", None)
        if error:
            raise QueryError(f"bad query {echo(text)}: {error}")
        name = leaf.field() if hasattr(leaf, "field") else None
        if name and name not in QUERY_FIELDS:
            raise QueryError(f"unknown field '{name}:' in {echo(text)} (fields: {', '.join(QUERY_FIELDS)})")
        if isinstance(leaf, wq.Every) and name in (None, "text", "chapter", "title"):
            raise QueryError(f"query too broad: {echo(text)} matches every segment (add a word)")
        if isinstance(leaf, (wq.Wildcard, wq.Prefix)) and not isinstance(leaf, wq.FuzzyTerm):
            pattern = leaf.text
            if pattern[:1] in ("*", "?") and sum(c.isalnum() for c in pattern) < MIN_WILDCARD_LETTERS:
                raise QueryError(f"wildcard too broad: {pattern}* (a wildcard starting with * or ? needs "
                                 f"at least {MIN_WILDCARD_LETTERS} letters)")
        if isinstance(leaf, wq.FuzzyTerm):
            if leaf.maxdist > MAX_EDIT_DISTANCE:
                raise QueryError(f"edit distance ~{leaf.maxdist} is too large (at most ~{MAX_EDIT_DISTANCE})")
            # Whoosh compares the word with every term sharing the prefix, in
            # Python: requiring the first letter keeps that to a few ms.
            leaf.prefixlength = max(leaf.prefixlength, FUZZY_PREFIX)
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        raise QueryError(f"nothing to search in {echo(text)} (only stop words such as « le », « de »?)")
    return q


def _walk(q: wq.Query):
    yield q
    for child in q.children():
        yield from _walk(child)


# What a clause that matches nothing (an episode field no episode has, a wildcard
# or a typo with no term in the index) becomes. Not wq.NullQuery: And.normalize()
# drops that, so `title:zzz lecteurs` found every « lecteurs ». No document has
# this term (``kind`` is "episode" on episode documents, absent on segments).
MATCHES_NOTHING = wq.Term("kind", "nothing")


def rewrite(q: wq.Query, memos) -> wq.Query:
    """Phrases of frequent words → ``pairs`` terms; episode-level fields → episode ids
    (``memos``: the index's :class:`~indexer.index.memos.SearcherMemos`)."""
    searcher = memos.searcher
    fieldname = q.field() if q.is_leaf() and hasattr(q, "field") else None
    if fieldname in EPISODE_FIELDS:  # phrases too: `title:"table ronde"` matched episode documents
        # (Not ConstantScoreQuery: its matcher lists every matching document.)
        ids = _episodes_matching(searcher, q)
        return wq.Or([wq.Term("episode", i) for i in ids]) if ids else MATCHES_NOTHING
    if isinstance(q, wq.Phrase):
        return _phrase(q, searcher.schema["pairs"].common)
    if q.is_leaf():
        if isinstance(q, wq.FuzzyTerm) and fieldname == "text":
            terms = graded.close_terms(memos, "text", q.text, q.maxdist, q.prefixlength)
            return wq.Or([wq.Term("text", t, boost=q.boost) for t in sorted(terms)]) if terms else MATCHES_NOTHING
        if isinstance(q, (wq.Wildcard, wq.Prefix)):
            return _expand_wildcard(q, searcher)
        return q
    return q.apply(lambda child: rewrite(child, memos))


def _phrase(q: wq.Phrase, common: frozenset[str]) -> wq.Query:
    if q.fieldname != "text" or q.slop != 1 or len(q.words) < 2:
        return q
    pairs = [wq.Term("pairs", a + PAIR_SEPARATOR + b) for a, b in zip(q.words, q.words[1:])
             if a in common and b in common]
    if len(q.words) == 2 and pairs:
        return wq.Term("pairs", pairs[0].text, boost=q.boost)
    if pairs:  # the pairs narrow the candidates; the phrase checks the whole order
        return wq.And(pairs + [q], boost=q.boost)
    return q


def _expand_wildcard(q, searcher) -> wq.Query:
    """A wildcard as the list of its terms; QueryError past :data:`MAX_WILDCARD_TERMS`.

    Whoosh would OR every matching term and score them all (`a*` took 78 s on
    a 10,000-segment archive): a wildcard that broad finds nothing useful.
    """
    terms = []
    for term in expanded_terms(q, searcher.reader()):
        terms.append(term.decode("utf-8") if isinstance(term, bytes) else term)
        if len(terms) > MAX_WILDCARD_TERMS:
            raise QueryError(f"wildcard too broad: {q.text}{'*' if isinstance(q, wq.Prefix) else ''} matches "
                             f"over {MAX_WILDCARD_TERMS} words (add letters)")
    if not terms:
        return MATCHES_NOTHING
    return wq.Or([wq.Term(q.fieldname, t, boost=q.boost) for t in terms])


def _episodes_matching(searcher, q: wq.Query) -> list[str]:
    docs = searcher.docs_for_query(wq.And([wq.Term("kind", "episode"), q]))
    return sorted({searcher.stored_fields(n)["episode_doc"] for n in docs})


def filter_query(schema, options: SearchOptions) -> wq.Query | None:
    """The API filters (speaker, episode, date) as one query, or None."""
    parts: list[wq.Query] = []
    if options.speaker:
        words = [t.text for t in name_analyzer()(options.speaker)]
        if not words:
            raise QueryError(f"speaker {options.speaker!r} has no word to search")
        # One speaker per segment: all the words of the name, without a position check.
        parts.append(wq.And([wq.Term("speaker", w) for w in words]))
    if options.episode:
        ids = [options.episode] if isinstance(options.episode, str) else list(dict.fromkeys(options.episode))
        if len(ids) > MAX_EPISODE_FILTER:  # 300,000 ids took 35 s before the time limit could start
            raise QueryError(f"episode filter too long ({len(ids):,} episodes, at most {MAX_EPISODE_FILTER:,})",
                             hint="filter on a prefix ('2011/*') or a date instead")
        parts.append(wq.Or([wq.Prefix("episode", i[:-1]) if i.endswith("*") else wq.Term("episode", i)
                            for i in ids]))
    if options.date:
        date_field: DateField = schema["date"]
        try:
            if isinstance(options.date, str):
                parts.append(date_field.parse_query("date", options.date))
            else:
                start, end = options.date
                parts.append(date_field.parse_range("date", start, end, False, False))
        except ValueError as e:
            raise QueryError(str(e)) from e
    if not parts:
        return None
    return wq.And(parts) if len(parts) > 1 else parts[0]


# A typed filter: `speaker:dupont`, `speaker:"Claire Dubois"`, `date:[2010 TO 2011]`, `episode:2011/*`.
_FILTER_CLAUSE = re.compile(r'(?<![\w:])(?:' + "|".join(FILTER_FIELDS) + r')[:](?:"[^"]*"|\[[^\]]*\]|\{[^}]*\}|\S+)')


def split_filters(text: str) -> tuple[str, str]:
    """(the typed filters, the words) of a query of plain words and typed filters (``moderateurs date:2013``),
    so that the words are answered as a plain query is (graded, and by meaning) under those filters, as
    filters given as arguments are. Any other query: ``("", text)``, answered as it is."""
    clauses = [m.group(0) for m in _FILTER_CLAUSE.finditer(text)]
    if not clauses:
        return "", text
    rest = " ".join(_FILTER_CLAUSE.sub(" ", text).split())
    if not rest or graded.plain_words(rest) is None:
        return "", text
    return " ".join(clauses), rest


def combine_filters(*filters: wq.Query | None) -> wq.Query | None:
    parts = [f for f in filters if f is not None]
    return None if not parts else parts[0] if len(parts) == 1 else wq.And(parts)


def bare_words(schema, text: str) -> list[tuple[str, frozenset[str]]]:
    """The bare words of an explicit query (outside fields, operators, negations and wildcards), with their terms."""
    analyzer = schema["text"].analyzer
    bare = re.sub(r'\b\w+:(?:"[^"]*"|\[[^\]]*\]|\S+)', " ", text)
    bare = re.sub(r'\b(?:AND)?NOT\s+(?:\([^)]*\)|"[^"]*"|\S+)', " ", bare)  # a word excluded is not sought
    out = []
    for word in re.findall(TOKEN_PATTERN + r"[*?~]?", bare):
        if word in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE") or word[-1] in "*?~":
            continue
        terms = frozenset(t.text for t in analyzer(word, mode="query"))
        if terms:
            out.append((word, terms))
    return out


def matches_without_terms(q: wq.Query) -> bool:
    """``q`` can match a document holding none of its terms (NOT x, *)."""
    if isinstance(q, (wq.Not, wq.Every)):
        return True
    if isinstance(q, wq.AndNot):
        return matches_without_terms(q.a)
    if isinstance(q, wq.And):
        return all(matches_without_terms(c) for c in q.children())
    if isinstance(q, wq.Or):
        return any(matches_without_terms(c) for c in q.children())
    return False


def highlight_terms(q: wq.Query, searcher) -> frozenset[str]:
    """Index terms of the text to mark: expanded wildcards/fuzzy, phrase words."""
    terms = set()
    for fieldname, term in q.existing_terms(searcher.reader(), phrases=True, expand=True):
        term = term.decode("utf-8") if isinstance(term, bytes) else term
        if fieldname == "text":
            terms.add(term)
        elif fieldname == "pairs":
            terms.update(term.split(PAIR_SEPARATOR))
    return frozenset(terms)
