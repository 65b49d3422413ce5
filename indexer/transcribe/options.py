"""Decoding settings: :class:`TranscribeOptions`, the named presets, the languages
Whisper knows, and the glossary prompt."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

from ..archive.presets import DEFAULT_PRESET, NOISY_PRESET, PRESET_NAMES
from ..errors import EngineError
from ..transcript import FlagOptions
from .reproducible import SEED_POLICY


FINGERPRINTED_NOISY_BELOW_DB = 21.0   # the first threshold (TranscribeOptions.fingerprint)
# The temperature fallback, only when a window loops (compression ratio above the threshold), samples
# at 0.4 and 0.8 (openai-whisper's `--temperature_increment_on_fallback 0.4`), not at 0.2, 0.4, ... 1.0:
# real speech that repeats itself (an alphabet, telephone menus) compresses past the threshold at every
# temperature, and such a window drew 5 x 5 candidates to keep about what temperature 0 said. On real
# French (benchmarks/results/fallback-schedule.md, beam 2, no speakers): 0.82x the CPU on June's prompts
# at WER 0.1881 (0.1870 before), 0.83x on Tux Paint's at 0.2699 (0.2738). A first ad-hoc run of the same
# measure (docs/benchmarks.md, tenth round): 0.78x on the hour of real people at 0.2335 (0.2459), and the
# same WER file by file under 10 dB babble, on the synthetic sample and the mixed folder (few loops there).
TEMPERATURES = (0.0, 0.4, 0.8)
FINGERPRINTED_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)   # the schedule before (TranscribeOptions.fingerprint)
CLEAN_BEAM = 2          # the clean decoding's beam width (TranscribeOptions.beam_size's default)
FORMER_CLEAN_BEAM = 1   # greedy: the clean decoding before it, whose transcripts stay current (fingerprints_kept)


@dataclass(frozen=True)
class TranscribeOptions:
    """Decoding settings shared by both engines. Variants come from ``dataclasses.replace``;
    the defaults are those of the default preset, ``auto`` (``PRESETS``)."""

    model: str = "base"
    engine: str = "faster-whisper"
    language: str | None = "fr"            # None: detect on the first window
    # Beam search of width 2 for clean speech (1 = greedy, before): at the same cost in the batched
    # pipeline (1.53x plain's speed against 1.56x on real French; 1.75x against 1.98x on Tux Paint's
    # voices), fewer errors (real French 0.187 against 0.196, plain 0.194; Tux Paint 0.274 against
    # 0.341, plain 0.292), and greedy decoding looped (« ameameame… ») on a repetitive real recording
    # where beam 2 did not (benchmarks/results/speed-beam2*.md).
    beam_size: int = CLEAN_BEAM
    best_of: int = 5                       # candidates when sampling at temperature > 0
    temperatures: tuple[float, ...] = TEMPERATURES   # the fallback's (see TEMPERATURES above)
    compression_ratio_threshold: float | None = 2.4
    # Fallback only when a window loops, not on a low log-probability: as accurate as the full
    # fallback, repeatable, ~40 % faster, and it breaks the « eux-là, eux-là, … » loops of robotic speech.
    log_prob_threshold: float | None = None
    # No silent dropping of segments: VAD removes silence, flags mark the rest.
    no_speech_threshold: float | None = None
    condition_on_previous_text: bool = False   # one point better under babble
    initial_prompt: str | None = None          # the archive glossary goes here
    word_timestamps: bool = True
    vad: bool = True
    vad_min_silence_ms: int = 2000
    vad_speech_pad_ms: int = 400
    compute_type: str = "int8"                 # faster-whisper only
    # Windows transcribed at once, each engine worker on its own threads.
    # 0 = automatic: one single-threaded window per core, unless cpu_threads
    # is set (the batch sets it: it already runs one file per core).
    parallel: int = 0
    cpu_threads: int = 0
    window_seconds: float = 120.0              # decode this much at a time, cut at a pause
    # A window's speech in clips of 30 s cut in pauses, decoded in batches
    # (transcribe/batched.py); False: the engine's own sequential loop.
    batched: bool = True
    flags: FlagOptions = field(default_factory=FlagOptions)
    # The automatic choice for noisy recordings (transcribe/noise.py): an
    # episode whose loud/quiet ratio is under `noisy_below_db` is decoded with
    # `noise_preset` ("": no automatic choice). 27 dB: real voices under real
    # babble at 10 dB read 23.2-24.3 (June) and 13.5-22.1 (Tux Paint's volunteers),
    # the telephone + mp3 + faint babble set 23.5-24.8, clean recordings with
    # pauses 94-99, continuous clean speech 26-39 (benchmarks/noise_choice.py). A
    # wrong "noisy" costs CPU, not words: on clean speech without pauses read as
    # noisy, beam search made 0.258 errors to greedy's 0.289. (21 dB, tuned on
    # synthetic babble, missed real babble.)
    noise_preset: str = NOISY_PRESET
    noisy_below_db: float = 27.0
    preset: str = DEFAULT_PRESET               # the name these settings came from (a label)
    # What the fallback's sampling draws from: seeded by the audio's sha256 and the
    # window's position, so the same audio gives the same words (docs/transcription.md,
    # "Same audio, same words"); "" leaves it to the libraries' unseeded generators.
    sampling_seed: str = SEED_POLICY

    def fingerprint(self) -> str:
        """What decides whether an existing transcript is still up to date: the
        settings themselves (two presets that decode alike share a fingerprint), except
        three that change which draws or which windows, not how words are decoded: the seed
        policy, the noise threshold and the fallback's schedule (see below)."""
        # The cores change no word (a long file's windows are batched in pairs fixed by their position:
        # a 408-s June file gave the same 102 segments on 1 and 2 lanes, twice). The sequential loop
        # (batched=False) does change them (104 of 107 segments), so it has a fingerprint of its own,
        # and the default keeps the one transcripts already have. Without the automatic choice, its
        # fields change nothing either (so `preset: fast` keeps its old fingerprint).
        ignored = {"cpu_threads", "parallel", "preset"} | ({"batched"} if self.batched else set())
        if not self.noise_preset:
            ignored |= {"noise_preset", "noisy_below_db"}
        if self.sampling_seed == SEED_POLICY:
            # Seeding changes no setting, only which sample a looping window keeps: transcripts
            # made before it stay current rather than every archive being transcribed again at
            # the next ingest (docs/transcription.md, "Same audio, same words"). Another policy changes it.
            ignored.add("sampling_seed")
        relevant = {k: v for k, v in asdict(self).items() if k not in ignored}
        if tuple(self.temperatures) == TEMPERATURES:
            # As the seed: the schedule changes only what looping windows keep (and so where the next
            # step of their window starts), so transcripts made with the schedule before stay current
            # rather than every archive being transcribed again; `ingest --force` makes them again.
            relevant["temperatures"] = FINGERPRINTED_TEMPERATURES
        if "noisy_below_db" in relevant:
            # The threshold says which episodes are noisy, not how to decode them: each transcript
            # records its estimate and its choice, and ingest makes again only the episodes a new
            # threshold flips (noise.choice_still_holds). So the fingerprint keeps the threshold
            # transcripts were first made with, and a new one does not transcribe every archive again.
            relevant["noisy_below_db"] = FINGERPRINTED_NOISY_BELOW_DB
        return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def fingerprints_kept(self) -> tuple[str, ...]:
        """The fingerprints with which an existing transcript is still current for these settings: their own,
        and for the clean decoding (beam 2) that of the same settings decoded greedily, the clean decoding
        before it. A better default does not transcribe every archive again at its next ingest (hours of
        CPU for words that were already good enough to index and correct); `ingest --force` does, and
        `indexer status` counts the transcripts made greedily. Their own first: the one to prefer."""
        if self.beam_size == CLEAN_BEAM:
            return self.fingerprint(), replace(self, beam_size=FORMER_CLEAN_BEAM).fingerprint()
        return (self.fingerprint(),)


# What each preset name of the archive format (indexer.archive.presets) decodes, over the defaults.
_DECODING: dict[str, dict] = {
    # Default: the clean decoding (beam 2), and beam search of 5 for each window measured noisy.
    "auto": {},
    # The clean decoding (beam 2) without the automatic choice: what `noisy: false` asks for.
    "fast": {"noise_preset": ""},
    # Beam search: under babble as accurate as plain faster-whisper (WER 0.192 vs
    # 0.194 at 10 dB; greedy 0.203), at 1.3× the CPU of greedy (docs/benchmarks.md,
    # "Decoding settings, one at a time").
    "accurate": {"beam_size": 5, "noise_preset": ""},
}
PRESETS: dict[str, TranscribeOptions] = {
    name: replace(TranscribeOptions(), preset=name, **_DECODING[name]) for name in PRESET_NAMES}
# What a preset does not decide: where the model is, the language, the prompt, the threads.
_NOT_DECODING = ("model", "engine", "language", "initial_prompt", "compute_type", "parallel", "cpu_threads",
                 "batched")


def preset(name: str) -> TranscribeOptions:
    try:
        return PRESETS[name]
    except KeyError:
        raise EngineError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}") from None


def whisper_languages() -> frozenset[str]:
    """The language codes Whisper knows (``fr``, ``en``, ``yue``…)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return frozenset(_LANGUAGE_CODES)


def with_preset(options: TranscribeOptions, name: str) -> TranscribeOptions:
    """The decoding of preset ``name`` with everything else from ``options``."""
    if name == options.preset:
        return options
    return replace(preset(name), **{k: getattr(options, k) for k in _NOT_DECODING})


def with_choices(options: TranscribeOptions, *, model: str | None = None, engine: str | None = None,
                 language: str | None = None, preset_name: str | None = None, threads: int = 0) -> TranscribeOptions:
    """A user's choices (the command line's) over ``options`` (the archive's or a preset's).

    Unset choices keep what ``options`` says; ``language="auto"`` means detect.
    """
    options = with_preset(options, preset_name) if preset_name else options
    changes = {"cpu_threads": threads}
    if model:
        changes["model"] = model
    if engine:
        changes["engine"] = engine
    if language:
        changes["language"] = None if language == "auto" else language
    return replace(options, **changes)


def glossary_prompt(glossary) -> str | None:
    """Names and terms as a plain list: helps spelling, unlike a punctuated sentence."""
    terms = [t.strip() for t in glossary if t and t.strip()]
    return ", ".join(terms) if terms else None
