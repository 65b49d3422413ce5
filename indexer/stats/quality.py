"""Transcription quality per episode (:mod:`indexer.quality`): which episodes to trust less."""

from __future__ import annotations

import pandas as pd

from ..quality import EpisodeQuality, QualityOptions
from .episodes import episode_data

QUALITY_COLUMNS = ["episode", "title", "segments", "suspect_segments", "suspect_share", "words",
                   "low_confidence_words", "low_confidence_share", "poor"]


def episode_quality(archive, options: QualityOptions | None = None) -> pd.DataFrame:
    """One row per transcribed episode, worst first: its share of suspect segments and of
    low-confidence words, and ``poor`` when it is over the thresholds of ingest's warning."""
    options = options or QualityOptions()
    rows = []
    for data in episode_data(archive):
        q = EpisodeQuality.of(data.transcript)
        rows.append((q.sort_key(), {
            "episode": q.episode, "title": data.title, "segments": q.segments,
            "suspect_segments": q.suspect_segments, "suspect_share": q.suspect_share, "words": q.words,
            "low_confidence_words": q.low_confidence_words, "low_confidence_share": q.low_confidence_share,
            "poor": q.is_poor(options)}))
    return pd.DataFrame([row for _, row in sorted(rows, key=lambda r: r[0])], columns=QUALITY_COLUMNS)
