"""The archive folder: episode ids, sidecar metadata, settings and where every file lives."""

from .sidecars import (AUDIO_EXTENSIONS, EPISODE_ID, EPISODE_ID_HINT, MAX_SIDECAR_BYTES, SIDECAR_EXTENSIONS,
                       SPEAKER_MODES, ArchiveLayout, ArchiveSettings, Chapter, Episode, EpisodeMeta, HashCache,
                       SpeakerTurn, atomic_write_text, check_episode_id, episode_id, is_episode_id, load_settings,
                       load_sidecar, parse_sidecar, parse_speakers_mode, parse_timecode, pid_alive, safe_url,
                       sha256_file, sidecar_for)
