"""The Whoosh index on disk: schema version, incremental updates, rebuilds, locks."""

import json
import shutil
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from helpers.archives import build_search_archive, SEARCH_EPISODES, search_transcript
from indexer import Archive
from indexer.archive import EpisodeMeta, SpeakerTurn
from indexer.corrections import with_speakers
from indexer.errors import IndexSchemaError, LockError
from indexer.index import META_FILE, SCHEMA_VERSION, IndexEntry, IndexOptions, TranscriptIndex, common_terms


def stored_docs(index, episode_id):
    s = index.searcher()
    return sorted((f["segment"], f["text"], f.get("speaker"), f["start"])
                  for n in s.document_numbers(episode=episode_id)
                  for f in [s.stored_fields(n)] if "segment" in f)


def hit_keys(archive, query, **kwargs):
    return [(h.episode, h.segment_id, round(h.score, 6)) for h in archive.search(query, **kwargs, match="words")]


def test_reindex_indexes_every_transcript(search_archive):
    index = search_archive.index
    assert index.episode_ids() == sorted(SEARCH_EPISODES)
    assert index.doc_count() == sum(len(rows) for _, _, rows in SEARCH_EPISODES.values())
    meta = json.loads((index.index_dir / META_FILE).read_text())
    assert meta["schema_version"] == SCHEMA_VERSION


def test_transcript_without_audio_or_sidecar_uses_its_own_fields(search_archive):
    (hit,) = search_archive.search("fans", match="words")
    assert hit.episode == "2012/sans-sidecar"
    assert hit.title == "2012/sans-sidecar" and hit.date == "" and hit.speaker == "Denis"


def test_speaker_comes_from_segment_else_from_sidecar_turns(search_archive):
    by_segment = {h.segment_id: h.speaker for h in search_archive.search("episode:2010/cm-table-ronde", limit=50)}
    assert by_segment[0] == "Alice Martin" and by_segment[6] == "Bruno Dupont"
    (hit,) = search_archive.search("lecteurs", match="words")  # single sidecar speaker
    assert hit.speaker == "Claire Petit"


def test_chapter_and_metadata_are_attached(search_archive):
    (hit,) = search_archive.search("quotidien", match="words")
    assert hit.chapter == "Débat sur l'animation"
    assert hit.title == "Table ronde : les community managers" and hit.date == "2010-11-05"
    assert hit.audio_path == search_archive.layout.audio_dir / "2010/cm-table-ronde.wav"


def test_update_episode_touches_only_that_episode(search_archive):
    index = search_archive.index
    others = {e: stored_docs(index, e) for e in ("2010/cm-table-ronde", "2012/sans-sidecar")}
    new = search_transcript("2011/owni-debat", [
        (0, 6, "Le datajournalisme remplace tout.", None, []),
        (6, 12, "Plus rien sur les réseaux.", None, []),
    ])
    meta = EpisodeMeta(title="Débat OWNI (corrigé)", speakers=("Claire Petit",))
    count = index.update_episode(IndexEntry(with_speakers(new, meta), meta))
    assert count == 2
    assert stored_docs(index, "2011/owni-debat") == [(0, "Le datajournalisme remplace tout.", "Claire Petit", 0.0),
                                                    (1, "Plus rien sur les réseaux.", "Claire Petit", 6.0)]
    assert {e: stored_docs(index, e) for e in others} == others
    assert [h.title for h in search_archive.search("datajournalisme", match="words")] == ["Débat OWNI (corrigé)"]
    assert search_archive.search("commente", match="words") == []  # the old text is gone
    assert index.episode_ids() == sorted(SEARCH_EPISODES)


def test_delete_episode_removes_only_that_episode(search_archive):
    index = search_archive.index
    before = index.doc_count()
    kept = stored_docs(index, "2010/cm-table-ronde")
    index.delete_episode("2011/owni-debat")
    assert index.episode_ids() == ["2010/cm-table-ronde", "2012/sans-sidecar"]
    assert index.doc_count() == before - len(SEARCH_EPISODES["2011/owni-debat"][2])
    assert stored_docs(index, "2010/cm-table-ronde") == kept
    assert search_archive.search("lecteurs", match="words") == []


def test_searcher_is_cached_and_refreshed_when_the_index_changes(search_archive):
    index = search_archive.index
    first = index.searcher()
    assert index.searcher() is first
    index.update_episode(IndexEntry(search_transcript("2013/nouveau", [(0, 5, "Un podcast tout neuf.", None, [])])))
    assert index.searcher() is not first
    assert [h.episode for h in search_archive.search("podcast", match="words")] == ["2013/nouveau"]
    # Deleting from an unchanged segment must show too (Searcher.refresh() misses it).
    index.delete_episode("2011/owni-debat")
    assert search_archive.search("lecteurs", match="words") == []
    assert index.doc_count() == sum(len(r) for _, _, r in SEARCH_EPISODES.values()) - 4 + 1


def test_rebuild_with_two_writer_processes(tmp_path):
    def rows(i):
        return [(k, k + 1, f"segment {k} de l'épisode {i} sur les réseaux sociaux", None, []) for k in range(30)]

    items = [IndexEntry(search_transcript(f"ep{i}", rows(i))) for i in range(20)]
    for options in (IndexOptions(procs=2, multisegment=True), IndexOptions(procs=2, multisegment=False),
                    IndexOptions(procs=0, sample_segments=100)):
        index = TranscriptIndex.build(tmp_path / "index", items, options, progress=False)
        assert index.doc_count() == 600 and len(index.episode_ids()) == 20
        assert sum(1 for _ in index.searcher().documents(episode="ep7")) == 30


def test_update_many_commits_in_batches(tmp_path):
    index = TranscriptIndex.open(tmp_path / "index", IndexOptions(commit_every=2))
    items = [IndexEntry(search_transcript(f"ep{i}", [(0, 5, f"épisode numéro {i} sur les réseaux", None, [])]))
             for i in range(5)]
    assert index.update_episodes(items) == 5
    assert index.episode_ids() == [f"ep{i}" for i in range(5)]
    assert index.doc_count() == 5


def test_reindex_gives_the_same_results(search_archive):
    queries = ["réseaux", '"réseaux sociaux"', "communauter~", "speaker:dupont", "date:2011", "owni"]
    before = {q: hit_keys(search_archive, q) for q in queries}
    search_archive.reindex(progress=False)
    assert {q: hit_keys(search_archive, q) for q in queries} == before
    assert Archive(search_archive.root).search("réseaux", match="words")  # a fresh object sees the new index


def test_failed_rebuild_keeps_the_old_index(search_archive):
    def broken():
        yield IndexEntry(search_transcript("x", [(0, 1, "début", None, [])]))
        raise RuntimeError("disk on fire")

    index = search_archive.index
    with pytest.raises(RuntimeError):
        index.rebuild(broken(), progress=False)
    assert [h.segment_id for h in search_archive.search("lecteurs", match="words")] == [2]
    assert not [p for p in search_archive.root.iterdir() if p.name.startswith(".index-")]


def test_older_schema_is_refused_with_a_hint(search_archive):
    meta_path = search_archive.layout.index_dir / META_FILE
    meta_path.write_text(json.dumps({"schema_version": SCHEMA_VERSION - 1}))
    with pytest.raises(IndexSchemaError, match="reindex with `indexer reindex --archive ARCHIVE`"):
        Archive(search_archive.root).search("réseaux", match="words")
    Archive(search_archive.root).reindex(progress=False)  # reindex always works
    assert Archive(search_archive.root).search("réseaux", match="words")


def test_no_index_yet(tmp_path):
    archive = Archive(build_search_archive(tmp_path / "archive"))
    with pytest.raises(IndexSchemaError, match="no index yet: run `indexer ingest --archive ARCHIVE` or `indexer reindex`"):
        archive.search("réseaux", match="words")


def test_open_creates_an_empty_index_for_ingest(tmp_path):
    index = TranscriptIndex.open(tmp_path / "index")
    assert index.doc_count() == 0 and index.episode_ids() == []
    index.update_episode(IndexEntry(search_transcript("a", [(0, 1, "Les réseaux sociaux.", None, [])])))
    assert TranscriptIndex.open(tmp_path / "index").doc_count() == 1


def test_fast_bm25f_scores_like_bm25f(search_archive):
    from whoosh import query, scoring

    from indexer.index import FastBM25F

    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(search_archive.layout.index_dir))
    q = query.Or([query.Term("text", "reseau"), query.Term("text", "comunaut"), query.Term("pairs", "reseau+social")])
    with ix.searcher(weighting=scoring.BM25F()) as slow, ix.searcher(weighting=FastBM25F()) as fast:
        expected = [(h.docnum, round(h.score, 9)) for h in slow.search(q, limit=None)]
        assert [(h.docnum, round(h.score, 9)) for h in fast.search(q, limit=None)] == expected
        assert len(expected) > 5


def test_the_schema_is_pickled_under_the_package_name_only(tmp_path):
    """Whoosh pickles the schema into the index. Its classes are named ``indexer.index.<Class>``
    (as when indexer/index.py was one module), never after the file of the package they
    live in: a class moved between files must not make the indexes on disk unreadable."""
    import pickle
    import pickletools

    from indexer.index import build_schema

    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        data = pickle.dumps(build_schema({"reseau", "social"}), protocol)
        strings = [arg for op, arg, _ in pickletools.genops(data) if isinstance(arg, str) and "indexer" in arg]
        assert strings and all(s in ("indexer.index", ) or s.startswith("indexer.index ") for s in strings), strings
        schema = pickle.loads(data)
        assert schema["pairs"].common == {"reseau", "social"} and schema["pairs"].text_field is schema["text"]
        assert schema["text"].analyses("Les réseaux sociaux") == [(1, "reseau"), (2, "social")]
        assert [t.text for t in schema["chapter"].analyzer("l'engagement")] == ["engag"]
    index = TranscriptIndex.build(tmp_path / "index", [IndexEntry(search_transcript("a", [(0, 1, "bonjour", None, [])]))],
                                  progress=False)
    toc = b"".join(p.read_bytes() for p in index.index_dir.glob("*.toc"))
    assert b"indexer.index" in toc and b"indexer.index.fields" not in toc and b"indexer.index.analysis" not in toc


def test_common_terms_are_chosen_from_the_archive():
    texts = ["les réseaux sociaux"] * 10 + [f"mot{i} rare" for i in range(990)]
    assert common_terms(texts, share=0.005) == {"reseau", "social", "rare"}


HOLD_LOCK = textwrap.dedent("""
    import sys
    from whoosh import index
    writer = index.open_dir(sys.argv[1]).writer()
    writer.add_document(episode="zombie", text="jamais commité")
    print("locked", flush=True)
    sys.stdin.read()  # holds the lock until the test kills it (or closes stdin)
""")


def test_a_killed_writer_leaves_no_stale_lock(search_archive):
    """Whoosh locks with fcntl.flock: the kernel drops the lock when its owner dies."""
    index_dir = search_archive.layout.index_dir
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(index_dir)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        busy = TranscriptIndex.open(index_dir, IndexOptions(lock_timeout=0.2))
        with pytest.raises(LockError, match="another process is writing the index"):
            busy.delete_episode("2012/sans-sidecar")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    index = TranscriptIndex.open(index_dir, IndexOptions(lock_timeout=0.2))
    assert index.delete_episode("2012/sans-sidecar") == 3  # two segments and the episode
    assert "zombie" not in index.episode_ids()
    assert search_archive.search("lecteurs", match="words")


def test_an_index_is_not_discarded_under_a_live_writer(search_archive):
    """discard_index takes the lock Whoosh's writers hold (it locked a file no writer takes until issue 13)."""
    from indexer.index import discard_index

    index_dir = search_archive.layout.index_dir
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(index_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        before = sorted(p.name for p in index_dir.iterdir())
        with pytest.raises(LockError, match="another process is writing the index"):
            discard_index(index_dir)
        assert sorted(p.name for p in index_dir.iterdir()) == before
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_whoosh_reloaded_imports_cleanly_on_this_python():
    code = ("import whoosh.index, whoosh.fields, whoosh.qparser, whoosh.highlight, whoosh.analysis, "
            "whoosh.lang.snowball.french, whoosh.writing, whoosh.searching, whoosh.multiproc; "
            "import indexer.index, indexer.search")
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_index_options_are_not_mutated():
    options = IndexOptions()
    assert replace(options, procs=2).procs == 2 and options.procs == 0
    with pytest.raises(Exception):
        options.procs = 3


def test_speaker_turns_used_when_segment_has_none(tmp_path):
    transcript = search_transcript("t", [(0, 5, "premier tour de parole", None, []),
                                         (5, 10, "second tour de parole", None, []),
                                         (10, 15, "tour forcé", "Zoé", [])])
    meta = EpisodeMeta(title="T", speakers=("Ana", "Ben"),
                       turns=(SpeakerTurn("Ana", 0, 5), SpeakerTurn("Ben", 5, 15)))
    index = TranscriptIndex.open(tmp_path / "index")
    index.update_episode(IndexEntry(with_speakers(transcript, meta), meta))  # as effective_episode gives it
    assert [d[2] for d in stored_docs(index, "t")] == ["Ana", "Ben", "Zoé"]


@pytest.mark.parametrize("left", ["new and old", "old only"])
def test_recover_index_puts_back_an_index_when_a_rebuild_was_killed_while_swapping(search_archive, left):
    """Killed between the swap's two renames: no index, its new one (complete) or the old one beside it."""
    from indexer.index import recover_index

    index_dir = search_archive.layout.index_dir
    search_archive.index.close()
    dead = "999999999-0badc0de"  # no such pid
    old, new = index_dir.parent / f".index-old-{dead}", index_dir.parent / f".index-rebuild-{dead}"
    if left == "new and old":
        shutil.copytree(index_dir, new)
    index_dir.rename(old)
    assert recover_index(index_dir) == (1 if left == "new and old" else 0)
    assert not old.exists() and not new.exists()
    assert [h.segment_id for h in Archive(search_archive.root).search("lecteurs", match="words")] == [2]
