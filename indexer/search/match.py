"""How one query word matched a hit (:attr:`indexer.search.Hit.matched`): a small type, not a string to slice."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MatchKind(StrEnum):
    EXACT = "exact"         # the word itself (or its stem) is in the segment
    APPROX = "approx"       # a close spelling or sound is: ``form`` says which words
    MEANING = "meaning"     # only search by meaning found the segment


@dataclass(frozen=True)
class Match:
    """``str()`` is the form JSON and the CLI have always shown: ``exact``, ``approx:<form>``, ``meaning``
    (:meth:`parse` reads it back)."""

    kind: MatchKind
    form: str = ""          # approx: the transcript's words found instead of the query word

    @property
    def is_exact(self) -> bool:
        return self.kind == MatchKind.EXACT

    @property
    def is_approx(self) -> bool:
        return self.kind == MatchKind.APPROX

    @property
    def by_meaning(self) -> bool:
        return self.kind == MatchKind.MEANING

    @classmethod
    def approx(cls, form: str) -> "Match":
        return cls(MatchKind.APPROX, form)

    @classmethod
    def parse(cls, text: str) -> "Match":
        """``"exact"``, ``"approx:<form>"`` or ``"meaning"`` → a Match (ValueError otherwise)."""
        kind, _, form = text.partition(":")
        return cls(MatchKind(kind), form)

    def __str__(self) -> str:
        return f"{self.kind}:{self.form}" if self.is_approx else str(self.kind)

    def __repr__(self) -> str:  # a notebook printing hit.matched reads the familiar form
        return f"Match.parse({str(self)!r})"


EXACT = Match(MatchKind.EXACT)
BY_MEANING = Match(MatchKind.MEANING)
