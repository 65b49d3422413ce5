"""A whole file, or several, through an engine: windows transcribed side by side,
a progress bar in audio seconds, the :class:`Transcript` with flagged segments."""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Iterator

from .. import audio
from ..elisions import merge_segment_elisions
from ..files import sha256_file
from ..errors import IndexerError
from ..progress import progress_bar
from ..transcript import Segment, Transcript, flag_segments
from .engines import Engine, load_engine, sized
from .options import TranscribeOptions
from .windows import SR, expected_windows, iter_windows, transcribe_window


def iter_segments(path: Path, duration: float, engine: Engine, options: TranscribeOptions,
                  language: str | None, on_progress=None) -> Iterator[tuple[str, Segment]]:
    """Yield ``(language, segment)`` through the whole file, in order.

    Windows are independent (cut in pauses, no text carried across), so up to
    ``engine.parallel`` of them are transcribed at once; no more than that
    are decoded ahead, which keeps memory bounded.
    """
    parallel = max(1, engine.parallel)
    with ThreadPoolExecutor(parallel, thread_name_prefix="window") as pool:
        pending: deque = deque()

        def finish_oldest():
            window, future = pending.popleft()
            found, segments = future.result()
            for segment in segments:
                if on_progress:
                    on_progress(segment.end)
                yield found, segment
            if on_progress:
                on_progress(window.offset + len(window.samples) / SR)

        for window in iter_windows(path, duration, options):
            if language is None and not pending:
                # Detect the language once, on the first window with speech, then keep it.
                language, segments = transcribe_window(engine, window, None)
                yield from ((language, s) for s in segments)
                continue
            pending.append((window, pool.submit(transcribe_window, engine, window, language)))
            if len(pending) >= parallel:
                yield from finish_oldest()
        while pending:
            yield from finish_oldest()


class _Progress:
    """A bar in audio seconds (or a null bar), fed the position reached in the audio."""

    def __init__(self, total: float, label: str, enabled: bool):
        self.total = round(total, 1)
        self.done = 0.0
        self.bar = progress_bar(self.total, label, "s", enabled, leave=False,
                                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio "
                                           "[{elapsed}<{remaining}, {rate_fmt}]")

    def __call__(self, seconds: float) -> None:
        if seconds > self.done:
            self.bar.update(round(min(seconds, self.total) - self.done, 1))
            self.done = min(seconds, self.total)

    def close(self) -> None:
        self.bar.close()


def transcribe_file(path: str | Path, options: TranscribeOptions | None = None, engine: Engine | None = None,
                    episode_id: str | None = None, audio_path: str | None = None,
                    sha256: str | None = None, progress: bool = False) -> Transcript:
    """Transcribe one audio file into a :class:`Transcript` with flagged segments.

    Pass a loaded ``engine`` to reuse it across files (loading takes seconds).
    """
    path = Path(path)
    options = options or TranscribeOptions()
    info = audio.probe(path)
    engine = sized(engine or load_engine(options), expected_windows(info.duration, options))
    bar = _Progress(info.duration, path.name, progress)
    segments: list[Segment] = []
    language = options.language
    try:
        for language, segment in iter_segments(path, info.duration, engine, options, options.language, bar):
            segments.append(replace(segment, id=len(segments)))
    finally:
        bar.close()
    return Transcript(
        episode_id=episode_id or path.stem,
        audio_path=audio_path or str(path),
        audio_sha256=sha256 or sha256_file(path),
        duration=round(info.duration, 3),
        language=language or "",
        model=engine.model_info.name,
        engine=engine.name,
        options=json.loads(json.dumps(asdict(options), default=str)),
        # Whole words for every engine (« c'est », not « c » + « 'est ») before the flags judge them.
        segments=flag_segments(merge_segment_elisions(segments), options.flags),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        fingerprint=options.fingerprint(),
    )


def transcribe_files(paths, options: TranscribeOptions | None = None, engine: Engine | None = None,
                     progress: bool = False) -> Iterator[tuple[Path, Transcript | IndexerError]]:
    """Transcribe several files with every core busy; yields ``(path, transcript)``,
    or ``(path, error)`` for a file that cannot be transcribed (those first: each
    file is probed before the model loads), then in the given order.

    The cores are split for all the files' windows together, and as many files
    as there are windows at once run side by side, sharing one loaded engine:
    short files, one window each, then take one core each, as ``ingest`` does.
    """
    options = options or TranscribeOptions()
    probed = []
    for path in map(Path, paths):
        try:
            probed.append((path, audio.probe(path)))
        except IndexerError as e:
            yield path, e
    if not probed:
        return
    windows = sum(expected_windows(info.duration, options) for _, info in probed)
    shared = sized(engine or load_engine(options), windows)

    def one(path: Path) -> Transcript | IndexerError:
        try:
            return transcribe_file(path, options, shared, progress=progress)
        except IndexerError as e:
            return e

    with ThreadPoolExecutor(min(len(probed), max(1, shared.parallel)), thread_name_prefix="file") as pool:
        futures = [pool.submit(one, path) for path, _ in probed]
        for (path, _), future in zip(probed, futures):
            yield path, future.result()
