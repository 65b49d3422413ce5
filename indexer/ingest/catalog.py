"""What the transcripts on disk hold (:class:`TranscriptHead`), cached by size and mtime so a no-op run reads none."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..archive import ArchiveLayout, is_episode_id
from ..files import atomic_write_json, list_files, read_json
from ..errors import IndexerError, StorageError, printable, storage_error
from ..quality import EpisodeQuality
from ..transcribe import NOISY_PRESET, TranscribeOptions
from ..transcribe.noise import choice_still_holds
from ..transcript import Transcript, load_transcript, partly_noisy, valid_window_noise
from .reports import noisy_part


@dataclass(frozen=True)
class TranscriptHead:
    episode_id: str
    audio_path: str
    audio_sha256: str
    fingerprint: str
    duration: float
    segments: int
    suspect: int
    speakers: str = ""      # fingerprint of the speaker settings its labels come from ("" none)
    words: int = 0
    low_confidence_words: int = 0
    noise_db: float | None = None   # the noise estimate (transcript's `noise`), None if not measured
    preset: str = ""                # the preset it was decoded with
    noisy: bool = False             # measured noisy: that preset chosen on the noise estimate
    beam: int = 0                   # the beam width it was decoded with (1: greedy), 0 if not recorded
    # Each window's (start, estimate, decoded noisy) when it recorded them (a file of several windows); () otherwise.
    noise_windows: tuple[tuple[float, float | None, bool], ...] = ()

    def __post_init__(self):   # read back from the JSON cache as lists
        if not isinstance(self.noise_windows, (list, tuple)) or not all(map(valid_window_noise, self.noise_windows)):
            raise TypeError("noise_windows: not a list of [start, dB or null, noisy]")   # a damaged cache
        object.__setattr__(self, "noise_windows", tuple(tuple(w) for w in self.noise_windows))

    @classmethod
    def of(cls, t: Transcript) -> "TranscriptHead":
        quality = EpisodeQuality.of(t)
        noise = t.noise or {}
        return cls(t.episode_id, t.audio_path, t.audio_sha256, t.fingerprint, t.duration,
                   quality.segments, quality.suspect_segments, t.diarization.fingerprint if t.diarization else "",
                   quality.words, quality.low_confidence_words, noise.get("snr_db"),
                   noise.get("preset") or str((t.options or {}).get("preset", "")),
                   # Early transcripts recorded no `noisy`: chosen automatically, and beam search.
                   bool(noise.get("noisy", noise.get("automatic") and noise.get("preset") == NOISY_PRESET)),
                   t.beam_size, t.noise_windows)

    @property
    def decoding(self) -> str:
        """Its preset as `status` counts it: "auto (greedy)" for one made by the clean decoding before
        beam 2, which stays current (TranscribeOptions.fingerprints_kept)."""
        return f"{self.preset or '?'} (greedy)" if self.beam == 1 else self.preset or "?"

    def choice_holds(self, options: TranscribeOptions) -> bool:
        """Whether decoding with ``options`` today would choose as this transcript's noise record says."""
        return choice_still_holds(options, self.noise_db, self.noisy, self.noise_windows)

    @property
    def noisy_note(self) -> str:
        """How `status` names it among the episodes measured noisy: « bar (23.1 dB) », and for one decoded
        with beam search only in some windows « bar (23.1 dB, 3 of 40 windows) »."""
        return f"{self.episode_id} ({self.noise_db:.1f} dB{noisy_part(*partly_noisy(self.noise_windows))})"

    @property
    def quality(self) -> EpisodeQuality:
        return EpisodeQuality(self.episode_id, self.segments, self.suspect, self.words, self.low_confidence_words)


# A cached head without one of these fields was written by an older version: the transcript is read again.
HEAD_FIELDS = frozenset(f.name for f in fields(TranscriptHead))


class TranscriptCatalog:
    """The head of every transcript (and trashed transcript), cached by (size, mtime).

    Parsing a one-hour transcript takes tens of milliseconds; a no-op run over
    a thousand episodes must not pay that a thousand times.
    """

    def __init__(self, layout: ArchiveLayout, cache_path: Path):
        self.layout = layout
        self.cache_path = cache_path
        self.trash_dir = layout.trash_dir
        self.heads: dict[Path, TranscriptHead] = {}
        self.unreadable: dict[Path, str] = {}
        self._by_content: dict[tuple[str, str], list[Path]] | None = None
        self._dirty = False
        self._cache = read_json(cache_path, {})  # a lost cache only costs reading the transcripts once

    def refresh(self, strict: bool = False) -> None:
        """Read what changed since the cache was saved. A folder that cannot be listed is recorded in
        :attr:`unreadable` (StorageError with ``strict``: an ingest must not take it for an empty one)."""
        seen = set()
        for folder in (self.layout.transcripts_dir, self.trash_dir):
            if not folder.is_dir():
                continue
            try:
                paths = list_files(folder, ".json")
            except OSError as e:  # not "no transcripts": say so (status names it, reindex keeps the index)
                if strict:
                    raise storage_error(e, folder) or StorageError(f"cannot list the folder: {e.strerror}", folder) \
                        from e
                self.unreadable[folder] = printable(f"{e.filename or folder}: cannot list the folder: {e.strerror}")
                seen.update(k for k in self._cache if Path(self.layout.root, k).is_relative_to(folder))
                continue
            for path in paths:
                key = str(path.relative_to(self.layout.root))
                try:
                    st = path.stat()
                except OSError:
                    continue
                seen.add(key)
                head = self._cached_head(key, st)
                if head is not None:
                    self.heads[path] = head
                    continue
                try:
                    self.remember(path, load_transcript(path, self.layout.transcript_id(path)), st)
                except IndexerError as e:
                    self.unreadable[path] = e.one_line()
        for key in set(self._cache) - seen:
            del self._cache[key]
            self._dirty = True
        self._by_content = None

    def _cached_head(self, key: str, st: os.stat_result) -> TranscriptHead | None:
        """The head cached for the file of ``key`` as it is now; None if unknown, changed or damaged."""
        cached = self._cache.get(key)
        if (isinstance(cached, list) and len(cached) == 3 and cached[0] == st.st_size and cached[1] == st.st_mtime_ns
                and isinstance(cached[2], dict) and cached[2].keys() >= HEAD_FIELDS):  # older entries lack quality
            try:
                return TranscriptHead(**cached[2])
            except (TypeError, ValueError):  # a damaged or hand-edited cache: read the transcript again
                return None
        return None

    def remember(self, path: Path, transcript: Transcript, st: os.stat_result | None = None) -> None:
        st = st or path.stat()
        head = TranscriptHead.of(transcript)
        self.heads[path] = head
        self.unreadable.pop(path, None)
        self._cache[str(path.relative_to(self.layout.root))] = [st.st_size, st.st_mtime_ns, asdict(head)]
        self._by_content = None
        self._dirty = True

    def forget(self, path: Path) -> None:
        self.heads.pop(path, None)
        self._cache.pop(str(path.relative_to(self.layout.root)), None)
        self._by_content = None
        self._dirty = True

    def get(self, episode_id: str) -> TranscriptHead | None:
        return self.heads.get(self.layout.transcript_path(episode_id))

    def episode_ids(self) -> set[str]:
        """Ids of the transcripts under transcripts/ (not the trash); files not named by an id are left alone."""
        root = self.layout.transcripts_dir
        ids = {p.relative_to(root).with_suffix("").as_posix() for p in self.heads if root in p.parents}
        return {i for i in ids if is_episode_id(i)}

    def with_content(self, sha256: str, fingerprints: tuple[str, ...]) -> Path | None:
        """A transcript of this audio made with these options (one of ``fingerprints``, those still current
        for them, the preferred first): transcripts/ first, then the trash."""
        if self._by_content is None:
            self._by_content = {}
            for path, head in self.heads.items():   # in any order: the choice below orders them
                self._by_content.setdefault((head.audio_sha256, head.fingerprint), []).append(path)
        found = [(self.trash_dir in path.parents, rank, str(path), path)
                 for rank, fingerprint in enumerate(fingerprints)
                 for path in self._by_content.get((sha256, fingerprint), [])]
        return min(found)[-1] if found else None

    def save(self) -> None:
        if self._dirty:
            atomic_write_json(self.cache_path, self._cache, ensure_ascii=False)
            self._dirty = False
