"""A live search box for notebooks (ipywidgets): type a query, press Enter, see the hits."""

from __future__ import annotations

from ..errors import IndexerError
from .hits import hits_outputs
from .i18n import _


def match_labels() -> tuple[tuple[str, str], ...]:
    """The search modes as the dropdown shows them: (label, ``match=`` value)."""
    return ((_("box.hybrid"), "hybrid"), (_("box.words"), "words"), (_("box.meaning"), "meaning"),
            (_("box.all"), "all"))


def search_box(archive, limit: int = 20):
    """A small live search for notebooks: type a query, press Enter. The filters (speaker, period, episode)
    are those of ``archive.search``, and give the same hits as the same filters typed in the query."""
    import ipywidgets as widgets

    box = widgets.Text(placeholder=_("box.placeholder"), description=_("box.search"), continuous_update=False,
                       layout=widgets.Layout(width="60%"))
    match = widgets.Dropdown(options=match_labels(), value="hybrid", description=_("box.by"))
    speaker = widgets.Text(placeholder=_("box.speaker_example"), description=_("box.speaker"),
                           continuous_update=False)
    period = widgets.Text(placeholder=_("box.period_example"), description=_("box.period"), continuous_update=False)
    episode = widgets.Text(placeholder=_("box.episode_example"), description=_("box.episode"),
                           continuous_update=False)
    suspect = widgets.Checkbox(value=False, description=_("box.no_suspect"))
    out = widgets.Output()

    def run(_change=None):
        out.outputs = ()  # not clear_output(): that needs a kernel (and the tests have none)
        if not box.value.strip():
            return
        start, dots, end = period.value.strip().partition("..")
        date = (start or None, end or None) if dots else (start or None)
        try:  # append_* work in any kernel thread (and without one, in tests)
            hits = archive.search(box.value, limit=limit, match=match.value, speaker=speaker.value.strip() or None,
                                  date=date, episode=episode.value.strip() or None, exclude_suspect=suspect.value)
            for line in hits.warnings:
                out.append_stdout(_("box.warning", line=line) + "\n")
            for shown in hits_outputs(hits, hits.max_players):  # the table, and its clips' bridge
                out.append_display_data(shown)
        except IndexerError as e:
            out.append_stdout(_("box.error", error=e.one_line()) + "\n")

    for widget in (box, match, speaker, period, episode, suspect):
        widget.observe(run, names="value")  # text boxes fire on Enter / leaving the box, not per key
    filters = widgets.VBox([match, speaker, period, episode, suspect])
    return widgets.VBox([widgets.HBox([box, filters]), out])
