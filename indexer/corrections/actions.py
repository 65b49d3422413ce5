"""What ``Archive.correct``, ``set_speaker`` and ``name_speakers`` do: build a correction, store it, reindex."""

from __future__ import annotations

import logging

from ..archive import ArchiveLayout
from ..errors import SpeakerNameError, printable
from ..speakers.library import read_library
from ..speakers.naming import clearly_different, naming_options
from ..speakers.prints import prints_from_diarization
from .edits import name_correction, speaker_correction, text_correction
from .effective import EffectiveEpisode, effective_episode, machine_transcript
from .overlay import Correction, add_correction, load_corrections, overlay_lock, save_corrections

log = logging.getLogger("indexer")


def reindex_episode(index, episode: EffectiveEpisode) -> None:
    """Put the effective transcript of one episode in ``index`` (as ingest does)."""
    index.update_episode(episode.entry())
    # A refreshed Whoosh searcher reuses the reader of a segment whose
    # deletions changed and would still find the replaced text: drop it.
    index.close()


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
    for line in different_voices(layout, machine, names):
        log.warning("%s", printable(line))
    if index is not None:
        reindex_episode(index, effective_episode(layout, machine))
    return made


def different_voices(layout: ArchiveLayout, machine, names: dict[str, str]) -> list[str]:
    """One line per name just given to a voice clearly different from another voice of that name
    (in this episode, or known to the voice library). The names are stored all the same."""
    diarization = machine.diarization or {}
    backend = diarization.get("backend", "")
    options = naming_options(backend)
    prints = prints_from_diarization(diarization)
    library = read_library(layout.voice_library_path)
    lines = []
    for name in dict.fromkeys(names.values()):
        mine = [(label, prints[label]) for label, n in names.items() if n == name and label in prints]
        mine = [(label, p) for label, p in mine if p.seconds >= options.min_seconds]
        known = library.voices.get(library.shown(name))
        others = [(f"{e.speaker} of {e.episode}", e.print) for e in (known.exemplars if known else ())
                  if library.backend == backend and e.episode != machine.episode_id
                  and e.print.seconds >= options.min_seconds]
        for label, voiceprint in mine:
            for where, other in [*others, *[(f"{lb} of {machine.episode_id}", p) for lb, p in mine if lb != label]]:
                if clearly_different([voiceprint, other], options):
                    lines.append(f"{machine.episode_id}: {name!r} was given to {label}, whose voice is clearly "
                                 f"different from {where}, also called {name!r}; both names are kept (rename one "
                                 "of them if they are two people)")
                    break
            else:
                continue
            break
    return lines
