"""The archive's voices (:class:`indexer.voices.VoicesTable`) as an HTML table for notebooks, in French."""

from __future__ import annotations

import html


def decimal(value: float, digits: int = 1) -> str:
    """A number the French way: « 15,3 »."""
    return f"{value:.{digits}f}".replace(".", ",")


def voices_html(table) -> str:
    esc = html.escape
    if not len(table):
        return ("<p class='indexer-voices'>Aucune voix connue : nommez les intervenants d'un épisode "
                "(<code>archive.name_speakers(…)</code>), puis lancez l'ingestion.</p>")
    head = ("<tr><th style='text-align:left'>voix</th><th>épisodes</th><th>temps de parole (min)</th>"
            "<th>nommés par un éditeur</th><th>reconnus automatiquement</th><th style='text-align:left'>"
            "remarque</th></tr>")
    rows = []
    for r in table:
        remark = "nom donné à deux voix nettement différentes" if r.conflict else ""
        rows.append(f"<tr><td style='text-align:left'>{esc(r.name)}</td><td>{r.episodes}</td>"
                    f"<td>{decimal(r.seconds / 60)}</td><td>{r.confirmed}</td><td>{r.automatic}</td>"
                    f"<td style='text-align:left' title='{esc(r.conflict)}'>{esc(remark)}</td></tr>")
    return f"<table class='indexer-voices'>{head}{''.join(rows)}</table>"
