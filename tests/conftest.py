# ---------------------------------------------------------------------------
# Search fixtures (issue 6: index, search, api). A small French archive built
# from hand-written transcripts, with sidecars and short WAV files.
# ---------------------------------------------------------------------------
import wave as _wave

import pytest as _pytest


SEARCH_EPISODES = {
    # episode id: (sidecar yaml or None, has audio, [(start, end, text, speaker, flags)])
    "2010/cm-table-ronde": ("""
title: "Table ronde : les community managers"
date: 2010-11-05
speakers:
  - {name: Alice Martin, start: 0, end: 30}
  - {name: Bruno Dupont, start: 30, end: 60}
chapters:
  - {start: 0, title: Introduction}
  - {start: 30, title: Débat sur l'animation}
""", True, [
        (0, 5, "Bonjour à tous, aujourd'hui on parle des réseaux sociaux.", None, []),
        (5, 10, "L'engagement d’une communauté, c'est le travail du community manager.", None, []),
        (10, 15, "Qu'il soit animateur ou modérateur, il doit animer la communauté jusqu'à tard.", None, []),
        (15, 20, "Suivez @owni et le hashtag #cm pour les événements de la semaine.", None, []),
        (20, 25, "La visibilité des marques sur les réseaux", None, []),
        (25, 30, "sociaux reste un vrai défi pour les entreprises.", None, []),
        (30, 35, "Je pense vraiment que les communautés se gèrent au quotidien.", None, []),
        (35, 40, "<script>alert(1)</script> & <b>gras</b> n'est pas du texte normal.", None, []),
        (40, 45, "Merci d'avoir regardé cette vidéo sur les réseaux sociaux.", None, ["phantom", "suspect"]),
    ]),
    "2011/owni-debat": ("""
title: "Débat OWNI : journalisme et réseaux"
date: 2011-03-15
speakers: [Claire Petit]
""", True, [
        (0, 6, "Le journalisme de données chez Owni, c'est une nouvelle visibilite.", None, []),
        (6, 12, "Les réseaux sociaux changent le métier de journaliste.", None, []),
        (12, 18, "Une communauté de lecteurs très engagée commente chaque article.", None, []),
        (18, 24, "Les evenements en direct attirent le public.", None, []),
    ]),
    "2012/sans-sidecar": (None, False, [
        (0, 5, "Sociaux mais pas réseaux : ici l'ordre des mots est inversé.", "Denis", []),
        (5, 10, "Un community manager anime la communauté des fans.", "Denis", []),
    ]),
}


def _write_wav(path, seconds, rate=8000):
    import math

    path.parent.mkdir(parents=True, exist_ok=True)
    frames = bytearray()
    for i in range(int(seconds * rate)):
        value = int(8000 * math.sin(2 * math.pi * 440 * i / rate))
        frames += value.to_bytes(2, "little", signed=True)
    with _wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def search_transcript(episode_id, rows, audio_path=None):
    from indexer.transcript import Segment, Transcript

    segments = [Segment(id=i, start=float(s), end=float(e), text=text, speaker=speaker, flags=list(flags))
                for i, (s, e, text, speaker, flags) in enumerate(rows)]
    return Transcript(episode_id=episode_id, audio_path=audio_path or f"{episode_id}.wav",
                      audio_sha256="0" * 64, duration=float(rows[-1][1]), language="fr", model="test",
                      engine="test", options={}, segments=segments, created="2026-01-01T00:00:00")


def build_search_archive(root, episodes=None):
    """Write audio, sidecars and transcripts of ``episodes`` under ``root`` (no index)."""
    from indexer.transcript import save_transcript

    for episode_id, (sidecar, has_audio, rows) in (episodes or SEARCH_EPISODES).items():
        audio = root / "audio" / f"{episode_id}.wav"
        if has_audio:
            _write_wav(audio, rows[-1][1] + 2)
        if sidecar:
            audio.with_suffix(".yaml").parent.mkdir(parents=True, exist_ok=True)
            audio.with_suffix(".yaml").write_text(sidecar, encoding="utf-8")
        save_transcript(search_transcript(episode_id, rows), root / "transcripts" / f"{episode_id}.json")
    return root


@_pytest.fixture
def search_archive(tmp_path):
    """An indexed sample archive (``indexer.Archive``) of three French episodes."""
    from indexer import Archive

    archive = Archive(build_search_archive(tmp_path / "archive"))
    archive.reindex(progress=False)
    return archive

# --- end of search fixtures ----------------------------------------------------


# ---------------------------------------------------------------------------
# Real-pipeline fixtures: the bundled sample archive, transcribed once per
# test session with the real offline weights (shared by transcription,
# search-recall, batch and notebook tests).
# ---------------------------------------------------------------------------
import re as _re
import shutil as _shutil
from pathlib import Path as _Path

REPO = _Path(__file__).resolve().parent.parent
SAMPLE_ARCHIVE = REPO / "archive"
TEST_DATA = _Path(__file__).resolve().parent / "data"


def normalise_words(text):
    """Lowercase, unify apostrophes, drop punctuation: the WER convention of the benchmarks."""
    return _re.sub(r"[^\w'\- ]+", " ", text.lower().replace("’", "'")).split()


def copy_sample_archive(destination):
    """The sample archive's inputs only (audio, sidecars, settings, references)."""
    _shutil.copytree(SAMPLE_ARCHIVE, destination,
                     ignore=_shutil.ignore_patterns("transcripts", "index", "runs", ".indexer", "corrections"))
    return destination


@_pytest.fixture(scope="session")
def ingested_sample(tmp_path_factory):
    """A copy of the sample archive after one real ingest (transcripts + index). Do not modify it."""
    from indexer.ingest import Ingest, IngestOptions

    root = copy_sample_archive(tmp_path_factory.mktemp("sample") / "archive")
    report = Ingest(root, IngestOptions(progress=False)).run()
    assert not report.failed, report.summary()
    return root


@_pytest.fixture
def sample_copy(tmp_path, ingested_sample):
    """A private, already ingested copy of the sample archive that a test may change."""
    destination = tmp_path / "archive"
    _shutil.copytree(ingested_sample, destination)
    return destination


# ---------------------------------------------------------------------------
# Notebooks: each one executed once per test session (nbclient, as papermill
# would: the values below go in a cell after the one tagged `parameters`), on
# the ingested sample archive. tests/test_notebooks.py checks the results and
# tests/test_browser.py opens the executed copies in a real JupyterLab.
# ---------------------------------------------------------------------------
import hashlib as _hashlib
from collections import Counter as _Counter
from dataclasses import dataclass as _dataclass

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
NOTEBOOK_CELL_TIMEOUT = 600  # a hang guard, not a speed check


def archive_fingerprint(root: _Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def words_heard(root: _Path) -> tuple[str, str]:
    """(the most frequent long word, a phrase of two long words in a row) of the
    transcripts: queries that find something whatever the model heard."""
    from indexer import Archive

    segments = [s.text for t in Archive(root).transcripts() for s in t.segments]
    tokens = [_re.findall(r"[^\W\d_]{7,}", text.lower()) for text in segments]
    word = _Counter(w for ws in tokens for w in ws).most_common(1)[0][0]
    pairs = [_re.search(r"\b([^\W\d_]{7,}) ([^\W\d_]{7,})\b", text.lower()) for text in segments]
    phrase = next(m for m in pairs if m)
    return word, f'"{phrase[1]} {phrase[2]}"'


def notebook_parameters(name: str, archive: _Path) -> dict:
    word, phrase = words_heard(archive)
    # Two letters swapped (not a doubled letter dropped: the light stemmer folds those): in no transcript.
    i = next(i for i in range(2, len(word) - 1) if word[i] != word[i + 1])
    misheard = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    extra = {"01-search.ipynb": {"QUERY": word, "PHRASE": phrase, "MISHEARD": misheard},
             "03-archive-overview.ipynb": {"TERMS": ["community manager", word]}}
    return {"ARCHIVE": str(archive), **extra.get(name, {})}


def parameters_cell(nb) -> int:
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged 'parameters', found {len(tagged)}"
    return tagged[0]


def with_parameters(nb, **values):
    """A copy of ``nb`` with ``values`` assigned in a cell right after the parameters cell."""
    import nbformat

    nb = nbformat.from_dict(nb)
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(parameters_cell(nb) + 1, cell)
    return nb


@_dataclass
class ExecutedNotebook:
    name: str
    nb: object                 # the executed nbformat notebook, outputs included
    path: _Path                # where it was saved
    failure: str | None        # the cell error, if execution stopped
    archive_changed: bool      # did it change the archive it was given?


@_pytest.fixture(scope="session")
def executed_notebooks(ingested_sample, tmp_path_factory) -> dict[str, ExecutedNotebook]:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    folder = tmp_path_factory.mktemp("executed-notebooks")
    done = {}
    for path in NOTEBOOKS:
        before = archive_fingerprint(ingested_sample)
        nb = with_parameters(nbformat.read(path, as_version=4), **notebook_parameters(path.name, ingested_sample))
        failure = None
        try:
            NotebookClient(nb, timeout=NOTEBOOK_CELL_TIMEOUT, kernel_name="python3",
                           resources={"metadata": {"path": str(folder)}}).execute()
        except CellExecutionError as e:
            failure = str(e)[-3000:]
        nbformat.write(nb, folder / path.name)
        done[path.name] = ExecutedNotebook(path.name, nb, folder / path.name, failure,
                                           archive_fingerprint(ingested_sample) != before)
    return done


# ---------------------------------------------------------------------------
# Markers for the inner loop (`make test-fast` leaves these out; `make test`
# and CI run everything): `weights` for tests that run the real Whisper
# weights (directly or through the ingested sample archive), `browser` for
# the headless Chromium tests.
# ---------------------------------------------------------------------------
WEIGHTS_FIXTURES = {"ingested_sample", "sample_copy", "executed_notebooks", "converted", "openai_model"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if WEIGHTS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(_pytest.mark.weights)
        if item.path.name == "test_browser.py":
            item.add_marker(_pytest.mark.browser)
