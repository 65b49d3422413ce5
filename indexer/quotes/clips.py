"""Clips: cut a range of an episode's audio and encode it to a file, by format name.

Clips are decoded by seeking in the input (ffmpeg ``-ss`` before ``-i``), so
cutting 20 seconds from a two-hour file decodes about 20 seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from .. import audio
from ..errors import AudioError, QuoteError
from ..files import atomic_file


@dataclass(frozen=True)
class ExportFormat:
    """How pydub/ffmpeg writes one kind of file: muxer, encoder, bitrate."""

    format: str
    codec: str | None = None
    bitrate: str | None = None


# By file extension (like whisper.utils.get_writer). m4a is ffmpeg's "ipod" muxer with AAC.
EXPORT_FORMATS: dict[str, ExportFormat] = {
    "mp3": ExportFormat("mp3", "libmp3lame", "96k"),
    "wav": ExportFormat("wav", "pcm_s16le"),   # a codec sends pydub through ffmpeg, which writes the tags
    "ogg": ExportFormat("ogg", "libvorbis"),
    "m4a": ExportFormat("ipod", "aac", "96k"),
}


def get_export_format(name: str) -> ExportFormat:
    try:
        return EXPORT_FORMATS[name.lower().lstrip(".")]
    except KeyError:
        raise QuoteError(f"unknown clip format {name!r}; valid formats: {', '.join(sorted(EXPORT_FORMATS))}",
                         hint="name the file .mp3, .wav, .ogg or .m4a") from None


def check_clip_options(padding, fade) -> None:
    """QuoteError unless ``padding`` and ``fade`` are seconds, finite and not negative (padding -5 or NaN
    exported an empty clip without a word; fade -1 raised a pydub error)."""
    for name, value in (("padding", padding), ("fade", fade)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise QuoteError(f"clip {name} must be a number of seconds, 0 or more, got {value!r}")


def cut(path: str | Path, start: float, end: float, padding: float = 0.0, fade: float = 0.0):
    """A pydub ``AudioSegment`` of ``[start - padding, end + padding]`` with fades,
    decoding only that range (see :func:`indexer.audio.clip`)."""
    check_clip_options(padding, fade)
    return audio.clip(path, start, end, padding, fade)


def export_segment(segment, path: str | Path, tags: dict[str, str] | None = None,
                   fmt: ExportFormat | None = None) -> Path:
    """Encode ``segment`` to ``path`` (format from the extension), atomically, with tags."""
    from pydub.exceptions import CouldntEncodeError  # pydub warns at import when ffmpeg is missing

    path = Path(path)
    fmt = fmt or get_export_format(path.suffix)
    try:  # a bug surfaces as itself, and like a failure leaves no half-written file behind
        with atomic_file(path, "wb+", sweep=True) as f:
            segment.export(f, format=fmt.format, codec=fmt.codec, bitrate=fmt.bitrate,
                           tags={k: v for k, v in (tags or {}).items() if v})
    except (CouldntEncodeError, OSError) as e:  # ffmpeg failed, is missing, or the disk refused
        detail = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise AudioError(f"cannot encode clip as {fmt.format} ({detail})", path) from e
    return path
