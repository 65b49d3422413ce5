"""The archive's overview (:class:`indexer.stats.Overview`) as an HTML table for notebooks."""

from __future__ import annotations

import html

from .i18n import _, number, percent, sidecar_date


def year_label(year: str) -> str:
    """A year of the statistics as shown: the stats' ``undated`` in the display language."""
    from ..stats.episodes import UNDATED

    return _("value.undated") if year == UNDATED else year


def _part(windows: tuple[int, int] | None) -> str:
    """« , 3 fenêtres sur 40 » for an episode decoded with beam search in some of its windows only."""
    return ", " + _("overview.noisy_windows", n=windows[0], windows=number(windows[1], 0)) if windows else ""


def overview_html(overview) -> str:
    esc = html.escape
    o = overview
    dates = f"{sidecar_date(o.first_date)} – {sidecar_date(o.last_date)}" if o.first_date else ""
    if o.undated:
        dates += f" ({_('overview.undated', n=o.undated)})"
    noisy = ""
    if o.noisy:
        noisy = " ; " + _("overview.noisy", n=len(o.noisy), episodes=", ".join(
            f"{episode} ({_decibels(db)}{_part(o.partly_noisy.get(episode))})" for episode, db, _preset in o.noisy))
    rows = [
        (_("overview.episodes"), _("overview.episodes_value", n=o.transcribed, episodes=number(o.episodes, 0))),
        (_("overview.hours"), number(o.hours, 2)),
        (_("overview.speakers"), f"{number(len(o.speakers), 0)} : {', '.join(o.speakers)}"),
        (_("overview.dates"), dates),
        (_("overview.per_year"), ", ".join(f"{year_label(y)} : {number(n, 0)}" for y, n in o.years.items())),
        (_("overview.segments"), _("overview.segments_value", n=o.segments, suspect=number(o.suspect_segments, 0),
                                   unsure=number(o.low_confidence_segments, 0),
                                   corrected=number(o.corrected_segments, 0))),
        (_("overview.words"), number(o.words, 0)),
        (_("overview.quality"), _("overview.quality_value", suspect=percent(o.quality.suspect_share),
                                  unsure=percent(o.quality.low_confidence_share))),
        (_("overview.decoding"), ", ".join(f"{name} : {number(n, 0)}" for name, n in o.presets.items()) + noisy
         + (" ; " + _("overview.greedy", n=number(o.greedy, 0)) if o.greedy else "")),
    ]
    if o.worst_episodes:
        rows.append((_("overview.worst"), " ; ".join(
            _("overview.worst_value", episode=q.episode, suspect=percent(q.suspect_share),
              unsure=percent(q.low_confidence_share))
            for q in o.worst_episodes)))
    body = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>{esc(v)}</td></tr>"
                   for k, v in rows)
    return f"<table class='indexer-overview'>{body}</table>"


def _decibels(value: float) -> str:
    """« 18,2 dB », the French way."""
    return _("overview.decibels", value=number(value, 1))
