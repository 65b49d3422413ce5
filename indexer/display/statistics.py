"""An archive's statistics as a notebook shows them: tables and plots in the display language.

What :meth:`indexer.Archive.statistics` returns. The transcripts, corrections and
sidecars are read once (:class:`indexer.stats.Snapshot`); each method computes one
statistic with :mod:`indexer.stats` (pandas objects, English column names: code)
or shows it (:mod:`.plots`, French tables through :mod:`.i18n`)::

    overview = archive.statistics()
    overview.summary()
    overview.plot_hours()
    overview.plot_terms(["réseaux sociaux"])
"""

from __future__ import annotations

import numbers
from typing import Sequence

from .. import stats
from . import plots
from .i18n import _, number, percent
from .quality import QualityTable
from .review import ReviewPlayers, reason_labels


class ArchiveStatistics:
    """Statistics of one archive, read once: run ``archive.statistics()`` again after an ingest."""

    def __init__(self, archive):
        self.archive = archive
        self.data = stats.Snapshot(archive)

    def __repr__(self) -> str:
        return f"<ArchiveStatistics of {self.archive!r}: {len(self.data.data)} transcripts>"

    # Numbers as the tables show them, for a notebook's own sentences: « 15,3 % », « 1 234,5 ».
    percent = staticmethod(percent)
    number = staticmethod(number)

    @property
    def labels(self) -> dict[str, str]:
        """The statistics' own values as shown (``undated``, ``unknown``)."""
        return {stats.UNDATED: _("value.undated"), stats.UNKNOWN: _("value.unknown")}

    # -- counts and quality --------------------------------------------------------------

    def summary(self) -> stats.Overview:
        """Episodes, hours, speakers, dates, segments, quality (an HTML table in a notebook)."""
        return stats.overview(self.data)

    def episode_quality(self):
        """One row per episode, worst first (a DataFrame; see :func:`indexer.stats.episode_quality`)."""
        return stats.episode_quality(self.data)

    def quality(self, limit: int = 10) -> QualityTable:
        """The ``limit`` least trustworthy episodes as a table."""
        return QualityTable(self.episode_quality(), limit)

    # -- hours and speakers ---------------------------------------------------------------

    def hours_by_year(self):
        return stats.hours_by_year(self.data)

    def plot_hours(self) -> plots.Chart:
        """Hours recorded per year, and speaking time per speaker."""
        return plots.hours(self.hours_by_year(), stats.hours_by_speaker(self.data), self.labels)

    def segments(self, episode: str | None = None):
        """One row per segment, speakers attributed (a DataFrame)."""
        return stats.segment_table(self.data, episode)

    def busiest_episode(self) -> str | None:
        """The episode with the most speakers (the first of them on a tie), None without transcripts."""
        table = self.segments()
        return None if table.empty else str(table.groupby("episode")["speaker"].nunique().idxmax())

    def speaking_time(self, episode: str):
        """Per speaker of ``episode``: seconds, share of the attributed time, segments (a DataFrame)."""
        return stats.speaking_time(self.data, episode)

    def speaking_table(self, episode: str):
        """:meth:`speaking_time` as shown: French headers and numbers (a pandas Styler)."""
        return self.french_table(self.speaking_time(episode))

    def plot_speaking_time(self, episode: str) -> plots.Chart:
        """Seconds per speaker, and who speaks when."""
        seconds = self.speaking_time(episode)["seconds"]
        table = self.segments(episode)
        timeline = {name: list(zip(spans["start"], spans["duration"]))
                    for name, spans in ((name, table[table["speaker"] == name]) for name in seconds.index)}
        title = table["title"].iloc[0] if len(table) else episode
        return plots.speaking_time(seconds, timeline, title, self.labels)

    def plot_turns(self, episode: str, turns, reference=None) -> plots.Chart:
        """Automatic speaker turns (a :func:`~indexer.stats.turns_frame`), beside the sidecar's if given."""
        seconds = stats.turn_speaking_time(turns)["seconds"]
        timeline = {_("plot.automatic", name=name): _spans(turns, name) for name in seconds.index}
        if reference is not None and len(reference):
            timeline.update({_("plot.sidecar", name=name): _spans(reference, name)
                             for name in sorted(set(reference["speaker"]))})
        return plots.speaking_time(seconds, timeline, _("plot.turns", episode=episode), self.labels,
                                   automatic=True)

    def turn_table(self, turns):
        """Seconds, share and turns per automatic speaker, as shown (a pandas Styler)."""
        return self.french_table(stats.turn_speaking_time(turns))

    # -- terms and words ----------------------------------------------------------------

    def term_frequency(self, terms: str | Sequence[str], by: str = "year", per_hour: bool = False):
        return stats.term_frequency(self.data, terms, by=by, per_hour=per_hour)

    def plot_terms(self, terms: str | Sequence[str]) -> plots.Chart:
        """Occurrences of ``terms`` per year, and per recorded hour of the year."""
        return plots.terms(self.term_frequency(terms), self.term_frequency(terms, per_hour=True), self.labels)

    def word_confidence(self):
        return stats.word_confidence(self.data)

    def plot_word_confidence(self, max_probability: float = 0.5) -> plots.Chart:
        """Whisper's word probabilities, the words under ``max_probability`` to check."""
        return plots.word_confidence(self.word_confidence()["probability"], max_probability)

    # -- review ---------------------------------------------------------------------------

    def review_table(self, max_probability: float = 0.5, include_corrected: bool = False):
        return stats.review_table(self.data, max_probability, include_corrected)

    def review(self, max_probability: float = 0.5, rows: int = 8) -> ReviewPlayers:
        """The ``rows`` segments most worth checking, each with a player (its clip cut when played)."""
        return ReviewPlayers(self.review_table(max_probability).head(rows))

    # -- tables as shown ------------------------------------------------------------------

    def french_table(self, frame):
        """``frame`` with its headers from the catalog and its numbers the display language's way."""
        if "reasons" in frame.columns:   # codes → the catalog's names (« répétitions, mots peu sûrs »)
            frame = frame.assign(reasons=[", ".join(reason_labels(r)) for r in frame["reasons"]])
        shown = frame.rename(index=lambda v: self.labels.get(v, v),
                             columns=lambda c: _(COLUMNS[c]) if c in COLUMNS else c)
        name = shown.index.name
        shown = shown.rename_axis(_(COLUMNS[name]) if name in COLUMNS else name)
        formats = {_("column.seconds"): lambda v: number(v, 1), _("column.share"): lambda v: percent(v, 0),
                   _("column.hours"): lambda v: number(v, 2), _("column.min_probability"): lambda v: number(v, 2),
                   _("column.mean"): lambda v: number(v, 3), _("column.min"): lambda v: number(v, 3),
                   _("column.median"): lambda v: number(v, 3), _("column.count"): lambda v: number(v, 0)}
        return shown.style.format(_plain).format({k: f for k, f in formats.items() if k in shown.columns})


# The statistics' columns (code: English) and the message ids of their headers.
COLUMNS = {"seconds": "column.seconds", "share": "column.share", "segments": "column.segments",
           "turns": "column.turns", "hours": "column.hours", "episode": "column.episode",
           "speaker": "column.speaker", "year": "column.year", "term": "column.term", "timecode": "column.time",
           "reasons": "review.why", "min_probability": "column.min_probability", "marked": "column.marked",
           "text": "column.text", "count": "column.count", "mean": "column.mean", "min": "column.min",
           "50%": "column.median", "probability": "column.probability"}


def _plain(value):
    """A number of a column without its own format: « 1 234 », « 0,25 »."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy's too
        return value
    return number(value, 0) if float(value).is_integer() else number(value, 2)


def _spans(frame, name: str) -> list[tuple[float, float]]:
    rows = frame[frame["speaker"] == name]
    return list(zip(rows["start"], rows["duration"]))
