"""ArchiveLayout: where every file of an archive lives (the one place that builds those paths)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import EpisodeIdError, StorageError
from ..files import fit_name
from .ids import check_episode_id, episode_id
from .meta import Episode
from .sidecars import load_sidecar, sidecar_for

AUDIO_EXTENSIONS = frozenset(
    ".mp3 .m4a .aac .wav .ogg .oga .opus .flac .wma .aiff .aif .mp4 .m4v .mov .mkv .webm .avi".split()
)


@dataclass(frozen=True)
class ArchiveLayout:
    root: Path

    @property
    def settings_path(self) -> Path:
        return self.root / "archive.yaml"

    @property
    def audio_dir(self) -> Path:
        return self.root / "audio"

    @property
    def transcripts_dir(self) -> Path:
        return self.root / "transcripts"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def embeddings_dir(self) -> Path:
        """Vectors of every segment for search by meaning: derived, like the index, and beside it."""
        return self.root / "embeddings"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def state_dir(self) -> Path:
        return self.root / ".indexer"

    @property
    def corrections_dir(self) -> Path:
        return self.root / "corrections"

    @property
    def voices_dir(self) -> Path:
        """The voice library: derived from the corrections, sidecars and transcripts, rebuilt at will."""
        return self.root / "voices"

    @property
    def voice_library_path(self) -> Path:
        return self.voices_dir / "library.json"

    @property
    def voice_actions_path(self) -> Path:
        """Editors' renames, merges and forgets of voices (a name that no episode id can have: it has a dot)."""
        return self.corrections_dir / "voices.actions.json"

    @property
    def trash_dir(self) -> Path:
        return self.state_dir / "trash"

    # The batch job's state: two locks, four caches (losing a cache only costs work done again).
    @property
    def ingest_lock_path(self) -> Path:
        return self.state_dir / "ingest.lock"

    @property
    def indexed_path(self) -> Path:
        """Which version of each episode's inputs the index holds."""
        return self.state_dir / "indexed.json"

    @property
    def hash_cache_path(self) -> Path:
        return self.state_dir / "hashes.json"

    @property
    def probe_cache_path(self) -> Path:
        """The duration of each audio file not transcribed yet, so that it is measured once."""
        return self.state_dir / "probes.json"

    @property
    def catalog_path(self) -> Path:
        """What each transcript holds (its head), so that a no-op run parses none."""
        return self.state_dir / "transcripts.json"

    @property
    def edit_lock_path(self) -> Path:
        """The edit lock (:mod:`indexer.locks`): editors' changes, and a rebuild's catch-up and swap."""
        return self.state_dir / "edit.lock"

    def transcript_path(self, episode_id: str) -> Path:
        return self._inside(self.transcripts_dir, f"{check_episode_id(episode_id)}.json")

    def corrections_path(self, episode_id: str) -> Path:
        return self._inside(self.corrections_dir, f"{check_episode_id(episode_id)}.json")

    def transcript_id(self, path: Path) -> str | None:
        """The episode a transcript file holds by its place (``transcripts/<id>.json``, or the trash's
        ``<id>.json``); None for a file elsewhere. Its content must say the same (``load_transcript``)."""
        for folder in (self.transcripts_dir, self.trash_dir):
            if folder in Path(path).parents and path.suffix == ".json":
                return Path(path).relative_to(folder).with_suffix("").as_posix()
        return None

    def episode_inputs(self, episode_id: str, sidecar: Path | None) -> tuple[Path, Path | None, Path]:
        """What an episode as shown is made from: its transcript, sidecar and corrections."""
        return self.transcript_path(episode_id), sidecar, self.corrections_path(episode_id)

    def inputs_version(self, episode_id: str, sidecar: Path | None) -> str:
        """Changes when any of the episode's inputs changes (size and mtime: stat only, cheap; "-" for a
        missing one). The index and the embedding store record it, and read an episode again when it changed."""
        parts = []
        for path in self.episode_inputs(episode_id, sidecar):
            try:
                st = path.stat() if path is not None else None
            except OSError:
                st = None
            parts.append(f"{st.st_size}:{st.st_mtime_ns}" if st else "-")
        return "|".join(parts)

    def trash_path(self, episode_id: str, suffix: str = ".json") -> Path:
        """Where the trash keeps an episode's file; a name too long for ``suffix`` is cut to fit."""
        folder, _, name = check_episode_id(episode_id).rpartition("/")
        return self._inside(self.trash_dir, (folder + "/" if folder else "") + fit_name(name, suffix))

    # What the archive keeps for itself: an export or a clip written there would replace a recording,
    # a transcript or the index (found by a hostile review: `--out audio/x.mp3` overwrote the audio).
    MANAGED = ("audio", "transcripts", "index", "embeddings", "corrections", "voices", "runs", ".indexer")

    def output_path(self, path: str | Path) -> Path:
        """``path`` for an export or a clip, refused inside the archive's own folders."""
        target = Path(path).resolve()
        for name in self.MANAGED:
            if target.is_relative_to((self.root / name).resolve()):
                raise StorageError(f"{name}/ belongs to the archive: write exports and clips elsewhere", path)
        if target.exists() and not target.is_file():
            raise StorageError("exists and is not a regular file", path)
        return Path(path)

    def audio_file(self, relative: str) -> Path | None:
        """``audio/<relative>`` (a transcript's ``audio_path``), or None if it names a place outside audio/.

        Checked by its text only: audio files may be symbolic links to a
        mounted store (the hash cache knows such files), and are only read.
        """
        if not relative or Path(relative).is_absolute() or ".." in Path(relative).parts:
            return None
        return self.audio_dir / relative

    def relative_audio_path(self, path: Path) -> str:
        """The inverse of :meth:`audio_file`: ``path`` relative to ``audio/``, as transcripts and reports
        store it so that the archive can move (an absolute path if it lies outside)."""
        try:
            return str(path.relative_to(self.audio_dir))
        except ValueError:
            return str(path.resolve())

    @staticmethod
    def _inside(folder: Path, relative: str) -> Path:
        """``folder / relative``, refused if it resolves (symbolic links followed) outside ``folder``.

        Only a link below ``folder`` can lead out of it (an id has no ``..``), so
        the full resolution is paid for those alone: one lstat per part instead
        of a resolve() of the whole path, which made a no-op ingest of 1,000
        episodes 2.4x slower (8,000 paths).
        """
        path = folder / relative
        prefix, parts = str(folder), relative.split("/")
        links = ".." in parts
        for part in parts:  # strings, not pathlib: this runs for every episode of every run
            prefix = f"{prefix}/{part}"
            links = links or os.path.islink(prefix)
        if links:
            if not path.resolve().is_relative_to(folder.resolve()):
                raise EpisodeIdError(f"resolves outside {folder.name}/ (a symbolic link?)", path,
                                     "only files inside the archive are read or written")
        return path

    def audio_files(self) -> Iterator[Path]:
        if not self.audio_dir.is_dir():
            return
        for path in sorted(self.audio_dir.rglob("*")):
            if path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith("."):
                yield path

    def episode_for(self, audio_path: Path) -> Episode:
        """Build the episode for one audio file; raises SidecarError for a bad sidecar."""
        sidecar = sidecar_for(audio_path)
        rel = audio_path.relative_to(self.audio_dir)
        return Episode(episode_id(rel), audio_path, sidecar, load_sidecar(sidecar))

    def episode_id_of(self, audio_path: Path) -> str:
        return episode_id(audio_path.relative_to(self.audio_dir))
