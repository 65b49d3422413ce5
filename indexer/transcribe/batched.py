"""Several clips of speech decoded as one batch by faster-whisper's model, each
with the algorithm of its sequential ``transcribe`` (timestamps, seeking to the
last complete segment, temperature fallback when a window loops, word timings):
only the matrix work is shared.

A clip here is a whole window of :mod:`.windows` (its VAD speech, up to two
minutes), never a piece cut for the batch: cutting a window's speech into
30-second clips at pauses, as faster-whisper's ``BatchedInferencePipeline``
does with its VAD chunks, cost 0.8 points of word error rate clean and 2.8 at
10 dB babble on the sample archive (the model loses the words at a cut it did
not choose), while the loop below on whole windows gives exactly the
sequential words (benchmarks/results/speed-batching.md).

Rows of a batch are NOT always independent: on synthetic clips a clip decoded
alone, beside others or in another order gave the same words, times and
probabilities (tests/test_transcribe_batching.py), but on real speech a
one-window file decoded beside another got 34 of 37 segments other than alone
(benchmarks/batch_rows.py, June set). So a batch never mixes files: only a
long file's own windows are batched, in pairs fixed by their position (and decoding), and a
file's words depend on nothing else that is transcribed, nor on the cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..transcript import Segment, Word
from .options import TranscribeOptions
from .reproducible import seeded_call, step_seed

# Clips decoded together. Greedy decoding is one matrix × vector product per
# token for one clip, matrix × matrix for several: at 2-3 clips a batch the
# decoder took 0.54 CPU s per 30-s window instead of 1.1 (the encoder, 0.93,
# does not change). Memory: one engine worker decoding four 30-s clips peaked
# at 716 MB, two at 550, one at 567 (so two cost nothing); with two workers,
# the speaker network and four clips each, `indexer transcribe` reached 1.68 GB,
# over the 1.5 GB goal. A constant: nothing here depends on the machine.
BATCH_CLIPS = 2


@dataclass
class _Stream:
    """One clip on its way through the decoding loop."""

    features: np.ndarray          # (mels, frames) of the whole clip
    frames: int                   # content frames
    seed: int | None = None       # what its temperature fallback samples from (with the seek)
    seek: int = 0                 # frames decoded so far
    segments: list[Segment] = field(default_factory=list)
    last_speech: float = 0.0

    @property
    def done(self) -> bool:
        return self.seek >= self.frames


class BatchDecoder:
    """The decoding loop of faster-whisper's ``WhisperModel.generate_segments``, over a batch of clips."""

    def __init__(self, model, options: TranscribeOptions):
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        self.model = model   # a faster_whisper.WhisperModel
        self.options = options
        self._suppress = get_suppressed_tokens
        o = options
        self.fallback_options = TranscriptionOptions(
            beam_size=o.beam_size, best_of=o.best_of, patience=1, length_penalty=1, repetition_penalty=1,
            no_repeat_ngram_size=0, log_prob_threshold=o.log_prob_threshold,
            no_speech_threshold=o.no_speech_threshold, compression_ratio_threshold=o.compression_ratio_threshold,
            condition_on_previous_text=False, prompt_reset_on_temperature=0.5, temperatures=list(o.temperatures),
            initial_prompt=None, prefix=None, suppress_blank=True, suppress_tokens=[-1],
            without_timestamps=False, max_initial_timestamp=1.0, word_timestamps=o.word_timestamps,
            prepend_punctuations="\"'“¿([{-", append_punctuations="\"'.。,，!！?？:：”)]}、",
            multilingual=False, max_new_tokens=None, clip_timestamps="0", hallucination_silence_threshold=None,
            hotwords=None)

    def tokenizer(self, language: str):
        from faster_whisper.tokenizer import Tokenizer

        return Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual, task="transcribe",
                         language=language)

    def decode(self, clips: list[np.ndarray], language: str, prompt: bool = True,
               on_step=None, seeds: list[int | None] | None = None) -> list[list[Segment]]:
        """The segments of each clip (times relative to the clip), in order.

        Up to ``BATCH_CLIPS`` clips are decoded at once (fewer with beam
        search); when one is done the next takes its place. ``on_step(k, seconds)``: clip ``k`` moved on by
        ``seconds`` of its speech. ``seeds``: each clip's (:mod:`.reproducible`)."""
        from dataclasses import replace

        tokenizer = self.tokenizer(language)
        options = replace(self.fallback_options, suppress_tokens=self._suppress(tokenizer, [-1]))
        extractor = self.model.feature_extractor
        per_frame = extractor.time_per_frame
        waiting = list(range(len(clips)))
        running: list[int] = []
        # The glossary goes to each clip's first 30 seconds, as the sequential
        # loop gives it to a call's first window (without conditioning on
        # previous text, later windows get no prompt).
        glossary = tokenizer.encode(" " + self.options.initial_prompt.strip()) \
            if prompt and self.options.initial_prompt else []
        streams = [None] * len(clips)
        # Beam search already decodes `beam_size` hypotheses a clip: batching
        # them too would multiply the memory (1.34 GB measured for two files of
        # two clips at beam 5) for little speed.
        at_once = max(1, BATCH_CLIPS // max(1, self.options.beam_size))
        while waiting or running:
            while waiting and len(running) < at_once:
                k = waiting.pop(0)
                features = extractor(clips[k])   # made when needed: a long file's clips wait as audio
                streams[k] = _Stream(features, features.shape[-1] - 1, seeds[k] if seeds else None)
                running.append(k)
            before = [streams[k].seek for k in running]
            self._step([streams[k] for k in running], tokenizer, options, glossary)
            for k, seek in zip(running, before):
                stream = streams[k]
                if on_step:
                    on_step(k, (min(stream.seek, stream.frames) - seek) * per_frame)
                if stream.done:
                    stream.features = None   # its memory back
            running = [k for k in running if not streams[k].done]
        return [s.segments for s in streams]

    def _step(self, streams: list[_Stream], tokenizer, options, glossary: list[int]) -> None:
        """One 30-second window of each stream, decoded together."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.transcribe import get_compression_ratio

        model = self.model
        per_frame = model.feature_extractor.time_per_frame
        window = model.feature_extractor.nb_max_frames
        sizes = [min(window, s.frames - s.seek) for s in streams]
        batch = np.stack([pad_or_trim(s.features[:, s.seek:s.seek + n]) for s, n in zip(streams, sizes)])
        encoded = encode_each(model, batch)
        prompts = [model.get_prompt(tokenizer, glossary if s.seek == 0 else []) for s in streams]
        results = model.model.generate(
            encoded, prompts, beam_size=options.beam_size, patience=1, length_penalty=1,
            max_length=model.max_length, return_scores=True, return_no_speech_prob=True,
            suppress_blank=True, suppress_tokens=options.suppress_tokens, max_initial_timestamp_index=50)
        decoded = []
        for i, (stream, result, prompt) in enumerate(zip(streams, results, prompts)):
            tokens = result.sequences_ids[0]
            avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
            compression = get_compression_ratio(tokenizer.decode(tokens).strip())
            if self._needs_fallback(compression, avg_logprob, result.no_speech_prob):
                with seeded_call(step_seed(stream.seed, stream.seek)):   # the same draws, whatever the batch
                    decoded_alone = result if len(streams) == 1 else None
                    result, avg_logprob, _, compression = self._fallback(encoded, i, prompt, tokenizer, options,
                                                                         decoded_alone)
                tokens = result.sequences_ids[0]
            decoded.append((tokens, avg_logprob, compression, result.no_speech_prob))
        windows = []
        for stream, size, (tokens, avg_logprob, _, no_speech) in zip(streams, sizes, decoded):
            if self._silent(avg_logprob, no_speech):   # the sequential loop skips such a step whole
                windows.append(([], stream.seek + size, True))
                continue
            segments, seek, single_ending = model._split_segments_by_timestamps(
                tokenizer=tokenizer, tokens=tokens, time_offset=stream.seek * per_frame, segment_size=size,
                segment_duration=size * per_frame, seek=stream.seek)
            windows.append((segments, seek, single_ending))
        if self.options.word_timestamps:
            self._add_words(streams, windows, sizes, encoded, tokenizer, options)
        for stream, (segments, seek, single_ending), (_, avg_logprob, compression, no_speech) in zip(
                streams, windows, decoded):
            previous = stream.seek
            if self.options.word_timestamps and not single_ending:
                last_end = next((w["end"] for s in reversed(segments) for w in reversed(s.get("words", []))),
                                segments[-1]["end"] if segments else None)   # faster_whisper.utils.get_end
                if last_end is not None and last_end > previous * per_frame:
                    seek = round(last_end * model.frames_per_second)
            stream.seek = max(seek, previous + 1)   # always forward, as the sequential loop
            for s in segments:
                text = tokenizer.decode(s["tokens"])
                if s["start"] == s["end"] or not text.strip():
                    continue
                words = [Word(w["start"], w["end"], w["word"], w["probability"]) for w in s.get("words", [])]
                stream.segments.append(Segment(0, s["start"], s["end"], text.strip(), words, None,
                                               avg_logprob, no_speech, compression))

    def _silent(self, avg_logprob: float, no_speech: float) -> bool:
        """faster-whisper's no-speech skip (off by default: ``no_speech_threshold=None``)."""
        o = self.options
        return (o.no_speech_threshold is not None and no_speech > o.no_speech_threshold
                and not (o.log_prob_threshold is not None and avg_logprob > o.log_prob_threshold))

    def _needs_fallback(self, compression: float, avg_logprob: float, no_speech: float) -> bool:
        o = self.options
        if o.temperatures[1:] == ():
            return False
        looping = o.compression_ratio_threshold is not None and compression > o.compression_ratio_threshold
        unsure = o.log_prob_threshold is not None and avg_logprob < o.log_prob_threshold
        silent = (o.no_speech_threshold is not None and no_speech > o.no_speech_threshold
                  and o.log_prob_threshold is not None and avg_logprob < o.log_prob_threshold)
        return (looping or unsure) and not silent

    def _fallback(self, encoded, row: int, prompt: list[int], tokenizer, options, decoded_alone=None):
        """One clip's window decoded again alone, through faster-whisper's own temperature fallback.

        ``decoded_alone``: the window's decoding at temperature 0 when it was already made alone (a batch
        of one), which the fallback's first step would only make again: a beam-2 decoding of 30 s, 1-3 CPU s
        of each 30-s step that falls back. A row of a larger batch is decoded again (rows are not independent)."""
        from faster_whisper.transcribe import WhisperModel, get_ctranslate2_storage

        alone = get_ctranslate2_storage(np.ascontiguousarray(np.asarray(encoded)[row:row + 1]))
        model = _Replaying(self.model, decoded_alone) if decoded_alone is not None else self.model
        return WhisperModel.generate_with_fallback(model, alone, prompt, tokenizer, options)

    def _add_words(self, streams, windows, sizes, encoded, tokenizer, options) -> None:
        """Word timings: one alignment pass for the batch, then faster-whisper's
        per-window rules on each clip with its own last speech time (so a clip's
        words never depend on the clip beside it in the batch)."""
        from faster_whisper.transcribe import WhisperModel, get_ctranslate2_storage

        text = [[t for s in segments for t in s["tokens"] if t < tokenizer.eot] for segments, _, _ in windows]
        rows = [i for i, tokens in enumerate(text) if tokens]
        if not rows:
            return
        if len(rows) < len(windows):
            encoded = get_ctranslate2_storage(np.ascontiguousarray(np.asarray(encoded)[rows]))
        alignments = self.model.find_alignment(tokenizer, [text[i] for i in rows], encoded, [sizes[i] for i in rows])
        for i, alignment in zip(rows, alignments):
            stream = streams[i]
            stream.last_speech = WhisperModel.add_word_timestamps(
                _Aligned(alignment, self.model.frames_per_second), [windows[i][0]], tokenizer, None, sizes[i],
                options.prepend_punctuations, options.append_punctuations, stream.last_speech)


def encode_each(model, batch: np.ndarray):
    """The encoder's output for a batch of 30-second features, one clip at a time.

    The encoder's self-attention scores are a (clips, heads, 1500, 1500) float array: 72 MB a
    clip for base, 144 MB for a batch of two, at each worker at once. Encoded one at a time,
    the four clips of a four-window stretch of the two-hour file peaked at 842 MB instead of 995;
    the encoder costs the same CPU a clip either way (its matrix products already span 1500
    frames), and its output is the same bit for bit (int8 products are exact, each clip's
    attention its own product): the words do not change. The decoder still runs the batch.
    """
    if len(batch) <= 1:
        return model.encode(batch)
    from faster_whisper.transcribe import get_ctranslate2_storage

    return get_ctranslate2_storage(np.concatenate([np.asarray(model.encode(batch[k:k + 1]))
                                                   for k in range(len(batch))]))


class _Replaying:
    """A faster-whisper ``WhisperModel`` for one ``generate_with_fallback`` call whose first
    decoding (temperature 0: greedy or beam search, no draws) is already known: its CTranslate2
    model gives that result back once instead of decoding it again; everything else is the model's."""

    def __init__(self, whisper_model, first_result):
        self._whisper_model = whisper_model
        self.model = _FirstResult(whisper_model.model, first_result)

    def __getattr__(self, name):
        return getattr(self._whisper_model, name)


class _FirstResult:
    """A CTranslate2 Whisper model whose first ``generate`` without sampling returns a known result."""

    def __init__(self, model, first_result):
        self._model = model
        self._first = first_result

    def __getattr__(self, name):
        return getattr(self._model, name)

    def generate(self, *args, **kwargs):
        if self._first is not None and "sampling_temperature" not in kwargs:
            first, self._first = self._first, None
            return [first]
        return self._model.generate(*args, **kwargs)


class _Aligned:
    """What ``WhisperModel.add_word_timestamps`` needs of its model, with one clip's alignment already made."""

    def __init__(self, alignment: list[dict], frames_per_second: float):
        self._alignment = alignment
        self.frames_per_second = frames_per_second

    def find_alignment(self, *args, **kwargs) -> list[list[dict]]:
        return [self._alignment]
