"""The decoding presets an archive may name (``preset:`` and ``noisy:`` in archive.yaml and sidecars).

The names belong to the archive format, so that reading a sidecar does not load the transcription
stack (about 118 ms); what each preset decodes is :data:`indexer.transcribe.PRESETS`, built from these.
"""

PRESET_NAMES = ("auto", "fast", "accurate")
DEFAULT_PRESET = "auto"
NOISY_PRESET = "accurate"   # what `noisy: true` asks for (docs/transcription.md, "Decoding defaults, and why")
CLEAN_PRESET = "fast"       # what `noisy: false` asks for: no automatic choice
