"""The effective episodes a statistic is computed from: :class:`EpisodeData`, read each time or once (:class:`Snapshot`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ..archive import EpisodeMeta
from ..corrections import effective_episode
from ..transcript import Transcript

UNKNOWN = "unknown"    # speaker of a segment nobody is attributed to
UNDATED = "undated"    # year of an episode without a date


@dataclass(frozen=True)
class EpisodeData:
    """One transcribed episode: its effective transcript and sidecar metadata."""

    transcript: Transcript
    meta: EpisodeMeta

    @property
    def id(self) -> str:
        return self.transcript.episode_id

    @property
    def title(self) -> str:
        return self.meta.title or self.id

    @property
    def date(self) -> str:
        return self.meta.date

    @property
    def year(self) -> str:
        return self.meta.date[:4] or UNDATED

    @classmethod
    def of(cls, archive, machine: Transcript | str) -> "EpisodeData":
        """The episode as shown (corrected, named), from its machine transcript or its id."""
        shown = effective_episode(archive.layout, machine)  # unknown id: one-line error with close ids
        return cls(shown.transcript, shown.meta)


def episode_data(archive) -> Iterator[EpisodeData]:
    """Each transcript of ``archive`` (an :class:`indexer.Archive`), corrected, with its sidecar."""
    if isinstance(archive, Snapshot):
        yield from archive.data
        return
    for machine in archive.transcripts():
        yield EpisodeData.of(archive, machine)


class Snapshot:
    """An archive's transcripts, corrections and sidecars read once, for many statistics in a row.

    Every function of this module takes an Archive (read on each call, so it
    is always current) or a snapshot (read once: faster on a large archive,
    but it does not see later ingests or corrections)::

        data = stats.Snapshot(archive)
        stats.hours_by_year(data), stats.term_frequency(data, ["réseaux sociaux"])
    """

    def __init__(self, archive):
        self.archive = archive
        self.root, self.layout = archive.root, archive.layout
        self._episodes = list(archive.episodes())
        self._machine = list(archive.transcripts())
        self.data = [EpisodeData.of(archive, m) for m in self._machine]

    def __repr__(self) -> str:
        return f"<Snapshot of {self.archive!r}: {len(self.data)} transcripts>"

    def episodes(self):
        return iter(self._episodes)

    def transcripts(self) -> Iterator[Transcript]:
        return iter(self._machine)


def one_episode(archive, episode: str) -> EpisodeData:
    if isinstance(archive, Snapshot):
        found = next((data for data in archive.data if data.id == episode), None)
        if found is not None:
            return found
    return EpisodeData.of(archive, episode)
