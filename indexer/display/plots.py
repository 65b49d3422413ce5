"""The notebooks' plots, in the display language: hours, speaking time, turns, terms, word confidence.

Each function takes the pandas objects of :mod:`indexer.stats` and returns a
:class:`Chart`: a matplotlib ``Figure`` built without pyplot (no global state, no
window), shown in a notebook as PNG rendered in memory. Titles, axes and
legends come from the catalog (:mod:`.i18n`); so do the statistics' own
``undated``/``unknown`` labels (``labels``: value as computed → as shown).
"""

from __future__ import annotations

import io
from typing import Mapping, Sequence

from .i18n import _, short_number

HOURS_COLOR, SPEAKERS_COLOR, SPEAKING_COLOR, AUTOMATIC_COLOR, WORDS_COLOR = (
    "#4c72b0", "#55a868", "#8172b2", "#55a868", "#c44e52")


class Chart:
    """A figure a notebook shows (``_repr_png_``: drawn in memory, no file); ``figure`` for more."""

    def __init__(self, figure):
        self.figure = figure

    @property
    def axes(self) -> list:
        return list(self.figure.axes)

    def __repr__(self) -> str:
        titles = [ax.get_title() for ax in self.figure.axes]
        return f"<Chart {', '.join(repr(t) for t in titles if t)}>"

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def _figure(columns: int = 1, width: float = 8, height: float = 3.5, ratios: Sequence[int] | None = None):
    from matplotlib.figure import Figure  # matplotlib is the `notebook` extra

    figure = Figure(figsize=(width, height), layout="tight")
    axes = figure.subplots(1, columns, gridspec_kw={"width_ratios": list(ratios)} if ratios else None)
    return figure, (list(axes) if columns > 1 else [axes])


def _relabel(index, labels: Mapping[str, str]) -> list[str]:
    return [labels.get(str(value), str(value)) for value in index]


def _formatter():
    """Tick labels with a decimal comma (« 0,5 », « 1 200 »)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: _tick(v))


def _tick(value: float) -> str:
    return short_number(value)


def hours(by_year, by_speaker, labels: Mapping[str, str] = {}) -> Chart:
    """Hours recorded per year (bars) and speaking time per speaker (horizontal bars)."""
    figure, (left, right) = _figure(2, width=11)
    left.bar(_relabel(by_year.index, labels), by_year.values, color=HOURS_COLOR)
    left.set_title(_("plot.hours_by_year"))
    left.set_xlabel(_("column.year"))
    left.set_ylabel(_("column.hours"))
    ordered = by_speaker.sort_values()
    right.barh(_relabel(ordered.index, labels), ordered.values, color=SPEAKERS_COLOR)
    right.set_title(_("plot.speaking_time"))
    right.set_xlabel(_("column.hours"))
    left.yaxis.set_major_formatter(_formatter())
    right.xaxis.set_major_formatter(_formatter())
    return Chart(figure)


def speaking_time(seconds, timeline: Mapping[str, Sequence[tuple[float, float]]], title: str,
                  labels: Mapping[str, str] = {}, automatic: bool = False) -> Chart:
    """Seconds per speaker (bars) and who speaks when (one row of spans per speaker).

    ``seconds``: a Series by speaker, most first; ``timeline``: row label → ``(start, duration)`` spans."""
    figure, (left, right) = _figure(2, width=11, height=3, ratios=(1, 2))
    reversed_ = seconds.iloc[::-1]
    left.barh(_relabel(reversed_.index, labels), reversed_.values,
              color=AUTOMATIC_COLOR if automatic else SPEAKING_COLOR)
    left.set_title(_("plot.automatic_seconds") if automatic else _("plot.speaking_seconds"))
    left.xaxis.set_major_formatter(_formatter())
    names = list(timeline)
    for row, name in enumerate(names):
        right.broken_barh(list(timeline[name]), (row - 0.4, 0.8), color=f"C{row % 10}")
    right.set_yticks(range(len(names)), _relabel(names, labels))
    right.invert_yaxis()
    right.set_xlabel(_("column.seconds"))
    right.xaxis.set_major_formatter(_formatter())
    right.set_title(title)
    return Chart(figure)


def terms(counts, per_hour, labels: Mapping[str, str] = {}) -> Chart:
    """Occurrences of each term per year, and per recorded hour of the year."""
    figure, (left, right) = _figure(2, width=11)
    positions = range(len(counts.index))
    for frame, ax, title in ((counts, left, _("plot.occurrences_by_year")),
                             (per_hour, right, _("plot.occurrences_per_hour"))):
        for term in frame.columns:
            ax.plot(list(positions), frame[term].values, marker="o", label=term)
        ax.set_xticks(list(positions), _relabel(counts.index, labels))
        ax.set_title(title)
        ax.set_xlabel(_("column.year"))
        ax.set_ylabel(_("column.occurrences"))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_formatter())
        ax.legend(title=_("column.term"))
    return Chart(figure)


def word_confidence(probabilities, threshold: float) -> Chart:
    """The histogram of Whisper's word probabilities, the review threshold as a red line."""
    figure, (ax,) = _figure(1)
    ax.hist(list(probabilities), bins=40, range=(0, 1), color=WORDS_COLOR, alpha=0.8)
    ax.axvline(threshold, color="red", linestyle="--")
    ax.set_title(_("plot.word_probability", n=len(probabilities)))
    ax.set_xlabel(_("plot.probability"))
    ax.set_ylabel(_("plot.words"))
    ax.xaxis.set_major_formatter(_formatter())
    ax.yaxis.set_major_formatter(_formatter())
    return Chart(figure)
