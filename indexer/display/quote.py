"""How quotes and baskets show themselves: notebook HTML with a clip cut when played, an audio player, Markdown.

Registered in :mod:`indexer.renderers`, where :meth:`Quote._repr_html_ <indexer.quotes.Quote>`,
:meth:`Quote.audio`, :meth:`Quote.to_markdown` and their :class:`~indexer.quotes.QuoteBasket`
counterparts look them up (the domain imports no display code).
"""

from __future__ import annotations

import html
from typing import Sequence

from ..archive import safe_url
from ..quotes import Quote, QuoteBasket
from ..renderers import register
from .audio import ipython_audio
from .clips import Clip, ClipSet, with_clips
from .i18n import _, flag_label
from .markdown import md_escape, md_url

# --- HTML (notebooks) ---------------------------------------------------------------------

def quote_clip(quote: Quote) -> Clip:
    """The quote's clip (its words plus the padding), cut when it is played."""
    path = quote.audio_path if quote.clip_span[1] - quote.clip_span[0] <= quote.options.embed_seconds else None
    return Clip(path, quote.start, quote.end, quote.options.padding, quote.options.fade)


def quote_figure(quote: Quote, player: str) -> str:
    """The quote as a figure: marked text, citation, flags and ``player``."""
    esc = html.escape
    flags = f" <small>[{esc(', '.join(flag_label(f) for f in quote.flags))}]</small>" if quote.flags else ""
    return (f"<figure class='indexer-quote'><blockquote>{esc(quote.marked_text)}</blockquote>"
            f"<figcaption>— {esc(quote.citation)}{flags}</figcaption>{player}</figure>")


@register("html", Quote)
def quote_html(quote: Quote, clips: ClipSet | None = None) -> str:
    """The figure of one quote, its clip cut when it is played (reads no file)."""
    clips = clips or ClipSet.of([quote_clip(quote)])
    return clips.wrap(quote_figure(quote, _player(quote, clips, 0)))


def _player(quote: Quote, clips: ClipSet, n: int) -> str:
    if quote.audio_path is not None and clips.clips[n].path is None:
        return f"<small>{_('quote.too_long')}</small>"
    return clips.cell(n)


@register("html", QuoteBasket)
def basket_html(basket: QuoteBasket, clips: ClipSet | None = None) -> str:
    clips = clips or ClipSet.of([quote_clip(q) for q in basket])
    items = "".join(f"<li>{quote_figure(q, _player(q, clips, n))}</li>" for n, q in enumerate(basket))
    return clips.wrap(f"<h4>{html.escape(basket.title)} ({len(basket)})</h4><ol>{items}</ol>")


@register("outputs", Quote)
def quote_outputs(quote: Quote) -> list:
    """What a notebook shows for a quote: its figure, and the bridge that cuts its clip when played."""
    clips = ClipSet.of([quote_clip(quote)])
    return with_clips(quote_html(quote, clips), clips)


@register("outputs", QuoteBasket)
def basket_outputs(basket: QuoteBasket) -> list:
    clips = ClipSet.of([quote_clip(q) for q in basket])
    return with_clips(basket_html(basket, clips), clips)


@register("audio", Quote)
def audio_player(quote: Quote, padding: float | None = None):
    """An ``IPython.display.Audio`` player of the quote's clip."""
    return ipython_audio(quote.clip(padding))


# --- Markdown (the article draft, `indexer quote --format md`) ------------------------------

@register("markdown", Quote)
def quote_markdown(quote: Quote, clip_link: str | None = None, marked: bool = False) -> str:
    """A block quote, the citation (with the source link), and a link to the clip."""
    body = quote.marked_text if marked else quote.text
    citation = md_escape(quote.citation)
    url = safe_url(quote.source_url)  # a Quote can be built by hand: checked again where it is written
    if url:
        citation += f" ([{_('quote.source')}]({md_url(url)}))"
    lines = [f"> {md_escape(body)}", ">", f"> — {citation}"]
    if clip_link:
        lines += ["", f"[{_('quote.listen')}]({md_url(clip_link)})"]
    return "\n".join(lines) + "\n"


@register("markdown", QuoteBasket)
def basket_markdown(basket: QuoteBasket, clip_links: Sequence[str | None] | None = None) -> str:
    """The article draft: the basket's title, then each quote with the link to its clip."""
    links = list(clip_links or [None] * len(basket))
    parts = [f"# {md_escape(basket.title)}\n"]
    for q, link in zip(basket, links):
        parts.append(quote_markdown(q, link))
    return "\n".join(parts)
