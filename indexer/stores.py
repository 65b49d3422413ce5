"""Derived stores (the index, embeddings, the voice library): rebuilt beside, put in place only when complete.

A derived store is a folder of the archive (``ARCHIVE/index/``…) that can be
rebuilt from the transcripts and the corrections. Whatever the store, a
rebuild follows the same rules, so that a good store is never replaced by a
worse one:

1. It runs under the archive's writer lock (:class:`indexer.locks.WriterLock`):
   never beside an ingest or another rebuild.
2. It writes a new folder beside the store (``.<name>-rebuild-<pid>-<random>``)
   with :class:`Rebuild`; the store in place stays in use, untouched, and the
   new folder is removed if the rebuild fails or is refused.
3. It is put in place only if it is complete and not empty
   (:class:`RebuildCheck`): a rebuild that had to leave a source out (an
   unreadable transcript, overlay or folder) or found nothing while the store
   in place holds episodes (an unmounted share, an empty ``transcripts/``)
   raises :class:`~indexer.errors.StoreKeptError` and the store stays. A store
   that is missing or unusable is always replaced: a partial store is better
   than none. An empty rebuild replaces a full store only when asked
   (``allow_empty``), and then it says so.
4. From its catch-up (re-doing the episodes whose inputs changed while it was
   building: an editor's correction) to its swap it holds the edit lock
   (:func:`indexer.locks.edit_lock`), so no correction falls between the two.
5. The swap is two renames (the store to ``.<name>-old-…``, the new folder to
   the store), then the old one is removed. :func:`recover_rebuilds` cleans
   what a killed rebuild leaves, and puts a store back if it was killed
   between the two renames.

A store of one's own (the index does this in :func:`indexer.ingest.reindex.rebuild_index`)::

    with WriterLock(layout.ingest_lock_path, command="reindex"):
        recover_rebuilds(store_dir, complete=is_readable_store)
        with Rebuild(store_dir) as rebuild:
            built, skipped = write_everything(rebuild.folder)
            RebuildCheck("embeddings", layout.transcripts_dir, built, skipped, count_in(store_dir)).enforce()
            with edit_lock(layout.edit_lock_path):
                catch_up(rebuild.folder)
                rebuild.swap_in()
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import StoreKeptError
from .files import pid_alive

log = logging.getLogger("indexer")

LEFTOVER_AGE = 3600.0  # s: a leftover folder naming no pid (older versions) is dead once untouched this long


def rebuild_prefix(store_dir: Path) -> str:
    return f".{store_dir.name}-rebuild-"


def old_prefix(store_dir: Path) -> str:
    return f".{store_dir.name}-old-"


class Rebuild:
    """A new version of the store in ``store_dir``, written in :attr:`folder` beside it, then :meth:`swap_in`.

    Used as a context manager: the folder is made on entry and removed on exit
    unless it was swapped in.
    """

    def __init__(self, store_dir: Path):
        self.store_dir = Path(store_dir)
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.folder = self.store_dir.parent / (rebuild_prefix(self.store_dir) + self.token)
        self.swapped = False

    def __enter__(self) -> "Rebuild":
        self.folder.mkdir(parents=True)
        return self

    def __exit__(self, *exc):
        if not self.swapped:
            shutil.rmtree(self.folder, ignore_errors=True)

    def swap_in(self) -> None:
        """Put the new store in place of the old one (two renames), then remove the old one."""
        old = None
        if self.store_dir.exists():
            old = self.store_dir.parent / (old_prefix(self.store_dir) + self.token)
            self.store_dir.rename(old)
        self.folder.rename(self.store_dir)
        self.swapped = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True)
class RebuildCheck:
    """Whether a rebuilt store may replace the one in place (rule 3 of the module)."""

    store: str                      # what is rebuilt, as messages name it ("index")
    sources: Path                   # where it is rebuilt from (transcripts/), named in messages
    built: int                      # episodes in the new store
    skipped: tuple[str, ...] = ()   # one line per source left out: which file, what is wrong
    in_place: int | None = None     # episodes in the store in place; None: missing or unusable (then replaced)
    allow_empty: bool = False       # the sources are really gone: an empty store may replace a full one

    def refusal(self) -> str | None:
        """Why the store in place is kept (one line), or None to replace it."""
        if not self.in_place:  # nothing to protect: a partial store is better than none
            return None
        if self.skipped:
            return (f"{len(self.skipped)} source(s) could not be read, so the new {self.store} would miss them: "
                    f"the {self.store} in place is kept (it still holds their last version)")
        if self.built == 0 and self.in_place > 0 and not self.allow_empty:
            return (f"{self.sources}: nothing to rebuild the {self.store} from, but the {self.store} in place holds "
                    f"{self.in_place} episode(s): it is kept (is the folder mounted?)")
        return None

    def enforce(self) -> None:
        """StoreKeptError (with the skipped lines) when :meth:`refusal` says the store in place is kept."""
        reason = self.refusal()
        if reason is not None:
            hint = ("if they are really gone, rebuild with allow_empty (`indexer reindex --allow-empty`)"
                    if not self.skipped else "fix or remove them, then rebuild again")
            raise StoreKeptError(reason, hint=hint, skipped=self.skipped)


def recover_rebuilds(store_dir: Path, complete: Callable[[Path], bool],
                     busy: Callable[[Path], bool] = lambda folder: False) -> int:
    """Remove the folders of rebuilds of ``store_dir`` that were killed; returns how many.

    Only folders whose rebuild is over: its process is gone (or, for a name
    without a pid, the folder has not changed for :data:`LEFTOVER_AGE`) and
    ``busy(folder)`` is false (e.g. no writer holds the store's own lock
    there). A rebuild killed between the two renames of the swap left no store
    at all: its new store (if ``complete``: the swap starts after the last
    write), or else the store it replaced, is put back first.
    """
    parent = store_dir.parent
    if not parent.is_dir():
        return 0
    new_prefix, was_prefix = rebuild_prefix(store_dir), old_prefix(store_dir)
    leftovers = [p for p in parent.iterdir() if p.is_dir() and p.name.startswith((new_prefix, was_prefix))
                 and _abandoned(p, p.name.removeprefix(new_prefix).removeprefix(was_prefix), busy)]
    if not store_dir.exists():
        olds = sorted((p for p in leftovers if p.name.startswith(was_prefix)),
                      key=lambda p: p.stat().st_mtime, reverse=True)
        for old in olds:
            new = parent / (new_prefix + old.name.removeprefix(was_prefix))
            found = new if new in leftovers and complete(new) else old
            if complete(found):
                try:
                    found.rename(store_dir)
                except OSError:  # a store appeared meanwhile: keep it
                    break
                leftovers.remove(found)
                log.warning("%s: a rebuild was killed while swapping; %s", store_dir.name, "its new one is now "
                            "in place" if found is new else "the one it was replacing is back in place")
                break
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    if leftovers:
        log.warning("%s: removed %d folder(s) left by a rebuild that was interrupted (%s)", store_dir.name,
                    len(leftovers), ", ".join(sorted(p.name for p in leftovers)))
    return len(leftovers)


def _abandoned(folder: Path, token: str, busy: Callable[[Path], bool]) -> bool:
    """The rebuild that made ``folder`` is over (it removes its folders itself unless killed)."""
    pid, dash, _ = token.partition("-")
    try:
        if dash and pid.isdigit():
            if int(pid) == os.getpid() or pid_alive(int(pid)):
                return False
        elif time.time() - folder.stat().st_mtime < LEFTOVER_AGE:
            return False
        return not busy(folder)
    except OSError:
        return False
