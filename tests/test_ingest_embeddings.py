"""Ingest keeps the embedding store (search by meaning): a missing or corrupt store is one line for search,
then rebuilt by the next ingest from the transcripts, nothing transcribed again (issue 22, bad input).

Plumbing: the fake engine on real audio files and the fake embedding model."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from helpers import TEST_DATA
from indexer import Archive
from indexer.embeddings import EmbeddingStore
from indexer.ingest import Ingest, IngestOptions
from indexer.testing import FAKE_EMBEDDING_MODEL, FAKE_ENGINE

SPEECH = TEST_DATA / "espeak_fr.wav"


@pytest.fixture
def ingested(tmp_path) -> Path:
    root = tmp_path / "archive"
    (root / "audio").mkdir(parents=True)
    (root / "archive.yaml").write_text(f"language: fr\nengine: {FAKE_ENGINE}\nembeddings: {FAKE_EMBEDDING_MODEL}\n")
    shutil.copy(SPEECH, root / "audio" / "calm.wav")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(SPEECH), "-af", "volume=0.8",
                    str(root / "audio" / "loud.wav")], check=True)  # other samples: other words
    report = ingest(root)
    assert report.counts() == {"transcribed": 2}, report.summary()
    return root


def ingest(root: Path):
    return Ingest(root, IngestOptions(progress=False, workers=1)).run()


def vectors(root: Path) -> dict[str, np.ndarray]:
    store = EmbeddingStore.open(root / "embeddings")
    return {e: store.load_episode(e).vectors for e in store.versions}


def transcripts(root: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (root / "transcripts").glob("*.json")}


def damage_manifest(root: Path) -> None:
    (root / "embeddings" / "store.json").write_text("{not json", encoding="utf-8")


def remove_store(root: Path) -> None:
    shutil.rmtree(root / "embeddings")


def truncate_a_shard(root: Path) -> None:
    shard = sorted((root / "embeddings" / "episodes").glob("*.npz"))[0]
    with open(shard, "r+b") as f:
        f.truncate(shard.stat().st_size // 2)


@pytest.mark.parametrize("damage, said", [
    (remove_store, "no embedding store"),
    (damage_manifest, "embedding store unreadable"),
    (truncate_a_shard, "embedding store unreadable"),
])
def test_a_missing_or_corrupt_store_is_one_line_then_rebuilt_by_the_next_ingest(ingested, damage, said, caplog):
    before, written = vectors(ingested), transcripts(ingested)
    assert set(before) == {"calm", "loud"}
    word = Archive(ingested).transcript("calm").segments[0].text.split()[0].strip(".").lower()
    damage(ingested)

    hits = Archive(ingested).search(word)
    assert hits and len(hits.warnings) == 1 and said in hits.warnings[0] and "\n" not in hits.warnings[0]

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="indexer"):
        report = ingest(ingested)
    assert report.counts().get("transcribed", 0) == 0 and transcripts(ingested) == written  # nothing transcribed
    told = [r.getMessage() for r in caplog.records if "embedding store" in r.getMessage()]
    assert len(told) == 1 and "\n" not in told[0], told
    after = vectors(ingested)
    assert set(after) == set(before) and all(np.array_equal(after[e], before[e]) for e in before)
    again = Archive(ingested).search(word)
    assert not again.warnings and any(h.similarity is not None for h in again)


def test_an_unchanged_archive_embeds_nothing_again(ingested, monkeypatch):
    from indexer.testing import FakeEmbeddingModel

    embedded = []
    original = FakeEmbeddingModel.embed_passages
    monkeypatch.setattr(FakeEmbeddingModel, "embed_passages",
                        lambda self, texts: embedded.extend(texts) or original(self, texts))
    ingest(ingested)
    assert embedded == []
