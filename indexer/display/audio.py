"""The one notebook audio player: a clip cut by ffmpeg, embedded in the page as a base64 data URL."""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

from ..errors import IndexerError
from ..transcript import hms

log = logging.getLogger("indexer")

NO_AUDIO = "<small>no audio</small>"


def audio_data_url(path: str | Path, start: float, end: float, padding: float = 0.0, fade: float = 0.0,
                   bitrate: str = "48k") -> str:
    """``data:audio/mpeg;base64,…`` of ``[start - padding, end + padding]`` of ``path``, in mono.

    Raises AudioError when the clip cannot be cut (FFmpegNotFoundError without
    ffmpeg), OSError when the file cannot be read.
    """
    from ..audio import clip

    return segment_data_url(clip(path, start, end, padding=padding, fade=fade).set_channels(1), bitrate)


def segment_data_url(segment, bitrate: str = "48k") -> str:
    """A pydub ``AudioSegment`` as a base64 data URL: mp3, or a 16 kHz wav when ffmpeg
    has no mp3 encoder (built without lame; pydub writes wav itself)."""
    from pydub.exceptions import CouldntEncodeError  # pydub warns at import when ffmpeg is missing

    buf = io.BytesIO()
    try:
        segment.export(buf, format="mp3", bitrate=bitrate)
        mime = "audio/mpeg"
    except CouldntEncodeError:
        buf = io.BytesIO()
        segment.set_frame_rate(16000).export(buf, format="wav")
        mime = "audio/wav"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def audio_element(src: str) -> str:
    return f"<audio controls preload='none' src='{src}'></audio>"


def audio_tag(path: str | Path | None, start: float, end: float, padding: float = 0.0, fade: float = 0.0) -> str:
    """An ``<audio>`` element holding the clip (see :func:`audio_data_url`), or :data:`NO_AUDIO`
    when there is no file or it cannot be cut: a table of hits still shows without it."""
    if path is None:
        return NO_AUDIO
    try:
        src = audio_data_url(path, start, end, padding=padding, fade=fade)
    except (IndexerError, OSError) as e:
        log.debug("no clip of %s at %s: %s", path, hms(start), e)
        return NO_AUDIO
    return audio_element(src)


def ipython_audio(segment):
    """An ``IPython.display.Audio`` player of a pydub ``AudioSegment`` (as wav)."""
    from IPython.display import Audio

    buf = io.BytesIO()
    segment.export(buf, format="wav")
    return Audio(data=buf.getvalue())
