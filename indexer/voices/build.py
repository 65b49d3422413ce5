"""Rebuilding the voice library from what editors said and what the transcripts hold.

:func:`build_library` reads, for every transcript: its voice prints (from the
speakers stage), its name corrections, its sidecar (names in order, named
turns), and the archive's voice actions; it returns the whole library, which
the caller (the ingest, or :func:`indexer.ingest.voices.update_voices`, under
the ingest lock) saves in one atomic write. Nothing is patched in place: the
library on disk is always one complete rebuild.

Reading every transcript again each time would cost a no-op ingest of 1,000
episodes seconds, so what each holds for voices (a few prints) is cached in
``.indexer/voiceprints.json`` by the transcript's size and mtime, like the
ingest's transcript catalog; losing that cache costs one full read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field, replace

from ..archive import ArchiveLayout, EpisodeMeta, is_episode_id
from ..corrections import load_corrections
from ..corrections.effective import episode_meta
from ..corrections.names import anchored_label, label_names, names_in_sidecar
from ..errors import IndexerError
from ..files import atomic_write_json, read_json
from ..speakers.library import AutomaticName, Exemplar, Voice, VoiceLibrary
from ..speakers.naming import NamingOptions, clearly_different, match_voices, naming_options
from ..speakers.prints import VoicePrint, prints_from_diarization, prints_key
from ..transcript import Diarization, Transcript, load_transcript
from .actions import forgotten, load_actions, rename_map


@dataclass(frozen=True)
class EpisodeVoices:
    """What the library needs of one transcript (a stand-in for it: no segments)."""

    episode_id: str
    audio_path: str
    audio_sha256: str
    diarization: Diarization | None

    @classmethod
    def of(cls, transcript: Transcript) -> "EpisodeVoices":
        d = transcript.diarization
        kept = None if d is None else Diarization(d.backend, mode=d.mode, labels=d.labels, turns=d.turns,
                                                  voiceprints=d.voiceprints)
        return cls(transcript.episode_id, transcript.audio_path, transcript.audio_sha256, kept)

    @classmethod
    def from_dict(cls, data: dict) -> "EpisodeVoices":
        d = data["diarization"]
        return cls(**{**data, "diarization": None if d is None else Diarization.from_dict(d)})

    def to_dict(self) -> dict:
        return {**asdict(replace(self, diarization=None)),
                "diarization": self.diarization.to_dict() if self.diarization else None}

    @property
    def backend(self) -> str | None:
        return self.diarization.backend if self.diarization else None

    def as_transcript(self) -> Transcript:
        return Transcript(self.episode_id, self.audio_path, self.audio_sha256, 0.0, "", "", "", {},
                          diarization=self.diarization)


@dataclass
class BuildReport:
    """What a rebuild found: its one-line problems, and the episodes whose names changed."""

    problems: list[str] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)


def read_episodes(layout: ArchiveLayout, problems: list[str]) -> list[EpisodeVoices]:
    """Every readable transcript's voices (cached by size and mtime); an unreadable one is a problem line."""
    cache_path = layout.state_dir / "voiceprints.json"
    cache = read_json(cache_path, {})
    fresh, found = {}, []
    folder = layout.transcripts_dir
    paths = sorted(p for p in folder.rglob("*.json") if not p.name.startswith(".")) if folder.is_dir() else []
    for path in paths:
        key = str(path.relative_to(folder))
        if not is_episode_id(key[:-5]):
            continue
        try:
            st = path.stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
            held = cache.get(key)
            if isinstance(held, dict) and held.get("stamp") == stamp:
                entry = EpisodeVoices.from_dict(held["voices"])
            else:
                entry = EpisodeVoices.of(load_transcript(path))
            fresh[key] = {"stamp": stamp, "voices": entry.to_dict()}
            found.append(entry)
        except (IndexerError, OSError, TypeError, KeyError, ValueError) as e:
            problems.append(e.one_line() if isinstance(e, IndexerError) else f"{path}: {e}")
    if fresh != cache:
        try:
            atomic_write_json(cache_path, fresh)
        except OSError:
            pass  # a cache: the next rebuild reads the transcripts again
    return found


def build_library(layout: ArchiveLayout, backend: str | None = None, options: NamingOptions | None = None,
                  previous: VoiceLibrary | None = None) -> tuple[VoiceLibrary, BuildReport]:
    """The voice library of the archive for prints of ``backend`` (see the module doc); None: the
    backend most transcripts' prints come from."""
    report = BuildReport()
    problems = report.problems
    episodes = read_episodes(layout, problems)
    if not backend:
        found = Counter(e.backend for e in episodes if e.diarization and e.diarization.voiceprints)
        backend = found.most_common(1)[0][0] if found else ""
    options = options or naming_options(backend)
    try:
        actions = load_actions(layout)
    except IndexerError as e:
        problems.append(f"{e.one_line()}; renames, merges and forgets are not applied until it is fixed")
        actions = []
    renamed = rename_map(actions)
    forgets = forgotten(actions, renamed)

    confirmed: dict[str, dict[str, str]] = {}        # episode -> label -> name given by an editor or sidecar
    other_names: dict[str, set[str]] = {}            # episode -> names shown that are not labels' names
    exemplars: dict[str, list[Exemplar]] = {}
    for ep in episodes:
        transcript = ep.as_transcript()
        try:
            corrections = load_corrections(layout.root, ep.episode_id)
        except IndexerError as e:
            problems.append(f"{e.one_line()}; its names are left out of the voice library")
            corrections = []
        meta = _meta(layout, transcript, problems)
        names = label_names(transcript, corrections, names_in_sidecar(transcript, meta))
        confirmed[ep.episode_id] = {label: n.name for label, n in names.items()}
        other_names[ep.episode_id] = ({c.after for c in corrections if c.kind == "speaker"}
                                      | set(meta.speakers) | {t.name for t in meta.turns})
        prints = prints_from_diarization(ep.diarization) if ep.backend == backend else {}
        for c in corrections:
            if c.kind != "name":
                continue
            label = anchored_label(transcript, c)
            voiceprint = prints.get(label) if label is not None else None
            if voiceprint is None and c.voice and c.voice.get("backend") == backend:
                voiceprint = VoicePrint.from_dict(c.voice)  # the print it was named on (its transcript has none now)
            name = renamed.get(c.after, c.after)
            if voiceprint is not None and not (name in forgets and c.when <= forgets[name]):
                exemplars.setdefault(name, []).append(Exemplar(ep.episode_id, label or c.before or "", voiceprint))
        if ep.diarization and ep.diarization.mode == "turns":
            for name, voiceprint in prints.items():
                shown = renamed.get(name, name)
                if shown not in forgets:
                    exemplars.setdefault(shown, []).append(Exemplar(ep.episode_id, name, voiceprint, "sidecar"))

    voices = {}
    for name, found in sorted(exemplars.items()):
        # One name correction per episode and label counts once (the last one holds).
        unique = list({(e.episode, e.speaker): e for e in found}.values())
        conflict = ""
        sure = [e for e in unique if e.print.seconds >= options.min_seconds]
        worst = clearly_different([e.print for e in sure], options)
        if worst is not None:
            a, b = sure[worst[0]], sure[worst[1]]
            conflict = (f"voice {name!r} is given to two clearly different voices: {a.speaker} of {a.episode} and "
                        f"{b.speaker} of {b.episode} (similarity {worst[2]:.2f}); it names nothing automatically "
                        "until one of them is renamed")
            problems.append(conflict)
        voices[name] = Voice(name, tuple(unique), conflict)

    usable = {name: [e.print for e in v.exemplars if e.print.seconds >= options.min_seconds]
              for name, v in voices.items() if not v.conflict}
    usable = {name: found for name, found in usable.items() if found}
    automatic, keys, digests = {}, {}, {}
    for ep in episodes:
        labels = ep.diarization.labels if ep.diarization else ()
        given = {renamed.get(n, n) for n in confirmed[ep.episode_id].values()}
        prints = prints_from_diarization(ep.diarization) if ep.backend == backend else {}
        free = {label: p for label, p in prints.items() if label in labels and label not in confirmed[ep.episode_id]}
        matched = match_voices(free, usable, options, given) if free and usable else {}
        if matched:
            automatic[ep.episode_id] = {label: AutomaticName(name, sim, prints[label].seconds)
                                        for label, (name, sim) in matched.items()}
            keys[ep.episode_id] = prints_key(ep.diarization)
        shown = {label: renamed.get(n, n) for label, n in confirmed[ep.episode_id].items()}
        shown.update({label: a.name for label, a in automatic.get(ep.episode_id, {}).items()})
        moved = {n: renamed[n] for n in set(confirmed[ep.episode_id].values()) | other_names[ep.episode_id]
                 if n in renamed}
        if shown or moved:
            digests[ep.episode_id] = hashlib.sha1(json.dumps([shown, moved], sort_keys=True).encode()).hexdigest()[:12]

    library = VoiceLibrary(backend, voices, automatic, digests, keys, renamed, problems,
                           {"threshold": options.threshold, "conflict": options.conflict,
                            "min_seconds": options.min_seconds, "margin": options.margin},
                           dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    if previous is not None:
        report.changed = {e for e in set(previous.digests) | set(digests) if previous.digest(e) != library.digest(e)}
    else:
        report.changed = set(digests)
    return library, report


def same_library(a: VoiceLibrary | None, b: VoiceLibrary) -> bool:
    """Equal but for the time of the build (no need to write it again)."""
    if a is None:
        return False
    one, two = a.to_dict(), b.to_dict()
    one.pop("built"), two.pop("built")
    return one == two


def _meta(layout: ArchiveLayout, transcript: Transcript, problems: list[str]) -> EpisodeMeta:
    try:
        return episode_meta(layout, transcript)
    except IndexerError as e:
        problems.append(f"{e.one_line()}; its sidecar names are left out of the voice library")
        return EpisodeMeta()

