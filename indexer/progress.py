"""Progress bars: tqdm.auto (terminals and notebooks) when enabled, else a null bar.

The calling code is the same either way (like sqlite-utils' ``NullProgressBar``).
"""

from __future__ import annotations


class NullBar:
    def update(self, n: float = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: float | None, desc: str, unit: str, enabled: bool, bar_format: str | None = None,
                 leave: bool = True):
    """A tqdm bar, or a :class:`NullBar` when ``enabled`` is false (tqdm is then not even imported)."""
    if not enabled:
        return NullBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, bar_format=bar_format, leave=leave)
