"""How quotes and baskets show themselves: notebook HTML with an inline clip, an audio player, Markdown.

Called by :meth:`Quote._repr_html_ <indexer.quotes.Quote>`, :meth:`Quote.audio`,
:meth:`Quote.to_markdown` and their :class:`~indexer.quotes.QuoteBasket` counterparts.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Sequence

from ..archive import safe_url
from ..errors import AudioError, FFmpegNotFoundError
from ..transcript import hms
from .audio import audio_element, ipython_audio, segment_data_url
from .markdown import md_escape, md_url

if TYPE_CHECKING:
    from ..quotes import Quote, QuoteBasket

log = logging.getLogger("indexer")


# --- HTML (notebooks) ---------------------------------------------------------------------

def quote_html(quote: Quote) -> str:
    """The quote as a figure: marked text, citation, flags and its clip."""
    esc = html.escape
    flags = f" <small>[{esc(', '.join(quote.flags))}]</small>" if quote.flags else ""
    return (f"<figure class='indexer-quote'><blockquote>{esc(quote.marked_text)}</blockquote>"
            f"<figcaption>— {esc(quote.citation)}{flags}</figcaption>{audio_tag(quote)}</figure>")


def audio_tag(quote: Quote) -> str:
    """An ``<audio>`` element with the clip inlined (64 kbit/s), or a short note saying why there is none."""
    if quote.clip_span[1] - quote.clip_span[0] > quote.options.embed_seconds:
        return "<small>clip too long to embed: use quote.export()</small>"
    try:
        src = segment_data_url(quote.clip(), bitrate="64k")
    # A notebook display must not raise for a missing or undecodable recording; a bug still does.
    except (AudioError, FFmpegNotFoundError, OSError) as e:
        log.debug("no clip for %s at %s: %s", quote.episode, hms(quote.start), e)
        return f"<small>no audio ({html.escape(str(e).splitlines()[0] if str(e) else type(e).__name__)})</small>"
    return audio_element(src)


def audio_player(quote: Quote, padding: float | None = None):
    """An ``IPython.display.Audio`` player of the quote's clip."""
    return ipython_audio(quote.clip(padding))


def basket_html(basket: QuoteBasket) -> str:
    items = "".join(f"<li>{quote_html(q)}</li>" for q in basket)
    return f"<h4>{html.escape(basket.title)} ({len(basket)})</h4><ol>{items}</ol>"


# --- Markdown (the article draft, `indexer quote --format md`) ------------------------------

def quote_markdown(quote: Quote, clip_link: str | None = None, marked: bool = False) -> str:
    """A block quote, the citation (with the source link), and a link to the clip."""
    body = quote.marked_text if marked else quote.text
    citation = md_escape(quote.citation)
    url = safe_url(quote.source_url)  # a Quote can be built by hand: checked again where it is written
    if url:
        citation += f" ([source]({md_url(url)}))"
    lines = [f"> {md_escape(body)}", ">", f"> — {citation}"]
    if clip_link:
        lines += ["", f"[▶ Écouter l'extrait]({md_url(clip_link)})"]
    return "\n".join(lines) + "\n"


def basket_markdown(basket: QuoteBasket, clip_links: Sequence[str | None] | None = None) -> str:
    """The article draft: the basket's title, then each quote with the link to its clip."""
    links = list(clip_links or [None] * len(basket))
    parts = [f"# {md_escape(basket.title)}\n"]
    for q, link in zip(basket, links):
        parts.append(quote_markdown(q, link))
    return "\n".join(parts)
