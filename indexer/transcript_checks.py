"""What a transcript's JSON must hold, field by field, checked before it becomes a :class:`~indexer.transcript.Transcript`.

Transcripts are the source of truth and people edit them by hand. A string
``start``, a null ``end`` or a ``NaN`` time used to pass the loader and crash
ingest, reindex, quotes, exports and the player later with a TypeError (issue
25): here it is one :class:`~indexer.errors.TranscriptError` naming the file
and the field. The scores Whisper gives (``avg_logprob``…) must be numbers but
may be infinite; times and word probabilities must be finite.
"""

from __future__ import annotations

import math
from pathlib import Path

from .errors import TranscriptError
from .files import json_depth

# options, diarization and noise are free-form objects the package writes 2-3 levels deep.
MAX_FREE_FORM_DEPTH = 8
_FIX_HINT = "fix that field by hand, or delete the file to transcribe the episode again"


def is_number(value) -> bool:
    """A real number, not a bool (JSON's true is no number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value) -> bool:
    return is_number(value) and math.isfinite(value)


def _text_or_none(value) -> bool:
    return value is None or isinstance(value, str)


def _fail(path, where: str, expected: str, value) -> TranscriptError:
    shown = repr(value) if not isinstance(value, (list, dict)) else type(value).__name__
    return TranscriptError(f"transcript field '{where}' must be {expected}, got {shown[:60]}", path, _FIX_HINT)


_TOP = {"episode_id": (lambda v: isinstance(v, str) and v != "", "a non-empty text"),
        "audio_path": (lambda v: isinstance(v, str), "a text"),
        "audio_sha256": (lambda v: isinstance(v, str), "a text"),
        "duration": (_finite, "a finite number of seconds"),
        "language": (_text_or_none, "a language code"),
        "model": (lambda v: isinstance(v, str), "a text"),
        "engine": (lambda v: isinstance(v, str), "a text"),
        "created": (lambda v: isinstance(v, str), "a text"),
        "fingerprint": (lambda v: isinstance(v, str), "a text"),
        "options": (lambda v: isinstance(v, dict), "an object"),
        "diarization": (lambda v: v is None or isinstance(v, dict), "an object or null"),
        "noise": (lambda v: v is None or isinstance(v, dict), "an object or null"),
        "segments": (lambda v: isinstance(v, list), "a list")}
_SEGMENT = {"id": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
            "start": (_finite, "a finite number of seconds"),
            "end": (_finite, "a finite number of seconds"),
            "text": (lambda v: isinstance(v, str), "a text"),
            "words": (lambda v: isinstance(v, list), "a list"),
            "speaker": (_text_or_none, "a text or null"),
            "avg_logprob": (is_number, "a number"),
            "no_speech_prob": (is_number, "a number"),
            "compression_ratio": (is_number, "a number"),
            "flags": (lambda v: isinstance(v, list) and all(isinstance(f, str) for f in v), "a list of texts")}
_WORD = {"start": (_finite, "a finite number of seconds"),
         "end": (_finite, "a finite number of seconds"),
         "word": (lambda v: isinstance(v, str), "a text"),
         "probability": (_finite, "a finite number"),
         "speaker": (_text_or_none, "a text or null")}


def _check_fields(data: dict, rules: dict, path, prefix: str) -> None:
    for name, (ok, expected) in rules.items():
        if name in data and not ok(data[name]):
            raise _fail(path, prefix + name, expected, data[name])


def check_transcript_data(data, path: str | Path | None = None) -> None:
    """TranscriptError (naming ``path`` and the field) unless ``data`` has the types of a transcript.

    Missing and unknown fields are left to :meth:`Transcript.from_dict`, which names them.
    """
    if not isinstance(data, dict):
        raise TranscriptError(f"transcript must be a JSON object, got {type(data).__name__}", path, _FIX_HINT)
    _check_fields(data, _TOP, path, "")
    for name in ("options", "diarization", "noise"):
        if json_depth(data.get(name), MAX_FREE_FORM_DEPTH) > MAX_FREE_FORM_DEPTH:
            raise TranscriptError(f"transcript field '{name}' is nested too deeply", path, _FIX_HINT)
    diarization = data.get("diarization") or {}
    labels, turns = diarization.get("labels", []), diarization.get("turns", [])
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise _fail(path, "diarization.labels", "a list of texts", labels)
    if not isinstance(turns, list) or not all(
            isinstance(t, list) and len(t) == 3 and _finite(t[0]) and _finite(t[1]) and isinstance(t[2], str)
            for t in turns):
        raise _fail(path, "diarization.turns", "a list of [start, end, label]", turns)
    for i, segment in enumerate(data.get("segments") or []):
        if not isinstance(segment, dict):
            raise _fail(path, f"segments[{i}]", "an object", segment)
        _check_fields(segment, _SEGMENT, path, f"segments[{i}].")
        words = segment.get("words") or []
        if not all(map(_plain_word, words)):  # the field by field check only where something is wrong
            for j, word in enumerate(words):
                if not isinstance(word, dict):
                    raise _fail(path, f"segments[{i}].words[{j}]", "an object", word)
                _check_fields(word, _WORD, path, f"segments[{i}].words[{j}].")


_NUMBER_TYPES = (int, float)


def _plain_word(word) -> bool:
    """A word with every field present and of its type: what nearly every word is. One pass without a
    function call per field keeps the check at a fifth of a transcript's load time (12,000 words: ~5 ms)."""
    if type(word) is not dict:
        return False
    start, end, probability = word.get("start"), word.get("end"), word.get("probability")
    speaker = word.get("speaker")
    return (type(start) in _NUMBER_TYPES and type(end) in _NUMBER_TYPES and type(probability) in _NUMBER_TYPES
            and math.isfinite(start) and math.isfinite(end) and math.isfinite(probability)
            and type(word.get("word")) is str and (speaker is None or type(speaker) is str))


def check_transcript_id(transcript_id: str, expected: str | None, path: str | Path | None = None) -> None:
    """A transcript stored as ``<expected>.json`` must say it is that episode (else it would be indexed,
    quoted and counted as another one: issue 25 saw one file hijack the episode it named)."""
    if expected is not None and transcript_id != expected:
        raise TranscriptError(f"transcript says it is episode {transcript_id!r} but its file is that of {expected!r}",
                              path, "fix its episode_id, or rename the file; the next ingest transcribes the "
                                    "episode again if it is left as it is")
