"""Exception types a user can act on.

Every error raised on purpose by the package derives from :class:`IndexerError`;
the CLI turns them into one line that names the file and the problem.
"""

from __future__ import annotations

import errno
import re
from contextlib import contextmanager
from pathlib import Path

# C0/C1 controls, DEL, line and paragraph separators, bidirectional overrides:
# a file name holding one could end a log line early and forge the next one.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: object, keep: str = "") -> str:
    """``text`` safe to print on one line: control characters become escapes (``\\n``, ``\\x1b``).

    ``keep``: control characters left as they are (``"\\n\\t"`` for a page or a quote printed on a
    terminal: its lines stay lines, but no escape sequence reaches the terminal)."""
    text = str(text)
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else
                        m.group().encode("unicode_escape").decode("ascii"), text)


def control_character(text: str, allowed: str = "") -> str | None:
    """The first control character of ``text`` (as :func:`printable` sees them) not in ``allowed``, or None."""
    for found in _CONTROL.finditer(text):
        if found.group() not in allowed:
            return found.group()
    return None


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
        return printable(f"{where}{self.message}{hint}")


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


class IndexCorruptError(IndexSchemaError):
    """The on-disk index cannot be read (truncated or damaged files): ingest rebuilds it."""


class EmbeddingStoreError(IndexerError):
    """The embedding store (search by meaning) is missing or cannot be read: ingest or reindex rebuilds it."""


class EpisodeIdError(IndexerError):
    """An episode id outside the grammar, or a path built from one that leaves its folder."""


class StorageError(IndexerError):
    """The archive cannot be written: disk full, read-only file system, no permission."""


class QueryError(IndexerError):
    """A search query cannot be parsed."""


class LockError(IndexerError):
    """Another process holds the archive's ingest lock."""


class StoreKeptError(IndexerError):
    """A rebuilt store (the index…) was not put in place: incomplete or empty; the one in place is kept.

    ``skipped``: one line per source the rebuild could not read."""

    def __init__(self, message: str, path: str | Path | None = None, hint: str | None = None,
                 skipped: tuple[str, ...] = ()):
        super().__init__(message, path, hint)
        self.skipped = tuple(skipped)


class QuoteError(IndexerError):
    """A quote range or episode is invalid."""


_PERMISSION_HINT = "run it as a user who may read and write the archive"
_STORAGE_PROBLEMS = {
    errno.ENOSPC: ("cannot write: no space left on device (disk full)",
                   "free some space, then run it again; finished work is kept"),
    errno.EDQUOT: ("cannot write: disk quota exceeded", "free some space or raise the quota, then run it again"),
    errno.EROFS: ("cannot write: read-only file system", "this command writes to the archive: run it where the "
                  "archive is writable; status, search, export and quote work on it as it is"),
    errno.EACCES: ("permission denied", _PERMISSION_HINT),
    errno.EPERM: ("operation not permitted", _PERMISSION_HINT),
}


def storage_error(error: OSError, fallback: str | Path | None = None) -> StorageError | None:
    """The :class:`StorageError` for a full disk, a read-only archive or a refused access, else None."""
    found = _STORAGE_PROBLEMS.get(error.errno)
    if found is None:
        return None
    message, hint = found
    return StorageError(message, error.filename or fallback, hint)


@contextmanager
def writing(where: str | Path | None = None):
    """Turn a failed write (disk full, read-only archive, no permission) into a :class:`StorageError`."""
    try:
        yield
    except OSError as e:
        error = storage_error(e, where)
        if error is None:
            raise
        raise error from e


# CorrectionError and FormatError were raised as TranscriptError before issue 13:
# they subclass it so that code catching TranscriptError still catches them.
class CorrectionError(TranscriptError):
    """A correction cannot be made: no such segment, an empty time range, an unknown speaker label."""


class SpeakerNameError(CorrectionError):
    """A speaker name is empty or has a control character, or a LABEL=NAME pair is malformed."""


class WorkingCopyError(StorageError):
    """A working copy of an archive cannot go there: inside the archive, or a folder that is not empty."""


class OutputConflictError(IndexerError):
    """Two inputs would write the same output files (same file name, same folder)."""


class SpeakerBackendError(IndexerError):
    """Unknown speaker backend, or one that cannot be loaded."""


class ArchiveNotFoundError(IndexerError):
    """The archive folder, or a folder it must have (audio/, transcripts/), does not exist."""


class ClusterError(IndexerError):
    """A Dask cluster cannot be used: dask.distributed is not installed, or its scheduler cannot be reached."""


class FormatError(TranscriptError):
    """An unknown page or export format name (the message lists the valid ones)."""


class VoiceError(IndexerError):
    """The voice library cannot do what was asked (an unknown voice, a bad name), or its file is damaged."""
