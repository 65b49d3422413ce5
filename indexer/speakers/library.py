"""The voice library of an archive: ``ARCHIVE/voices/library.json``, the names the archive knows by voice.

A **derived store**, like the index: rebuilt from the editors' names (name
corrections, sidecar turns), their renames, merges and forgets, and the voice
prints in the transcripts (:mod:`indexer.voices.build`), written whole and
atomically by whoever holds the ingest lock, and read without a lock. It holds:

* ``voices``: each known name with its exemplars (one print per episode where
  an editor gave that name) and, when two of them are clearly different
  voices, a ``conflict`` saying so (such a voice names nothing automatically);
* ``episodes``: per episode, the automatic names of its unnamed labels
  (``{"S2": {"name": "Sandra", "similarity": 0.71}}``) and a digest of every
  name it shows, which the ingest compares to re-index what changed;
* ``renamed``: name -> the name to show instead (renames and merges);
* ``problems``: the rebuild's one-line warnings.

Reading (:func:`read_library`) never fails: a missing or damaged file is an
empty library (logged once), rebuilt by the next ingest.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import VoiceError, printable
from ..files import atomic_write_json
from .prints import VoicePrint

log = logging.getLogger("indexer")

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Exemplar:
    """One confirmed occurrence of a voice: the print of ``speaker`` (a label, or a sidecar name) in ``episode``."""

    episode: str
    speaker: str
    print: VoicePrint
    source: str = "named"        # "named" (name_speakers) | "sidecar" (named turns, or the only speaker)

    def to_dict(self) -> dict:
        return {"episode": self.episode, "speaker": self.speaker, "source": self.source, **self.print.to_dict()}


@dataclass(frozen=True)
class Voice:
    name: str
    exemplars: tuple[Exemplar, ...]
    conflict: str = ""           # one line when two exemplars are clearly different voices

    @property
    def seconds(self) -> float:
        return sum(e.print.seconds for e in self.exemplars)

    def to_dict(self) -> dict:
        return {"name": self.name, "conflict": self.conflict, "exemplars": [e.to_dict() for e in self.exemplars]}


@dataclass(frozen=True)
class AutomaticName:
    """A label named because its voice matched a known one."""

    name: str
    similarity: float
    seconds: float = 0.0         # the label's speech


@dataclass
class VoiceLibrary:
    backend: str = ""
    voices: dict[str, Voice] = field(default_factory=dict)
    automatic: dict[str, dict[str, AutomaticName]] = field(default_factory=dict)   # episode -> label -> name
    digests: dict[str, str] = field(default_factory=dict)                          # episode -> shown names
    keys: dict[str, str] = field(default_factory=dict)       # episode -> prints_key its names were computed on
    renamed: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    built: str = ""

    def automatic_names(self, episode_id: str) -> dict[str, AutomaticName]:
        return dict(self.automatic.get(episode_id, {}))

    def shown(self, name: str) -> str:
        """The name to show for ``name`` (after renames and merges)."""
        return self.renamed.get(name, name)

    def digest(self, episode_id: str) -> str:
        return self.digests.get(episode_id, "")

    def prints_key(self, episode_id: str) -> str:
        return self.keys.get(episode_id, "")

    # -- JSON ----------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA_VERSION, "backend": self.backend, "built": self.built, "settings": self.settings,
            "voices": [v.to_dict() for v in self.voices.values()],
            "episodes": {e: {"names": {label: {"name": a.name, "similarity": round(a.similarity, 4),
                                                "seconds": round(a.seconds, 2)}
                                       for label, a in self.automatic.get(e, {}).items()},
                             "prints": self.keys.get(e, ""), "digest": self.digests.get(e, "")}
                         for e in sorted(set(self.automatic) | set(self.digests))},
            "renamed": self.renamed, "problems": self.problems,
        }

    @classmethod
    def from_dict(cls, data, path: Path | None = None) -> "VoiceLibrary":
        """The library from its JSON; VoiceError (naming the file) when it is not one."""
        def bad(what: str) -> VoiceError:
            return VoiceError(f"not a valid voice library ({what})", path,
                              "it is rebuilt from the corrections, sidecars and transcripts by the next ingest, "
                              "or now with `indexer voices rebuild`")

        if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
            raise bad(f"schema {data.get('schema') if isinstance(data, dict) else None!r}, "
                      f"expected {SCHEMA_VERSION}")
        try:
            voices = {}
            for v in data["voices"]:
                exemplars = []
                for e in v["exemplars"]:
                    voiceprint = VoicePrint.from_dict(e)
                    if voiceprint is None:
                        raise bad(f"a print of {v['name']!r} is damaged")
                    exemplars.append(Exemplar(str(e["episode"]), str(e["speaker"]), voiceprint,
                                              str(e.get("source", "named"))))
                voices[str(v["name"])] = Voice(str(v["name"]), tuple(exemplars), str(v.get("conflict", "")))
            automatic, digests, keys = {}, {}, {}
            for episode, entry in data["episodes"].items():
                names = {str(label): AutomaticName(str(a["name"]), float(a["similarity"]), float(a.get("seconds", 0)))
                         for label, a in entry.get("names", {}).items()}
                if names:
                    automatic[str(episode)] = names
                    keys[str(episode)] = str(entry.get("prints", ""))
                if entry.get("digest"):
                    digests[str(episode)] = str(entry["digest"])
            renamed = {str(k): str(v) for k, v in data.get("renamed", {}).items()}
            return cls(str(data.get("backend", "")), voices, automatic, digests, keys, renamed,
                       [str(p) for p in data.get("problems", [])], dict(data.get("settings", {})),
                       str(data.get("built", "")))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise bad(f"{type(e).__name__}: {e}") from e


def load_library(path: Path) -> VoiceLibrary | None:
    """The library at ``path``; None if there is none; VoiceError if it is damaged."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise VoiceError(f"voice library cannot be read: {e.strerror or e}", path) from e
    try:
        data = json.loads(text)
    except ValueError as e:
        raise VoiceError(f"not a valid voice library (invalid JSON: {e})", path,
                         "it is rebuilt from the corrections, sidecars and transcripts by the next ingest, "
                         "or now with `indexer voices rebuild`") from e
    return VoiceLibrary.from_dict(data, path)


def save_library(path: Path, library: VoiceLibrary) -> None:
    """Replace the library whole (temporary file, fsync, rename): readers see the old one or the new one."""
    atomic_write_json(path, library.to_dict(), ensure_ascii=False, indent=1)
    _cache.clear()


_cache: dict[str, tuple[tuple[int, int], VoiceLibrary]] = {}
_cache_lock = threading.Lock()
_warned: set[tuple[str, int]] = set()


def read_library(path: Path) -> VoiceLibrary:
    """The library for showing names (cached by size and mtime: one parse per change and process).

    Missing: an empty library. Damaged: an empty library, with one warning per
    version of the file, until the next ingest rebuilds it.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError:
        return VoiceLibrary()
    key = (st.st_size, st.st_mtime_ns)
    with _cache_lock:
        held = _cache.get(str(path))
        if held is not None and held[0] == key:
            return held[1]
    try:
        library = load_library(path) or VoiceLibrary()
    except VoiceError as e:
        if (str(path), st.st_mtime_ns) not in _warned:
            _warned.add((str(path), st.st_mtime_ns))
            log.warning("%s; until then, no automatic names", printable(e.one_line()))
        library = VoiceLibrary()
    with _cache_lock:
        _cache[str(path)] = (key, library)
    return library
