"""Speakers onto words and segments: a segment spanning a change is split (:func:`add_speakers`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ..transcript import Diarization, Flag, Segment, SpeakerTurn, Transcript, Word, speaker_of_span
from .backends import SpeakerBackend, load_backend
from .diarization import diarize_voices
from .options import SpeakerOptions
from .prints import VoicePrint


def _split(segment: Segment) -> list[Segment]:
    """One segment per run of words of the same speaker (text rebuilt from the words)."""
    runs: list[list[Word]] = []
    for word in segment.words:
        if runs and (word.speaker == runs[-1][-1].speaker or word.speaker is None):
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) <= 1:
        return [replace(segment, speaker=runs[0][0].speaker if runs else segment.speaker)]
    return [replace(segment, start=run[0].start, end=run[-1].end, words=run, speaker=run[0].speaker,
                    text="".join(w.word for w in run).strip(), flags=[*segment.flags, Flag.SPLIT_SPEAKER])
            for run in runs]


def assign_speakers(transcript: Transcript, turns: list[SpeakerTurn], options: SpeakerOptions,
                    backend: str | None = None, prints: dict[str, VoicePrint] | None = None,
                    runtime: str = "") -> Transcript:
    """The transcript with a speaker on every word, segments split at speaker changes,
    and the turns (and each label's voice print) recorded in ``diarization``.
    Segment ids are renumbered."""
    segments: list[Segment] = []
    for seg in transcript.segments:
        if seg.words:
            words = [replace(w, speaker=speaker_of_span(turns, w.start, w.end)) for w in seg.words]
            pieces = _split(replace(seg, words=words))
        else:
            pieces = [replace(seg, speaker=speaker_of_span(turns, seg.start, seg.end))]
        segments += pieces
    segments = [replace(s, id=i) for i, s in enumerate(segments)]
    seen = list(dict.fromkeys(s.speaker for s in segments if s.speaker))
    # Labels in order of first appearance in the words (a turn without words has no label).
    rename = {old: f"S{i + 1}" for i, old in enumerate(seen)}
    segments = [replace(s, speaker=rename.get(s.speaker, s.speaker),
                        words=[replace(w, speaker=rename.get(w.speaker, w.speaker)) for w in s.words])
                for s in segments]
    diarization = Diarization(
        backend=backend or options.backend, runtime=runtime, fingerprint=options.fingerprint(),
        mode=options.mode, labels=tuple(rename[s] for s in seen),
        turns=tuple(replace(t, name=rename[t.name]) for t in turns if t.name in rename),
        voiceprints={rename[label]: p.to_dict() for label, p in (prints or {}).items() if label in rename},
    )
    return replace(transcript, segments=segments, diarization=diarization)


def without_speakers(transcript: Transcript) -> Transcript:
    """Automatic labels removed (the stage turned off); names set by editors stay in their overlay."""
    labels = set(transcript.speaker_labels)
    if not labels and transcript.diarization is None:
        return transcript
    segments = [replace(s, speaker=None if s.speaker in labels else s.speaker,
                        words=[replace(w, speaker=None) for w in s.words]) for s in transcript.segments]
    return replace(transcript, segments=segments, diarization=None)


@dataclass(frozen=True)
class Heard:
    """What the stage hears in an episode's audio alone, before any word is known: so it can run while
    the words are decoded (:func:`hear`), and be put onto them after (:func:`with_heard`)."""

    options: SpeakerOptions
    duration: float    # the episode's, as given: what was heard depends on it (its last chunk, a turn's end)
    backend: str
    runtime: str
    turns: tuple[SpeakerTurn, ...] | None   # None: only the prints of a sidecar's named turns (mode "off")
    prints: dict[str, VoicePrint]

    def fits(self, transcript: Transcript) -> bool:
        """Heard on the transcript's duration: else it is heard again on it (a duration probed before the
        decoding, from a cache, may differ: a file replaced, another ffmpeg)."""
        return self.duration == transcript.duration


def hear(path: str | Path, duration: float, options: SpeakerOptions,
         backend: SpeakerBackend | None = None) -> Heard | None:
    """The audio part of the stage: turns and voice prints (named turns: only their prints); None when
    the stage has no work. ``duration``: the transcript's (its probe's, to the millisecond)."""
    if not options.runs:
        return None
    backend = backend or load_backend(options)
    runtime = getattr(backend, "runs_on", "")   # test backends may not say
    if not options.enabled:
        from .enroll import named_prints

        return Heard(options, duration, backend.name, runtime, None, named_prints(path, duration, options, backend))
    turns, prints = diarize_voices(path, duration, options, backend)
    return Heard(options, duration, backend.name, runtime, tuple(turns), prints)


def heard_for(transcript: Transcript, heard: Heard | None,
              hear_again: Callable[[float], Heard | None]) -> Heard | None:
    """``heard``, or when it was heard on another duration than the transcript's (:meth:`Heard.fits`),
    ``hear_again(transcript.duration)``: the one rule for a hearing made before its words were known."""
    if heard is not None and not heard.fits(transcript):
        return hear_again(transcript.duration)
    return heard


def with_heard(transcript: Transcript, heard: Heard | None) -> Transcript:
    """The words part of the stage: what was heard put onto the transcript's words (None: the
    automatic labels removed)."""
    transcript = without_speakers(transcript)
    if heard is None:
        return transcript
    if heard.turns is None:
        return replace(transcript, diarization=Diarization(
            backend=heard.backend, runtime=heard.runtime, fingerprint=heard.options.fingerprint(), mode="turns",
            voiceprints={name: p.to_dict() for name, p in heard.prints.items()}))
    return assign_speakers(transcript, list(heard.turns), heard.options, heard.backend, heard.prints, heard.runtime)


def add_speakers(path: str | Path, transcript: Transcript, options: SpeakerOptions,
                 backend: SpeakerBackend | None = None) -> Transcript:
    """Run the stage on an episode's audio and words (``off``: remove automatic labels;
    named turns: only their voice prints, for the voice library)."""
    return with_heard(transcript, hear(path, transcript.duration, options, backend))
