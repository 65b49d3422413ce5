"""``indexer watch``: ingest whenever the archive's inputs change."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

from ..archive import ArchiveLayout
from ..errors import LockError
from .options import IngestOptions
from .run import Ingest

log = logging.getLogger("indexer")


def _snapshot(layout: ArchiveLayout) -> dict[str, tuple[int, int]]:
    """(size, mtime) of everything an ingest reads: audio, sidecars, settings, corrections."""
    found = {}
    for folder in (layout.audio_dir, layout.corrections_dir):
        if folder.is_dir():
            for path in folder.rglob("*"):
                with contextlib.suppress(OSError):
                    st = path.lstat()
                    found[str(path)] = (st.st_size, st.st_mtime_ns)
    with contextlib.suppress(OSError):
        st = layout.settings_path.stat()
        found["archive.yaml"] = (st.st_size, st.st_mtime_ns)
    return found


def watch(root: str | Path, options: IngestOptions | None = None, interval: float = 300.0,
          rounds: int | None = None, on_report=None) -> None:
    """Ingest whenever the archive's inputs change, looking every ``interval`` seconds.

    The first look always ingests; later ones only when a file was added,
    changed or removed and has not changed again for a few seconds (a copy in
    progress). Another ingest holding the archive just postpones the round.
    """
    layout = ArchiveLayout(Path(root))
    settle = min(interval, 10.0)
    done_for: dict | None = None
    n = 0
    while rounds is None or n < rounds:
        n += 1
        seen = _snapshot(layout)
        if seen != done_for:
            if done_for is not None:
                time.sleep(settle)
                if _snapshot(layout) != seen:
                    continue  # still being copied: look again after the pause
            try:
                report = Ingest(root, options).run()
            except LockError as e:
                log.info("%s; trying again in %.0f s", e.one_line(), interval)
            else:
                done_for = seen if not report.interrupted else None
                if on_report:
                    on_report(report)
                if report.interrupted:
                    raise KeyboardInterrupt
        if rounds is None or n < rounds:
            time.sleep(interval)
