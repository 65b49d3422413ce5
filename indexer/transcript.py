"""Transcript / Segment / Word: the data model and its JSON on disk.

The JSON files under ``ARCHIVE/transcripts/`` are the source of truth; the index
is rebuilt from them. The format is versioned by ``"schema"``; read it only
through :meth:`Transcript.from_dict` / :func:`load_transcript`.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .elisions import merge_elisions
from .files import atomic_write_json, atomic_write_text, load_json
from .errors import FormatError, TranscriptError
from .transcript_checks import check_transcript_data, check_transcript_id, is_number
from .transcript_speakers import Diarization, SpeakerTurn, speaker_of_span  # noqa: F401 (re-exported)

# 2: words carry their speaker, the transcript its speaker turns (``diarization``).
# 3: an elision is one word (« c'est », not « c » + « 'est »: see indexer.elisions).
SCHEMA_VERSION = 3
READABLE_SCHEMAS = (1, 2, 3)   # 1 is read without speakers; 1 and 2 get their elisions joined on load

# Phrases Whisper is known to invent from silence or music in French (and a few
# in English, as the archive has some); matched after normalising case/punctuation.
PHANTOM_PHRASES = (
    "sous-titres réalisés par la communauté d'amara.org",
    "sous-titres réalisés para la communauté d'amara.org",
    "sous-titrage société radio-canada",
    "sous-titrage st' 501",
    "sous-titrage st'501",
    "merci d'avoir regardé",
    "merci d'avoir regardé cette vidéo",
    "merci de votre attention",
    "abonnez-vous",
    "n'oubliez pas de vous abonner",
    "sous-titres par",
    "thanks for watching",
    "thank you for watching",
)


class Flag(StrEnum):
    """Why a segment is marked (``Segment.flags``; the JSON holds the values). Flags never delete text."""

    SUSPECT = "suspect"                         # any of the next six: someone should listen
    REPEATED = "repeated"
    COMPRESSION = "compression"
    LOW_LOGPROB = "low-logprob"
    NO_SPEECH = "no-speech"
    SPARSE = "sparse"
    PHANTOM = "phantom"
    LOW_CONFIDENCE_WORDS = "low-confidence-words"
    SPLIT_SPEAKER = "split-speaker"             # cut where the speaker changes (indexer.speakers)
    CORRECTED = "corrected"                     # an editor's text (indexer.corrections)
    SPEAKER_CORRECTED = "speaker-corrected"     # an editor's speaker

    def __repr__(self) -> str:  # tables and tuples of flags read as their JSON
        return repr(self.value)


def as_flag(text: str) -> Flag | str:
    """``text`` as a :class:`Flag`; a flag this version does not know stays text (kept, written back)."""
    try:
        return Flag(text)
    except ValueError:
        return text


@dataclass
class Word:
    start: float
    end: float
    word: str
    probability: float
    speaker: str | None = None


@dataclass
class Segment:
    id: int
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    speaker: str | None = None
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0
    flags: list[Flag | str] = field(default_factory=list)

    @property
    def suspect(self) -> bool:
        return Flag.SUSPECT in self.flags


def valid_window_noise(window) -> bool:
    """Whether ``window`` is a (start, estimate or None, noisy) record of a window's noise."""
    return (isinstance(window, (tuple, list)) and len(window) == 3 and is_number(window[0])
            and (window[1] is None or is_number(window[1])) and isinstance(window[2], bool))


def partly_noisy(windows) -> tuple[int, int]:
    """(windows decoded noisy, windows) of a per-window noise record when only some were decoded noisy, else (0, 0)."""
    noisy = sum(w[2] for w in windows)
    return (noisy, len(windows)) if 0 < noisy < len(windows) else (0, 0)


def recorded_duration(seconds: float) -> float:
    """A transcript's duration for audio of ``seconds`` (its probe's): to the millisecond. A hearing made
    before the words (the speakers stage beside the decoding) is made on this, and kept only if it
    matches the transcript's (``speakers.heard_for``): the one rule for both sides."""
    return round(seconds, 3)


@dataclass
class Transcript:
    episode_id: str
    audio_path: str
    audio_sha256: str
    duration: float
    language: str
    model: str
    engine: str
    options: dict
    segments: list[Segment] = field(default_factory=list)
    created: str = ""
    fingerprint: str = ""
    # Automatic speakers (indexer.speakers); None when the stage did not run. A dict (the JSON) is read as one.
    diarization: Diarization | None = None
    # How noisy the audio measured, and the preset it led to (indexer.transcribe.noise):
    # {"snr_db": 18.2, "preset": "accurate", "automatic": true, "noisy": true}, with each window's
    # {"start", "snr_db", "noisy"} under "windows" for a file of several; None before it existed.
    noise: dict | None = None
    schema: int = SCHEMA_VERSION

    def __post_init__(self):
        if isinstance(self.diarization, dict):
            self.diarization = Diarization.from_dict(self.diarization)

    @property
    def beam_size(self) -> int:
        """The beam width it was decoded with (1: greedy, the clean decoding before beam 2), 0 when its options
        do not say (or say something that is not a width: a transcript edited by hand)."""
        recorded = self.options.get("beam_size") if isinstance(self.options, dict) else None
        return recorded if isinstance(recorded, int) and not isinstance(recorded, bool) and recorded > 0 else 0

    @property
    def noise_windows(self) -> tuple[tuple[float, float | None, bool], ...]:
        """Each window's start (s), noise estimate (None: no speech to judge) and whether it was decoded with the
        noisy preset; () when the record has none (one window, a transcript older than the per-window choice)
        or a hand edit broke it (the episode-wide ``noise`` then says it all)."""
        windows = self.noise.get("windows") if isinstance(self.noise, dict) else None
        if not isinstance(windows, list) or not all(isinstance(w, dict) for w in windows):
            return ()
        triples = tuple((w.get("start"), w.get("snr_db"), w.get("noisy") is True) for w in windows)
        return triples if all(valid_window_noise(t) for t in triples) else ()

    @property
    def noisy_windows(self) -> tuple[int, int]:
        """(windows decoded noisy, windows) when only some of them were; (0, 0) otherwise."""
        return partly_noisy(self.noise_windows)

    @property
    def speaker_labels(self) -> list[str]:
        """The automatic labels (S1, S2…) in order of first appearance; [] without diarization."""
        return list(self.diarization.labels) if self.diarization else []

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def to_dict(self) -> dict:
        data = asdict(replace(self, diarization=None))
        data["diarization"] = self.diarization.to_dict() if self.diarization else None
        return data

    @classmethod
    def from_dict(cls, data: dict, path: str | Path | None = None) -> "Transcript":
        check_transcript_data(data, path)  # types and finite times, the field named (issue 25)
        schema = data.get("schema")
        if schema not in READABLE_SCHEMAS:
            raise TranscriptError(
                f"transcript schema {schema!r} is not supported (expected one of "
                f"{', '.join(map(str, READABLE_SCHEMAS))})",
                path, "re-transcribe with `indexer ingest --force`",
            )
        data = {**data, "schema": SCHEMA_VERSION}  # schema 1 has no speaker fields: defaults apply
        # Schemas 1 and 2 hold elisions in two words: joined here, nothing is transcribed again.
        join = merge_elisions if schema < 3 else list
        try:
            segments = [
                Segment(**{**s, "words": join([Word(**w) for w in s.get("words", [])]),
                           "flags": [as_flag(f) for f in s.get("flags", [])]})
                for s in data["segments"]
            ]
            fields = {k: v for k, v in data.items() if k != "segments"}
            return cls(**fields, segments=segments)
        except (KeyError, TypeError) as e:
            raise TranscriptError(f"transcript is missing or has an unknown field: {e}", path) from e

    def with_segments(self, segments: list[Segment]) -> "Transcript":
        return replace(self, segments=segments)


def load_transcript(path: str | Path, episode_id: str | None = None) -> Transcript:
    """The transcript in ``path``; ``episode_id``: the episode its file name says it is, which it must hold."""
    path = Path(path)
    try:
        data = load_json(path)
    except FileNotFoundError as e:
        raise TranscriptError("transcript not found", path) from e
    except (OSError, ValueError) as e:
        raise TranscriptError(f"transcript is not valid JSON: {e}", path) from e
    transcript = Transcript.from_dict(data, path)
    check_transcript_id(transcript.episode_id, episode_id, path)
    return transcript


def save_transcript(transcript: Transcript, path: str | Path) -> Path:
    path = Path(path)
    atomic_write_json(path, transcript.to_dict(), ensure_ascii=False, indent=1)
    return path


# --- hallucination flags -------------------------------------------------------

@dataclass(frozen=True)
class FlagOptions:
    """Thresholds for marking segments ``suspect``. Flags never delete text."""

    max_repeats: int = 3            # same text in more consecutive segments than this
    compression_ratio: float = 2.4  # Whisper's own loop threshold
    avg_logprob: float = -1.0
    no_speech_prob: float = 0.8     # only with a weak avg_logprob, as Whisper does
    low_word_probability: float = 0.4
    # A long segment with few words has usually skipped speech (seen with
    # long prompts): flag it so that someone listens.
    sparse_min_seconds: float = 10.0
    sparse_words_per_second: float = 1.0


def _normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^\w'\-.]+", " ", text)
    return text.strip(" .")


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def flag_segments(segments: list[Segment], options: FlagOptions | None = None) -> list[Segment]:
    """Return copies of ``segments`` with reasons added to ``flags``.

    Each reason is a :class:`Flag` (``repeated``, ``compression``, ``low-logprob``,
    ``no-speech``, ``sparse``, ``phantom``, ``low-confidence-words``); any but
    the last also adds ``suspect``.
    """
    options = options or FlagOptions()
    texts = [_normalise(s.text) for s in segments]
    # Length of the run of identical consecutive texts each segment belongs to.
    run_length = [1] * len(segments)
    i = 0
    while i < len(segments):
        j = i
        while j + 1 < len(segments) and texts[j + 1] == texts[i] and texts[i]:
            j += 1
        for k in range(i, j + 1):
            run_length[k] = j - i + 1
        i = j + 1

    flagged = []
    for seg, text, run in zip(segments, texts, run_length):
        reasons = []
        if run > options.max_repeats:
            reasons.append(Flag.REPEATED)
        if seg.compression_ratio > options.compression_ratio:
            reasons.append(Flag.COMPRESSION)
        if seg.avg_logprob < options.avg_logprob:
            reasons.append(Flag.LOW_LOGPROB)
        if seg.no_speech_prob > options.no_speech_prob and seg.avg_logprob < options.avg_logprob / 2:
            reasons.append(Flag.NO_SPEECH)
        duration = seg.end - seg.start
        if duration > options.sparse_min_seconds and \
                len(text.split()) < options.sparse_words_per_second * duration:
            reasons.append(Flag.SPARSE)
        if text and any(text == p or (p in text and len(text) < len(p) + 15) for p in PHANTOM_PHRASES):
            reasons.append(Flag.PHANTOM)
        if reasons:
            reasons.append(Flag.SUSPECT)
        if any(w.probability < options.low_word_probability for w in seg.words):
            reasons.append(Flag.LOW_CONFIDENCE_WORDS)
        flags = [f for f in seg.flags if f not in reasons] + reasons
        flagged.append(replace(seg, flags=flags))
    return flagged


# --- exports -----------------------------------------------------------------

def hms(seconds: float, round_up: bool = False) -> str:
    """``hh:mm:ss``; rounded down, or up with ``round_up`` (for the end of a span)."""
    total = max(0, math.ceil(seconds - 1e-6) if round_up else math.floor(seconds + 1e-6))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def format_timestamp(seconds: float, always_hours: bool = True, decimal: str = ".") -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    head = f"{hours:02d}:" if always_hours or hours else ""
    return f"{head}{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def _shows_speakers(transcript: Transcript) -> bool:
    """Not when one speaker is on every segment: "S1:" or a name on each cue of a monologue is noise."""
    speakers = {s.speaker for s in transcript.segments}
    return not (len(speakers) == 1 and None not in speakers)


_CUE_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _cue_text(seg: Segment, speakers: bool = True) -> str:
    """One cue's text on one line: a line break (in a name or a hand-edited text) would end the cue and
    start a forged one, and ``-->`` in it makes players drop the cue (issue 25)."""
    text = seg.text.strip()
    text = f"{seg.speaker}: {text}" if seg.speaker and speakers else text
    return " ".join(_CUE_CONTROL.sub(" ", text).split()).replace("-->", "->")


def to_srt(transcript: Transcript) -> str:
    blocks = []
    show = _shows_speakers(transcript)
    for n, seg in enumerate(transcript.segments, 1):
        span = f"{format_timestamp(seg.start, decimal=',')} --> {format_timestamp(seg.end, decimal=',')}"
        blocks.append(f"{n}\n{span}\n{_cue_text(seg, show)}\n")
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    blocks = ["WEBVTT\n"]
    show = _shows_speakers(transcript)
    for seg in transcript.segments:
        # WebVTT cue text is markup: "<" opens a tag and "&" an entity (https://www.w3.org/TR/webvtt1/#cue-text).
        text = _cue_text(seg, show).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{format_timestamp(seg.start)} --> {format_timestamp(seg.end)}\n{text}\n")
    return "\n".join(blocks)


def to_txt(transcript: Transcript) -> str:
    show = _shows_speakers(transcript)
    return "".join(_cue_text(seg, show) + "\n" for seg in transcript.segments)


def to_json(transcript: Transcript) -> str:
    return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=1) + "\n"


# Export formats by name (like whisper.utils.get_writer), extension = name.
EXPORTERS: dict[str, Callable[[Transcript], str]] = {
    "json": to_json,
    "srt": to_srt,
    "vtt": to_vtt,
    "txt": to_txt,
}


def get_exporter(name: str) -> Callable[[Transcript], str]:
    try:
        return EXPORTERS[name]
    except KeyError:
        raise FormatError(
            f"unknown export format {name!r}; valid formats: {', '.join(sorted(EXPORTERS))}"
        ) from None


def export(transcript: Transcript, formats: Iterable[str], out_dir: str | Path, stem: str | None = None) -> list[Path]:
    """Write the transcript in each format to ``out_dir/<stem>.<format>``."""
    out_dir = Path(out_dir)
    stem = stem or transcript.episode_id
    written = []
    for name in formats:
        writer = get_exporter(name)
        path = out_dir / f"{stem}.{name}"
        atomic_write_text(path, writer(transcript))
        written.append(path)
    return written


def join_words(words: Sequence[Word], render=lambda w, core: core) -> str:
    """The text of consecutive words, spaced as the transcript spaces them.

    Whisper words carry their leading space (`` mot``) and continuations do
    not; hand-made words have no spaces and are joined with one.
    """
    spaced = any(w.word[:1].isspace() for w in words)
    out = []
    for i, w in enumerate(words):
        core = w.word.strip()
        if not core:
            continue
        sep = "" if i == 0 or (spaced and not w.word[:1].isspace()) else " "
        out.append(sep + render(w, core))
    return "".join(out).strip()
