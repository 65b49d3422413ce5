"""The run's progress in seconds of audio, fed by the workers as they decode
(inside files, from every worker process), with the speed and the time left.

The library never prints: the bar is tqdm's behind the ``progress`` flag, or
a null bar; the same figures go into the run report (``progress``), which
``indexer status`` reads while the run works.
"""

from __future__ import annotations

import threading
import time

from ..progress import progress_bar

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}{postfix}]"


class RunProgress:
    """Seconds of audio done per episode (never more than its length), from any thread."""

    def __init__(self, total_seconds: float, enabled: bool, clock=time.monotonic):
        self.total = float(total_seconds)
        self.done: dict[str, float] = {}
        self.lengths: dict[str, float] = {}
        self._clock = clock
        self.started = clock()
        self._lock = threading.Lock()
        self.bar = progress_bar(round(self.total, 1), "ingest", "s", enabled, bar_format=BAR_FORMAT)

    def expect(self, episode: str, seconds: float) -> None:
        self.lengths[episode] = seconds

    def advance(self, episode: str, seconds: float) -> None:
        """``episode`` moved on by ``seconds`` of its audio (a worker's report)."""
        with self._lock:
            before = self.done.get(episode, 0.0)
            after = min(before + seconds, self.lengths.get(episode, before + seconds))
            if after > before:
                self.done[episode] = after
                self._show(after - before)

    def finish(self, episode: str) -> None:
        """``episode`` is done (or failed): the rest of its audio counts as done."""
        with self._lock:
            rest = self.lengths.get(episode, 0.0) - self.done.get(episode, 0.0)
            self.done[episode] = self.lengths.get(episode, 0.0)
            self._show(max(0.0, rest))

    def _show(self, step: float) -> None:
        self.bar.update(round(step, 2))
        speed = self.realtime_factor
        if speed:
            self.bar.set_postfix_str(f", {speed:.1f}× real time")

    @property
    def done_seconds(self) -> float:
        return sum(self.done.values())

    @property
    def realtime_factor(self) -> float:
        elapsed = self._clock() - self.started
        return self.done_seconds / elapsed if elapsed > 0 else 0.0

    def figures(self) -> dict:
        """For the run report: audio to do and done, speed so far, seconds left at that speed."""
        done, speed = self.done_seconds, self.realtime_factor
        left = max(0.0, self.total - done)
        return {"audio_seconds": round(self.total, 1), "done_seconds": round(done, 1),
                "realtime_factor": round(speed, 2),
                "eta_seconds": round(left / speed, 1) if speed > 0 else None}

    def close(self) -> None:
        self.bar.close()
