"""Numbers as the French pages and notebooks write them: « 15,3 % » (Babel's ``format_percent`` for ``fr``)."""

from __future__ import annotations


def percent(share: float, digits: int = 1) -> str:
    """``0.153`` → ``15,3 %`` (decimal comma, no-break space before the sign)."""
    return f"{share * 100:.{digits}f}".replace(".", ",") + "\u00a0%"
