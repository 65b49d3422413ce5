"""Exception types a user can act on.

Every error raised on purpose by the package derives from :class:`IndexerError`;
the CLI turns them into one line that names the file and the problem.
"""

from __future__ import annotations

from pathlib import Path


class IndexerError(Exception):
    """Base class. ``path`` names the file concerned, when there is one."""

    def __init__(self, message: str, path: str | Path | None = None, hint: str | None = None):
        self.message = message
        self.path = Path(path) if path is not None else None
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{self.path}: " if self.path is not None else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


class AudioError(IndexerError):
    """A file is missing, empty, unreadable, or not audio ffmpeg can decode."""


class FFmpegNotFoundError(IndexerError):
    """ffmpeg / ffprobe are not on PATH."""


class SidecarError(IndexerError):
    """A sidecar or archive.yaml is not valid (names the file and the field)."""


class ModelNotFoundError(IndexerError):
    """A model name or path cannot be resolved to local weights."""


class ModelIntegrityError(IndexerError):
    """Shipped weights do not match their checksum."""


class EngineError(IndexerError):
    """Unknown engine, or an engine that cannot run the given model."""


class TranscriptError(IndexerError):
    """A transcript JSON file is unreadable or of an unknown schema."""


class IndexSchemaError(IndexerError):
    """The on-disk index was built with another schema version: reindex."""


class QueryError(IndexerError):
    """A search query cannot be parsed."""


class LockError(IndexerError):
    """Another process holds the archive's ingest lock."""


class QuoteError(IndexerError):
    """A quote range or episode is invalid."""
