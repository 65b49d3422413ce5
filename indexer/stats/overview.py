"""Counts of the whole archive: episodes, hours, speakers, dates, segments."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..archive import EpisodeMeta
from ..corrections import CORRECTED_FLAG
from ..display.overview import overview_html
from ..quality import LOW_WORD_PROBABILITY, EpisodeQuality, worst
from ..transcript import Flag
from .episodes import UNDATED, episode_data


@dataclass(frozen=True)
class Overview:
    episodes: int                 # audio files and transcripts, by episode id
    transcribed: int              # episodes with a transcript
    hours: float                  # total length of the transcribed episodes
    speakers: tuple[str, ...]     # named in sidecars or corrections, sorted
    first_date: str
    last_date: str
    undated: int                  # episodes without a date
    years: dict[str, int]         # episodes per year (UNDATED last)
    segments: int
    words: int
    suspect_segments: int
    low_confidence_segments: int  # flagged "low-confidence-words" at transcription
    corrected_segments: int
    low_confidence_words: int = 0  # below indexer.quality.LOW_WORD_PROBABILITY
    worst_episodes: tuple[EpisodeQuality, ...] = ()   # the least trustworthy, worst first (indexer.quality)
    # Decoding presets of the transcripts, and the episodes measured noisy
    # (transcribe/noise.py): (episode id, estimate in dB, preset chosen).
    presets: dict[str, int] = field(default_factory=dict)
    noisy: tuple[tuple[str, float, str], ...] = ()
    # Those of them decoded with beam search in some windows only: episode id -> (noisy windows, windows).
    partly_noisy: dict[str, tuple[int, int]] = field(default_factory=dict)
    greedy: int = 0   # transcripts decoded greedily, the clean decoding before beam 2 (still current)

    @property
    def quality(self) -> EpisodeQuality:
        """The whole archive's shares of suspect segments and low-confidence words."""
        return EpisodeQuality("", self.segments, self.suspect_segments, self.words, self.low_confidence_words)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        dates = f"{self.first_date} – {self.last_date}" if self.first_date else "no dates"
        return (f"{self.episodes} episodes ({self.transcribed} transcribed), {self.hours:.2f} h, "
                f"{len(self.speakers)} speakers, {dates}")

    def _repr_html_(self) -> str:
        return overview_html(self)


def overview(archive) -> Overview:
    """Counts of the whole archive: episodes, hours, speakers, dates, segments."""
    metas: dict[str, EpisodeMeta] = {e.id: e.meta for e in archive.episodes()}
    speakers: set[str] = {name for meta in metas.values() for name in meta.speakers}
    transcribed = hours = segments = words = suspect = low = corrected = unsure = 0
    qualities = []
    presets: dict[str, int] = {}
    noisy = []
    partly_noisy: dict[str, tuple[int, int]] = {}
    greedy = 0
    for data in episode_data(archive):
        qualities.append(EpisodeQuality.of(data.transcript))
        metas.setdefault(data.id, data.meta)
        transcribed += 1
        noise = data.transcript.noise or {}
        preset = noise.get("preset") or str(data.transcript.options.get("preset", ""))
        presets[preset] = presets.get(preset, 0) + 1
        if noise.get("noisy"):
            noisy.append((data.id, noise["snr_db"], preset))
            if (part := data.transcript.noisy_windows) != (0, 0):
                partly_noisy[data.id] = part
        greedy += data.transcript.beam_size == 1
        hours += data.transcript.duration / 3600
        segments += len(data.transcript.segments)
        for seg in data.transcript.segments:
            words += len(seg.words)
            unsure += sum(w.probability < LOW_WORD_PROBABILITY for w in seg.words)
            suspect += seg.suspect
            low += Flag.LOW_CONFIDENCE_WORDS in seg.flags
            corrected += CORRECTED_FLAG in seg.flags
            if seg.speaker:
                speakers.add(seg.speaker)
    dates = sorted(m.date for m in metas.values() if m.date)
    years: dict[str, int] = {}
    for year in sorted(m.date[:4] for m in metas.values() if m.date):
        years[year] = years.get(year, 0) + 1
    undated = sum(1 for m in metas.values() if not m.date)
    if undated:
        years[UNDATED] = undated
    return Overview(
        episodes=len(metas), transcribed=transcribed, hours=hours, speakers=tuple(sorted(speakers)),
        first_date=dates[0] if dates else "", last_date=dates[-1] if dates else "", undated=undated,
        years=years, segments=segments, words=words, suspect_segments=suspect,
        low_confidence_segments=low, corrected_segments=corrected, low_confidence_words=unsure,
        worst_episodes=tuple(worst(qualities)), presets=dict(sorted(presets.items())),
        noisy=tuple(sorted(noisy)), partly_noisy=partly_noisy, greedy=greedy,
    )
