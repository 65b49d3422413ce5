"""A review table (:func:`indexer.stats.review_table`) as HTML: unsure words marked, a player per row
(its clip cut when it is played, :mod:`.clips`)."""

from __future__ import annotations

import html
import re

from ..transcript import Flag
from .clips import Clip, ClipSet, with_clips
from .i18n import _, flag_label, short_number

CLIP_FADE = 0.05  # s
HEADERS = ("column.time", "column.episode", "column.speaker", "review.why", "column.text", "column.listen")
LOW_WORDS = Flag.LOW_CONFIDENCE_WORDS   # the review table's reason for unsure words, counted in ``low_words``


def reason_labels(reasons: str, low_words: int | None = None, threshold: float = 0.5) -> list[str]:
    """A review row's ``reasons`` codes as the catalog names them; the unsure words counted when known:
    « répétitions », « 2 mots < 0,5 »."""
    return [_("review.low_words", n=low_words, threshold=short_number(threshold))
            if code == LOW_WORDS and low_words else flag_label(code)
            for code in reasons.split(", ") if code]


class ReviewPlayers:
    """A review table as HTML: unsure words marked, a player per row, the call that corrects it."""

    def __init__(self, table, max_players: int = 20, padding: float = 0.5):
        self.table = table
        self.max_players = max_players
        self.padding = padding

    def clips(self) -> ClipSet:
        return ClipSet.of([Clip(row.audio_path, row.start, row.end, self.padding, CLIP_FADE)
                           for row in self.table.head(self.max_players).itertuples(index=False)])

    def _repr_html_(self, clips: ClipSet | None = None) -> str:
        esc = html.escape
        if self.table.empty:
            return f"<p>{_('review.none')}</p>"
        clips = clips or self.clips()
        threshold = self.table.attrs.get("max_probability", 0.5)
        rows = []
        for i, row in enumerate(self.table.itertuples(index=False)):
            text = re.sub(r"\[\?([^\]]*)\]", r"<mark>\1</mark>", esc(row.marked, quote=False))
            player = clips.cell(i) if i < len(clips.clips) else ""
            call = f"archive.correct({row.episode!r}, {row.segment_id}, {row.text!r})"
            rows.append(
                "<tr>"
                f"<td>{esc(row.timecode)}</td>"
                f"<td>{esc(row.title)}<br><small>{esc(row.episode)} #{row.segment_id}</small></td>"
                f"<td>{esc(row.speaker)}</td>"
                f"<td style='white-space:nowrap'><small>{'<br>'.join(esc(r) for r in reason_labels(row.reasons, len(row.low_words), threshold))}</small></td>"
                f"<td style='text-align:left'>{text}<br><small><code>{esc(call)}</code></small></td>"
                f"<td>{player}</td>"
                "</tr>")
        head = "<tr>" + "".join(f"<th>{_(column)}</th>" for column in HEADERS) + "</tr>"
        return clips.wrap(f"<p>{_('review.count', n=len(self.table))}</p>"
                          f"<table class='indexer-review'>{head}{''.join(rows)}</table>")

    def _ipython_display_(self) -> None:
        """The table and, in a kernel, the bridge that cuts a clip when it is played."""
        from IPython.display import display

        clips = self.clips()
        display(*with_clips(self._repr_html_(clips), clips))


def review_players(table, max_players: int = 20) -> ReviewPlayers:
    """Display ``review_table(...)`` in a notebook with a player on the first ``max_players`` rows."""
    return ReviewPlayers(table, max_players)
