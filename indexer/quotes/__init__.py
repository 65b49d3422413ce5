"""Quotes: exact words of an episode, with a citation and an audio clip.

* :mod:`.quotation` — :class:`Quote` (immutable: widen, narrow, cite, clip, export) and its options;
* :mod:`.context` — :class:`EpisodeContext`, an episode's effective transcript as words, and :func:`quote`;
* :mod:`.citation` — the citation fields and how a format is filled;
* :mod:`.clips` — cutting and encoding audio clips, export formats by name;
* :mod:`.basket` — :class:`QuoteBasket`, quotes gathered for an article and exported together.

How quotes display themselves (HTML, audio, Markdown) is in :mod:`indexer.display.quote`.
"""

from ..transcript import hms
from .basket import BasketExport, QuoteBasket, safe_name
from .citation import CITATION_FIELD, CITATION_FIELDS, DEFAULT_CITATION
from .clips import EXPORT_FORMATS, ExportFormat, cut, export_segment, get_export_format
from .context import EpisodeContext, quote
from .quotation import LOW_CONFIDENCE_FLAG, SCHEMA_VERSION, Quote, QuoteOptions, join_words

__all__ = ["BasketExport", "EXPORT_FORMATS", "EpisodeContext", "Quote", "QuoteBasket", "QuoteOptions",
           "cut", "get_export_format", "hms", "quote", "safe_name"]
