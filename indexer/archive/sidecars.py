"""Sidecars: the hand-written YAML/JSON metadata beside each episode, read safely and checked field by field."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import yaml

from ..errors import SidecarError, control_character, printable
from ..files import json_depth
from .ids import safe_url
from .meta import Chapter, EpisodeMeta, SpeakerTurn
from .presets import CLEAN_PRESET, NOISY_PRESET, PRESET_NAMES

SIDECAR_EXTENSIONS = (".yaml", ".yml", ".json")
# Sidecars are a few hundred bytes of hand-written metadata (100 chapters: ~6 KB).
# Pure-Python PyYAML is slow: 64 KB of chapters parse in 0.8 s here (256 KB: 2.2 s),
# so the cap bounds what one hostile file can cost the batch.
MAX_SIDECAR_BYTES = 64 * 1024
MAX_SIDECAR_DEPTH = 8   # a sidecar's deepest field (chapters: a list of mappings) is 2 levels down


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


def read_mapping(path: Path) -> dict:
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
    except RecursionError:  # '[' * 30000 is under the size cap: json and PyYAML recurse per level
        raise SidecarError(f"nested more than {MAX_SIDECAR_DEPTH} levels deep", path) from None
    if json_depth(data, MAX_SIDECAR_DEPTH) > MAX_SIDECAR_DEPTH:
        raise SidecarError(f"nested more than {MAX_SIDECAR_DEPTH} levels deep", path)
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


def _text(data: dict, key: str, path: Path, lines: bool = False, field_name: str | None = None) -> str:
    """A text field. Sidecar text reaches terminals (quote, export) and subtitles: control characters
    are refused (an escape sequence in a title wrote to the clipboard through `indexer quote`), and line
    breaks and tabs become spaces unless the field may hold ``lines`` (a description)."""
    field_name = field_name or key
    value = data.get(key, "")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SidecarError(f"field '{field_name}' must be text, got {type(value).__name__}", path)
    text = str(value)
    if not lines:
        text = " ".join(text.split()) if any(c in text for c in "\n\r\t\v\f") else text
    found = control_character(text, "\n\t" if lines else "")
    if found:
        raise SidecarError(f"field '{field_name}' holds a control character ({printable(found)})", path,
                           "remove it; sidecar text is shown on terminals and in subtitles")
    return text


def _name(value, path: Path, field_name: str) -> str:
    """A speaker's name: text on one line, as `set_speaker` requires (a line break forged subtitle cues)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not str(value).strip():
        raise SidecarError(f"field '{field_name}' must be a name, got {type(value).__name__}", path)
    found = control_character(str(value))
    if found:
        raise SidecarError(f"field '{field_name}' holds a control character ({printable(found)}): a name is one "
                           "line of text", path)
    return str(value).strip()


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


def preset_of(data: dict, path: Path) -> str | None:
    """The decoding preset a file asks for: ``preset:``, else ``noisy: true``."""
    name, noisy = data.get("preset"), data.get("noisy")
    if name is None and noisy is None:
        return None
    if name is not None and (not isinstance(name, str) or name not in PRESET_NAMES):
        raise SidecarError(f"field 'preset' must be one of {', '.join(PRESET_NAMES)}, got {name!r}", path)
    if noisy is not None and not isinstance(noisy, bool):
        raise SidecarError(f"field 'noisy' must be true or false, got {noisy!r}", path)
    if name is not None:
        return name
    if noisy is not None:
        return NOISY_PRESET if noisy else CLEAN_PRESET
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
            speakers.append(_name(item, path, f"speakers[{i}]"))
        elif isinstance(item, dict) and "name" in item:
            name = _name(item["name"], path, f"speakers[{i}].name")
            start = _seconds(item.get("start", 0), path, f"speakers[{i}].start")
            end = _seconds(item.get("end", float("inf")), path, f"speakers[{i}].end") \
                if item.get("end") is not None else float("inf")
            if end <= start:
                raise SidecarError(f"field 'speakers[{i}]' ends before it starts", path)
            turns.append(SpeakerTurn(name, start, end))
            if name not in speakers:
                speakers.append(name)
        else:
            raise SidecarError(f"field 'speakers[{i}]' must be a name or {{name, start, end}}", path)

    chapters = []
    raw_chapters = data.get("chapters") or []
    if not isinstance(raw_chapters, list):
        raise SidecarError("field 'chapters' must be a list of {start, title}", path)
    for i, item in enumerate(raw_chapters):
        if not isinstance(item, dict) or "title" not in item:
            raise SidecarError(f"field 'chapters[{i}]' must be {{start, title}}", path)
        chapters.append(Chapter(_seconds(item.get("start", 0), path, f"chapters[{i}].start"),
                                _text(item, "title", path, field_name=f"chapters[{i}].title")))

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
        description=_text(data, "description", path, lines=True),
        chapters=tuple(sorted(chapters, key=lambda c: c.start)),
        preset=preset_of(data, path),
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
    return parse_sidecar(read_mapping(path), path)
