"""Who speaks when: automatic speaker turns, offline, beside transcription.

The stage needs only the audio and the words, so an archive transcribed
before it existed gets speakers without being transcribed again. Steps 1–4
need only the audio (:func:`hear`), so they run while the words are decoded;
step 5 puts what was heard onto the words (:func:`with_heard`):

1. speech regions from Silero VAD (the one faster-whisper ships, as for
   transcription, with finer pauses), so music and silence get no label;
2. an embedding per 1.5 s window (side by side) from a :class:`SpeakerBackend`
   (by default CAM++ on ONNX Runtime, :mod:`indexer.speakers.campplus_onnx`;
   Resemblyzer's voice encoder, :mod:`indexer.speakers.voice`, on request);
3. average-linkage clustering on cosine similarity with a stop threshold,
   per 10-minute chunk (bounded memory and time on two-hour recordings),
   then a centroid merge over the whole file (one voice split in two
   clusters, or met again in another chunk, is joined), and clusters with
   too little speech (a jingle, a cough) absorbed by the nearest speaker;
4. turns: each moment of speech goes to the window centred nearest to it, so
   overlapping speech goes to the voice that dominates its windows;
5. words: each gets the speaker whose turns cover most of it, and a segment
   spanning a change is split, one segment per speaker (as WhisperX does).

Labels are ``S1``, ``S2``… in order of first appearance. Editors name them
with :func:`indexer.corrections.name_speakers` (an overlay: it survives
re-transcription).

One role per module: ``options``, ``backends`` (and the ``voice`` network),
``clustering``, ``diarization`` (steps 1–4, :func:`diarize`), ``assign`` (step 5, and
:func:`hear` / :func:`with_heard` around it).
"""

from __future__ import annotations

from .assign import (Heard, add_speakers, assign_speakers, hear, heard_for, speaker_of_span, with_heard,
                     without_speakers)
from .backends import (BACKENDS, CamppBackend, ResemblyzerBackend, SpeakerBackend, backend_class,
                       check_backend_installed, load_backend, will_use_torch)
from .clustering import agglomerate, merge_centroids
from .diarization import diarize, diarize_voices
from .options import SR, SpeakerOptions, for_episode
from .prints import VoicePrint

__all__ = [
    "BACKENDS", "SR", "CamppBackend", "Heard", "ResemblyzerBackend", "SpeakerBackend", "SpeakerOptions", "VoicePrint",
    "add_speakers", "agglomerate", "assign_speakers", "backend_class", "check_backend_installed", "diarize",
    "diarize_voices", "for_episode", "hear", "heard_for", "load_backend", "merge_centroids", "speaker_of_span",
    "with_heard", "will_use_torch", "without_speakers",
]
