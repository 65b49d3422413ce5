"""File helpers shared by every stage: atomic writes, JSON caches, content hashes.

Nothing here knows the archive layout; :mod:`indexer.archive` says where files live.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w"):
    """An open file that becomes ``path`` when the block ends without error.

    Written beside ``path`` and renamed over it: a crash or an exception leaves
    the old file (or none), never half of the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
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


def atomic_write_text(path: Path, text: str) -> None:
    """Write so that a crash leaves either the old file or the new one, never half."""
    with atomic_file(path) as f:
        f.write(text)


def atomic_write_json(path: Path, data, **dumps_options) -> None:
    """``json.dumps(data, **dumps_options)`` and a newline, written atomically (:func:`atomic_write_text`)."""
    atomic_write_text(path, json.dumps(data, **dumps_options) + "\n")


def read_json(path: Path, default=None):
    """The JSON object (a dict) stored at ``path``, or ``default``.

    For caches, markers and state files, whose loss only costs work done again:
    a missing file, an unreadable one, invalid JSON and a value that is not an
    object all give ``default``, never an error. A file whose damage the user
    must hear about (a transcript, a corrections overlay) is read by its own
    loader, which raises a typed error instead.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
    return data if isinstance(data, dict) else default


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
        self._entries: dict[str, list] = read_json(path, {})  # a damaged cache only costs re-hashing
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
            atomic_write_json(self.path, self._entries)
            self._dirty = False


def pid_alive(pid: int) -> bool:
    """Whether a process of this id runs (the owner of a lock file or of a leftover folder)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def exclusive_lock(path: Path):
    """An exclusive ``flock`` on ``path`` (made with its folder if missing) for the duration; the kernel frees
    it if the process dies."""
    import fcntl

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
