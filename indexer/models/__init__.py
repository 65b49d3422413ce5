"""Whisper weights on this machine: names and paths to local weights, the shipped model, the cache."""

from .shipped import (
    CT2, MARKER_FILE, OPENAI, SHIPPED_MODELS, ModelInfo, ShippedFile, ShippedSource, default_cache_dir,
    list_models, load_openai_model, models_dir, openai_checkpoint, resolve_model,
)

__all__ = [
    "CT2", "MARKER_FILE", "OPENAI", "SHIPPED_MODELS", "ModelInfo", "ShippedFile", "ShippedSource",
    "default_cache_dir", "list_models", "load_openai_model", "models_dir", "openai_checkpoint", "resolve_model",
]
