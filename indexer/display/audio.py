"""Audio inlined in a notebook: a clip as a base64 data URL (the transcript player's fallback), and
``IPython.display.Audio`` for what is asked for (``hit.play()``, ``quote.audio()``)."""

from __future__ import annotations

import base64
import io
from pathlib import Path


def audio_data_url(path: str | Path, start: float, end: float, padding: float = 0.0, fade: float = 0.0,
                   bitrate: str = "48k") -> str:
    """``data:audio/mpeg;base64,…`` of ``[start - padding, end + padding]`` of ``path``, in mono
    (a wav where ffmpeg has no mp3 encoder).

    Raises AudioError when the clip cannot be cut (FFmpegNotFoundError without
    ffmpeg), OSError when the file cannot be read.
    """
    from ..audio import encoded_clip

    data, mime = encoded_clip(path, start, end, padding, fade, bitrate)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def ipython_audio(segment):
    """An ``IPython.display.Audio`` player of a pydub ``AudioSegment`` (as wav)."""
    from IPython.display import Audio

    buf = io.BytesIO()
    segment.export(buf, format="wav")
    return Audio(data=buf.getvalue())
