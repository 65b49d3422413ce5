"""Keeping the index in step with episodes that are not transcribed in this run:
re-index those whose transcript, sidecar or corrections changed; remove those whose audio is gone."""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace

from ..archive import load_sidecar
from ..corrections import effective_episode
from ..errors import IndexerError
from ..transcript import load_transcript
from .guard import Interrupts
from .reports import EpisodeResult, not_indexed
from .saving import EXPORT_FORMATS
from .state import RunState


class IndexUpkeep:
    """Re-indexes changed episodes in batches and removes deleted ones, each step shielded from Ctrl-C."""

    def __init__(self, state: RunState, interrupts: Interrupts):
        self.state = state
        self.layout = state.layout
        self.interrupts = interrupts

    def refresh(self) -> None:
        """Up-to-date transcripts: index those whose transcript, sidecar or corrections changed."""
        state, index = self.state, self.state.index
        stale = []
        for episode in state.plan.current:
            head = state.catalog.get(episode.id)
            result = EpisodeResult(episode.id, state.rel(episode.audio_path), "unchanged",
                                   duration=head.duration, segments=head.segments, suspect=head.suspect,
                                   preset=state.plan.presets.get(episode.id, ""))
            if index is not None and not state.indexed.is_current(episode):
                stale.append((episode, result))
            else:
                state.report.results.append(result)
        batch_size = index.options.commit_every if index is not None else 1
        for start in range(0, len(stale), batch_size):
            with self.interrupts.shield():
                self._reindex(stale[start:start + batch_size])

    def _reindex(self, stale: list) -> None:
        """One commit's worth of episodes; one that cannot be read fails alone, the index keeps its last version."""
        state, results = self.state, self.state.report.results
        items, done = [], []
        for episode, result in stale:
            version = state.indexed.version(episode)
            try:
                transcript = load_transcript(self.layout.transcript_path(episode.id), episode.id)
                meta = load_sidecar(episode.sidecar_path)
                items.append(effective_episode(self.layout, transcript, meta).entry())
                done.append((episode, result, version))
            except IndexerError as e:
                results.append(not_indexed(result, e, episode.audio_path,
                                           "not re-indexed, the index keeps the previous version"))
        try:
            state.index.update_episodes(items)
        except IndexerError as e:
            for episode, result, _ in done:
                results.append(replace(result, status="failed", error=f"{e.one_line()}; "
                                       f"{episode.id} not re-indexed"))
            return
        for episode, result, version in done:
            state.indexed.episodes[episode.id] = version
            results.append(replace(result, status="reindexed"))
        state.indexed.save()

    def remove_deleted(self) -> None:
        """Audio gone: drop the episode from the index; keep its transcript in the trash."""
        state, index, present = self.state, self.state.index, self.state.plan.present
        gone = sorted((set(state.indexed.episodes) | state.catalog.episode_ids()) - present)
        if gone and not present:
            state.report.results.append(EpisodeResult(
                "", "", "failed", error=f"{self.layout.audio_dir}: no audio file at all, but {len(gone)} "
                                        "episode(s) in the archive; nothing removed (is the audio folder mounted? "
                                        "delete the transcripts by hand if the archive is really empty)"))
            return
        for eid in gone:
            head = state.catalog.get(eid)
            with self.interrupts.shield():
                try:
                    if index is not None:
                        index.delete_episode(eid)
                except IndexerError as e:
                    state.report.results.append(EpisodeResult(
                        eid, "", "failed", error=f"{e.one_line()}; {eid} not removed from the index"))
                    continue
                self._trash(eid)
                if state.indexed.episodes.pop(eid, None) is not None:
                    state.indexed.save()
            state.report.results.append(EpisodeResult(
                eid, head.audio_path if head else "", "removed", duration=head.duration if head else 0.0,
                note="audio gone: removed from the index, transcript kept in .indexer/trash"))

    def _trash(self, episode_id: str) -> None:
        """Audio gone: keep the transcript in .indexer/trash (reused if the audio comes back)."""
        catalog = self.state.catalog
        source = self.layout.transcript_path(episode_id)
        for ext in EXPORT_FORMATS:
            source.with_suffix(f".{ext}").unlink(missing_ok=True)
        if source.is_file():
            target = self.layout.trash_path(episode_id)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            catalog.forget(source)
            with contextlib.suppress(IndexerError, OSError):
                catalog.remember(target, load_transcript(target, episode_id))
