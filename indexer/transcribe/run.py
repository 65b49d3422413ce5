"""A whole file, or several, through an engine: windows transcribed side by side,
a progress bar in audio seconds, the :class:`Transcript` with flagged segments."""

from __future__ import annotations

import datetime as dt
import gc
import json
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable, Iterator

from .. import audio
from ..elisions import merge_segment_elisions
from ..files import sha256_file
from ..memory import give_back
from ..errors import IndexerError
from ..progress import progress_bar
from ..transcript import Segment, Transcript, flag_segments, recorded_duration
from .batched import BATCH_CLIPS
from .engines import Engine, load_engine, sized, with_options
from .noise import NoiseChoice, WindowNoise, choose_preset
from .options import TranscribeOptions, with_preset
from .windows import SR, Window, expected_windows, iter_windows, transcribe_window, transcribe_windows


def iter_segments(path: Path, duration: float, engine: Engine, options: TranscribeOptions,
                  language: str | None, on_progress=None, windows=None,
                  audio_sha256: str | None = None,
                  engine_for: Callable[[Window], Engine] | None = None) -> Iterator[tuple[str, Segment]]:
    """Yield ``(language, segment)`` through the whole file, in order.

    Windows are independent (cut in pauses, no text carried across): up to
    ``BATCH_CLIPS`` of them are decoded as one batch, and up to
    ``engine.parallel`` batches at once; no more than that is decoded ahead,
    which keeps memory bounded. ``on_progress(seconds)``: seconds of audio
    newly covered, as decoding moves on (also inside a window). ``windows``:
    the file's windows when already begun (:func:`iter_windows`). ``audio_sha256``:
    the file's, which seeds each window's sampling (:mod:`.reproducible`), so a
    window gives the same words whatever runs beside it. ``engine_for(window)``:
    the engine to decode a window with (:class:`NoiseChooser`: chosen on its noise),
    called on each window in order as it is read; windows decoded differently are
    never in one batch. Default: ``engine`` for every window.
    """
    parallel = max(1, engine.parallel)
    group = BATCH_CLIPS if options.batched else 1
    lock = threading.Lock()

    def advance(seconds: float) -> None:
        if on_progress:
            with lock:   # called from the pool's threads
                on_progress(seconds)

    with ThreadPoolExecutor(parallel, thread_name_prefix="window") as pool:
        pending: deque = deque()
        batch: list[Window] = []
        batch_engine = engine

        def submit():
            pending.append((list(batch), pool.submit(transcribe_windows, batch_engine, list(batch), language,
                                                     advance)))
            batch.clear()

        def finish_oldest():
            windows, future = pending.popleft()
            for segments in future.result():
                yield from ((language, segment) for segment in segments)

        for window in windows or iter_windows(path, duration, options, audio_sha256):
            decoding = engine_for(window) if engine_for else engine
            if language is None and not pending and not batch:
                # Detect the language once, on the first window with speech, then keep it.
                language, segments = transcribe_window(decoding, window, None)
                advance(len(window.samples) / SR)
                yield from ((language, s) for s in segments)
                continue
            if batch and decoding is not batch_engine:
                submit()   # a window decoded otherwise (its noise) starts a batch of its own
            batch_engine = decoding
            batch.append(window)
            if len(batch) >= group:
                submit()
            if len(pending) >= parallel:
                yield from finish_oldest()
        if batch:
            submit()
        while pending:
            yield from finish_oldest()


class Progress:
    """A bar in seconds of audio (or a null bar), fed the seconds newly covered,
    from any thread; tqdm gives the rate and the time left."""

    def __init__(self, total: float, label: str, enabled: bool):
        self.total = round(total, 1)
        self.done = 0.0
        self._lock = threading.Lock()
        self.bar = progress_bar(self.total, label, "s", enabled, leave=False,
                                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio "
                                           "[{elapsed}<{remaining}, {rate_fmt}]")

    def __call__(self, seconds: float) -> None:
        with self._lock:
            step = min(self.done + seconds, self.total) - self.done
            if step > 0:
                self.done += step
                self.bar.update(round(step, 2))

    def close(self) -> None:
        self.bar.close()


class NoiseChooser:
    """Each window's decoding, chosen on its own noise as the window is read (``engine_for``
    of :func:`iter_segments`), and what was measured, for the transcript.

    The choice depends on the window's audio alone, and windows are cut in pauses whatever
    the decoding, so the same file is decoded alike on any machine.
    """

    def __init__(self, options: TranscribeOptions, engine: Engine):
        self.requested = options
        self.engine = engine
        self.measured: list[WindowNoise] = []
        self._engines: dict[str, Engine] = {}
        self._last: Engine | None = None

    def __call__(self, window: Window) -> Engine:
        if not window.speech:
            # Nothing to decode: a hiss tail or a music break (steady hiss reads about 1 dB) must not make
            # the episode "noisy", nor split the batch of the windows around it.
            self.measured.append(WindowNoise(window.offset, None))
            return self._last or self._view(self.requested)
        chosen, choice = choose_preset(self.requested, window.samples, window.speech)
        self.measured.append(WindowNoise(window.offset, choice.snr_db, choice.noisy))
        self._last = self._view(chosen)
        return self._last

    def _view(self, options: TranscribeOptions) -> Engine:
        if options.preset not in self._engines:   # one view per decoding: a batch never mixes two
            self._engines[options.preset] = with_options(self.engine, options)
        return self._engines[options.preset]

    @property
    def choice(self) -> NoiseChoice:
        return NoiseChoice.of_windows(self.requested, self.measured)

    @property
    def decoding(self) -> TranscribeOptions:
        """The options the transcript records: the noisy preset's when any window was decoded with it
        (``noise.windows`` then says which)."""
        return with_preset(self.requested, self.requested.noise_preset) if self.choice.noisy else self.requested


def _transcript(path: Path, info, options: TranscribeOptions, engine: Engine, segments: list[Segment],
                language: str | None, episode_id: str | None, audio_path: str | None,
                sha256: str, requested: TranscribeOptions, noise: NoiseChoice) -> Transcript:
    """``options``: the decoding used; ``requested``: what was asked (its fingerprint
    is the transcript's, whichever preset the noise chose)."""
    segments = [replace(s, id=i) for i, s in enumerate(segments)]
    return Transcript(
        episode_id=episode_id or path.stem,
        audio_path=audio_path or str(path),
        audio_sha256=sha256,
        duration=recorded_duration(info.duration),
        language=language or "",
        model=engine.model_info.name,
        engine=engine.name,
        options=json.loads(json.dumps(asdict(options), default=str)),
        # Whole words for every engine (« c'est », not « c » + « 'est ») before the flags judge them.
        segments=flag_segments(merge_segment_elisions(segments), options.flags),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        fingerprint=requested.fingerprint(),
        noise=noise.to_dict(),
    )


def transcribe_file(path: str | Path, options: TranscribeOptions | None = None, engine: Engine | None = None,
                    episode_id: str | None = None, audio_path: str | None = None,
                    sha256: str | None = None, progress: bool = False, on_progress=None,
                    info: audio.AudioInfo | None = None) -> Transcript:
    """Transcribe one audio file into a :class:`Transcript` with flagged segments.

    Pass a loaded ``engine`` to reuse it across files (loading takes seconds).
    ``progress``: a bar in audio seconds; ``on_progress(seconds)``: called with
    the seconds of audio newly covered (a worker reports them to its coordinator).
    ``sha256`` and ``info`` (:func:`audio.probe`): the file's, when already known.
    """
    path = Path(path)
    options = options or TranscribeOptions()
    info = info or audio.probe(path)
    engine = sized(engine or load_engine(options), expected_windows(info.duration, options))
    sha256 = sha256 or sha256_file(path)   # seeds the windows' sampling
    bar = Progress(info.duration, path.name, progress)

    def advance(seconds: float) -> None:
        bar(seconds)
        if on_progress:
            on_progress(seconds)

    segments: list[Segment] = []
    language = options.language
    chooser = NoiseChooser(options, engine)
    try:
        for language, segment in iter_segments(path, info.duration, engine, options, options.language, advance,
                                               audio_sha256=sha256, engine_for=chooser):
            segments.append(segment)
    finally:
        bar.close()
    return _transcript(path, info, chooser.decoding, engine, segments, language, episode_id, audio_path, sha256,
                       options, chooser.choice)


def transcribe_files(paths, options: TranscribeOptions | None = None, engine: Engine | None = None,
                     progress: bool = False, on_probed: Callable[[Path, audio.AudioInfo], None] | None = None,
                     ) -> Iterator[tuple[Path, Transcript | IndexerError]]:
    """Transcribe several files with every core busy; yields ``(path, transcript)``,
    or ``(path, error)`` for a file that cannot be transcribed (those first: each
    file is probed before the model loads), then in the given order.
    ``on_probed(path, info)``: called for each readable file as soon as it is probed (the
    speakers stage starts hearing it then, on this probe, without probing it again).

    The cores are split for all the files' windows together, and as many files
    as there are windows at once run side by side, sharing one loaded engine:
    short files, one window each, then take one core each, as ``ingest`` does.
    """
    options = options or TranscribeOptions()
    probed = []
    for path in map(Path, paths):
        try:
            info = audio.probe(path)
        except IndexerError as e:
            yield path, e
            continue
        probed.append((path, info))
        if on_probed:
            on_probed(path, info)
    if not probed:
        return
    windows = sum(expected_windows(info.duration, options) for _, info in probed)
    shared = sized(engine or load_engine(options), windows)
    parallel = max(1, shared.parallel)
    # Files spread over the workers, each decoded alone: never in one batch with another file's window.
    # Rows of a batch are not independent on real speech (june-0 beside june-1: 34 of 37 segments differ
    # from june-0 alone, benchmarks/batch_rows.py), and a file's words must not depend on what else is
    # transcribed, nor on the cores. Longer files batch their own windows, in pairs fixed by their position
    # (and their decoding: a window judged noisy starts a pair of its own).
    files = dict(probed)   # each path once, however often it was given
    short = {path for path, info in files.items() if expected_windows(info.duration, options) == 1}
    bar = Progress(sum(files[path].duration for path in short), "short files",
                   progress and bool(short))   # one bar for them all, not one flashing by per file

    def one(path: Path, info) -> Transcript | IndexerError:
        try:
            if path in short:
                return transcribe_file(path, options, shared, on_progress=bar, info=info)
            return transcribe_file(path, options, shared, progress=progress, info=info)
        except IndexerError as e:
            return e
        except OSError as e:   # read between the probe and the decoding
            return IndexerError(f"cannot read: {e.strerror or e}", path)

    with ThreadPoolExecutor(min(len(probed), parallel), thread_name_prefix="file") as pool:
        futures = {path: pool.submit(one, path, info) for path, info in files.items()}
        try:
            for n, (path, _) in enumerate(probed):
                result = futures[path].result()
                if n == len(probed) - 1 and engine is None:
                    # Every file is transcribed: the model loaded here goes before the caller adds the
                    # last file's speakers, when its network is on PyTorch (it hears after the decoding).
                    shared = None
                    gc.collect()   # the engine and its model refer to each other (reproducible.seed_sampling)
                    give_back()
                yield path, result
        finally:
            bar.close()
