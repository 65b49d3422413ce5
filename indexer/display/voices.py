"""The archive's voices (:class:`indexer.voices.VoicesTable`) as an HTML table for notebooks."""

from __future__ import annotations

import html

from .i18n import _, number


def voices_html(table) -> str:
    esc = html.escape
    if not len(table):
        return f"<p class='indexer-voices'>{_('voices.none', call='<code>archive.name_speakers(…)</code>')}</p>"
    head = (f"<tr><th style='text-align:left'>{_('voices.voice')}</th><th>{_('voices.episodes')}</th>"
            f"<th>{_('voices.minutes')}</th><th>{_('voices.confirmed')}</th><th>{_('voices.automatic')}</th>"
            f"<th style='text-align:left'>{_('voices.remark')}</th></tr>")
    rows = []
    for r in table:
        remark = _("voices.conflict") if r.conflict else ""
        rows.append(f"<tr><td style='text-align:left'>{esc(r.name)}</td><td>{r.episodes}</td>"
                    f"<td>{number(r.seconds / 60)}</td><td>{r.confirmed}</td><td>{r.automatic}</td>"
                    f"<td style='text-align:left' title='{esc(r.conflict)}'>{esc(remark)}</td></tr>")
    return f"<table class='indexer-voices'>{head}{''.join(rows)}</table>"
