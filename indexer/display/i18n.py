"""The one message catalog of everything a notebook, page, player or plot shows, and numbers and
dates written the way its language writes them (Babel).

Gettext-style: display code writes ``_("hits.count", n=4, query=q)``; the active
catalog (French by default) maps each message id to its text, a ``str.format``
template. A message that depends on a count has its plural forms keyed by Babel's
plural categories (``{"one": …, "other": …}``): French says « 0 résultat », « 1
résultat », « 2 résultats ». A catalog is a module ``indexer/display/locales/<language>.py``
holding ``MESSAGES`` (a dict); adding a language is adding such a module (or calling
:func:`add_catalog`), and :func:`use` / :func:`language` switch to it.

Message ids are literal strings at every call, so the tests can check that each
catalog holds every id the code uses. Code, the CLI, logs and docs stay English and
do not go through here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
from typing import Iterator, Mapping

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal, format_percent

DEFAULT_LANGUAGE = "fr"

Message = str | Mapping[str, str]  # a template, or templates by plural category

_catalogs: dict[str, Mapping[str, Message]] = {}
_active = DEFAULT_LANGUAGE


def add_catalog(language: str, messages: Mapping[str, Message]) -> None:
    """Make ``messages`` the catalog of ``language`` (a Babel locale name: ``fr``, ``en``, ``fr_CA``…)."""
    Locale.parse(language)  # an unknown locale fails here, not at the first number
    _catalogs[language] = messages


def catalog(language: str | None = None) -> Mapping[str, Message]:
    """The messages of ``language`` (the active one by default), loaded from ``locales/`` on first use."""
    language = language or _active
    if language not in _catalogs:
        try:
            module = importlib.import_module(f"{__package__}.locales.{language}")
        except ModuleNotFoundError:
            raise LookupError(f"no display catalog for language {language!r}; "
                              f"known: {', '.join(sorted(_catalogs)) or DEFAULT_LANGUAGE}") from None
        add_catalog(language, module.MESSAGES)
    return _catalogs[language]


def use(language: str) -> None:
    """Show everything in ``language`` from now on (its catalog must exist)."""
    global _active
    catalog(language)
    _active = language


@contextlib.contextmanager
def language(name: str) -> Iterator[None]:
    """``with language("en"): ...``: another language for a while."""
    before = _active
    use(name)
    try:
        yield
    finally:
        use(before)


def active_language() -> str:
    return _active


def _(message_id: str, n: float | None = None, **values) -> str:
    """The text of ``message_id`` in the active catalog, filled with ``values`` (and ``n``, the count that
    chooses its plural form). A missing id raises KeyError: the tests check every catalog holds every id."""
    message = catalog()[message_id]
    if not isinstance(message, str):
        category = Locale.parse(_active).plural_form(abs(n or 0))
        message = message.get(category) or message["other"]
    if isinstance(n, int):
        n = number(n, 0)  # « 1 234 »
    return message.format(n=n, **values)


def flag_label(flag: str) -> str:
    """A segment's or a quote's flag (``suspect``, ``corrected``…) as the catalog names it; as it is if unknown."""
    message = catalog().get(f"flag.{flag}")
    return message if isinstance(message, str) else flag


def number(value: float, digits: int = 1) -> str:
    """``1234.5`` → « 1 234,5 » in French (grouping and decimal sign of the active language)."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=_active)


def short_number(value: float) -> str:
    """Up to two decimals, none shown if zero: « 0,25 », « 1 200 » (plot ticks)."""
    return format_decimal(value, format="#,##0.##", locale=_active)


def percent(share: float, digits: int = 1) -> str:
    """``0.153`` → « 15,3 % » in French (no-break space before the sign)."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "\u00a0%"
    return format_percent(share, format=pattern, locale=_active)


def sidecar_date(text: str) -> str:
    """A sidecar date (``2011``, ``2011-06`` or ``2011-06-14``) as the language writes it: « 14 juin 2011 »,
    « juin 2011 », « 2011 »; anything else is shown as it is."""
    try:
        if len(text) == 10:
            return format_date(dt.date.fromisoformat(text), format="long", locale=_active)
        if len(text) == 7:
            return format_skeleton("yMMMM", dt.date.fromisoformat(text + "-01"), locale=_active)
    except ValueError:
        pass
    return text


__all__ = ["DEFAULT_LANGUAGE", "_", "active_language", "add_catalog", "catalog", "flag_label", "language", "number",
           "percent", "short_number", "sidecar_date", "use"]
