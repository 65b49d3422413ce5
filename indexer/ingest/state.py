"""One run's state as one object (:class:`RunState`), the survey's :class:`Plan`, and what the index holds.

``.indexer/indexed.json`` (:class:`IndexedState`) records which version of each
episode's inputs the index holds; it is written only after the index commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..archive import ArchiveLayout, Episode
from ..files import HashCache, StatCache, read_json
from ..errors import IndexerError
from .catalog import TranscriptCatalog
from .reports import EpisodeResult, RunReport, failure_line
from .versions import input_version, read_indexed, write_indexed
from .workers import Job

if TYPE_CHECKING:
    from ..index import TranscriptIndex


@dataclass
class Plan:
    """The survey's decision for each audio file."""
    jobs: list[Job] = field(default_factory=list)                            # to transcribe (or add speakers to)
    current: list[Episode] = field(default_factory=list)                     # transcript up to date
    copies: list[tuple[Episode, Path]] = field(default_factory=list)         # same audio as a transcript on disk
    duplicates: list[tuple[Episode, str, str]] = field(default_factory=list)  # (episode, job's id, sha): same audio
    present: set[str] = field(default_factory=set)                          # ids of every audio file, even bad
    presets: dict[str, str] = field(default_factory=dict)                   # episode id: its decoding preset


class IndexedState:
    """Which version of each episode's inputs the index holds (``.indexer/indexed.json``)."""

    def __init__(self, layout: ArchiveLayout):
        self.layout = layout
        self.path = layout.indexed_path
        self.build = ""                         # the index build these versions belong to
        self.episodes: dict[str, str] = {}      # episode id: version of its inputs ("?": unknown)

    def _load(self) -> tuple[str, dict[str, str]]:
        return read_indexed(self.layout)

    def save(self) -> None:
        write_indexed(self.layout, self.build, self.episodes)

    def _input_paths(self, episode: Episode) -> tuple[Path, Path | None, Path]:
        return self.layout.episode_inputs(episode.id, episode.sidecar_path)

    def version(self, episode: Episode) -> str:
        """Changes when the transcript, sidecar or corrections change (stat only: cheap)."""
        return input_version(self.layout, episode.id, episode.sidecar_path)

    def is_current(self, episode: Episode) -> bool:
        return self.episodes.get(episode.id) == self.version(episode)

    def reconcile(self, index, episodes: dict[str, Episode]) -> None:
        """The saved state, made to agree with what the index really holds.

        An episode the state does not know is marked "?" (indexed again if its
        audio is there, removed if not). After a rebuild (``indexer reindex``),
        an episode whose inputs are older than the rebuild is known to be current.
        """
        saved_build, indexed = self._load()
        build, built_at = _index_build(self.layout.index_dir)
        self.build = build
        in_index = set(index.episode_ids())
        if saved_build != build:
            indexed = {}
            for indexed_id in in_index:
                episode = episodes.get(indexed_id)
                fresh = episode is not None and all(
                    p is None or not p.exists() or p.stat().st_mtime < built_at for p in self._input_paths(episode))
                indexed[indexed_id] = self.version(episode) if fresh else "?"
        else:
            indexed = {e: v for e, v in indexed.items() if e in in_index}
            indexed.update({e: "?" for e in in_index - set(indexed)})
        self.episodes = indexed


def _index_build(index_dir: Path) -> tuple[str, float]:
    """(build id, time it was built) of the index: a rebuild changes the id."""
    from ..index import META_FILE

    path = index_dir / META_FILE
    data = read_json(path, None)
    try:
        built_at = path.stat().st_mtime
    except OSError:
        return "", 0.0
    return (str(data.get("build", "")), built_at) if isinstance(data, dict) else ("", 0.0)


class ProbeCache(StatCache):
    """The duration of audio files (ffprobe), remembered by (path, size, mtime): each file is measured once."""

    def valid(self, fact) -> bool:
        return isinstance(fact, (int, float)) and not isinstance(fact, bool) and 0 < fact < float("inf")


@dataclass
class RunState:
    """What one run reads and changes, handed as one object from step to step."""
    layout: ArchiveLayout
    report: RunReport
    hashes: HashCache
    catalog: TranscriptCatalog
    indexed: IndexedState
    probes: ProbeCache
    plan: Plan = field(default_factory=Plan)
    index: TranscriptIndex | None = None    # None: transcripts only (``IngestOptions.index=False``)

    @classmethod
    def start(cls, layout: ArchiveLayout, report: RunReport) -> "RunState":
        """The caches as they are on disk; nothing surveyed, no index open yet."""
        return cls(layout, report, HashCache(layout.hash_cache_path, layout.root),
                   TranscriptCatalog(layout, layout.catalog_path), IndexedState(layout),
                   ProbeCache(layout.probe_cache_path, layout.root))

    def rel(self, path: Path) -> str:
        """An audio path as reports and transcripts give it: relative to ``audio/``."""
        return self.layout.relative_audio_path(path)

    def fail(self, episode_id: str, path: Path, error: IndexerError | str, duration: float = 0.0) -> None:
        """One failed episode in the report: which file, what is wrong, what to do."""
        if isinstance(error, IndexerError):
            error = failure_line(error, path)
        self.report.results.append(EpisodeResult(episode_id, self.rel(path), "failed", duration=duration,
                                                 error=error))
