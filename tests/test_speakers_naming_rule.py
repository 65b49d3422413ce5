"""The naming rule of the voice library: a voice not in the library gets no name.

A label is named only after its most alike known voice, above the calibrated
threshold and clearly ahead of the second most alike voice (the margin). The
first tests use deterministic prints; the last ones the real CAM++ weights on
two real French voices (tests/data/voices), asserting who is named, never scores.
"""

from __future__ import annotations

import numpy as np
import pytest

from indexer import speakers
from indexer.speakers.naming import NamingOptions, match_voices, naming_options
from indexer.speakers.prints import VoicePrint, normalise

RULE = NamingOptions(threshold=0.65, conflict=0.25, min_seconds=3.0, margin=0.15)


def voice(*weights: float, seconds: float = 30.0) -> VoicePrint:
    """A print along the given axes (4 dimensions)."""
    return VoicePrint(normalise(np.array([*weights, *[0.0] * (4 - len(weights))], np.float32)), seconds)


def names(found: dict) -> dict[str, str]:
    return {label: name for label, (name, _) in found.items()}


def test_a_voice_between_two_known_voices_gets_no_name():
    """Alike enough to both (above the threshold) but not clearly one of them: an S-label."""
    library = {"Ana": [voice(1, 0)], "Bea": [voice(0, 1)]}
    between = voice(1, 0.9)            # 0.74 to Ana, 0.67 to Bea
    clear = voice(1, 0.3)              # 0.96 to Ana, 0.29 to Bea
    assert match_voices({"S1": between}, library, RULE) == {}
    assert names(match_voices({"S1": clear}, library, RULE)) == {"S1": "Ana"}


def test_a_label_never_gets_its_second_best_voice():
    """S2 is most like Ana, whom S1 matches better: S2 keeps its S-label rather than take Bea."""
    library = {"Ana": [voice(1, 0, 0)], "Bea": [voice(0.5, 0, 1)]}
    first, second = voice(1, 0.05), voice(1, 0.25, 0.4)
    found = names(match_voices({"S1": first, "S2": second}, library, NamingOptions(0.5, 0.25, 3.0, 0.0)))
    assert found == {"S1": "Ana"}


def test_a_name_the_editor_gave_in_the_episode_still_competes():
    """Ana was named by hand in this episode: another label most like Ana is not given Bea instead."""
    library = {"Ana": [voice(1, 0)], "Bea": [voice(0.6, 0.8)]}
    label = voice(1, 0.2)                                  # 0.98 to Ana, 0.75 to Bea
    assert match_voices({"S2": label}, library, NamingOptions(0.5, 0.25, 3.0, 0.0), given={"Ana"}) == {}
    assert names(match_voices({"S2": label}, library, NamingOptions(0.5, 0.25, 3.0, 0.0))) == {"S2": "Ana"}


def test_campp_names_need_a_margin_and_a_calibrated_threshold():
    options = naming_options("campp")
    # Tune set: two people up to 0.59 alike, one person at least 0.69 (benchmarks/voices.py).
    assert 0.59 < options.threshold < 0.69
    assert options.margin > 0


# --- real weights, real voices -------------------------------------------------------------------

def telephone(samples: np.ndarray) -> np.ndarray:
    """300–3400 Hz, 8 kHz µ-law and back to 16 kHz (ffmpeg): the channel that makes voices most alike."""
    import subprocess

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    law = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "-",
                          "-af", "highpass=f=300,lowpass=f=3400", "-ar", "8000", "-c:a", "pcm_mulaw", "-f", "wav",
                          "-"], input=pcm, capture_output=True, check=True).stdout
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", "-", "-ar", "16000", "-f", "s16le", "-"],
                         input=law, capture_output=True, check=True).stdout
    return np.frombuffer(out, "<i2").astype(np.float32) / 32768


@pytest.fixture(scope="module")
def prints(tmp_path_factory):
    """One print per clip on the telephone (each clip is one person alone): june-a, june-b, armelle-a,
    armelle-b. On the phone two women are most alike (the benchmark's highest pair of two people)."""
    from helpers import TEST_DATA, write_samples as write_wav
    from indexer import audio

    backend = speakers.load_backend(speakers.SpeakerOptions())
    folder = tmp_path_factory.mktemp("naming-rule")
    found = {}
    for clip in ("june-a", "june-b", "armelle-a", "armelle-b"):
        samples = telephone(audio.decode(TEST_DATA / "voices" / f"{clip}.opus"))
        path = write_wav(folder / f"{clip}.wav", samples)
        _, by_label = speakers.diarize_voices(path, len(samples) / 16_000, speakers.SpeakerOptions(), backend)
        assert len(by_label) == 1, clip
        found[clip] = next(iter(by_label.values()))
    return found


@pytest.mark.weights
def test_a_voice_never_named_gets_no_name_with_the_real_weights(prints):
    """Only June is known: Armelle, on the same telephone line, keeps her S-label; June is named.
    (The first rule, threshold 0.5 and no margin, named Armelle "June" here.)"""
    library = {"June": [prints["june-a"]]}
    # Each in an episode of her own (in one episode June would take the name first: one label per name).
    assert match_voices({"S1": prints["armelle-b"]}, library, naming_options("campp")) == {}
    assert names(match_voices({"S1": prints["june-b"]}, library, naming_options("campp"))) == {"S1": "June"}


@pytest.mark.weights
def test_two_known_voices_are_each_named_with_the_real_weights(prints):
    library = {"June": [prints["june-a"]], "Armelle": [prints["armelle-a"]]}
    found = names(match_voices({"S1": prints["armelle-b"], "S2": prints["june-b"]}, library,
                               naming_options("campp")))
    assert found == {"S1": "Armelle", "S2": "June"}
