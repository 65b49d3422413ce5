"""What one ingest is asked to do (:class:`IngestOptions`), the decoding archive.yaml asks for, and the
check that the models it names exist (before any work)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..archive import ArchiveLayout, ArchiveSettings
from ..errors import EngineError, SidecarError
from ..models import resolve_model
from ..speakers import SpeakerOptions, check_backend_installed
from ..transcribe import TranscribeOptions, engine_class, glossary_prompt, whisper_languages, with_preset

if TYPE_CHECKING:
    from .workers import Job


@dataclass(frozen=True)
class IngestOptions:
    force: bool = False                   # re-transcribe even up-to-date episodes
    only: str | None = None               # glob on episode ids or file names
    workers: int = 0                      # 0: sized to the machine
    scheduler: str | None = None          # tcp://host:8786 for a Dask cluster
    ship_audio: bool | None = None        # Dask: send the audio bytes (None: only to workers that lack the file)
    progress: bool = True
    index: bool = True                    # also keep the search index up to date
    wait_for_lock: float = 0.0            # seconds to wait for another ingest
    transcribe: TranscribeOptions | None = None   # None: from archive.yaml
    speakers: SpeakerOptions | None = None        # None: from archive.yaml (`speakers: auto | off | N`)


@dataclass(frozen=True)
class RunConfig:
    """What a run settled before any work (archive.yaml and the options read, threads sized): what the
    survey and the status read, so that they never need the :class:`~indexer.ingest.run.Ingest` itself."""

    layout: ArchiveLayout
    options: IngestOptions
    transcribe: TranscribeOptions        # the archive's decoding, threads sized for this machine
    speakers: SpeakerOptions
    _presets: dict[str, TranscribeOptions] = field(default_factory=dict, compare=False, repr=False)

    def options_for(self, preset_name: str) -> TranscribeOptions:
        """The run's options with the decoding of ``preset_name`` (made once per preset: the survey
        asks for each file's fingerprint)."""
        if preset_name == self.transcribe.preset:
            return self.transcribe
        if preset_name not in self._presets:
            self._presets[preset_name] = with_preset(self.transcribe, preset_name)
        return self._presets[preset_name]


def options_from_settings(settings: ArchiveSettings) -> TranscribeOptions:
    return with_preset(replace(TranscribeOptions(), model=settings.model, engine=settings.engine,
                               language=settings.language, initial_prompt=glossary_prompt(settings.glossary)),
                       settings.preset)


def check_models(jobs: list[Job], transcribe: TranscribeOptions, speakers: SpeakerOptions,
                 settings: ArchiveSettings, archive_root: Path) -> None:
    """A wrong model, engine, language or speaker backend fails once, before any work, not once per episode."""
    if any(not job.existing for job in jobs):
        _check_language(transcribe.language, settings, archive_root)
        engine_class(transcribe.engine)
        resolve_model(transcribe.model)
    if any(job.speakers and job.speakers.runs for job in jobs):
        check_backend_installed(speakers)


def _check_language(language: str | None, settings: ArchiveSettings, archive_root: Path) -> None:
    """An unknown language fails once, before any work, not once per episode (checked only when there
    is work: the list comes with faster-whisper, 0.2 s to import, which a no-op run does without)."""
    if language is None or language in whisper_languages():
        return
    if language == settings.language:
        raise SidecarError(f"field 'language': Whisper knows no language {language!r} (use a code such as "
                           "'fr' or 'en', or 'auto')", ArchiveLayout(archive_root).settings_path)
    raise EngineError(f"Whisper knows no language {language!r}", hint="use a code such as 'fr' or 'en', or auto")
