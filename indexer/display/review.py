"""A review table (:func:`indexer.stats.review_table`) as HTML: unsure words marked, a player per row."""

from __future__ import annotations

import html
import re

from .audio import audio_tag

CLIP_FADE = 0.05  # s


class ReviewPlayers:
    """A review table as HTML: unsure words marked, a player per row, the call that corrects it."""

    def __init__(self, table, max_players: int = 20, padding: float = 0.5):
        self.table = table
        self.max_players = max_players
        self.padding = padding

    def _repr_html_(self) -> str:
        esc = html.escape
        if self.table.empty:
            return "<p>Nothing to review.</p>"
        rows = []
        for i, row in enumerate(self.table.itertuples(index=False)):
            text = re.sub(r"\[\?([^\]]*)\]", r"<mark>\1</mark>", esc(row.marked, quote=False))
            player = audio_tag(row.audio_path, row.start, row.end, self.padding, CLIP_FADE) \
                if i < self.max_players else ""
            call = f"archive.correct({row.episode!r}, {row.segment_id}, {row.text!r})"
            rows.append(
                "<tr>"
                f"<td>{esc(row.timecode)}</td>"
                f"<td>{esc(row.title)}<br><small>{esc(row.episode)} #{row.segment_id}</small></td>"
                f"<td>{esc(row.speaker)}</td>"
                f"<td style='white-space:nowrap'><small>{esc(row.reasons).replace(', ', '<br>')}</small></td>"
                f"<td style='text-align:left'>{text}<br><small><code>{esc(call)}</code></small></td>"
                f"<td>{player}</td>"
                "</tr>")
        head = "<tr><th>time</th><th>episode</th><th>speaker</th><th>why</th><th>text</th><th>listen</th></tr>"
        return (f"<p>{len(self.table)} segments to review</p>"
                f"<table class='indexer-review'>{head}{''.join(rows)}</table>")


def review_players(table, max_players: int = 20) -> ReviewPlayers:
    """Display ``review_table(...)`` in a notebook with a player on the first ``max_players`` rows."""
    return ReviewPlayers(table, max_players)
