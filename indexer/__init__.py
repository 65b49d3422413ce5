"""Index recorded French talks: transcribe with Whisper, search with Whoosh."""

from .api import Archive
