"""Archive layout, sidecar metadata, episode ids and content hashes.

An archive is a folder::

    ARCHIVE/archive.yaml            optional archive-wide settings
    ARCHIVE/audio/**/<stem>.<ext>   episodes, any format ffmpeg reads
    ARCHIVE/audio/**/<stem>.yaml    optional sidecar (or .json) beside each
    ARCHIVE/transcripts/<id>.json   transcripts: the source of truth
    ARCHIVE/index/                  Whoosh index, rebuilt from transcripts
    ARCHIVE/runs/                   ingest run reports
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import yaml

from ..errors import EpisodeIdError, SidecarError, printable

AUDIO_EXTENSIONS = frozenset(
    ".mp3 .m4a .aac .wav .ogg .oga .opus .flac .wma .aiff .aif .mp4 .m4v .mov .mkv .webm .avi".split()
)
SIDECAR_EXTENSIONS = (".yaml", ".yml", ".json")
# Sidecars are a few hundred bytes of hand-written metadata (100 chapters: ~6 KB).
# Pure-Python PyYAML is slow: 64 KB of chapters parse in 0.8 s here (256 KB: 2.2 s),
# so the cap bounds what one hostile file can cost the batch.
MAX_SIDECAR_BYTES = 64 * 1024
# What episode_id() makes: a-z 0-9 _ - in each part, parts joined by "/".
EPISODE_ID = re.compile(r"[a-z0-9_-]+(?:/[a-z0-9_-]+)*")
EPISODE_ID_HINT = "episode ids are the paths under audio/ without extension: a-z 0-9 _ - and /, e.g. 2011/debat-2"


@dataclass(frozen=True)
class Chapter:
    start: float
    title: str


@dataclass(frozen=True)
class SpeakerTurn:
    name: str
    start: float
    end: float


@dataclass(frozen=True)
class EpisodeMeta:
    title: str = ""
    date: str = ""  # ISO date, or a prefix of one ("2011", "2011-02")
    speakers: tuple[str, ...] = ()
    turns: tuple[SpeakerTurn, ...] = ()
    speakers_mode: str | int | None = None   # sidecar `speakers: auto | off | N` (None: archive.yaml's)
    language: str | None = None
    source_url: str = ""
    description: str = ""
    chapters: tuple[Chapter, ...] = ()
    # Decoding for this recording (transcribe.PRESETS), over the archive's: from
    # `preset:`, or `noisy: true` (the preset for noisy recordings) / `false` (the default).
    preset: str | None = None

    def chapter_at(self, seconds: float) -> str:
        current = ""
        for chapter in sorted(self.chapters, key=lambda c: c.start):
            if chapter.start <= seconds + 1e-6:
                current = chapter.title
        return current

    def speaker_at(self, start: float, end: float) -> str | None:
        """The turn overlapping [start, end] the most, or the only speaker."""
        best, best_overlap = None, 0.0
        for turn in self.turns:
            overlap = min(end, turn.end) - max(start, turn.start)
            if overlap > best_overlap:
                best, best_overlap = turn.name, overlap
        if best is None and len(self.speakers) == 1:
            return self.speakers[0]
        return best


@dataclass(frozen=True)
class ArchiveSettings:
    language: str | None = "fr"
    model: str = "base"
    engine: str = "faster-whisper"
    preset: str = "fast"        # `noisy: true` without a preset gives the preset for noisy recordings
    glossary: tuple[str, ...] = ()
    speakers: str | int = "auto"      # automatic speakers: auto | off | a known count


@dataclass(frozen=True)
class Episode:
    id: str
    audio_path: Path
    sidecar_path: Path | None = None
    meta: EpisodeMeta = field(default_factory=EpisodeMeta)


def episode_id(relative_path: str | Path) -> str:
    """Stable, URL-safe id: the path under ``audio/`` without extension.

    Accents are folded, anything but ``[a-z0-9_-]`` becomes ``-`` in each part,
    so ``2011/Débat #2 – Les CM.mp3`` becomes ``2011/debat-2-les-cm``.
    """
    parts = Path(relative_path).with_suffix("").parts
    cleaned = []
    for part in parts:
        ascii_part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9_-]+", "-", ascii_part.lower()).strip("-")
        cleaned.append(slug or hashlib.sha1(part.encode()).hexdigest()[:8])
    return "/".join(cleaned)


def check_episode_id(value: object) -> str:
    """``value`` if it is an episode id of the grammar (so a path made from it stays in its folder).

    Every id that comes from a caller goes through here, by way of the
    :class:`ArchiveLayout` paths or directly.
    """
    if not is_episode_id(value):
        raise EpisodeIdError(f"invalid episode id {printable(repr(value))}", hint=EPISODE_ID_HINT)
    return value


def is_episode_id(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 1024 and EPISODE_ID.fullmatch(value) is not None


def safe_url(url: str) -> str:
    """The URL if it is a web link (``http(s)://``), else "": no ``javascript:`` in a page or a quote."""
    url = (url or "").strip()
    return url if re.match(r"(?i)https?://[^\s/]", url) and not re.search(r"[\x00-\x1f\x7f]", url) else ""


# --- sidecars ----------------------------------------------------------------

class _TextDatesLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text, so a bad date is reported as a field error,
    and refuses anchors and aliases: sidecars are hand-written metadata, and a few
    nested aliases (a "billion laughs") expand to gigabytes."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed here", event.start_mark)
        return super().compose_node(parent, index)


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_mapping(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SIDECAR_BYTES + 1)
        if len(raw) > MAX_SIDECAR_BYTES:
            raise SidecarError(f"too large (over {MAX_SIDECAR_BYTES // 1024} KB of metadata)", path,
                               "keep long texts out of the sidecar")
        text = raw.decode("utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_TextDatesLoader)
    except (OSError, UnicodeDecodeError) as e:
        raise SidecarError(f"cannot read: {e}", path) from e
    except (ValueError, yaml.YAMLError) as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SidecarError(f"not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {detail}", path) from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SidecarError(f"expected a mapping of fields, got {type(data).__name__}", path)
    return data


def _seconds(value, path: Path, field_name: str) -> float:
    if isinstance(value, bool):
        raise SidecarError(f"field '{field_name}' must be seconds or hh:mm:ss, got {value!r}", path)
    if isinstance(value, (int, float)):
        if not value >= 0:  # negative, or NaN
            raise SidecarError(f"field '{field_name}' must be a time from the start, got {value!r} (negative?)",
                               path)
        return float(value)
    if isinstance(value, str):
        try:
            return parse_timecode(value)
        except ValueError:
            pass
    raise SidecarError(f"field '{field_name}' must be seconds or hh:mm:ss (not negative), got {value!r}", path)


def parse_timecode(text: str) -> float:
    """``"754"``, ``"12:34"``, ``"00:12:34.5"`` → seconds."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(re.fullmatch(r"\d+(\.\d*)?|\.\d+", p.strip()) for p in parts):
        raise ValueError(f"not a time (seconds or hh:mm:ss, not negative): {text!r}")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


def _text(data: dict, key: str, path: Path) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return str(value)
    raise SidecarError(f"field '{key}' must be text, got {type(value).__name__}", path)


def _date(value, path: Path) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        try:
            dt.date.fromisoformat(text if len(text) == 10 else (text + "-01-01")[:10])
            return text
        except ValueError:
            pass
    raise SidecarError(f"field 'date' must be YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}", path)


SPEAKER_MODES = ("auto", "off")


def parse_speakers_mode(value, path: Path | None = None, field_name: str = "speakers") -> str | int:
    """``auto``, ``off`` or a positive number of speakers (archive.yaml, or a sidecar's ``speakers``)."""
    if isinstance(value, bool):  # YAML reads a bare off / on as a boolean
        return "auto" if value else "off"
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.strip().lower() in SPEAKER_MODES:
        return value.strip().lower()
    if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
        return int(value)
    raise SidecarError(f"field '{field_name}' must be auto, off or a number of speakers, got {value!r}", path)


def _is_speakers_mode(value) -> bool:
    return isinstance(value, (bool, int)) or \
        (isinstance(value, str) and (value.strip().lower() in SPEAKER_MODES or value.strip().isdigit()))


def _preset(data: dict, path: Path) -> str | None:
    """The decoding preset a file asks for: ``preset:``, else ``noisy: true``."""
    name, noisy = data.get("preset"), data.get("noisy")
    if name is None and noisy is None:
        return None
    from ..transcribe import DEFAULT_PRESET, NOISY_PRESET, PRESETS

    if name is not None and (not isinstance(name, str) or name not in PRESETS):
        raise SidecarError(f"field 'preset' must be one of {', '.join(PRESETS)}, got {name!r}", path)
    if noisy is not None and not isinstance(noisy, bool):
        raise SidecarError(f"field 'noisy' must be true or false, got {noisy!r}", path)
    if name is not None:
        return name
    if noisy is not None:
        return NOISY_PRESET if noisy else DEFAULT_PRESET
    return None


def parse_sidecar(data: dict, path: Path) -> EpisodeMeta:
    known = {"title", "date", "speakers", "language", "source_url", "url", "description", "chapters",
             "preset", "noisy"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SidecarError(f"unknown field '{unknown[0]}' (known: {', '.join(sorted(known))})", path)

    speakers: list[str] = []
    turns: list[SpeakerTurn] = []
    raw_speakers = data.get("speakers")
    raw_speakers = [] if raw_speakers is None or raw_speakers == "" else raw_speakers
    mode = None
    if _is_speakers_mode(raw_speakers):
        # `speakers: auto | off | N` sets the automatic speakers; names are a list
        # (a person literally called "auto" is written `speakers: [auto]`).
        mode, raw_speakers = parse_speakers_mode(raw_speakers, path), []
    if isinstance(raw_speakers, str):
        raw_speakers = [raw_speakers]
    if not isinstance(raw_speakers, list):
        raise SidecarError("field 'speakers' must be a list of names or of {name, start, end}", path)
    for i, item in enumerate(raw_speakers):
        if isinstance(item, str):
            speakers.append(item)
        elif isinstance(item, dict) and "name" in item:
            start = _seconds(item.get("start", 0), path, f"speakers[{i}].start")
            end = _seconds(item.get("end", float("inf")), path, f"speakers[{i}].end") \
                if item.get("end") is not None else float("inf")
            if end <= start:
                raise SidecarError(f"field 'speakers[{i}]' ends before it starts", path)
            turns.append(SpeakerTurn(str(item["name"]), start, end))
            if item["name"] not in speakers:
                speakers.append(str(item["name"]))
        else:
            raise SidecarError(f"field 'speakers[{i}]' must be a name or {{name, start, end}}", path)

    chapters = []
    raw_chapters = data.get("chapters") or []
    if not isinstance(raw_chapters, list):
        raise SidecarError("field 'chapters' must be a list of {start, title}", path)
    for i, item in enumerate(raw_chapters):
        if not isinstance(item, dict) or "title" not in item:
            raise SidecarError(f"field 'chapters[{i}]' must be {{start, title}}", path)
        chapters.append(Chapter(_seconds(item.get("start", 0), path, f"chapters[{i}].start"), str(item["title"])))

    language = data.get("language")
    if language is not None and not isinstance(language, str):
        raise SidecarError(f"field 'language' must be a language code such as 'fr', got {language!r}", path)
    source_url = _text(data, "source_url", path) or _text(data, "url", path)
    if source_url and not safe_url(source_url):
        raise SidecarError(f"field 'source_url' must be an http:// or https:// link, got {source_url[:80]!r}", path)

    return EpisodeMeta(
        title=_text(data, "title", path),
        date=_date(data.get("date"), path),
        speakers=tuple(speakers),
        turns=tuple(sorted(turns, key=lambda t: t.start)),
        speakers_mode=mode,
        language=language,
        source_url=safe_url(source_url),
        description=_text(data, "description", path),
        chapters=tuple(sorted(chapters, key=lambda c: c.start)),
        preset=_preset(data, path),
    )


def sidecar_for(audio_path: Path) -> Path | None:
    for ext in SIDECAR_EXTENSIONS:
        candidate = audio_path.with_suffix(ext)
        if candidate.is_file():
            return candidate
    return None


def load_sidecar(path: Path | None) -> EpisodeMeta:
    if path is None:
        return EpisodeMeta()
    return parse_sidecar(_read_mapping(path), path)


def load_settings(root: Path) -> ArchiveSettings:
    path = root / "archive.yaml"
    if not path.is_file():
        return ArchiveSettings()
    data = _read_mapping(path)
    known = {"language", "model", "engine", "preset", "noisy", "glossary", "speakers"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SidecarError(f"unknown field '{unknown[0]}' (known: {', '.join(sorted(known))})", path)
    glossary = data.get("glossary") or []
    if not isinstance(glossary, list) or not all(isinstance(g, str) for g in glossary):
        raise SidecarError("field 'glossary' must be a list of terms", path)
    defaults = ArchiveSettings()
    language = data.get("language", defaults.language)
    if language is not None and not (isinstance(language, str) and re.fullmatch(r"[a-z]{2,3}|auto", language)):
        raise SidecarError(f"field 'language' must be a language code such as 'fr', or 'auto', got {language!r}",
                           path)
    for key in ("model", "engine", "preset"):
        if key in data and not isinstance(data[key], str):
            raise SidecarError(f"field '{key}' must be text, got {data[key]!r}", path)
    return ArchiveSettings(
        language=None if language in (None, "auto") else str(language),
        model=str(data.get("model", defaults.model)),
        engine=str(data.get("engine", defaults.engine)),
        preset=_preset(data, path) or defaults.preset,
        glossary=tuple(glossary),
        speakers=parse_speakers_mode(data.get("speakers", defaults.speakers), path),
    )


# --- layout ------------------------------------------------------------------

@dataclass(frozen=True)
class ArchiveLayout:
    root: Path

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
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def state_dir(self) -> Path:
        return self.root / ".indexer"

    @property
    def corrections_dir(self) -> Path:
        return self.root / "corrections"

    @property
    def trash_dir(self) -> Path:
        return self.state_dir / "trash"

    def transcript_path(self, episode_id: str) -> Path:
        return self._inside(self.transcripts_dir, f"{check_episode_id(episode_id)}.json")

    def corrections_path(self, episode_id: str) -> Path:
        return self._inside(self.corrections_dir, f"{check_episode_id(episode_id)}.json")

    def trash_path(self, episode_id: str, suffix: str = ".json") -> Path:
        return self._inside(self.trash_dir, f"{check_episode_id(episode_id)}{suffix}")

    # What the archive keeps for itself: an export or a clip written there would replace a recording,
    # a transcript or the index (found by a hostile review: `--out audio/x.mp3` overwrote the audio).
    MANAGED = ("audio", "transcripts", "index", "corrections", "runs", ".indexer")

    def output_path(self, path: str | Path) -> Path:
        """``path`` for an export or a clip, refused inside the archive's own folders."""
        from ..errors import StorageError

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


def atomic_write_text(path: Path, text: str) -> None:
    """Write so that a crash leaves either the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def pid_alive(pid: int) -> bool:
    """Whether a process of this id runs (the owner of a lock or of a leftover folder)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


class HashCache:
    """sha256 of files, remembered by (path, size, mtime) so reruns are cheap.

    Paths under ``root`` (the archive) are keyed relative to it, so a moved or
    copied archive keeps its cache; other paths (a symbolic link out of the
    archive, or no ``root``) by their absolute path. The absolute keys of an
    older cache are taken over for files still at the same place.
    """

    def __init__(self, path: Path, root: Path | None = None):
        self.path = path
        self.root = Path(root).resolve() if root is not None else None
        self._entries: dict[str, list] = {}
        if path.is_file():
            try:
                self._entries = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._entries = {}  # a damaged cache only costs re-hashing
        self._dirty = False

    def _key(self, resolved: Path) -> str:
        if self.root is not None and resolved.is_relative_to(self.root):
            return resolved.relative_to(self.root).as_posix()
        return str(resolved)

    def sha256(self, file: Path) -> str:
        stat = file.stat()
        resolved = file.resolve()
        key = self._key(resolved)
        cached = self._entries.get(key)
        if cached is None and key != str(resolved):
            cached = self._entries.pop(str(resolved), None)  # an absolute key of an older cache
            self._dirty = self._dirty or cached is not None
        if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
            self._entries[key] = cached
            return cached[2]
        digest = sha256_file(file)
        self._entries[key] = [stat.st_size, stat.st_mtime_ns, digest]
        self._dirty = True
        return digest

    def save(self) -> None:
        if self._dirty:
            atomic_write_text(self.path, json.dumps(self._entries))
            self._dirty = False
