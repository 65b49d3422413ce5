"""Making one correction from an editor's request: a segment's text, a speaker, a label's name."""

from __future__ import annotations

import datetime as dt
import getpass

from ..errors import CorrectionError, SpeakerNameError, control_character, printable
from ..speakers.prints import prints_from_diarization
from ..transcript import Diarization, Segment, Transcript
from .overlay import Correction


def _who(author: str | None) -> str:
    if author:
        return author
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (containers without a passwd entry)
        return "unknown"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# A segment holds at most ~30 s of speech (~500 characters); a 1 MB correction made a 10.7 MB page.
MAX_CORRECTION_CHARS = 5000


def _segment(transcript: Transcript, segment_id: int) -> Segment:
    if not isinstance(segment_id, int) or isinstance(segment_id, bool):  # True == 1 picked segment 1
        raise CorrectionError(f"a segment id is a whole number, got {segment_id!r}",
                              hint="use the segment_id of a search hit")
    for seg in transcript.segments:
        if seg.id == segment_id:
            return seg
    ids = [s.id for s in transcript.segments]
    span = f"{ids[0]}–{ids[-1]}" if ids else "none"
    raise CorrectionError(f"episode {transcript.episode_id!r} has no segment {segment_id!r} (ids: {span})",
                          hint="use the segment_id of a search hit")


def text_correction(machine: Transcript, effective: Transcript, segment_id: int, text: str,
                    author: str | None = None) -> Correction:
    """A correction replacing the text of segment ``segment_id`` (ids of the machine transcript)."""
    if not isinstance(text, str):
        raise CorrectionError(f"a correction is a text, got {type(text).__name__}")
    if len(text) > MAX_CORRECTION_CHARS:
        raise CorrectionError(f"a correction of {len(text):,} characters is too long for one segment (at most "
                              f"{MAX_CORRECTION_CHARS:,})", hint="correct the segments one by one")
    if control_character(text):
        raise CorrectionError(f"a correction cannot hold a control character (a line break?): {printable(text[:60])}")
    seg = _segment(machine, segment_id)
    shown = next((s.text for s in effective.segments if s.id == segment_id), seg.text)
    return Correction("text", text.strip(), shown.strip(), seg.id, seg.start, seg.end, seg.text.strip(),
                      _who(author), _now())


def speaker_correction(machine: Transcript, effective: Transcript, target: int | tuple[float, float],
                       name: str, author: str | None = None) -> Correction:
    """Name the speaker of one segment (``target`` an id) or of a time range ``(start, end)``;
    ``effective``: the episode as shown (:func:`~indexer.corrections.effective_episode`), who speaks included."""
    name = speaker_name(name)
    if isinstance(target, (tuple, list)):
        start, end = (float(t) for t in target)
        if end <= start:
            raise CorrectionError(f"speaker range ends ({end:g} s) before it starts ({start:g} s)")
        touched = [s for s in effective.segments if start <= (s.start + s.end) / 2 <= end]
        if not touched:
            raise CorrectionError(f"no segment of episode {machine.episode_id!r} lies in {start:g}–{end:g} s")
        before = ", ".join(sorted({s.speaker or "?" for s in touched}))
        return Correction("speaker", name, before, None, start, end, "", _who(author), _now())
    seg = _segment(machine, target)
    shown = next((s for s in effective.segments if s.id == seg.id), seg)
    before = shown.speaker
    return Correction("speaker", name, before, seg.id, seg.start, seg.end, seg.text.strip(),
                      _who(author), _now())


def speaker_name(name, label: str = "a speaker") -> str:
    """A speaker name as stored: text, not empty, no control characters (a newline in a
    name would forge subtitle cues and log lines)."""
    if not isinstance(name, str) or not name.strip():
        raise SpeakerNameError(f"the name of {label} cannot be empty (a text), got {name!r}")
    if control_character(name):
        raise SpeakerNameError(f"the name of {label} has a control character (a line break?): {name!r}")
    return name.strip()


def name_correction(transcript: Transcript, label: str, name: str, author: str | None = None) -> Correction:
    labels = transcript.speaker_labels
    if label not in labels:
        known = ", ".join(labels) or "none: the episode has no automatic speakers"
        raise CorrectionError(f"episode {transcript.episode_id!r} has no speaker {label!r} (labels: {known})")
    return Correction("name", speaker_name(name, label), label, who=_who(author), when=_now(),
                      voice=voice_anchor(transcript, label))


ANCHOR_SPANS = 20   # the longest turns of a label kept as its anchor in time (enough to find it again)


def voice_anchor(transcript: Transcript, label: str) -> dict:
    """What ties a name to the voice of ``label``: its print (from the speakers stage), its longest
    turns, and the audio they are in (see :func:`indexer.corrections.names.anchored_label`)."""
    diarization = transcript.diarization or Diarization()
    turns = sorted(([t.start, t.end] for t in diarization.turns if t.name == label),
                   key=lambda t: t[0] - t[1])[:ANCHOR_SPANS]
    anchor = {"backend": diarization.backend, "audio": transcript.audio_sha256,
              "spans": sorted(turns)}
    voiceprint = prints_from_diarization(diarization).get(label)
    if voiceprint is not None:
        anchor.update(voiceprint.to_dict())
    return anchor
