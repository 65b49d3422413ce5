"""The CAM++ network traced and frozen for speed embeds real speech as the eager network does."""

from __future__ import annotations

import numpy as np
import pytest

from indexer import audio
from indexer.speakers.campplus import CamppEncoder, fbank

pytestmark = pytest.mark.weights


def test_the_traced_network_gives_the_eager_networks_embeddings_on_real_speech():
    from helpers import TEST_DATA

    samples = audio.decode(TEST_DATA / "voices" / "june-a.opus")
    # Windows of several lengths (the trace was made at 1.5 s): 0.6 s, 1.5 s, 2.3 s and 7 s.
    windows = [samples[a:a + n] for a, n in ((0, 9_600), (16_000, 24_000), (48_000, 36_800), (80_000, 112_000))]
    features = [fbank(w) for w in windows]
    traced, eager = CamppEncoder(), CamppEncoder(optimise=False)
    assert type(traced.model) is not type(eager.model)          # the optimisation is in use
    same = np.sum(traced.embed_features(features) * eager.embed_features(features), axis=1)
    assert np.all(same > 0.9999)
