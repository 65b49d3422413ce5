"""Editors' corrections, stored as an overlay beside the machine transcript.

The machine transcript under ``ARCHIVE/transcripts/`` is never edited. Each
correction is an entry of ``ARCHIVE/corrections/<episode-id>.json``::

    {"schema": 1, "episode": "2011/debat-2",
     "corrections": [{"kind": "text", "segment_id": 12, "start": 61.2, "end": 66.0,
                      "source_text": "<machine text of segment 12>",
                      "before": "<text shown before>", "after": "<corrected text>",
                      "who": "sandra", "when": "2024-05-02T10:00:00+00:00"}, ...]}

:func:`apply_corrections` turns a machine transcript and its overlay into the
*effective* transcript (what the index, the quotes and the exports show).

Re-transcription changes segment ids, times and words, so a correction is not
tied to a segment id: it is re-anchored on the segment(s) that overlap its
original time span and whose text still resembles ``source_text``
(:data:`MIN_SIMILARITY`). A correction that no longer finds its segment is
*stale*: it stays in the overlay, is reported by :func:`stale_corrections` and
logged as a warning, and is not applied.

Speaker corrections either target a segment (anchored as above) or a time
range (``segment_id`` None): every segment whose middle falls in the range.

Name corrections (``kind: "name"``, ``before: "S1"``, ``after: "Sandra"``)
name an automatic speaker label (:mod:`indexer.speakers`) on every segment and
word that carries it, unless a speaker correction set that segment by hand.
They are not anchored in time: labels are numbered in order of first
appearance, which a re-transcription of the same audio keeps. A sidecar's
``speakers: [Sandra, Julien]`` on an episode with automatic labels names them
in that order; name corrections override it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fcntl
import getpass
import json
import logging
import os
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

from .archive import EPISODE_ID_HINT, ArchiveLayout, EpisodeMeta, atomic_write_text, is_episode_id
from .errors import IndexerError, TranscriptError
from .transcript import Segment, Transcript, Word, load_transcript

log = logging.getLogger("indexer")

SCHEMA_VERSION = 1
KINDS = ("text", "speaker", "name")   # name: an automatic label (before) gets a name (after)
MIN_SIMILARITY = 0.6     # difflib ratio between the stored and the current segment text
TIME_TOLERANCE = 2.0     # seconds a re-transcribed segment may have moved
MAX_RUN = 3              # a re-transcription may split one segment into up to this many
CORRECTED_FLAG = "corrected"
SPEAKER_FLAG = "speaker-corrected"


@dataclass(frozen=True)
class Correction:
    """One editor's change: new text or speaker for a segment (or a time range)."""

    kind: str                      # "text" | "speaker"
    after: str                     # the corrected text / the speaker's name
    before: str | None = None      # what was shown before (audit trail only)
    segment_id: int | None = None  # None: a speaker set on the time range [start, end]
    start: float = 0.0             # the machine segment's span when corrected
    end: float = 0.0
    source_text: str = ""          # the machine segment's text when corrected: the anchor
    who: str = ""
    when: str = ""

    def describe(self) -> str:
        if self.kind == "name":
            return f"name {self.after!r} for speaker {self.before} by {self.who or '?'} ({self.when or 'undated'})"
        target = f"segment {self.segment_id}" if self.segment_id is not None else "range"
        return (f"{self.kind} correction of {target} at {self.start:.2f}–{self.end:.2f} s "
                f"by {self.who or '?'} ({self.when or 'undated'})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, path: Path | None = None) -> "Correction":
        try:
            correction = cls(**data)
        except TypeError as e:
            raise TranscriptError(f"correction entry has a missing or unknown field: {e}", path,
                                  "fix or remove that entry") from e
        if correction.kind not in KINDS:
            raise TranscriptError(f"unknown correction kind {correction.kind!r} (valid: {', '.join(KINDS)})",
                                  path)
        return correction


# --- the overlay file ------------------------------------------------------------

def corrections_path(archive_root: str | Path, episode_id: str) -> Path:
    """``corrections/<id>.json``; EpisodeIdError for an id outside the grammar (see ArchiveLayout)."""
    return ArchiveLayout(Path(archive_root)).corrections_path(episode_id)


def load_corrections(archive_root: str | Path, episode_id: str) -> list[Correction]:
    """The episode's corrections, oldest first; [] when there are none."""
    path = corrections_path(archive_root, episode_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise TranscriptError(f"corrections file is not valid JSON: {e}", path,
                              "fix it by hand; the machine transcript is untouched") from e
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise TranscriptError(f"corrections schema {schema!r} is not supported (expected {SCHEMA_VERSION})", path)
    entries = data.get("corrections")
    if not isinstance(entries, list):
        raise TranscriptError("corrections file has no 'corrections' list", path)
    return [Correction.from_dict(entry, path) for entry in entries]


def save_corrections(archive_root: str | Path, episode_id: str, corrections: Sequence[Correction]) -> Path:
    path = corrections_path(archive_root, episode_id)
    data = {"schema": SCHEMA_VERSION, "episode": episode_id,
            "corrections": [c.to_dict() for c in corrections]}
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    return path


@contextmanager
def _overlay_lock(archive_root: Path):
    """Serialise read-modify-write of overlays between editors on one archive."""
    lock_path = ArchiveLayout(Path(archive_root)).corrections_dir / ".lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def add_correction(archive_root: str | Path, episode_id: str, correction: Correction) -> list[Correction]:
    """Append one correction to the overlay (atomically, under a lock); returns them all."""
    with _overlay_lock(Path(archive_root)):
        corrections = load_corrections(archive_root, episode_id) + [correction]
        save_corrections(archive_root, episode_id, corrections)
    return corrections


# --- making corrections ------------------------------------------------------------

def _who(author: str | None) -> str:
    if author:
        return author
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (containers without a passwd entry)
        return "unknown"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _segment(transcript: Transcript, segment_id: int) -> Segment:
    for seg in transcript.segments:
        if seg.id == segment_id:
            return seg
    ids = [s.id for s in transcript.segments]
    span = f"{ids[0]}–{ids[-1]}" if ids else "none"
    raise TranscriptError(f"episode {transcript.episode_id!r} has no segment {segment_id!r} (ids: {span})",
                          hint="use the segment_id of a search hit")


def text_correction(machine: Transcript, effective: Transcript, segment_id: int, text: str,
                    author: str | None = None) -> Correction:
    """A correction replacing the text of segment ``segment_id`` (ids of the machine transcript)."""
    seg = _segment(machine, segment_id)
    shown = next((s.text for s in effective.segments if s.id == segment_id), seg.text)
    return Correction("text", text.strip(), shown.strip(), seg.id, seg.start, seg.end, seg.text.strip(),
                      _who(author), _now())


def speaker_correction(machine: Transcript, effective: Transcript, target: int | tuple[float, float],
                       name: str, meta: EpisodeMeta | None = None, author: str | None = None) -> Correction:
    """Name the speaker of one segment (``target`` an id) or of a time range ``(start, end)``."""
    meta = meta or EpisodeMeta()
    name = speaker_name(name)
    if isinstance(target, (tuple, list)):
        start, end = (float(t) for t in target)
        if end <= start:
            raise TranscriptError(f"speaker range ends ({end:g} s) before it starts ({start:g} s)")
        touched = [s for s in effective.segments if start <= (s.start + s.end) / 2 <= end]
        if not touched:
            raise TranscriptError(f"no segment of episode {machine.episode_id!r} lies in {start:g}–{end:g} s")
        before = ", ".join(sorted({s.speaker or meta.speaker_at(s.start, s.end) or "?" for s in touched}))
        return Correction("speaker", name, before, None, start, end, "", _who(author), _now())
    seg = _segment(machine, int(target))
    shown = next((s for s in effective.segments if s.id == seg.id), seg)
    before = shown.speaker or meta.speaker_at(seg.start, seg.end)
    return Correction("speaker", name, before, seg.id, seg.start, seg.end, seg.text.strip(),
                      _who(author), _now())


# --- anchoring -----------------------------------------------------------------------

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
    labels = set(transcript.speaker_labels)
    return [c for c in corrections
            if (c.before not in labels if c.kind == "name" else anchor(transcript.segments, c) is None)]


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


# --- names of automatic speakers -------------------------------------------------------

def speaker_names(transcript: Transcript, corrections: Sequence[Correction],
                  sidecar_names: Sequence[str] = ()) -> dict[str, str]:
    """Label -> name: the sidecar's names in order of first appearance, then name corrections."""
    labels = transcript.speaker_labels
    names = dict(zip(labels, sidecar_names))
    for c in corrections:
        if c.kind == "name" and c.before in labels:
            names[c.before] = c.after
    return names


def apply_names(transcript: Transcript, names: dict[str, str]) -> Transcript:
    """Automatic labels replaced by names on segments and words. A speaker set by hand
    (set_speaker) is a name, not a label, so it stays; set by hand to a label, it is named."""
    labels = set(transcript.speaker_labels)
    names = {k: v for k, v in names.items() if k in labels}
    if not names:
        return transcript

    def rename(speaker):
        return names.get(speaker, speaker)

    return transcript.with_segments([
        replace(s, speaker=rename(s.speaker),
                words=[replace(w, speaker=rename(w.speaker)) for w in s.words])
        for s in transcript.segments])


def speaker_name(name, label: str = "a speaker") -> str:
    """A speaker name as stored: text, not empty, no control characters (a newline in a
    name would forge subtitle cues and log lines)."""
    if not isinstance(name, str) or not name.strip():
        raise TranscriptError(f"the name of {label} cannot be empty (a text), got {name!r}")
    if re.search(r"[\x00-\x1f\x7f]", name):
        raise TranscriptError(f"the name of {label} has a control character (a line break?): {name!r}")
    return name.strip()


def name_correction(transcript: Transcript, label: str, name: str, author: str | None = None) -> Correction:
    labels = transcript.speaker_labels
    if label not in labels:
        known = ", ".join(labels) or "none: the episode has no automatic speakers"
        raise TranscriptError(f"episode {transcript.episode_id!r} has no speaker {label!r} (labels: {known})")
    return Correction("name", speaker_name(name, label), label, who=_who(author), when=_now())


def _sidecar_names(archive_root: Path, transcript: Transcript) -> tuple[str, ...]:
    """Names listed in the sidecar without turns, for episodes with automatic labels."""
    if not transcript.speaker_labels:
        return ()
    try:
        meta = episode_meta(ArchiveLayout(Path(archive_root)), transcript)
    except IndexerError:
        return ()  # a bad sidecar is reported by ingest; labels stay unnamed here
    return () if meta.turns else meta.speakers


# --- archive-level operations (what Archive.correct / set_speaker call) ------------------

def episode_meta(layout: ArchiveLayout, transcript: Transcript) -> EpisodeMeta:
    """The episode's sidecar metadata, or an empty one if its audio is gone."""
    audio_path = layout.audio_file(transcript.audio_path)
    if audio_path is None or not audio_path.is_file():
        return EpisodeMeta()
    return layout.episode_for(audio_path).meta


def machine_transcript(layout: ArchiveLayout, episode_id: str,
                       error: type[IndexerError] = TranscriptError) -> Transcript:
    """The episode's machine transcript; ``error`` (a one-liner with close ids) if there is none."""
    valid = is_episode_id(episode_id)
    path = layout.transcript_path(episode_id) if valid else None  # EpisodeIdError for a link out of the archive
    if path is None or not path.is_file():
        known = sorted(p.relative_to(layout.transcripts_dir).with_suffix("").as_posix()
                       for p in layout.transcripts_dir.rglob("*.json")) if layout.transcripts_dir.is_dir() else []
        close = difflib.get_close_matches(str(episode_id), known, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else EPISODE_ID_HINT
        problem = "no transcript" if valid else "not a valid episode id"
        raise error(f"unknown episode {episode_id!r}: {problem}", path, hint)
    return load_transcript(path)


def with_corrections(archive_root: str | Path, transcript: Transcript) -> Transcript:
    """The effective transcript: ``transcript`` with its episode's corrections applied,
    and its automatic speakers named (sidecar names, then name corrections)."""
    corrections = load_corrections(archive_root, transcript.episode_id)
    effective = apply_corrections(transcript, corrections)
    return apply_names(effective, names_of_speakers(archive_root, transcript, corrections))


def names_of_speakers(archive_root: str | Path, transcript: Transcript,
                      corrections: Sequence[Correction] | None = None) -> dict[str, str]:
    """The names given to the episode's automatic labels (sidecar, then name corrections)."""
    if not transcript.speaker_labels:
        return {}
    if corrections is None:
        corrections = load_corrections(archive_root, transcript.episode_id)
    return speaker_names(transcript, corrections, _sidecar_names(Path(archive_root), transcript))


def effective_transcript(layout: ArchiveLayout, episode_id: str) -> Transcript:
    """The machine transcript with the episode's corrections applied."""
    return with_corrections(layout.root, machine_transcript(layout, episode_id))


def _update_index(index, effective: Transcript, meta: EpisodeMeta) -> None:
    from .index import IndexEntry

    index.update_episode(IndexEntry(effective, meta))
    # A refreshed Whoosh searcher reuses the reader of a segment whose
    # deletions changed and would still find the replaced text: drop it.
    index.close()


def reindex_episode(layout: ArchiveLayout, index, episode_id: str) -> Transcript:
    """Put the effective transcript of one episode in ``index`` (as ingest does)."""
    machine = machine_transcript(layout, episode_id)
    effective = with_corrections(layout.root, machine)
    _update_index(index, effective, episode_meta(layout, machine))
    return effective


def record(layout: ArchiveLayout, index, episode_id: str, make) -> Correction:
    """Build a correction with ``make(machine, effective, meta)``, store it, reindex the episode.

    ``index`` may be None (no index yet): the overlay is still written and the
    next ingest or reindex picks it up.
    """
    machine = machine_transcript(layout, episode_id)
    effective = with_corrections(layout.root, machine)
    meta = episode_meta(layout, machine)
    correction = make(machine, effective, meta)
    add_correction(layout.root, episode_id, correction)
    if index is not None:
        _update_index(index, with_corrections(layout.root, machine), meta)
    return correction


def correct(layout: ArchiveLayout, index, episode_id: str, segment_id: int, text: str,
            author: str | None = None) -> Correction:
    return record(layout, index, episode_id,
                  lambda machine, effective, meta: text_correction(machine, effective, segment_id, text, author))


def set_speaker(layout: ArchiveLayout, index, episode_id: str, target: int | tuple[float, float], name: str,
                author: str | None = None) -> Correction:
    return record(layout, index, episode_id,
                  lambda machine, effective, meta: speaker_correction(machine, effective, target, name, meta, author))


def name_speakers(layout: ArchiveLayout, index, episode_id: str, names: dict[str, str],
                  author: str | None = None) -> list[Correction]:
    """Name automatic speaker labels (``{"S1": "Sandra"}``): stored in the overlay, then reindexed."""
    if not isinstance(names, dict) or not names:
        raise TranscriptError("names must be a mapping of labels to names, e.g. {'S1': 'Sandra'}")
    machine = machine_transcript(layout, episode_id)
    made = [name_correction(machine, str(label), name, author) for label, name in names.items()]
    with _overlay_lock(layout.root):
        save_corrections(layout.root, episode_id, load_corrections(layout.root, episode_id) + made)
    if index is not None:
        _update_index(index, with_corrections(layout.root, machine), episode_meta(layout, machine))
    return made


__all__ = [
    "Correction", "add_correction", "apply_names", "name_speakers", "names_of_speakers", "speaker_names", "align_words", "anchor", "apply_corrections", "correct",
    "corrections_path", "effective_transcript", "episode_meta", "load_corrections", "machine_transcript",
    "reindex_episode", "save_corrections", "set_speaker", "similarity", "speaker_correction",
    "stale_corrections", "text_correction", "with_corrections",
]
