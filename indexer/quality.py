"""How far to trust one episode's transcript: the share of its segments flagged suspect, and of its
words the recogniser was unsure of.

* **suspect segments**: segments flagged ``suspect`` at transcription
  (:func:`indexer.transcript.flag_segments`: a loop, a phantom phrase, a weak
  log-probability, speech skipped…), over all its segments;
* **low-confidence words**: words whose probability is below
  :data:`LOW_WORD_PROBABILITY` (the threshold of the ``low-confidence-words``
  flag and of the index's ``doubt`` field), over all its words.

An episode over :attr:`QualityOptions.max_suspect_share` (or
:attr:`~QualityOptions.max_low_confidence_share`) gets one warning line in the
ingest's report, and ``indexer status`` names the worst episodes. The numbers
come from the transcript alone, so ``status`` reads them from its cache of
transcript heads without opening a transcript.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .transcript import FlagOptions, Transcript

LOW_WORD_PROBABILITY = FlagOptions.low_word_probability   # 0.4


@dataclass(frozen=True)
class QualityOptions:
    """When an episode deserves a warning (benchmarks/results/quality.md: the base model on the
    sample archive and on copies in the telephone band under babble). The share of unsure words
    follows the word error rate: 3-7 % on the clean synthetic voices (WER 0.11-0.14), 17-20 % at
    WER 0.19-0.29 (about real French speech: 0.18-0.21), 30-32 % at WER 0.49-0.60, 34-61 % at
    WER 0.52-0.95. Segments turn suspect only in the worst copy (babble 6 dB below the voice:
    39-100 % of them). Over 20 % suspect or 30 % unsure is a transcript about half wrong."""

    max_suspect_share: float = 0.20
    max_low_confidence_share: float = 0.30


@dataclass(frozen=True)
class EpisodeQuality:
    episode: str
    segments: int = 0
    suspect_segments: int = 0
    words: int = 0
    low_confidence_words: int = 0

    @classmethod
    def of(cls, transcript: Transcript) -> "EpisodeQuality":
        words = [w for s in transcript.segments for w in s.words]
        return cls(transcript.episode_id, len(transcript.segments), sum(s.suspect for s in transcript.segments),
                   len(words), sum(w.probability < LOW_WORD_PROBABILITY for w in words))

    @property
    def suspect_share(self) -> float:
        return self.suspect_segments / self.segments if self.segments else 0.0

    @property
    def low_confidence_share(self) -> float:
        return self.low_confidence_words / self.words if self.words else 0.0

    def is_poor(self, options: QualityOptions | None = None) -> bool:
        options = options or QualityOptions()
        return (self.suspect_share > options.max_suspect_share
                or self.low_confidence_share > options.max_low_confidence_share)

    def describe(self) -> str:
        """``7 of 19 segments suspect (36.8%), 41.0% of 192 words low-confidence`` (English: CLI and logs)."""
        return (f"{self.suspect_segments} of {self.segments} segments suspect ({self.suspect_share:.1%}), "
                f"{self.low_confidence_share:.1%} of {self.words} words low-confidence")

    def warning(self, noisy_preset: bool = False) -> str:
        """The ingest's one line for a poor episode: its id, its numbers, what to try."""
        tries = "check the audio (noise, music, another language, a damaged file)"
        if not noisy_preset:
            tries = f"try the noisy preset (noisy: true in its sidecar: the next ingest redoes it) and {tries}"
        return f"{self.episode}: poor transcript, {self.describe()}; {tries}"

    def sort_key(self) -> tuple:
        """Worst first: the larger share of suspect segments, then of unsure words."""
        return (-self.suspect_share, -self.low_confidence_share, self.episode)


def worst(qualities: Iterable[EpisodeQuality], limit: int = 3) -> list[EpisodeQuality]:
    """The ``limit`` worst episodes that have a suspect segment or an unsure word, worst first."""
    flawed = [q for q in qualities if q.suspect_segments or q.low_confidence_words]
    return sorted(flawed, key=EpisodeQuality.sort_key)[:limit]
