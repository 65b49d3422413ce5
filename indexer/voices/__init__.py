"""The archive's voice library: a name given once is found again in every episode with that voice.

- actions.py: the editors' renames, merges and forgets (``corrections/voices.actions.json``);
- build.py: the library rebuilt from names, sidecars, voice actions and the transcripts' voice prints;
- table.py: ``archive.voices()``, a row per known voice.

The library's file format and its reading for display live below, in
:mod:`indexer.speakers.library` (the corrections show its names); matching
prints to voices is :mod:`indexer.speakers.naming`. Who writes the library:
the ingest, at the end of each run, and :func:`indexer.ingest.voices.update_voices`.
"""

from .actions import VoiceAction, load_actions, make_action, record_action, rename_map
from .build import build_library
from .table import VoiceRow, VoicesTable, voices_of, voices_table

__all__ = ["VoiceAction", "VoiceRow", "VoicesTable", "build_library", "load_actions", "make_action",
           "record_action", "rename_map", "voices_of", "voices_table"]
