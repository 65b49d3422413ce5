"""The archive folder: episode ids, sidecar metadata, settings and where every file lives.

An archive is a folder::

    ARCHIVE/archive.yaml            optional archive-wide settings (settings.py)
    ARCHIVE/audio/**/<stem>.<ext>   episodes, any format ffmpeg reads
    ARCHIVE/audio/**/<stem>.yaml    optional sidecar (or .json) beside each (sidecars.py)
    ARCHIVE/transcripts/<id>.json   transcripts: the source of truth
    ARCHIVE/index/                  Whoosh index, rebuilt from transcripts
    ARCHIVE/corrections/<id>.json   editors' corrections, an overlay on the transcripts
    ARCHIVE/runs/                   ingest run reports

Every path is built by :class:`ArchiveLayout` (layout.py); ids follow ids.py.
"""

from ..files import HashCache, atomic_write_text, pid_alive, sha256_file
from .ids import EPISODE_ID, EPISODE_ID_HINT, check_episode_id, episode_id, is_episode_id, safe_url
from .layout import AUDIO_EXTENSIONS, ArchiveLayout
from .meta import Chapter, Episode, EpisodeMeta, SpeakerTurn
from .settings import ArchiveSettings, load_settings
from .sidecars import (MAX_SIDECAR_BYTES, SIDECAR_EXTENSIONS, SPEAKER_MODES, load_sidecar, parse_sidecar,
                       parse_speakers_mode, parse_timecode, sidecar_for)
from .working_copy import copy_archive

__all__ = [
    "AUDIO_EXTENSIONS", "EPISODE_ID", "EPISODE_ID_HINT", "MAX_SIDECAR_BYTES", "SIDECAR_EXTENSIONS", "SPEAKER_MODES",
    "ArchiveLayout", "ArchiveSettings", "Chapter", "Episode", "EpisodeMeta", "HashCache", "SpeakerTurn",
    "atomic_write_text", "check_episode_id", "copy_archive", "episode_id", "is_episode_id", "load_settings",
    "load_sidecar", "parse_sidecar", "parse_speakers_mode", "parse_timecode", "pid_alive", "safe_url", "sha256_file",
    "sidecar_for",
]
