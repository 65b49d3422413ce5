"""Display catalogs, one module per language (``fr.py``: ``MESSAGES``); see :mod:`indexer.display.i18n`."""
