"""A live search box for notebooks (ipywidgets): type a query, press Enter, see the hits."""

from __future__ import annotations

from ..errors import IndexerError
from .hits import hits_outputs


def search_box(archive, limit: int = 20):
    """A small live search for notebooks: type a query, press Enter."""
    import ipywidgets as widgets

    box = widgets.Text(placeholder='ex. "réseaux sociaux" speaker:dupont', description="Chercher",
                       continuous_update=False, layout=widgets.Layout(width="60%"))
    suspect = widgets.Checkbox(value=False, description="sans segments suspects")
    out = widgets.Output()

    def run(_change=None):
        out.clear_output()
        if not box.value.strip():
            return
        try:  # append_* work in any kernel thread (and without one, in tests)
            hits = archive.search(box.value, limit=limit, exclude_suspect=suspect.value)
            for shown in hits_outputs(hits, hits.max_players):  # the table, and its clips' bridge
                out.append_display_data(shown)
        except IndexerError as e:
            out.append_stdout(f"error: {e.one_line()}\n")

    box.observe(run, names="value")  # fires on Enter / leaving the box, not per key
    suspect.observe(run, names="value")
    return widgets.VBox([widgets.HBox([box, suspect]), out])
