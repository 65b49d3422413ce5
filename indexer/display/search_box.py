"""A live search box for notebooks (ipywidgets): type a query, press Enter, see the hits."""

from __future__ import annotations

from ..errors import IndexerError
from .hits import hits_outputs

MATCH_LABELS = (("mots et sens", "hybrid"), ("mots", "words"), ("sens", "meaning"), ("tous les mots", "all"))


def search_box(archive, limit: int = 20):
    """A small live search for notebooks: type a query, press Enter. The filters (speaker, period, episode)
    are those of ``archive.search``, and give the same hits as the same filters typed in the query."""
    import ipywidgets as widgets

    box = widgets.Text(placeholder='ex. les gens qui surveillent les commentaires, "réseaux sociaux" speaker:dupont',
                       description="Chercher", continuous_update=False, layout=widgets.Layout(width="60%"))
    match = widgets.Dropdown(options=MATCH_LABELS, value="hybrid", description="par")
    speaker = widgets.Text(placeholder="ex. Claire Dubois", description="intervenant", continuous_update=False)
    period = widgets.Text(placeholder="2013 ou 2010..2011", description="période", continuous_update=False)
    episode = widgets.Text(placeholder="ex. 2011/*", description="épisode", continuous_update=False)
    suspect = widgets.Checkbox(value=False, description="sans segments suspects")
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
                out.append_stdout(f"attention : {line}\n")
            for shown in hits_outputs(hits, hits.max_players):  # the table, and its clips' bridge
                out.append_display_data(shown)
        except IndexerError as e:
            out.append_stdout(f"erreur : {e.one_line()}\n")

    for widget in (box, match, speaker, period, episode, suspect):
        widget.observe(run, names="value")  # text boxes fire on Enter / leaving the box, not per key
    filters = widgets.VBox([match, speaker, period, episode, suspect])
    return widgets.VBox([widgets.HBox([box, filters]), out])
