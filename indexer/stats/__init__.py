"""Archive statistics for notebooks: episodes, hours, speakers, terms over time, confidence, review.

Every figure is computed from the transcripts on disk with the editors'
corrections applied (the *effective* transcripts, as the index and the pages
show them), and from the sidecars:

* **durations** are the transcripts' ``duration`` (the audio's length);
* **speaking time** is the length of the segments a speaker is given: the
  segment's own speaker (the speakers stage, a correction), else the sidecar
  turns that cover most of it, else the sidecar's only speaker, else :data:`UNKNOWN`
  (:func:`indexer.corrections.with_speakers`). A Whisper segment that straddles a
  change of turn goes wholly to the speaker who has most of it;
* **dates** are the sidecars' (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``);
  episodes without one are counted under :data:`UNDATED`;
* **terms** are counted with the search index's French analyzer
  (:func:`indexer.index.french_analyzer`: case, accents, elisions, plurals and
  stop words do not matter, so « réseaux sociaux » also counts « Réseau
  social » and « réseaux-sociaux »; the French stemmer leaves English plurals
  apart, so « community managers » is not « community manager », in the index
  either). A term of several words is counted where its words follow one
  another, across segment boundaries too, as a phrase search finds it. These
  are occurrences, not segments;
* **quality** (:func:`episode_quality`, and the overview's) is the share of
  an episode's segments flagged suspect and of its words below
  :data:`indexer.quality.LOW_WORD_PROBABILITY` (:mod:`indexer.quality`);
* **word confidence** is Whisper's probability for each word of the *machine*
  transcripts (corrected words carry no machine confidence).

Everything returns pandas objects, ready for ``.plot``.
"""

from __future__ import annotations

from ..display.quality import QualityTable, quality_view
from ..display.review import ReviewPlayers, review_players
from .episodes import UNDATED, UNKNOWN, EpisodeData, Snapshot, episode_data
from .overview import Overview, overview
from .quality import QUALITY_COLUMNS, episode_quality
from .review import REVIEW_COLUMNS, review_table, word_confidence
from .tables import (SEGMENT_COLUMNS, hours_by_speaker, hours_by_year, segment_table, speaker_turns, speaking_time,
                     turn_speaking_time, turns_frame)
from .terms import BY_VALUES, count_term, term_frequency, term_tokens

__all__ = ["BY_VALUES", "EpisodeData", "Overview", "QUALITY_COLUMNS", "QualityTable", "REVIEW_COLUMNS",
           "ReviewPlayers", "SEGMENT_COLUMNS", "Snapshot", "UNDATED", "UNKNOWN", "count_term", "episode_data",
           "episode_quality", "hours_by_speaker", "hours_by_year", "overview", "quality_view", "review_players",
           "review_table", "segment_table", "speaker_turns", "speaking_time", "term_frequency", "term_tokens",
           "turn_speaking_time", "turns_frame", "word_confidence"]
