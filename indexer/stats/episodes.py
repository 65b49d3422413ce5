"""Archive statistics for notebooks: episodes, hours, speakers, terms over time, confidence, review.

Every figure is computed from the transcripts on disk with the editors'
corrections applied (the *effective* transcripts, as the index and the pages
show them), and from the sidecars:

* **durations** are the transcripts' ``duration`` (the audio's length);
* **speaking time** is the length of the segments a speaker is given: the
  segment's own speaker (set by a correction), else the sidecar turn that
  overlaps it most, else the sidecar's only speaker, else :data:`UNKNOWN`
  (:func:`indexer.pages.speaker_of`). A Whisper segment that straddles a
  change of turn goes wholly to the speaker who has most of it;
* **dates** are the sidecars' (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``);
  episodes without one are counted under :data:`UNDATED`;
* **terms** are counted with the search index's French analyzer
  (:func:`indexer.index.french_analyzer`: case, accents, elisions, plurals and
  stop words do not matter, so « réseaux sociaux » also counts « Réseau
  social » and « réseaux-sociaux »; the French stemmer leaves English plurals
  apart, so « community managers » is not « community manager », in the index
  either). A term of several words is counted where its words follow one
  another, across segment boundaries too, as a phrase search finds it. These
  are occurrences, not segments;
* **word confidence** is Whisper's probability for each word of the *machine*
  transcripts (corrected words carry no machine confidence).

Everything returns pandas objects, ready for ``.plot``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Iterator, Sequence

import pandas as pd

from .archive import EpisodeMeta
from .corrections import CORRECTED_FLAG, episode_meta, machine_transcript, with_corrections
from .display.overview import overview_html
from .display.review import ReviewPlayers, review_players
from .errors import QueryError
from .index import french_analyzer
from .pages import speaker_of
from .quotes import join_words
from .transcript import Transcript, hms

UNKNOWN = "unknown"    # speaker of a segment nobody is attributed to
UNDATED = "undated"    # year of an episode without a date
BY_VALUES = ("year", "episode", "speaker")


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


def episode_data(archive) -> Iterator[EpisodeData]:
    """Each transcript of ``archive`` (an :class:`indexer.Archive`), corrected, with its sidecar."""
    if isinstance(archive, Snapshot):
        yield from archive.data
        return
    for machine in archive.transcripts():
        yield EpisodeData(with_corrections(archive.root, machine), episode_meta(archive.layout, machine))


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
        self.data = [EpisodeData(with_corrections(self.root, m),
                                 episode_meta(self.layout, m)) for m in self._machine]

    def __repr__(self) -> str:
        return f"<Snapshot of {self.archive!r}: {len(self.data)} transcripts>"

    def episodes(self):
        return iter(self._episodes)

    def transcripts(self) -> Iterator[Transcript]:
        return iter(self._machine)


def _one_episode(archive, episode: str) -> EpisodeData:
    if isinstance(archive, Snapshot):
        found = next((data for data in archive.data if data.id == episode), None)
        if found is not None:
            return found
    machine = machine_transcript(archive.layout, episode)  # unknown id: one-line error with close ids
    return EpisodeData(with_corrections(archive.root, machine),
                       episode_meta(archive.layout, machine))


# --- overview --------------------------------------------------------------------------

@dataclass(frozen=True)
class Overview:
    episodes: int                 # audio files and transcripts, by episode id
    transcribed: int              # episodes with a transcript
    hours: float                  # total length of the transcribed episodes
    speakers: tuple[str, ...]     # named in sidecars or corrections, sorted
    first_date: str
    last_date: str
    undated: int                  # episodes without a date
    years: dict[str, int]         # episodes per year (UNDATED last)
    segments: int
    words: int
    suspect_segments: int
    low_confidence_segments: int  # flagged "low-confidence-words" at transcription
    corrected_segments: int

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        dates = f"{self.first_date} – {self.last_date}" if self.first_date else "no dates"
        return (f"{self.episodes} episodes ({self.transcribed} transcribed), {self.hours:.2f} h, "
                f"{len(self.speakers)} speakers, {dates}")

    def _repr_html_(self) -> str:
        return overview_html(self)


def overview(archive) -> Overview:
    """Counts of the whole archive: episodes, hours, speakers, dates, segments."""
    metas: dict[str, EpisodeMeta] = {e.id: e.meta for e in archive.episodes()}
    speakers: set[str] = {name for meta in metas.values() for name in meta.speakers}
    transcribed = hours = segments = words = suspect = low = corrected = 0
    for data in episode_data(archive):
        metas.setdefault(data.id, data.meta)
        transcribed += 1
        hours += data.transcript.duration / 3600
        segments += len(data.transcript.segments)
        for seg in data.transcript.segments:
            words += len(seg.words)
            suspect += seg.suspect
            low += "low-confidence-words" in seg.flags
            corrected += CORRECTED_FLAG in seg.flags
            if seg.speaker:
                speakers.add(seg.speaker)
    dates = sorted(m.date for m in metas.values() if m.date)
    years: dict[str, int] = {}
    for year in sorted(m.date[:4] for m in metas.values() if m.date):
        years[year] = years.get(year, 0) + 1
    undated = sum(1 for m in metas.values() if not m.date)
    if undated:
        years[UNDATED] = undated
    return Overview(
        episodes=len(metas), transcribed=transcribed, hours=hours, speakers=tuple(sorted(speakers)),
        first_date=dates[0] if dates else "", last_date=dates[-1] if dates else "", undated=undated,
        years=years, segments=segments, words=words, suspect_segments=suspect,
        low_confidence_segments=low, corrected_segments=corrected,
    )


# --- tables -------------------------------------------------------------------------------

SEGMENT_COLUMNS = ["episode", "title", "date", "year", "segment_id", "start", "end", "duration", "speaker",
                   "flags", "suspect", "corrected", "words", "min_probability", "text"]


def segment_table(archive, episode: str | None = None) -> pd.DataFrame:
    """One row per segment (of one episode, or all), speakers attributed, in archive order."""
    found = [_one_episode(archive, episode)] if episode is not None else episode_data(archive)
    rows = []
    for data in found:
        for seg in data.transcript.segments:
            rows.append({
                "episode": data.id, "title": data.title, "date": data.date, "year": data.year,
                "segment_id": seg.id, "start": seg.start, "end": seg.end, "duration": seg.end - seg.start,
                "speaker": speaker_of(seg, data.meta) or UNKNOWN, "flags": tuple(seg.flags),
                "suspect": seg.suspect, "corrected": CORRECTED_FLAG in seg.flags, "words": len(seg.words),
                "min_probability": min((w.probability for w in seg.words), default=float("nan")),
                "text": seg.text.strip(),
            })
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


def hours_by_year(archive) -> pd.Series:
    """Hours of transcribed audio per year (index: ``"2011"``…, then :data:`UNDATED`)."""
    hours: dict[str, float] = {}
    for data in episode_data(archive):
        hours[data.year] = hours.get(data.year, 0.0) + data.transcript.duration / 3600
    index = sorted(y for y in hours if y != UNDATED) + ([UNDATED] if UNDATED in hours else [])
    return pd.Series([hours[y] for y in index], index=pd.Index(index, name="year"), name="hours", dtype=float)


def hours_by_speaker(archive) -> pd.Series:
    """Speaking time in hours per speaker over the whole archive, longest first (see the module doc)."""
    table = segment_table(archive)
    hours = table.groupby("speaker")["duration"].sum() / 3600
    return _by_size(hours).rename("hours")


def speaking_time(archive, episode: str) -> pd.DataFrame:
    """Per speaker of one episode: ``seconds``, ``share`` of the attributed time, ``segments``."""
    table = segment_table(archive, episode)
    grouped = table.groupby("speaker").agg(seconds=("duration", "sum"), segments=("segment_id", "count"))
    total = grouped["seconds"].sum()
    grouped["share"] = grouped["seconds"] / total if total else 0.0
    return grouped.loc[_by_size(grouped["seconds"]).index, ["seconds", "share", "segments"]]


def speaker_turns(archive, episode: str) -> pd.DataFrame:
    """The automatic speaker turns of one episode (``start``, ``end``, ``duration``,
    ``speaker``, named where editors or the sidecar named the label); empty if the
    speakers stage did not run on it (sidecar turns, ``speakers: off``)."""
    from .corrections import names_of_speakers

    transcript = archive.transcript(episode)
    names = names_of_speakers(archive.root, transcript)
    turns = (transcript.diarization or {}).get("turns", [])
    return turns_frame([(a, b, names.get(label, label)) for a, b, label in turns])


def turns_frame(turns) -> pd.DataFrame:
    """``(start, end, speaker)`` triples, or :class:`~indexer.archive.SpeakerTurn` (what
    :func:`indexer.speakers.diarize` returns), as a DataFrame."""
    rows = [(t.start, t.end, t.name) if hasattr(t, "name") else tuple(t) for t in turns]
    frame = pd.DataFrame(rows, columns=["start", "end", "speaker"])
    frame["duration"] = frame["end"] - frame["start"]
    return frame


def turn_speaking_time(turns: pd.DataFrame) -> pd.DataFrame:
    """Per speaker of a turns table: ``seconds``, ``share`` and ``turns``, most first."""
    grouped = turns.groupby("speaker").agg(seconds=("duration", "sum"), turns=("start", "count"))
    total = grouped["seconds"].sum()
    grouped["share"] = grouped["seconds"] / total if total else 0.0
    return grouped.loc[_by_size(grouped["seconds"]).index, ["seconds", "share", "turns"]]


def _by_size(values: pd.Series) -> pd.Series:
    """Largest first, ties by name; :data:`UNKNOWN` last."""
    keys = sorted(values.index, key=lambda k: (k == UNKNOWN, -values[k], k))
    return values.loc[keys]


# --- terms ----------------------------------------------------------------------------------

def term_tokens(term: str) -> tuple[str, ...]:
    """The index terms of ``term`` (stemmed, folded, stop words dropped); QueryError if none."""
    tokens = tuple(t.text for t in french_analyzer()(term, mode="query"))
    if not tokens:
        raise QueryError(f"term {term!r} has no word to count (only stop words such as « le », « de »?)")
    return tokens


def _positions(analyzer, texts: Iterable[str | None]) -> list[tuple[set[str], int]]:
    """Index terms at each position of the texts laid end to end, with the text they come from.

    A text None (a left-out segment) is a gap no phrase spans.
    """
    stream: list[tuple[set[str], int]] = []
    for n, text in enumerate(texts):
        if text is None:
            stream.append((set(), n))
            continue
        by_pos: dict[int, set[str]] = {}
        for token in analyzer(text, positions=True, mode="index"):
            by_pos.setdefault(token.pos, set()).add(token.text)  # @owni is also indexed as owni
        stream.extend((by_pos[p], n) for p in sorted(by_pos))
    return stream


def count_term(stream: Sequence[tuple[set[str], int]], tokens: Sequence[str]) -> list[int]:
    """Where ``tokens`` occur in a stream from :func:`_positions`: the text index of each occurrence's first word."""
    found = []
    size = len(tokens)
    for i in range(len(stream) - size + 1):
        if all(tokens[k] in stream[i + k][0] for k in range(size)):
            found.append(stream[i][1])
    return found


def term_frequency(archive, terms: str | Sequence[str], by: str = "year", per_hour: bool = False,
                   exclude_suspect: bool = False) -> pd.DataFrame:
    """How often each of ``terms`` is said, per year, episode or speaker (one column per term).

    Counts occurrences with the index's analyzer (see the module doc). By year,
    every year with a transcript has a row, zeros included; by episode, rows are
    in date order. ``per_hour`` divides by the hours of audio of the year or
    episode (by speaker: by the speaker's speaking time), to compare periods
    with more or less recorded material. ``exclude_suspect`` leaves out segments
    flagged suspect (Whisper's inventions from silence often repeat a phrase).
    """
    if by not in BY_VALUES:
        raise QueryError(f"cannot count terms by {by!r}; valid: {', '.join(BY_VALUES)}")
    terms = [terms] if isinstance(terms, str) else list(terms)
    if not terms:
        raise QueryError("no term to count")
    wanted = {term: term_tokens(term) for term in terms}
    analyzer = french_analyzer()
    counts: dict[str, dict[str, int]] = {}
    hours: dict[str, float] = {}
    order: list[tuple[str, str]] = []  # (sort key, row) for episodes
    for data in episode_data(archive):
        segments = [s for s in data.transcript.segments if s.text.strip()]
        speakers = [speaker_of(s, data.meta) or UNKNOWN for s in segments]
        if by == "speaker":
            for seg, who in zip(segments, speakers):
                if exclude_suspect and seg.suspect:
                    continue
                hours[who] = hours.get(who, 0.0) + (seg.end - seg.start) / 3600
                counts.setdefault(who, {})
        else:
            row = data.year if by == "year" else data.id
            hours[row] = hours.get(row, 0.0) + data.transcript.duration / 3600
            counts.setdefault(row, {})
            if by == "episode":
                order.append((data.date or "~", row))
        stream = _positions(analyzer, (None if exclude_suspect and s.suspect else s.text for s in segments))
        for term, tokens in wanted.items():
            for n in count_term(stream, tokens):
                row = speakers[n] if by == "speaker" else data.year if by == "year" else data.id
                counts[row][term] = counts[row].get(term, 0) + 1
    if by == "year":
        index = sorted(r for r in counts if r != UNDATED) + ([UNDATED] if UNDATED in counts else [])
    elif by == "episode":
        index = [row for _, row in sorted(order)]
    else:
        index = sorted(counts, key=lambda r: (r == UNKNOWN, r))
    frame = pd.DataFrame([[counts[r].get(t, 0) for t in terms] for r in index],
                         index=pd.Index(index, name=by), columns=pd.Index(terms, name="term"), dtype=int)
    if per_hour:
        frame = frame.div(pd.Series({r: hours[r] for r in index}), axis=0)
    return frame


# --- confidence and review ----------------------------------------------------------------

def word_confidence(archive) -> pd.DataFrame:
    """Every word Whisper wrote, with its probability (machine transcripts, before corrections)."""
    rows = []
    for machine in archive.transcripts():
        for seg in machine.segments:
            for w in seg.words:
                rows.append((machine.episode_id, seg.id, w.start, w.end, w.word.strip(), w.probability))
    return pd.DataFrame(rows, columns=["episode", "segment_id", "start", "end", "word", "probability"])


REVIEW_COLUMNS = ["episode", "title", "segment_id", "timecode", "start", "end", "speaker", "reasons",
                  "min_probability", "low_words", "marked", "text", "audio_path"]


def review_table(archive, max_probability: float = 0.5, include_corrected: bool = False) -> pd.DataFrame:
    """Segments worth checking: suspect ones, and those with a word below ``max_probability``.

    Worst first (suspect, then the least sure word). ``marked`` is the text with
    the unsure words as ``[?mot]`` (the convention of quotes); ``reasons`` lists
    the suspect flags and the number of unsure words. Segments an editor has
    corrected are left out unless ``include_corrected``. Show it with players:
    :func:`review_players`.
    """
    rows = []
    for data in episode_data(archive):
        audio = archive.layout.audio_file(data.transcript.audio_path)
        for seg in data.transcript.segments:
            if not include_corrected and CORRECTED_FLAG in seg.flags:
                continue
            low = [w for w in seg.words if w.probability < max_probability]
            if not seg.suspect and not low:
                continue
            reasons = [f for f in seg.flags if f not in ("suspect", "low-confidence-words", CORRECTED_FLAG)]
            if low:
                reasons.append(f"{len(low)} mot{'s' if len(low) > 1 else ''} < {max_probability:g}")
            marked = join_words(seg.words, lambda w, core: f"[?{core}]" if w.probability < max_probability
                                else core) if seg.words else seg.text.strip()
            rows.append({
                "episode": data.id, "title": data.title, "segment_id": seg.id, "timecode": hms(seg.start),
                "start": seg.start, "end": seg.end, "speaker": speaker_of(seg, data.meta) or UNKNOWN,
                "reasons": ", ".join(reasons), "suspect": seg.suspect,
                "min_probability": min((w.probability for w in seg.words), default=float("nan")),
                "low_words": [w.word.strip() for w in low], "marked": marked, "text": seg.text.strip(),
                "audio_path": audio,
            })
    frame = pd.DataFrame(rows, columns=REVIEW_COLUMNS + ["suspect"])
    frame = frame.sort_values(["suspect", "min_probability", "episode", "start"],
                              ascending=[False, True, True, True], na_position="last", kind="stable")
    return frame[REVIEW_COLUMNS].reset_index(drop=True)


__all__ = ["BY_VALUES", "EpisodeData", "Overview", "ReviewPlayers", "Snapshot", "UNDATED", "UNKNOWN", "count_term",
           "episode_data", "hours_by_speaker", "hours_by_year", "overview", "review_players", "review_table",
           "segment_table", "speaking_time", "term_frequency", "term_tokens", "word_confidence"]
