"""archive.yaml: the archive-wide settings (language, model, engine, preset, glossary, speakers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import SidecarError
from .layout import ArchiveLayout
from .presets import DEFAULT_PRESET
from .sidecars import parse_speakers_mode, preset_of, read_mapping


@dataclass(frozen=True)
class ArchiveSettings:
    language: str | None = "fr"
    model: str = "base"
    engine: str = "faster-whisper"
    preset: str = DEFAULT_PRESET  # chosen per episode on its noise; `noisy: true/false` or `preset:` decide instead
    glossary: tuple[str, ...] = ()
    speakers: str | int = "auto"      # automatic speakers: auto | off | a known count
    speaker_backend: str = ""         # the voice encoder (indexer.speakers.BACKENDS); "" the default
    embeddings: str = "use-m3"        # sentence-embedding model for search by meaning, or "off"


def load_settings(root: Path) -> ArchiveSettings:
    path = ArchiveLayout(Path(root)).settings_path
    if not path.is_file():
        return ArchiveSettings()
    data = read_mapping(path)
    known = {"language", "model", "engine", "preset", "noisy", "glossary", "speakers", "speaker_backend",
             "embeddings"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SidecarError(f"unknown field '{unknown[0]}' (known: {', '.join(sorted(known))})", path)
    glossary = data.get("glossary") or []
    if not isinstance(glossary, list) or not all(isinstance(g, str) for g in glossary):
        raise SidecarError("field 'glossary' must be a list of terms", path)
    defaults = ArchiveSettings()
    language = data.get("language", defaults.language)
    if language is not None and not (isinstance(language, str) and re.fullmatch(r"[a-z]{2,3}|auto", language)):
        raise SidecarError(f"field 'language' must be a language code such as 'fr', or 'auto', got {language!r}",
                           path)
    for key in ("model", "engine", "preset", "speaker_backend", "embeddings"):
        if key in data and not isinstance(data[key], str):
            raise SidecarError(f"field '{key}' must be text, got {data[key]!r}", path)
    return ArchiveSettings(
        language=None if language in (None, "auto") else str(language),
        model=str(data.get("model", defaults.model)),
        engine=str(data.get("engine", defaults.engine)),
        preset=preset_of(data, path) or defaults.preset,
        glossary=tuple(glossary),
        speakers=parse_speakers_mode(data.get("speakers", defaults.speakers), path),
        speaker_backend=str(data.get("speaker_backend", defaults.speaker_backend)),
        embeddings=str(data.get("embeddings", defaults.embeddings)),
    )
