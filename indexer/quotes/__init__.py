"""Quotes: exact words of an episode, with a citation and an audio clip (see :mod:`.quote`)."""

from .quote import (CITATION_FIELDS, EXPORT_FORMATS, _FIELD, BasketExport, EpisodeContext, ExportFormat, Quote,
                    QuoteBasket, QuoteOptions, cut, export_segment, get_export_format, hms, join_words, quote,
                    safe_name)

__all__ = ["BasketExport", "EXPORT_FORMATS", "EpisodeContext", "Quote", "QuoteBasket", "QuoteOptions",
           "cut", "get_export_format", "hms", "quote", "safe_name"]
