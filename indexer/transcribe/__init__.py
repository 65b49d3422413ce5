"""Speech to timed text: two Whisper engines behind one small protocol."""

from .windows import (
    DEFAULT_PRESET, ENGINES, NOISY_PRESET, PRESETS, Engine, FasterWhisperEngine, OpenAIWhisperEngine,
    TranscribeOptions, Window, by_name, engine_class, expected_windows, glossary_prompt, iter_segments,
    iter_windows, load_engine, parallel_plan, preset, sized, transcribe_file, transcribe_files, whisper_languages,
    with_preset,
)
