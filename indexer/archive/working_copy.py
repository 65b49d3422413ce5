"""A working copy of an archive: a place to correct and try things without changing the original."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import WorkingCopyError
from .layout import AUDIO_EXTENSIONS, ArchiveLayout



def copy_archive(layout: ArchiveLayout, target: str | Path) -> ArchiveLayout:
    """Copy the archive at ``layout`` into ``target`` (a new or empty folder); returns the copy's layout.

    - Audio files under ``audio/`` become **symbolic links** to the originals:
      an archive can weigh tens of gigabytes and audio is only ever read. Not
      hard links: they fail across file systems. The copy therefore needs the
      original's audio to stay where it is.
    - Everything else is **copied**: ``archive.yaml``, sidecars, transcripts and
      their exports, ``corrections/``, the index. A correction made on the copy
      changes the copy's overlay and index only.
    - ``runs/`` and ``.indexer/`` (the ingest reports, caches, lock and trash)
      are left out; an ingest of the copy makes its own.

    Refused with :class:`~indexer.errors.WorkingCopyError`: a ``target`` inside
    the archive (or the archive itself), a ``target`` that exists and is not an
    empty folder, and a source that is not a folder. Copy a quiet archive: an
    ingest running on it meanwhile may leave a half-written index in the copy.
    """
    source = layout.root.resolve()
    target = Path(target)
    if not source.is_dir():
        raise WorkingCopyError("no archive folder to copy", layout.root, "give the folder that holds audio/")
    if target.resolve().is_relative_to(source):
        raise WorkingCopyError(f"is inside the archive it would copy ({source})", target,
                               "choose a folder outside the archive, e.g. in tempfile.mkdtemp()")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise WorkingCopyError("exists and is not an empty folder", target, "choose a new or empty folder")
    resolved = ArchiveLayout(source)  # paths as copytree gives them: under the resolved root
    audio_dir = resolved.audio_dir
    # The batch job's own state (caches, lock, trash) and its run reports: a copy starts without them.
    batch_state = {resolved.state_dir.name, resolved.runs_dir.name}

    def copy_or_link(src: str, dst: str) -> None:
        if Path(src).suffix.lower() in AUDIO_EXTENSIONS and Path(src).is_relative_to(audio_dir):
            os.symlink(src, dst)
        else:
            shutil.copy2(src, dst)

    def left_out(folder: str, names: list[str]) -> list[str]:
        return [name for name in names if name in batch_state] if Path(folder) == source else []

    shutil.copytree(source, target, copy_function=copy_or_link, ignore=left_out, dirs_exist_ok=True)
    return ArchiveLayout(target)
