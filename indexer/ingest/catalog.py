"""What the transcripts on disk hold (:class:`TranscriptHead`), cached by size and mtime so a no-op run reads none."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..archive import ArchiveLayout, is_episode_id
from ..files import atomic_write_json, read_json
from ..errors import IndexerError
from ..transcript import Transcript, load_transcript


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
    noise_db: float | None = None   # the noise estimate (transcript's `noise`), None if not measured
    preset: str = ""                # the preset it was decoded with
    noisy: bool = False             # measured noisy: that preset chosen on the noise estimate

    @classmethod
    def of(cls, t: Transcript) -> "TranscriptHead":
        noise = t.noise or {}
        return cls(t.episode_id, t.audio_path, t.audio_sha256, t.fingerprint, t.duration,
                   len(t.segments), sum(s.suspect for s in t.segments),
                   (t.diarization or {}).get("fingerprint", ""), noise.get("snr_db"),
                   noise.get("preset") or str((t.options or {}).get("preset", "")), bool(noise.get("noisy")))


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

    def refresh(self) -> None:
        seen = set()
        for folder in (self.layout.transcripts_dir, self.trash_dir):
            if not folder.is_dir():
                continue
            for path in folder.rglob("*.json"):
                if path.name.startswith("."):
                    continue
                key = str(path.relative_to(self.layout.root))
                try:
                    st = path.stat()
                except OSError:
                    continue
                seen.add(key)
                cached = self._cache.get(key)
                if cached and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
                    self.heads[path] = TranscriptHead(**cached[2])
                    continue
                try:
                    self.remember(path, load_transcript(path), st)
                except IndexerError as e:
                    self.unreadable[path] = e.one_line()
        for key in set(self._cache) - seen:
            del self._cache[key]
            self._dirty = True
        self._by_content = None

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

    def with_content(self, sha256: str, fingerprint: str) -> Path | None:
        """A transcript of this audio made with these options: transcripts/ first, then the trash."""
        if self._by_content is None:
            self._by_content = {}
            for path in sorted(self.heads, key=lambda p: (self.trash_dir in p.parents, str(p))):
                head = self.heads[path]
                self._by_content.setdefault((head.audio_sha256, head.fingerprint), []).append(path)
        found = self._by_content.get((sha256, fingerprint))
        return found[0] if found else None

    def save(self) -> None:
        if self._dirty:
            atomic_write_json(self.cache_path, self._cache, ensure_ascii=False)
            self._dirty = False
