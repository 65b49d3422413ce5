"""Audio files → transcript files in a folder (json, srt, vtt, txt), speakers included:
what ``indexer transcribe`` runs, one outcome per input file."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .. import audio
from ..errors import IndexerError, OutputConflictError
from ..speakers import (Heard, SpeakerOptions, check_backend_installed, hear, heard_for, load_backend, will_use_torch,
                        with_heard)
from ..transcript import Transcript, export, get_exporter, recorded_duration
from .options import TranscribeOptions
from .run import transcribe_files


@dataclass(frozen=True)
class Outcome:
    """What became of one input: its transcript and the files written, or the error that stopped it."""

    path: Path
    transcript: Transcript | None = None
    written: tuple[Path, ...] = ()
    error: IndexerError | None = None


class TranscriptWriter:
    """Writes ``<out_dir>/<file name>.<format>`` for each input, in each of ``formats``.

    Built before any work, so that a bad format name or missing speaker weights
    stop the run once, before any transcription (found in review: the CLI
    transcribed every file, then failed each one on the missing weights).
    """

    def __init__(self, out_dir: str | Path, formats: Iterable[str], speakers: SpeakerOptions | None = None):
        self.out_dir = Path(out_dir)
        self.formats = list(formats)
        for name in self.formats:
            get_exporter(name)  # fail before any work on a bad format name
        self.speakers = speakers or SpeakerOptions()
        self._backend = None
        if self.speakers.runs:
            # Missing weights stop the run here; the network itself loads with the first good file, so that
            # a run of unreadable files ends at once (loading CAM++ costs ~1.7 CPU-s).
            check_backend_installed(self.speakers)

    @property
    def backend(self):
        """The speaker backend, loaded when first needed (None when speakers are off)."""
        if self._backend is None and self.speakers.runs:
            self._backend = load_backend(self.speakers)
        return self._backend

    def write(self, paths: Iterable[str | Path], options: TranscribeOptions | None = None,
              progress: bool = False) -> Iterator[Outcome]:
        """Transcribe ``paths`` (:func:`transcribe_files`), add speakers, export; yields one
        :class:`Outcome` per input: refused inputs first, then as :func:`transcribe_files` yields."""
        paths = [Path(p) for p in paths]
        # Two inputs with one file name would write the same outputs: the second is refused, not
        # written over the first (found in review).
        owners: dict[str, Path] = {}
        for path in paths:
            owner = owners.setdefault(path.stem, path)
            if owner != path:
                yield Outcome(path, error=OutputConflictError(
                    f"its outputs would replace those of {owner} in {self.out_dir}", path,
                    "transcribe it with another --out"))
        kept = [path for path in paths if owners[path.stem] == path]
        # The speakers stage hears each file's audio while its words are decoded, in the order they are
        # decoded: a lone file's stage no longer runs on one core after its decoding, the other idle (a
        # two-hour file: 622 s against 738 s, benchmarks/results/memory-2h-hearing.md). Not a network on
        # PyTorch (Resemblyzer; CAM++ without its ONNX copy): torch and its network (~350 MB) would sit
        # beside the Whisper model and its batches, a long file's peak; it hears each file after its decoding.
        beside = self.speakers.runs and not will_use_torch(self.speakers)
        speakers = ThreadPoolExecutor(1, thread_name_prefix="speakers")
        hearing: dict[Path, Future] = {}

        def start_hearing(path: Path, info: audio.AudioInfo) -> None:
            if beside and path not in hearing:
                hearing[path] = speakers.submit(self._hear, path, recorded_duration(info.duration))

        try:
            for path, result in transcribe_files(kept, options, progress=progress, on_probed=start_hearing):
                yield self._finish(path, result, hearing.pop(path, None))
        finally:
            # Not waited for (Ctrl-C, a failure): at exit Python still ends the file being heard, one
            # 10-minute piece at most (~10 CPU s with CAM++ on ONNX Runtime).
            speakers.shutdown(wait=False, cancel_futures=True)

    def _hear(self, path: Path, duration: float) -> Heard | None:
        return hear(path, duration, self.speakers, self.backend)

    def _heard(self, path: Path, transcript: Transcript, hearing: Future | None) -> Heard | None:
        """What the stage heard in the file, on the transcript's duration (heard now if not beside)."""
        try:
            if hearing is None:
                return self._hear(path, transcript.duration)
            return heard_for(transcript, hearing.result(), lambda duration: self._hear(path, duration))
        except IndexerError:
            raise
        except Exception as e:  # noqa: BLE001 - the speaker network's own errors: one line, the next file goes on
            raise IndexerError(f"the speakers stage failed: {type(e).__name__}: {e}", path) from e

    def _finish(self, path: Path, result: Transcript | IndexerError, hearing: Future | None) -> Outcome:
        if isinstance(result, IndexerError):
            if hearing is not None:
                hearing.cancel()
            return Outcome(path, error=result)
        try:
            result = with_heard(result, self._heard(path, result, hearing))
            written = export(result, self.formats, self.out_dir, stem=path.stem)
        except IndexerError as e:
            return Outcome(path, error=e)
        return Outcome(path, result, tuple(written))
