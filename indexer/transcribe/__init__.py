"""Speech to timed text: two Whisper engines behind one small protocol.

Both engines get exactly the same input: the file is decoded in windows of a
few minutes (bounded memory on two-hour recordings, and no timestamp drift,
since each window restarts from an exact offset), each window is cut at a
silence, voice activity detection keeps only the speech, and the engine
transcribes that speech. Timestamps are mapped back to the original audio.

The package, by role: :mod:`.options` (settings and presets), :mod:`.engines`
(the protocol, the two engines, their registry and thread split), :mod:`.windows`
(windows, VAD, time mapping), :mod:`.run` (files → transcripts), :mod:`.outputs`
(transcripts written to a folder, what ``indexer transcribe`` runs).
"""

from ..archive.presets import CLEAN_PRESET, DEFAULT_PRESET, NOISY_PRESET  # the names are the archive format's
from .engines import (
    ENGINES, Engine, FasterWhisperEngine, OpenAIWhisperEngine, by_name, engine_class, load_engine, parallel_plan,
    sized,
)
from .options import (
    PRESETS, TranscribeOptions, glossary_prompt, preset, whisper_languages, with_choices, with_preset,
)
from .noise import NoiseChoice, WindowNoise, choose_preset, estimate_snr
from .outputs import Outcome, TranscriptWriter
from .run import NoiseChooser, iter_segments, transcribe_file, transcribe_files
from .windows import LOOKAHEAD_SECONDS, Window, expected_windows, iter_windows

__all__ = [
    "CLEAN_PRESET", "DEFAULT_PRESET", "ENGINES", "Engine", "FasterWhisperEngine", "LOOKAHEAD_SECONDS",
    "NOISY_PRESET", "NoiseChoice", "NoiseChooser", "OpenAIWhisperEngine", "Outcome", "PRESETS", "TranscribeOptions",
    "TranscriptWriter", "Window", "WindowNoise", "by_name", "choose_preset", "engine_class", "estimate_snr",
    "expected_windows", "glossary_prompt", "iter_segments", "iter_windows", "load_engine", "parallel_plan",
    "preset", "sized", "transcribe_file", "transcribe_files", "whisper_languages", "with_choices", "with_preset",
]
