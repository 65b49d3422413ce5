"""Editors' corrections, stored as an overlay beside the machine transcript.

- overlay.py: the ``corrections/<id>.json`` files (:class:`Correction`, load, save, lock);
- edits.py: one correction from an editor's request (text, speaker, a label's name);
- align.py: re-anchoring on a new transcription, applying, stale corrections;
- names.py: names of automatic speakers (sidecar, then name corrections);
- effective.py: :func:`effective_episode`, the machine transcript as shown, with its metadata;
- actions.py: what ``Archive.correct`` / ``set_speaker`` / ``name_speakers`` do.
"""

from .actions import correct, name_speakers, record, reindex_episode, set_speaker
from .align import (CORRECTED_FLAG, MAX_RUN, MIN_SIMILARITY, SPEAKER_FLAG, TIME_TOLERANCE, align_words, anchor,
                    apply_corrections, normalise_token, similarity, stale_corrections)
from .edits import name_correction, speaker_correction, speaker_name, text_correction
from .effective import (EffectiveEpisode, corrected, effective_episode, episode_meta, machine_transcript,
                        names_of_speakers, with_speakers)
from .names import apply_names, names_in_sidecar, speaker_names
from .overlay import (KINDS, SCHEMA_VERSION, Correction, add_correction, corrections_path, load_corrections,
                      overlay_lock, save_corrections)

__all__ = [
    "CORRECTED_FLAG", "KINDS", "MAX_RUN", "MIN_SIMILARITY", "SCHEMA_VERSION", "SPEAKER_FLAG", "TIME_TOLERANCE",
    "Correction", "EffectiveEpisode", "add_correction", "align_words", "anchor", "apply_corrections", "apply_names",
    "correct", "corrected", "corrections_path", "effective_episode", "episode_meta", "load_corrections",
    "machine_transcript", "name_correction", "name_speakers", "names_in_sidecar", "names_of_speakers",
    "normalise_token", "overlay_lock", "record", "reindex_episode", "save_corrections", "set_speaker", "similarity",
    "speaker_correction", "speaker_name", "speaker_names", "stale_corrections", "text_correction", "with_speakers",
]
