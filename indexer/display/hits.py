"""Search hits as an HTML table for notebooks: snippet, how each word matched, a player per row.

The players cut their clip when they are played (:mod:`.clips`): showing the
table reads no file.
"""

from __future__ import annotations

import html

from .clips import Clip, ClipSet, with_clips
from .i18n import _, number, sidecar_date

CLIP_PADDING = 1.0  # s of audio around a hit's segment
CLIP_FADE = 0.05    # s
HEADERS = ("column.time", "column.episode", "column.speaker", "column.text", "hits.matched", "column.listen")


def hit_clips(hits, max_players: int = 20) -> ClipSet:
    """The clips of the first ``max_players`` hits (cut only when played)."""
    return ClipSet.of([Clip(hit.audio_path, hit.start, hit.end, CLIP_PADDING, CLIP_FADE)
                       for hit in list(hits)[:max_players]])


def hits_html(hits, max_players: int = 20, clips: ClipSet | None = None) -> str:
    """The table of :class:`indexer.search.Hits`; a player on the first ``max_players`` rows."""
    esc = html.escape
    if not hits:
        return f"<p>{_('hits.none', query=f'<code>{esc(hits.query)}</code>')}</p>"
    clips = clips or hit_clips(hits, max_players)
    rows = []
    for i, hit in enumerate(hits):
        player = clips.cell(i) if i < len(clips.clips) else ""
        suspect = f" <span title='{_('hits.suspect')}'>⚠</span>" if hit.suspect else ""
        rows.append(
            "<tr>"
            f"<td>{esc(hit.timecode)}</td>"
            f"<td>{esc(hit.title)}<br><small>{esc(hit.episode)} {esc(sidecar_date(hit.date))}</small></td>"
            f"<td>{esc(hit.speaker)}</td>"
            f"<td style='text-align:left'>{hit.snippet}{suspect}</td>"
            f"<td>{_matched_cell(hit)}</td>"
            f"<td>{player}</td>"
            "</tr>"
        )
    head = "<tr>" + "".join(f"<th>{_(column)}</th>" for column in HEADERS) + "</tr>"
    return clips.wrap(f"<p>{_('hits.count', n=len(hits), query=f'<code>{esc(hits.query)}</code>')}</p>"
                      f"<table class='indexer-hits'>{head}{''.join(rows)}</table>")


def hits_outputs(hits, max_players: int = 20) -> list:
    """What a notebook shows for the hits: the table, and the bridge that cuts a clip when it is played
    (for ``display``, or an ipywidgets ``Output``'s ``append_display_data``)."""
    clips = hit_clips(hits, max_players)
    return with_clips(hits_html(hits, max_players, clips), clips)


def _matched_cell(hit) -> str:
    """Each query word: plain if exact, ≈ and the transcript's form if approximate, struck if absent."""
    esc = html.escape
    similarity = number(hit.similarity, 2) if hit.similarity is not None else ""
    if hit.found_by == "meaning":
        return f"<i title='{_('hits.meaning_only', similarity=similarity)}'>{_('hits.meaning', similarity=similarity)}</i>"
    cells = []
    for w in hit.query_words:
        how = hit.matched.get(w)
        if how and how.is_exact:
            cells.append(esc(w))
        elif how:
            cells.append(f"<i title='{_('hits.approximate')}'>{esc(w)} ≈ {esc(how.form)}</i>")
        else:
            cells.append(f"<s title='{_('hits.absent')}'>{esc(w)}</s>")
    if hit.similarity is not None:
        cells.append(f"<i title='{_('hits.also_meaning')}'>{_('hits.plus_meaning', similarity=similarity)}</i>")
    return "<br>".join(cells)

