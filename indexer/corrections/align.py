"""Anchoring and applying corrections: the effective transcript from the machine one and its overlay.

Re-transcription changes segment ids, times and words, so a correction is not
tied to a segment id: it is re-anchored on the segment(s) that overlap its
original time span and whose text still resembles ``source_text``
(:data:`MIN_SIMILARITY`). A correction that no longer finds its segment is
*stale*: it stays in the overlay, is reported by :func:`stale_corrections` and
logged as a warning, and is not applied.

Speaker corrections either target a segment (anchored as above) or a time
range (``segment_id`` None): every segment whose middle falls in the range.
"""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
from dataclasses import replace
from typing import Iterable, Sequence

from ..transcript import Flag, Segment, Transcript, Word
from .names import anchored_label
from .overlay import Correction

log = logging.getLogger("indexer")

MIN_SIMILARITY = 0.6     # difflib ratio between the stored and the current segment text
TIME_TOLERANCE = 2.0     # seconds a re-transcribed segment may have moved
MAX_RUN = 3              # a re-transcription may split one segment into up to this many
CORRECTED_FLAG = Flag.CORRECTED          # the names this package has always used
SPEAKER_FLAG = Flag.SPEAKER_CORRECTED


def normalise_token(token: str) -> str:
    """Case, accents' composition, apostrophes and surrounding punctuation do not count."""
    token = unicodedata.normalize("NFC", token).lower().replace("’", "'")
    return re.sub(r"^[^\w]+|[^\w]+$", "", token)


def _normalise_text(text: str) -> str:
    return " ".join(t for t in (normalise_token(w) for w in text.split()) if t)


def similarity(a: str, b: str) -> float:
    """difflib ratio of two texts after normalisation (1.0 = same words)."""
    a, b = _normalise_text(a), _normalise_text(b)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def anchor(segments: Sequence[Segment], correction: Correction) -> list[int] | None:
    """Indices of the segments a correction applies to, or None if it is stale."""
    if correction.segment_id is None:
        found = [i for i, s in enumerate(segments)
                 if correction.start <= (s.start + s.end) / 2 <= correction.end]
        return found or None
    lo, hi = correction.start - TIME_TOLERANCE, correction.end + TIME_TOLERANCE
    near = [i for i, s in enumerate(segments) if s.end >= lo and s.start <= hi]
    # Unchanged transcript: same id, same text, same place ("Merci." recurs elsewhere).
    for i in near:
        s = segments[i]
        if s.id == correction.segment_id and _normalise_text(s.text) == _normalise_text(correction.source_text):
            return [i]
    best, best_key = None, None
    for n, first in enumerate(near):
        run: list[int] = []
        for i in near[n:n + MAX_RUN]:
            if run and i != run[-1] + 1:
                break
            run.append(i)
            text = " ".join(segments[k].text for k in run)
            ratio = similarity(correction.source_text, text)
            span_start, span_end = segments[run[0]].start, segments[run[-1]].end
            drift = abs(span_start - correction.start) + abs(span_end - correction.end)
            key = (round(ratio, 3), -len(run), -drift)  # most similar, then fewest, then closest
            if ratio >= MIN_SIMILARITY and (best_key is None or key > best_key):
                best, best_key = list(run), key
    return best


def stale_corrections(transcript: Transcript, corrections: Iterable[Correction]) -> list[Correction]:
    """Corrections that no longer find their segment (or speaker label) in ``transcript`` (not applied)."""
    return [c for c in corrections
            if (anchored_label(transcript, c) is None if c.kind == "name" else anchor(transcript.segments, c) is None)]


# --- applying ---------------------------------------------------------------------

def _spread(tokens: Sequence[str], start: float, end: float, prefix: str) -> list[Word]:
    """Words for ``tokens`` over [start, end], each in proportion to its length."""
    if end < start:
        end = start
    weights = [len(normalise_token(t)) + 1 for t in tokens]
    total = float(sum(weights))
    words, t = [], start
    for token, weight in zip(tokens, weights):
        nxt = t + (end - start) * weight / total
        words.append(Word(round(t, 3), round(nxt, 3), prefix + token, 1.0))
        t = nxt
    if words:
        words[-1].end = round(end, 3)
    return words


def _tokens(text: str) -> list[str]:
    """Words of ``text``; French detached punctuation (« mot », tout !) sticks to its word."""
    tokens: list[str] = []
    pending = ""
    for raw in text.split():
        if not re.search(r"\w", raw):
            if tokens and not pending and raw not in ("«", "“", "(", "["):
                tokens[-1] += " " + raw
            else:
                pending += raw + " "
            continue
        tokens.append(pending + raw)
        pending = ""
    if pending:
        if tokens:
            tokens[-1] += " " + pending.strip()
        else:
            tokens.append(pending.strip())
    return tokens


def align_words(words: Sequence[Word], text: str, start: float, end: float) -> list[Word]:
    """Timed words for ``text`` (a correction of the segment whose words are ``words``).

    Tokens that match an original word (after :func:`normalise_token`) keep its
    timing and probability; changed tokens share the span of the words they
    replace; inserted ones the gap between their neighbours (or the segment's
    edges). New words get probability 1.0: an editor has checked them.
    """
    tokens = _tokens(text)
    if not tokens:
        return []
    # Whisper's words carry their leading space; hand-made ones may not.
    prefix = " " if not words or any(w.word[:1].isspace() for w in words) else ""
    if not words:
        return _spread(tokens, start, end, prefix)
    a = [normalise_token(w.word) for w in words]
    b = [normalise_token(t) for t in tokens]
    out: list[Word] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            for k in range(j2 - j1):
                w = words[i1 + k]
                out.append(Word(w.start, w.end, prefix + tokens[j1 + k], w.probability))
        elif tag == "replace":
            out.extend(_spread(tokens[j1:j2], words[i1].start, words[i2 - 1].end, prefix))
        elif tag == "insert":
            left = words[i1 - 1].end if i1 > 0 else min(start, words[0].start)
            right = words[i1].start if i1 < len(words) else max(end, words[-1].end)
            out.extend(_spread(tokens[j1:j2], left, max(left, right), prefix))
        # "delete": the words are gone
    return out


def _merge(segments: Sequence[Segment]) -> Segment:
    first = segments[0]
    if len(segments) == 1:
        return first
    flags = list(dict.fromkeys(f for s in segments for f in s.flags))
    return replace(
        first, end=segments[-1].end, text=" ".join(s.text.strip() for s in segments),
        words=[w for s in segments for w in s.words],
        speaker=next((s.speaker for s in segments if s.speaker), None),
        avg_logprob=min(s.avg_logprob for s in segments),
        no_speech_prob=max(s.no_speech_prob for s in segments),
        compression_ratio=max(s.compression_ratio for s in segments), flags=flags,
    )


def _with_flag(flags: list[str], flag: str) -> list[str]:
    return flags if flag in flags else [*flags, flag]


def apply_corrections(transcript: Transcript, corrections: Sequence[Correction]) -> Transcript:
    """The effective transcript: ``transcript`` with ``corrections`` applied in order.

    Returns a new Transcript (the argument is not changed). Corrected segments
    get the flag ``corrected`` (text) or ``speaker-corrected``. A text
    correction re-anchored on several segments of a new transcription merges
    them into one. Stale corrections are logged and skipped.
    """
    if not any(c.kind != "name" for c in corrections):
        return transcript
    source = transcript.segments
    # Blocks of original segment indices, each shown as one effective segment.
    block_of = list(range(len(source)))
    blocks: dict[int, tuple[list[int], Segment]] = {i: ([i], replace(s, flags=list(s.flags)))
                                                     for i, s in enumerate(source)}
    for correction in corrections:
        if correction.kind == "name":
            continue  # applied after the others, by apply_names
        indices = anchor(source, correction)
        if indices is None:
            log.warning("%s: %s no longer matches its segment (%r); kept in the overlay, not applied",
                        transcript.episode_id, correction.describe(), correction.source_text[:60])
            continue
        keys = list(dict.fromkeys(block_of[i] for i in indices))
        if correction.kind == "text":
            if len(keys) > 1:
                members = sorted(i for k in keys for i in blocks[k][0])
                merged = _merge([blocks[k][1] for k in keys])
                for k in keys:
                    del blocks[k]
                blocks[keys[0]] = (members, merged)
                for i in members:
                    block_of[i] = keys[0]
                keys = keys[:1]
            members, seg = blocks[keys[0]]
            words = align_words(seg.words, correction.after, seg.start, seg.end)
            blocks[keys[0]] = (members, replace(seg, text=correction.after, words=words,
                                                flags=_with_flag(seg.flags, CORRECTED_FLAG)))
        else:
            for k in keys:
                members, seg = blocks[k]
                blocks[k] = (members, replace(seg, speaker=correction.after,
                                              flags=_with_flag(seg.flags, SPEAKER_FLAG)))
    return transcript.with_segments([blocks[k][1] for k in sorted(blocks)])
