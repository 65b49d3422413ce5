"""Episode quality (:func:`indexer.stats.episode_quality`) as a French HTML table for notebooks."""

from __future__ import annotations

import html

from .i18n import _, number, percent


class QualityTable:
    """The episodes worst first: suspect segments and low-confidence words, « à revoir » over the thresholds."""

    def __init__(self, table, limit: int = 10):
        self.table = table
        self.limit = limit

    def _repr_html_(self) -> str:
        esc = html.escape
        if self.table.empty:
            return f"<p>{_('quality.none')}</p>"
        rows = []
        for row in self.table.head(self.limit).itertuples(index=False):
            flag = f"<b title='{_('quality.poor_title')}'>{_('quality.poor')}</b>" if row.poor else ""
            rows.append(
                "<tr>"
                f"<td style='text-align:left'>{esc(row.title)}<br><small>{esc(row.episode)}</small></td>"
                f"<td>{percent(row.suspect_share)}<br><small>{number(row.suspect_segments, 0)} / {number(row.segments, 0)}</small></td>"
                f"<td>{percent(row.low_confidence_share)}<br>"
                f"<small>{number(row.low_confidence_words, 0)} / {number(row.words, 0)}</small></td>"
                f"<td>{flag}</td>"
                "</tr>")
        head = (f"<tr><th>{_('column.episode')}</th><th>{_('quality.suspect')}</th><th>{_('quality.unsure')}</th>"
                "<th></th></tr>")
        hidden = len(self.table) - self.limit
        more = f"<p><small>{_('quality.more', n=hidden)}</small></p>" if hidden > 0 else ""
        return f"<table class='indexer-quality'>{head}{''.join(rows)}</table>{more}"


def quality_view(table, limit: int = 10) -> QualityTable:
    """Display ``episode_quality(...)`` in a notebook: the ``limit`` worst episodes."""
    return QualityTable(table, limit)
