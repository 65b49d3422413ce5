"""``archive.voices()``: the voices the archive knows, one row each."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..archive import ArchiveLayout
from ..speakers.library import VoiceLibrary, load_library, read_library


@dataclass(frozen=True)
class VoiceRow:
    name: str
    episodes: int           # episodes where the voice is shown under this name
    seconds: float          # its speaking time there
    confirmed: int          # speakers an editor named (name_speakers, sidecar turns)
    automatic: int          # speakers named because their voice matched
    conflict: str = ""      # one line when the name was given to two clearly different voices


class VoicesTable:
    """The voice library as a table: a row per voice, longest speaking time first.

    ``len()``, iteration, ``table["Sandra"]``, :meth:`to_dataframe`; in a notebook
    an HTML table in French; ``problems`` holds the last rebuild's warnings.
    """

    def __init__(self, rows: list[VoiceRow], problems: list[str] | None = None, built: str = ""):
        self.rows = rows
        self.problems = list(problems or [])
        self.built = built

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, name: str) -> VoiceRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(row.name == name for row in self.rows)

    def to_dataframe(self):
        import pandas as pd

        columns = list(VoiceRow.__dataclass_fields__)
        return pd.DataFrame([asdict(r) for r in self.rows], columns=columns)

    def __repr__(self) -> str:
        if not self.rows:
            return "no known voice (name speakers with name_speakers, then ingest)"
        lines = [f"{'voice':<28}{'episodes':>9}{'minutes':>9}{'confirmed':>10}{'automatic':>10}"]
        for r in self.rows:
            lines.append(f"{r.name[:27]:<28}{r.episodes:>9}{r.seconds / 60:>9.1f}{r.confirmed:>10}{r.automatic:>10}"
                         + ("  CONFLICT" if r.conflict else ""))
        return "\n".join(lines + [f"  {p}" for p in self.problems])

    def _repr_html_(self) -> str:
        from ..display.voices import voices_html

        return voices_html(self)


def voices_of(library: VoiceLibrary) -> VoicesTable:
    """The table of a library: confirmed occurrences from its exemplars, automatic ones from its episodes."""
    rows = []
    for name, voice in library.voices.items():
        episodes = {e.episode for e in voice.exemplars}
        seconds = sum(e.print.seconds for e in voice.exemplars)
        automatic = 0
        for episode, names in library.automatic.items():
            for auto in names.values():
                if auto.name == name:
                    automatic += 1
                    episodes.add(episode)
                    seconds += auto.seconds
        rows.append(VoiceRow(name, len(episodes), round(seconds, 1), len(voice.exemplars), automatic, voice.conflict))
    rows.sort(key=lambda r: (-r.seconds, r.name))
    return VoicesTable(rows, library.problems, library.built)


def voices_table(layout: ArchiveLayout, strict: bool = False) -> VoicesTable:
    """The archive's voices as the library holds them (``strict``: a damaged library raises VoiceError)."""
    library = (load_library(layout.voice_library_path) or VoiceLibrary()) if strict else \
        read_library(layout.voice_library_path)
    return voices_of(library)
