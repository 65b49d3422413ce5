"""``Archive``: the facade notebooks and the CLI use.

    >>> from indexer import Archive
    >>> archive = Archive("archive")
    >>> hits = archive.search('"réseaux sociaux" speaker:dupont')
    >>> hits[0].play()

Each method builds the stage's object and calls it; the work lives in
:mod:`indexer.index`, :mod:`indexer.search` and the other stage modules.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from .archive import ArchiveLayout, ArchiveSettings, Episode, check_episode_id, copy_archive, load_settings
from .corrections import load_corrections
from .errors import IndexerError, TranscriptError, writing
from .files import list_files
from .index import IndexOptions, TranscriptIndex, index_exists
from .search import Hits, SearchOptions, search
from .transcript import Transcript, load_transcript

if TYPE_CHECKING:  # return types for Shift-Tab in Jupyter, without loading each stage at import
    import ipywidgets
    import pandas as pd

    from .corrections import Correction
    from .display.player import Player, PlayerOptions
    from .display.statistics import ArchiveStatistics
    from .ingest import ArchiveStatus, IngestOptions, ReindexResult, RunReport
    from .ingest.voices import VoicesUpdate
    from .quotes import Quote, QuoteBasket, QuoteOptions
    from .search import Hit
    from .stats import Overview
    from .voices import VoiceAction, VoicesTable

log = logging.getLogger("indexer")


class Archive:
    """An archive folder: audio, sidecars, transcripts and the index."""

    def __init__(self, root: str | Path, index_options: IndexOptions | None = None):
        self.root = Path(root)
        self.layout = ArchiveLayout(self.root)
        self.index_options = index_options or IndexOptions()
        self._index: TranscriptIndex | None = None

    def __repr__(self) -> str:
        return f"Archive({str(self.root)!r})"

    @cached_property
    def settings(self) -> ArchiveSettings:
        return load_settings(self.root)

    def working_copy(self, path: str | Path) -> "Archive":
        """A copy in ``path`` (new or empty) to correct and try things on, this archive untouched: audio
        linked, the rest copied (:func:`~indexer.archive.copy_archive` says what it copies and refuses)."""
        with writing(path):
            return Archive(copy_archive(self.layout, path).root, self.index_options)

    # -- episodes and transcripts ----------------------------------------------

    def episodes(self) -> Iterator[Episode]:
        """Every audio file as an Episode; a bad sidecar raises SidecarError when reached."""
        for path in self.layout.audio_files():
            yield self.layout.episode_for(path)

    def episode(self, episode_id: str) -> Episode | None:
        """The episode of this id among the audio files, or None (sidecar errors raise)."""
        check_episode_id(episode_id)
        for path in self.layout.audio_files():
            if self.layout.episode_id_of(path) == episode_id:
                return self.layout.episode_for(path)
        return None

    def transcript(self, episode_id: str) -> Transcript:
        return load_transcript(self.layout.transcript_path(episode_id), episode_id)

    def transcripts(self, skipped: list[str] | None = None) -> Iterator[Transcript]:
        """Every transcript under ``transcripts/`` (sorted by path).

        An unreadable one (or folder) raises TranscriptError, unless ``skipped`` is
        given: then its one-line error is appended there and the others are still read.
        """
        folder = self.layout.transcripts_dir
        if not folder.is_dir():
            return
        try:
            paths = list_files(folder, ".json")
        except OSError as e:  # an unreadable folder is not an empty one
            error = TranscriptError(f"cannot list the folder: {e.strerror}", e.filename or folder)
            if skipped is None:
                raise error from e
            skipped.append(error.one_line())
            return
        for path in paths:
            try:
                yield load_transcript(path, self.layout.transcript_id(path))
            except IndexerError as e:
                if skipped is None:
                    raise
                skipped.append(e.one_line())

    # -- index and search ------------------------------------------------------

    @property
    def index(self) -> TranscriptIndex:
        """The opened index (IndexSchemaError if there is none yet or it is outdated)."""
        if self._index is None:
            self._index = TranscriptIndex.open(self.layout.index_dir, self.index_options, create=False)
        return self._index

    def search(self, query: str, limit: int = 20, speaker: str | None = None,
               episode: str | Sequence[str] | None = None,
               date: str | tuple[str | None, str | None] | None = None,
               exclude_suspect: bool = False, context: int = 0,
               group_by_episode: bool = False, match: str = "hybrid") -> Hits:
        """Search the index (see :func:`indexer.search.search`): words and meaning fused (``match="hybrid"``),
        ``"words"``, ``"meaning"``, or ``"all"`` (every word, strictly). Filters typed in the query
        (``date:2013``) and given here give the same hits."""
        options = SearchOptions(limit=limit, speaker=speaker, episode=episode, date=date,
                                exclude_suspect=exclude_suspect, context=context,
                                group_by_episode=group_by_episode, match=match)
        return search(self.index, query, options, self.layout)

    def similar(self, episode: str, start: float, end: float | None = None, limit: int = 10,
                speaker: str | None = None, episode_filter: str | Sequence[str] | None = None,
                date: str | tuple[str | None, str | None] | None = None, exclude_suspect: bool = False) -> Hits:
        """Other moments across the archive about the same thing as ``episode`` from ``start`` to ``end`` (s),
        never that moment itself ("more like this"; ``hit.similar()`` for a hit)."""
        from .search import similar

        check_episode_id(episode)
        options = SearchOptions(limit=limit, speaker=speaker, episode=episode_filter, date=date,
                                exclude_suspect=exclude_suspect)
        return similar(self.index, self.layout, episode, start, end, options)

    def reindex(self, progress: bool = True, allow_empty: bool = False, wait: float = 0.0) -> ReindexResult:
        """Rebuild the whole index from the transcripts on disk; the old one stays searchable until the new
        one is complete, and is kept (StoreKeptError) if the new one misses a transcript that cannot be read
        or is empty while it is not (``allow_empty``: the transcripts are really gone). Waits ``wait``
        seconds for a running ingest (:func:`~indexer.ingest.reindex.rebuild_index`). Returns a ReindexResult."""
        from .ingest.reindex import rebuild_index

        if self._index is not None:
            self._index.close()
            self._index = None
        self._index, result = rebuild_index(self, progress, allow_empty, wait)
        return result

    def update_index(self, episode_id: str) -> int:
        """Re-index one episode from its transcript (after it was written or corrected)."""
        from .corrections import overlay_lock
        from .ingest.reindex import index_entry

        with overlay_lock(self.root):  # as an editor's change: never lost in a reindex's swap
            entry = index_entry(self.layout, self.transcript(episode_id), self.episode(episode_id))
            if self._index is None:
                self._index = TranscriptIndex.open(self.layout.index_dir, self.index_options)
            return self._index.update_episode(entry)

    # -- ingest -------------------------------------------------------------------

    def ingest(self, options: IngestOptions | None = None, **changes) -> RunReport:
        """Transcribe and index every new or changed episode; returns the run's :class:`~indexer.ingest.RunReport`.

        ``options``: an :class:`~indexer.ingest.IngestOptions` (default: the settings of archive.yaml);
        keywords change its fields, e.g. ``archive.ingest(workers=1, progress=False)``.
        """
        from .ingest import Ingest, IngestOptions

        return Ingest(self.root, replace(options or IngestOptions(), **changes)).run()

    def status(self) -> ArchiveStatus:
        """What the archive holds and what :meth:`ingest` would do (:class:`~indexer.ingest.ArchiveStatus`)."""
        from .ingest import Ingest, IngestOptions

        return Ingest(self.root, IngestOptions(progress=False)).status()

    def watch(self, options: IngestOptions | None = None, interval: float = 300.0, rounds: int | None = None,
              on_report: Callable[[RunReport], object] | None = None) -> None:
        """Ingest whenever the archive's inputs change, until stopped (see :func:`indexer.ingest.watch`)."""
        from .ingest import watch

        watch(self.root, options, interval, rounds, on_report)

    # -- quotes and corrections ---------------------------------------------------

    def quote(self, hit_or_episode: Hit | str, start: float | None = None, end: float | None = None,
              options: QuoteOptions | None = None) -> Quote:
        """A :class:`~indexer.quotes.Quote` of a search hit, or of ``episode`` from ``start`` to ``end`` (s).

            >>> q = archive.quote(hits[0]).sentence()
            >>> q.citation, q.export("extrait.mp3")
        """
        from .quotes import quote

        return quote(self.layout, hit_or_episode, start, end, options)

    def player(self, episode: str, start: float | None = None, end: float | None = None,
               basket: QuoteBasket | None = None, options: PlayerOptions | None = None) -> Player:
        """An interactive transcript player of ``episode`` (opened at ``start``), for notebooks.

        Words highlighted as they play, a click seeks, a selection shows the exact
        words, the citation and the ``archive.quote(...)`` line; with ``basket``
        (a :class:`~indexer.quotes.QuoteBasket`) a button adds the selection to it.
        See :mod:`indexer.display.player`.
        """
        from .display.player import episode_player

        return episode_player(self.layout, episode, start, end, basket=basket, options=options)

    def correct(self, episode: str, segment_id: int, text: str, author: str | None = None) -> Correction:
        """Replace a segment's text (stored in ``corrections/``, never in the transcript) and reindex it."""
        from .corrections import correct

        with writing(self.layout.corrections_dir):
            return correct(self.layout, self._built_index(), episode, segment_id, text, author)

    def set_speaker(self, episode: str, target: int | tuple[float, float], name: str,
                    author: str | None = None) -> Correction:
        """Name the speaker of a segment (its id) or of a ``(start, end)`` range, and reindex."""
        from .corrections import set_speaker

        with writing(self.layout.corrections_dir):
            return set_speaker(self.layout, self._built_index(), episode, target, name, author)

    def name_speakers(self, episode: str, names: dict[str, str], author: str | None = None) -> list[Correction]:
        """Name the automatic speakers of an episode, ``{"S1": "Sandra", "S2": "Julien"}``.

        Stored in ``corrections/`` (they survive re-transcription) and reindexed:
        the names reach search (``speaker:``), hits, quotes, citations and pages.
        """
        from .corrections import name_speakers

        return name_speakers(self.layout, self._built_index(), episode, names, author)

    # -- voices known across the archive ----------------------------------------------

    def voices(self) -> VoicesTable:
        """The voices the archive knows (:class:`~indexer.voices.VoicesTable`): name, episodes, speaking
        time, and how many speakers editors named vs how many were named automatically by voice."""
        from .voices import voices_table

        return voices_table(self.layout)

    def rename_voice(self, name: str, new_name: str, author: str | None = None) -> VoiceAction:
        """Show the voice ``name`` as ``new_name`` everywhere (a merge if that name is a voice already)."""
        return self._voice_action("rename", [name], new_name, author)

    def merge_voices(self, names: Sequence[str], into: str, author: str | None = None) -> VoiceAction:
        """One voice from several names (one person named two ways): all shown as ``into``."""
        return self._voice_action("merge", list(names), into, author)

    def forget_voice(self, name: str, author: str | None = None) -> VoiceAction:
        """Take a voice out of the library: it names nothing automatically any more (until an editor names
        it again); the names editors gave it in their episodes stay."""
        return self._voice_action("forget", [name], "", author)

    def update_voices(self, wait: float = 0.0) -> VoicesUpdate:
        """Rebuild the voice library now and re-index the episodes whose speaker names changed (the
        ingest does it at the end of every run). Returns a :class:`~indexer.ingest.voices.VoicesUpdate`."""
        from .errors import ArchiveNotFoundError
        from .ingest.voices import update_voices

        if not self.root.is_dir():  # a mistyped path is not an empty archive to make
            raise ArchiveNotFoundError("archive folder not found", self.root)
        return update_voices(self.root, wait)

    def _voice_action(self, kind: str, names: list[str], into: str, author: str | None) -> VoiceAction:
        """Record a rename, merge or forget (under the corrections' lock), then apply it now unless an
        ingest holds the archive (it is then applied by the next ingest)."""
        from .errors import LockError, VoiceError
        from .voices import make_action, record_action, voices_table

        action = make_action(kind, names, into, author)
        known = voices_table(self.layout, strict=True)
        unknown = [n for n in action.names if n not in known]
        if unknown:
            listed = ", ".join(r.name for r in known) or "none yet"
            raise VoiceError(f"no known voice named {unknown[0]!r} (known: {listed})",
                             hint="a name becomes a voice once an editor gives it and ingest (or "
                                  "`indexer voices rebuild`) has run")
        with writing(self.layout.corrections_dir):
            record_action(self.layout, action)
        try:
            self.update_voices()
        except LockError as e:
            log.warning("%s; the %s is applied when the next ingest rebuilds the voice library", e.one_line(), kind)
        return action

    def corrections(self, episode: str) -> list[Correction]:
        """The episode's corrections, oldest first (see :mod:`indexer.corrections`)."""
        return load_corrections(self.root, episode)

    def _built_index(self) -> TranscriptIndex | None:
        """The index, or None if there is none yet: a correction is then stored, and indexed by the next ingest."""
        return self.index if index_exists(self.layout.index_dir) else None

    # -- statistics and pages --------------------------------------------------------

    def overview(self) -> Overview:
        """Episodes, hours, speakers, dates of the archive (:class:`~indexer.stats.Overview`)."""
        from .stats import overview

        return overview(self)

    def review_table(self, max_probability: float = 0.5, include_corrected: bool = False) -> pd.DataFrame:
        """Suspect segments and segments with words below ``max_probability``, worst first (a DataFrame)."""
        from .stats import review_table

        return review_table(self, max_probability, include_corrected)

    def statistics(self) -> ArchiveStatistics:
        """The archive's statistics, read once, as a notebook shows them (tables and plots in French):
        ``overview = archive.statistics(); overview.plot_hours()`` (see :mod:`indexer.display.statistics`)."""
        from .display.statistics import ArchiveStatistics

        return ArchiveStatistics(self)

    def has_index(self) -> bool:
        """Whether the search index has been built (``reindex()`` or an ingest builds it)."""
        return index_exists(self.layout.index_dir)

    def search_box(self, limit: int = 20) -> ipywidgets.VBox:
        """A live search box for notebooks (ipywidgets): type a query, press Enter, see the hits."""
        from .display.search_box import search_box

        return search_box(self, limit)

    def basket(self, title: str = "Citations") -> QuoteBasket:
        """An empty basket of quotes, for an article (``basket.add(quote)``, ``basket.export(folder)``)."""
        from .quotes import QuoteBasket

        return QuoteBasket(title=title)

    def diarize(self, episode: str) -> pd.DataFrame:
        """The automatic speaker turns of ``episode``'s audio (``start``, ``end``, ``speaker``, ``duration``),
        computed now and written nowhere: to compare with the sidecar's turns (:meth:`sidecar_turns`)."""
        from .audio import probe
        from .speakers import diarize
        from .stats import turns_frame

        found = self._audio_episode(episode)
        return turns_frame(diarize(found.audio_path, probe(found.audio_path).duration))

    def sidecar_turns(self, episode: str) -> pd.DataFrame:
        """The speaker turns written in ``episode``'s sidecar, as a turns table (empty if it has none)."""
        from .stats import turns_frame

        return turns_frame([(t.start, t.end, t.name) for t in self._audio_episode(episode).meta.turns])

    def _audio_episode(self, episode: str) -> Episode:
        found = self.episode(episode)
        if found is None:
            raise IndexerError(f"no audio file for episode {episode!r} in {self.root}")
        return found

    def speaker_turns(self, episode: str) -> pd.DataFrame:
        """The automatic speaker turns the ingest stored for ``episode``, named where editors named them."""
        from .stats import speaker_turns

        return speaker_turns(self, episode)

    def speaker_names(self, episode: str) -> dict:
        """Who each automatic label of ``episode`` is (``S1`` → its name, automatic or given by an editor)."""
        from .corrections import effective_episode

        return dict(effective_episode(self.layout, episode).names)

    def export_page(self, episode: str, fmt: str = "html", out: str | Path | None = None,
                    options=None) -> str:
        """The episode as a readable page (``html``, ``md``) or ``srt``/``vtt``/``txt``/``json``, corrections applied.

        Also written to ``out`` if given; ``options`` is a :class:`~indexer.display.page.PageOptions`.

            >>> archive.export_page("table-ronde-engagement", "md", out="table-ronde.md")
        """
        from .display.page import export_episode

        with writing(out):
            return export_episode(self.layout, episode, fmt, out, options)
