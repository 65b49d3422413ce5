"""What ``Archive.correct``, ``set_speaker`` and ``name_speakers`` do: build a correction, store it, reindex."""

from __future__ import annotations

from ..archive import ArchiveLayout
from ..errors import SpeakerNameError
from .edits import name_correction, speaker_correction, text_correction
from .effective import EffectiveEpisode, effective_episode, machine_transcript
from .overlay import Correction, add_correction, load_corrections, overlay_lock, save_corrections


def reindex_episode(index, episode: EffectiveEpisode) -> None:
    """Put the effective transcript of one episode in ``index`` (as ingest does)."""
    index.update_episode(episode.entry())
    # A refreshed Whoosh searcher reuses the reader of a segment whose
    # deletions changed and would still find the replaced text: drop it.
    index.close()


def reembed_episode(layout: ArchiveLayout, machine, meta=None) -> None:
    """Re-embed the segments a correction changed (search by meaning). No embedding store: nothing."""
    from ..embeddings.upkeep import sidecar_of, update_episode

    update_episode(layout, lambda: effective_episode(layout, machine, meta).transcript, sidecar_of(layout, machine))


def record(layout: ArchiveLayout, index, episode_id: str, make) -> Correction:
    """Build a correction with ``make(machine, effective, meta)``, store it, reindex the episode.

    ``index`` may be None (no index yet): the overlay is still written and the
    next ingest or reindex picks it up.
    """
    before = effective_episode(layout, episode_id)
    correction = make(before.machine, before.transcript, before.meta)
    add_correction(layout.root, episode_id, correction)
    if index is not None:
        reindex_episode(index, effective_episode(layout, before.machine, before.meta))
    reembed_episode(layout, before.machine, before.meta)
    return correction


def correct(layout: ArchiveLayout, index, episode_id: str, segment_id: int, text: str,
            author: str | None = None) -> Correction:
    return record(layout, index, episode_id,
                  lambda machine, effective, meta: text_correction(machine, effective, segment_id, text, author))


def set_speaker(layout: ArchiveLayout, index, episode_id: str, target: int | tuple[float, float], name: str,
                author: str | None = None) -> Correction:
    return record(layout, index, episode_id,
                  lambda machine, effective, meta: speaker_correction(machine, effective, target, name, meta, author))


def name_speakers(layout: ArchiveLayout, index, episode_id: str, names: dict[str, str],
                  author: str | None = None) -> list[Correction]:
    """Name automatic speaker labels (``{"S1": "Sandra"}``): stored in the overlay, then reindexed."""
    if not isinstance(names, dict) or not names:
        raise SpeakerNameError("names must be a mapping of labels to names, e.g. {'S1': 'Sandra'}")
    machine = machine_transcript(layout, episode_id)
    made = [name_correction(machine, str(label), name, author) for label, name in names.items()]
    with overlay_lock(layout.root):
        save_corrections(layout.root, episode_id, load_corrections(layout.root, episode_id) + made)
    if index is not None:
        reindex_episode(index, effective_episode(layout, machine))
    reembed_episode(layout, machine)
    return made
