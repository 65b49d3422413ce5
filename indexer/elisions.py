"""French elisions as one word: « c » + « 'est » → « c'est » (and « peut » + « -être » → « peut-être »).

Whisper splits a word at an apostrophe or a hyphen: its words start at a
punctuation token, and faster-whisper's ``prepend_punctuations`` holds ``'``
and ``-``, so « c'est » comes out as `` c`` + ``'est``, « aujourd'hui » as
`` Aujourd`` + ``'hui`` and « peut-être » as `` peut`` + ``-être`` (seen with
both engines on the base model). A quote widened by a word then ended inside
one (« …Quel coup c »), and the player, the index's doubtful words and the
corrections' alignment saw two words where there is one.

:func:`merge_elisions` joins them back. It runs once at transcription, for
every engine (:func:`indexer.transcribe.run.transcribe_file`), and on
transcripts of schema 1 and 2 when they are read
(:meth:`indexer.transcript.Transcript.from_dict`). It never changes the text:
only parts written without a space between them are joined, so the words
still spell the segment exactly. Words as Whisper writes them carry their
leading space (`` mot``); in a list where none does (words made by hand), a
missing space says nothing, and nothing is joined.

Works on any word dataclass with ``word``, ``start``, ``end`` and
``probability`` (this module imports no other of the package: the transcript
module imports it).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence, TypeVar

APOSTROPHES = ("'", "’")
HYPHENS = ("-", "\u2010", "\u2011")   # hyphen-minus, hyphen, non-breaking hyphen
JOINERS = APOSTROPHES + HYPHENS

W = TypeVar("W")
S = TypeVar("S")


def _joins(left: str, right: str) -> bool:
    """Is ``right`` the rest of the word ``left`` (cut at its apostrophe or hyphen)?"""
    if not right or right[0].isspace() or not any(c.isalnum() for c in left):
        return False  # a space before ``right``: two words (a quotation mark opening, a dash)
    return right.startswith(JOINERS) or left.endswith(JOINERS)


def merge_elisions(words: Sequence[W]) -> list[W]:
    """``words`` with each word cut at its apostrophe or hyphen joined back into one.

    The joined word spans both parts (first start, last end), its probability
    is the lower of the two (the recogniser was no surer of the whole than of
    its weaker part), and it keeps the first part's speaker. Words that need no
    joining are returned as they are (the same objects).
    """
    if not any(w.word[:1].isspace() for w in words):
        return list(words)
    merged: list[W] = []
    for w in words:
        if merged and _joins(merged[-1].word, w.word):
            left = merged[-1]
            merged[-1] = replace(left, word=left.word + w.word, start=min(left.start, w.start),
                                 end=max(left.end, w.end), probability=min(left.probability, w.probability))
        else:
            merged.append(w)
    return merged


def merge_segment_elisions(segments: Sequence[S]) -> list[S]:
    """``segments`` with :func:`merge_elisions` applied to each one's words (never across segments)."""
    return [replace(s, words=merge_elisions(s.words)) for s in segments]
