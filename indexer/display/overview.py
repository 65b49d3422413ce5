"""The archive's overview (:class:`indexer.stats.Overview`) as an HTML table for notebooks."""

from __future__ import annotations

import html

from .numbers import percent


def overview_html(overview) -> str:
    esc = html.escape
    o = overview
    rows = [
        ("épisodes", f"{o.episodes} ({o.transcribed} transcrits)"),
        ("heures", f"{o.hours:.2f}"),
        ("intervenants", f"{len(o.speakers)} : {', '.join(o.speakers)}"),
        ("dates", f"{o.first_date} – {o.last_date}" + (f" ({o.undated} sans date)" if o.undated else "")),
        ("par année", ", ".join(f"{y} : {n}" for y, n in o.years.items())),
        ("segments", f"{o.segments} ({o.suspect_segments} suspects, "
                     f"{o.low_confidence_segments} avec des mots peu sûrs, {o.corrected_segments} corrigés)"),
        ("mots", f"{o.words}"),
        ("qualité", f"{percent(o.quality.suspect_share)} des segments suspects, "
                    f"{percent(o.quality.low_confidence_share)} des mots peu sûrs"),
        ("décodage", ", ".join(f"{name} : {n}" for name, n in o.presets.items())
         + (f" ; bruit mesuré ({len(o.noisy)}, décodés en recherche en faisceau) : "
            + ", ".join(f"{episode} ({_decibels(db)})" for episode, db, _ in o.noisy) if o.noisy else "")),
    ]
    if o.worst_episodes:
        rows.append(("les moins sûrs", " ; ".join(
            f"{q.episode} ({percent(q.suspect_share)} suspects, {percent(q.low_confidence_share)} peu sûrs)"
            for q in o.worst_episodes)))
    body = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>{esc(v)}</td></tr>"
                   for k, v in rows)
    return f"<table class='indexer-overview'>{body}</table>"


def _decibels(value: float) -> str:
    """« 18,2 dB », the French way."""
    return f"{value:.1f}".replace(".", ",") + "\u00a0dB"
