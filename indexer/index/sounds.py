"""Sound keys: a rough French phonetic spelling of words and of adjacent word pairs.

Speech recognisers split and glue words (« sauvegardé » → « sauf gardée »,
« Radio USB » → « RadioUSB », « a joint » → « Ajoint », « échec » →
« et chaque »). A word and a pair of words that sound alike get close keys:
``sauvegardé`` → ``sovgardE``, ``sauf`` + ``gardée`` → ``sofgardE`` (one edit).
The index keeps the keys of the words the recogniser was unsure of, alone and
glued to each neighbour (field ``doubt``), so a query word is looked up
against both, exactly and within a small edit distance (see
:mod:`indexer.search.graded`).

The rules are a small hand-made French phonetic spelling (in the spirit of
Phonex / Soundex-FR, not a faithful copy of either): silent finals, mute
``e``, ``qu``/``c``/``k``, ``ch``, ``ph``, ``eau``/``au``/``o``,
``ai``/``ei``/``é``, nasal vowels as one symbol, doubled letters once.
"""

from __future__ import annotations

import re
from functools import lru_cache

from whoosh.analysis import LowercaseFilter, RegexTokenizer
from whoosh.support.charset import accent_map

from .analysis import TOKEN_PATTERN, ElisionFilter

_FIRST = [
    (re.compile(r"[éèêë]"), "E"),  # pronounced e, unlike a mute final e
    (re.compile(r"ç"), "s"),
    (re.compile(r"œ|æ"), "E"),
]
_RULES = [
    (re.compile(r"[^a-zE0-9]"), ""),
    (re.compile(r"sch|sh|ch"), "x"),
    (re.compile(r"ph"), "f"),
    (re.compile(r"tion"), "sion"),
    (re.compile(r"qu|q|ck"), "k"),
    (re.compile(r"gu(?=[eiyE])"), "g"),
    (re.compile(r"c(?=[eiyE])"), "s"),
    (re.compile(r"c"), "k"),
    (re.compile(r"g(?=[eiyE])"), "j"),
    (re.compile(r"h"), ""),
    (re.compile(r"y"), "i"),
    (re.compile(r"w"), "v"),
    (re.compile(r"eau|au"), "o"),
    (re.compile(r"oin(?![aeiouEn])"), "wI"),
    (re.compile(r"oi"), "wa"),
    (re.compile(r"ou"), "u"),
    (re.compile(r"ai|ei"), "E"),
    (re.compile(r"(?:er|ez|et)$"), "E"),
    (re.compile(r"(?:[ae][nm])(?![aeiouEnm])"), "A"),
    (re.compile(r"(?:[aeu]?i|u)[nm](?![aeiouEnm])"), "I"),
    (re.compile(r"o[nm](?![aeiouEnm])"), "O"),
    (re.compile(r"(.)\1+"), r"\1"),
    (re.compile(r"(?<=.)(?:e?[tdxzsp])$"), ""),       # silent final consonants (-es, -ent → -e, -A)
    (re.compile(r"(?<=.)e$"), ""),                    # mute final e
    (re.compile(r"(?<=[^aeiouEAIO])e(?=[^aeiouEAIO][aeiouEAIO])"), ""),  # e caduc: sauvegarde
]

# Words as the index sees them before stop words and stemming (the elided
# article dropped: « qu'en » → « en »).
_SURFACE = RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | ElisionFilter()
_ELIDED = re.compile(r"\w+['’]$")  # « qu' » of « qu'en »: shown with its word


@lru_cache(maxsize=200_000)
def sound_key(word: str) -> str:
    """The sound key of one lowercased word (may be empty)."""
    w = word
    for pattern, repl in _FIRST:
        w = pattern.sub(repl, w)
    w = w.translate(accent_map)
    for pattern, repl in _RULES:
        w = pattern.sub(repl, w)
    return w


def words(text: str) -> list[tuple[str, int, int]]:
    """(key, start, end) of each word of ``text``, with empty keys left out."""
    out = []
    for t in _SURFACE(text, chars=True, mode="index"):
        key = sound_key(t.text.lstrip("@#"))
        if key:
            start = t.startchar
            elided = _ELIDED.search(text, 0, start) if start and text[start - 1] in "'’" else None
            out.append((key, elided.start() if elided else start, t.endchar))
    return out


def units(text: str) -> list[tuple[str, int, int]]:
    """(key, start, end) of each word and of each pair of adjacent words (keys joined)."""
    found = words(text)
    pairs = [(a + b, s, e) for (a, s, _), (b, _, e) in zip(found, found[1:])]
    return found + pairs
