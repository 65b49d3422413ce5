"""File helpers shared by every stage: atomic writes, JSON read safely, content hashes, facts cached by stat.

Nothing here knows the archive layout; :mod:`indexer.archive` says where files live.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import uuid
from pathlib import Path
from typing import Callable

# A file name, in bytes, on every file system the archive may live on (ext4, xfs, btrfs, tmpfs).
MAX_NAME_BYTES = 255
# JSON nested deeper than this is refused: what the package writes is at most 6 levels deep, and a
# hand-made '[' * 30000 made json.loads (then repr, asdict…) raise RecursionError tracebacks.
MAX_JSON_DEPTH = 32
_TEMP = re.compile(r"\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")


def fit_name(name: str, suffix: str = "", limit: int = MAX_NAME_BYTES) -> str:
    """``name + suffix``, with ``name`` cut (on a character boundary) so that the whole fits in ``limit`` bytes."""
    room = limit - len(suffix.encode("utf-8"))
    return name.encode("utf-8")[:max(0, room)].decode("utf-8", "ignore") + suffix


def _temp_prefix(path: Path) -> str:
    # ".<name>." then "<pid>-<8 hex>.tmp" (at most 7 + 1 + 8 + 4 bytes): the pid says whether its writer lives.
    return "." + fit_name(path.name, limit=MAX_NAME_BYTES - 22) + "."


def sweep_temporaries(path: Path) -> int:
    """Remove what writers of ``path`` that were killed (SIGKILL, power loss) left beside it. Returns how many."""
    prefix, removed = _temp_prefix(Path(path)), 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(Path(path).parent):
            found = _TEMP.search(entry.name) if entry.name.startswith(prefix) else None
            if found and found.start() == len(prefix) - 1 and not pid_alive(int(found["pid"])):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w", sweep: bool = False):
    """An open file that becomes ``path`` when the block ends without error.

    Written beside ``path`` and renamed over it: a crash or an exception leaves
    the old file (or none), never half of the new one. The file gets the
    umask's mode (0644 under umask 022), like any file the user writes (not
    mkstemp's 0600: pages, reports and shared archives must be readable by
    others). Its temporary name fits in 255 bytes whatever the length of
    ``path``'s name, and holds the writer's pid: ``sweep`` first removes the
    temporary files of writers of ``path`` that were killed (for output
    folders the ingest does not clean itself: exported pages, clips).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if sweep:
        sweep_temporaries(path)
    binary = "b" in mode
    while True:
        tmp = path.parent / f"{_temp_prefix(path)}{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)  # 0o666 & ~umask
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, mode, encoding=None if binary else "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_text(path: Path, text: str, sweep: bool = False) -> None:
    """Write so that a crash leaves either the old file or the new one, never half (see :func:`atomic_file`)."""
    with atomic_file(path, sweep=sweep) as f:
        f.write(text)


def atomic_write_json(path: Path, data, **dumps_options) -> None:
    """``json.dumps(data, **dumps_options)`` and a newline, written atomically (:func:`atomic_write_text`)."""
    atomic_write_text(path, json.dumps(data, **dumps_options) + "\n")


def json_depth(value, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep lists and dicts nest in ``value`` (a scalar: 0), counted without recursion; stops past ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(text: str | bytes, limit: int = MAX_JSON_DEPTH):
    """``json.loads``, with nesting deeper than ``limit`` a ValueError (not a RecursionError)."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested more than {limit} levels deep") from None
    if json_depth(data, limit) > limit:
        raise ValueError(f"nested more than {limit} levels deep")
    return data


def load_json(path: Path, limit: int = MAX_JSON_DEPTH):
    """The JSON value in ``path``: OSError if it cannot be read, ValueError if it is not JSON or is nested too deeply."""
    return parse_json(Path(path).read_text(encoding="utf-8"), limit)


def read_json(path: Path, default=None):
    """The JSON object (a dict) stored at ``path``, or ``default``.

    For caches, markers and state files, whose loss only costs work done again:
    a missing file, an unreadable one, invalid or too deeply nested JSON and a
    value that is not an object all give ``default``, never an error. A file
    whose damage the user must hear about (a transcript, a corrections
    overlay) is read by its own loader, which raises a typed error instead.
    """
    try:
        data = load_json(path)
    except (OSError, ValueError):
        return default
    return data if isinstance(data, dict) else default


def list_files(folder: Path, suffix: str) -> list[Path]:
    """Files under ``folder`` (recursively, sorted by path) whose name ends with ``suffix`` and starts with no dot.

    Unlike ``Path.rglob``, which skips a folder it cannot list without a word,
    an unreadable folder raises OSError (PermissionError…): an archive whose
    ``transcripts/`` cannot be read must not look empty.
    """
    found, folders = [], [Path(folder)]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append(Path(entry.path))
                elif entry.name.endswith(suffix):
                    found.append(Path(entry.path))
    return sorted(found)


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


class StatCache:
    """A fact about each file (its sha256, its duration…), remembered by (path, size, mtime) so reruns are cheap.

    Stored as ``{key: [size, mtime_ns, fact]}``. Paths under ``root`` (the
    archive) are keyed relative to it, so a moved or copied archive keeps its
    cache; other paths (a symbolic link out of the archive, or no ``root``) by
    their absolute path. The absolute keys of an older cache are taken over
    for files still at the same place. An entry of another shape (a damaged or
    hand-edited cache) is a miss, never an error.
    """

    def __init__(self, path: Path, root: Path | None = None):
        self.path = path
        self.root = Path(root).resolve() if root is not None else None
        self._entries: dict[str, list] = read_json(path, {})  # a damaged cache only costs the work again
        self._dirty = False

    def valid(self, fact) -> bool:
        """Whether ``fact`` read from the cache file has the right shape (subclasses narrow it)."""
        return fact is not None

    def _key(self, resolved: Path) -> str:
        if self.root is not None and resolved.is_relative_to(self.root):
            return resolved.relative_to(self.root).as_posix()
        return str(resolved)

    def known(self, file: Path, stat: os.stat_result | None = None):
        """The fact remembered for ``file`` as it is now (same size and mtime), or None."""
        stat = stat or file.stat()
        resolved = file.resolve()
        key = self._key(resolved)
        cached = self._entries.get(key)
        if cached is None and key != str(resolved):
            cached = self._entries.pop(str(resolved), None)  # an absolute key of an older cache
            self._dirty = self._dirty or cached is not None
            if cached is not None:
                self._entries[key] = cached
        if isinstance(cached, list) and len(cached) == 3 and cached[0] == stat.st_size \
                and cached[1] == stat.st_mtime_ns and self.valid(cached[2]):
            return cached[2]
        return None

    def remember(self, file: Path, fact, stat: os.stat_result | None = None) -> None:
        stat = stat or file.stat()
        self._entries[self._key(file.resolve())] = [stat.st_size, stat.st_mtime_ns, fact]
        self._dirty = True

    def get(self, file: Path, compute: Callable[[Path], object]):
        """The fact for ``file``: remembered, or ``compute(file)`` (then remembered)."""
        stat = file.stat()
        fact = self.known(file, stat)
        if fact is None:
            fact = compute(file)
            self.remember(file, fact, stat)
        return fact

    def save(self) -> None:
        if self._dirty:
            atomic_write_json(self.path, self._entries)
            self._dirty = False


class HashCache(StatCache):
    """sha256 of files, remembered by (path, size, mtime)."""

    def valid(self, fact) -> bool:
        return isinstance(fact, str) and len(fact) == 64

    def sha256(self, file: Path) -> str:
        return self.get(file, sha256_file)


def pid_alive(pid: int) -> bool:
    """Whether a process of this id runs (the owner of a lock file or of a leftover folder)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):  # not a pid at all (a damaged lock file or folder name)
        return False
    return True
