"""Episode quality (:func:`indexer.stats.episode_quality`) as a French HTML table for notebooks."""

from __future__ import annotations

import html

from .numbers import percent


class QualityTable:
    """The episodes worst first: suspect segments and low-confidence words, « à revoir » over the thresholds."""

    def __init__(self, table, limit: int = 10):
        self.table = table
        self.limit = limit

    def _repr_html_(self) -> str:
        esc = html.escape
        if self.table.empty:
            return "<p>Aucune transcription.</p>"
        rows = []
        for row in self.table.head(self.limit).itertuples(index=False):
            flag = "<b title='au-dessus du seuil d’avertissement de l’ingestion'>à revoir</b>" if row.poor else ""
            rows.append(
                "<tr>"
                f"<td style='text-align:left'>{esc(row.title)}<br><small>{esc(row.episode)}</small></td>"
                f"<td>{percent(row.suspect_share)}<br><small>{row.suspect_segments} / {row.segments}</small></td>"
                f"<td>{percent(row.low_confidence_share)}<br>"
                f"<small>{row.low_confidence_words} / {row.words}</small></td>"
                f"<td>{flag}</td>"
                "</tr>")
        head = "<tr><th>épisode</th><th>segments suspects</th><th>mots peu sûrs</th><th></th></tr>"
        hidden = len(self.table) - self.limit
        more = f"<p><small>… et {hidden} autres</small></p>" if hidden > 0 else ""
        return f"<table class='indexer-quality'>{head}{''.join(rows)}</table>{more}"


def quality_view(table, limit: int = 10) -> QualityTable:
    """Display ``episode_quality(...)`` in a notebook: the ``limit`` worst episodes."""
    return QualityTable(table, limit)
