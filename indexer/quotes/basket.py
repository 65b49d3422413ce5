"""Baskets: quotes gathered for an article, exported as a Markdown draft, JSON and clips.

Every file name made from metadata goes through :func:`safe_name`, so an export
never writes outside its folder.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..archive import atomic_write_text
from ..errors import AudioError, QuoteError
from ..renderers import render
from ..transcript import hms
from .clips import get_export_format
from .quotation import SCHEMA_VERSION, Quote

log = logging.getLogger("indexer")


def safe_name(text: str, max_length: int = 60) -> str:
    """A file-name part from metadata: ASCII letters, digits, ``-`` and ``_`` only.

    No separators, no ``..``, never empty: whatever a title contains, the name
    stays inside the folder it is joined to.
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9_]+", "-", ascii_text.lower()).strip("-_")
    return slug[:max_length].rstrip("-_") or "quote"


@dataclass(frozen=True)
class BasketExport:
    folder: Path
    markdown: Path
    json: Path
    clips: tuple[Path | None, ...]


class QuoteBasket:
    """Quotes gathered for an article; :meth:`export` writes the draft and the clips."""

    def __init__(self, quotes: Iterable[Quote] = (), title: str = "Citations"):
        self.title = title
        self._quotes: list[Quote] = list(quotes)

    def add(self, *quotes: Quote) -> "QuoteBasket":
        for q in quotes:
            if not isinstance(q, Quote):
                raise QuoteError(f"a basket holds quotes, not {type(q).__name__}")
            self._quotes.append(q)
        return self

    def remove(self, index: int) -> Quote:
        return self._quotes.pop(index)

    def __len__(self) -> int:
        return len(self._quotes)

    def __iter__(self) -> Iterator[Quote]:
        return iter(self._quotes)

    def __getitem__(self, index: int) -> Quote:
        return self._quotes[index]

    def __repr__(self) -> str:
        return f"<QuoteBasket {self.title!r}: {len(self)} quotes>"

    def clip_name(self, n: int, q: Quote, ext: str = "mp3") -> str:
        """File name of the n-th clip: number, episode id, title, time — sanitised."""
        stem = "-".join(p for p in (f"{n:02d}", safe_name(q.episode, 40), safe_name(q.title, 40),
                                    hms(q.start).replace(":", "")) if p)
        return f"{stem}.{safe_name(ext, 4)}"

    def to_markdown(self, clip_links: Sequence[str | None] | None = None) -> str:
        """The article draft (see :mod:`indexer.display.quote`)."""
        return render("markdown", self, clip_links)


    def to_dict(self, clip_names: Sequence[str | None] | None = None) -> dict:
        names = list(clip_names or [None] * len(self))
        return {"schema": SCHEMA_VERSION, "title": self.title,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "quotes": [{**q.to_dict(), "clip_file": name} for q, name in zip(self._quotes, names)]}

    def export(self, folder: str | Path, name: str = "article", clips: bool = True,
               clip_format: str = "mp3") -> BasketExport:
        """Write ``<name>.md`` (block quotes, citations, links to the clips), ``<name>.json``
        and one clip per quote into ``folder``. Every name made from metadata is
        sanitised, so nothing is written outside ``folder``.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        root = folder.resolve()
        get_export_format(clip_format)
        written: list[Path | None] = []
        names: list[str | None] = []
        for n, q in enumerate(self._quotes, 1):
            if not clips:
                written.append(None)
                names.append(None)
                continue
            clip_path = _inside(root, self.clip_name(n, q, clip_format))
            try:
                q.export(clip_path)
            except AudioError as e:
                log.warning("no clip for quote %d (%s at %s): %s", n, q.episode, hms(q.start), e.one_line())
                written.append(None)
                names.append(None)
                continue
            written.append(clip_path)
            names.append(clip_path.name)
        stem = safe_name(name)
        markdown = _inside(root, f"{stem}.md")
        data = _inside(root, f"{stem}.json")
        atomic_write_text(markdown, self.to_markdown(names), sweep=True)
        atomic_write_text(data, json.dumps(self.to_dict(names), ensure_ascii=False, indent=1) + "\n", sweep=True)
        return BasketExport(root, markdown, data, tuple(written))

    def _repr_html_(self) -> str:
        return render("html", self)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(*render("outputs", self))


def _inside(root: Path, name: str) -> Path:
    """``root / name``, refusing anything that would land elsewhere."""
    path = (root / name).resolve()
    if path.parent != root:
        raise QuoteError(f"file name {name!r} would be written outside {root}")
    return path

