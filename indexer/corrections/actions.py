"""What ``Archive.correct``, ``set_speaker`` and ``name_speakers`` do: build a correction, store it, reindex."""

from __future__ import annotations

import logging
from contextlib import contextmanager

from ..archive import ArchiveLayout
from ..errors import CorrectionError, IndexerError, SpeakerNameError, printable
from ..speakers.library import read_library
from ..speakers.naming import clearly_different, naming_options
from ..speakers.prints import prints_from_diarization
from .edits import name_correction, speaker_correction, text_correction
from .effective import EffectiveEpisode, effective_episode, machine_transcript
from .overlay import Correction, load_corrections, overlay_lock, save_corrections

log = logging.getLogger("indexer")


def reindex_episode(index, episode: EffectiveEpisode) -> None:
    """Put the effective transcript of one episode in ``index`` (as ingest does)."""
    index.update_episode(episode.entry())
    # A refreshed Whoosh searcher reuses the reader of a segment whose
    # deletions changed and would still find the replaced text: drop it.
    index.close()


def reembed_episode(layout: ArchiveLayout, episode_id: str) -> None:
    """Re-embed the segments a correction changed (search by meaning). No embedding store: nothing."""
    from ..embeddings.upkeep import update_episode

    update_episode(layout, lambda: effective_episode(layout, episode_id).transcript)


@contextmanager
def editing(layout: ArchiveLayout, index, episode_id: str):
    """One editor's change of an episode's overlay, under the archive's edit lock (:mod:`indexer.locks`).

    Yields ``store(corrections)``, which saves the overlay and indexes the
    episode. Holding the edit lock from reading the overlay to the commit
    keeps two editors (and a reindex's catch-up) from interleaving: the index
    never keeps the older of two corrections. ``index`` may be None (no index
    yet): the overlay is still written and the next ingest or reindex picks it up.
    """
    if not layout.transcript_path(episode_id).is_file():  # a bad or unknown id: one line, nothing written
        machine_transcript(layout, episode_id)
    with overlay_lock(layout.root):
        yield lambda corrections: _store(layout, index, episode_id, corrections)


def _store(layout: ArchiveLayout, index, episode_id: str, corrections: list[Correction]) -> None:
    """Save the overlay, then index the episode. The index is locked first: when another process writes
    it, LockError comes before anything is stored, so trying again never stores a change twice."""
    if index is None:
        save_corrections(layout.root, episode_id, corrections)
        reembed_episode(layout, episode_id)
        return
    saved = False
    try:
        with index.writing() as replace:
            save_corrections(layout.root, episode_id, corrections)
            saved = True
            replace(effective_episode(layout, episode_id).entry())
    except IndexerError as e:
        if not saved:
            raise
        raise CorrectionError(f"stored, but not indexed: {e.message}", e.path,
                              "do not make it again: the next `indexer ingest` or `indexer reindex` indexes it") \
            from e
    finally:
        index.close()  # see reindex_episode
    reembed_episode(layout, episode_id)  # under the edit lock too: the later of two corrections is embedded last


def record(layout: ArchiveLayout, index, episode_id: str, make) -> Correction:
    """Build a correction with ``make(machine, effective, meta)``, store it and reindex the episode."""
    with editing(layout, index, episode_id) as store:
        before = effective_episode(layout, episode_id)
        correction = make(before.machine, before.transcript, before.meta)
        store(list(before.corrections) + [correction])
    return correction


def correct(layout: ArchiveLayout, index, episode_id: str, segment_id: int, text: str,
            author: str | None = None) -> Correction:
    return record(layout, index, episode_id,
                  lambda machine, effective, meta: text_correction(machine, effective, segment_id, text, author))


def set_speaker(layout: ArchiveLayout, index, episode_id: str, target: int | tuple[float, float], name: str,
                author: str | None = None) -> Correction:
    return record(layout, index, episode_id,
                  lambda machine, effective, meta: speaker_correction(machine, effective, target, name, author=author))


def name_speakers(layout: ArchiveLayout, index, episode_id: str, names: dict[str, str],
                  author: str | None = None) -> list[Correction]:
    """Name automatic speaker labels (``{"S1": "Sandra"}``): stored in the overlay, then reindexed."""
    if not isinstance(names, dict) or not names:
        raise SpeakerNameError("names must be a mapping of labels to names, e.g. {'S1': 'Sandra'}")
    with editing(layout, index, episode_id) as store:
        machine = machine_transcript(layout, episode_id)
        made = [name_correction(machine, str(label), name, author) for label, name in names.items()]
        store(load_corrections(layout.root, episode_id) + made)
    for line in different_voices(layout, machine, names):
        log.warning("%s", printable(line))
    return made


def different_voices(layout: ArchiveLayout, machine, names: dict[str, str]) -> list[str]:
    """One line per name just given to a voice clearly different from another voice of that name
    (in this episode, or known to the voice library). The names are stored all the same."""
    backend = machine.diarization.backend if machine.diarization else ""
    options = naming_options(backend)
    prints = prints_from_diarization(machine.diarization)
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
