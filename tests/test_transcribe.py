"""Transcription with the real offline weights: engines, accuracy, timing, long files, bad input."""

import json
import subprocess
from dataclasses import replace

import jiwer
import numpy as np
import pytest
from click.testing import CliRunner

from helpers import normalise_words, SAMPLE_ARCHIVE, TEST_DATA
from indexer import audio
from indexer.archive import ArchiveLayout
from indexer.cli import main
from indexer.errors import AudioError, EngineError
from indexer.transcribe import PRESETS, TranscribeOptions, iter_windows, load_engine, preset, transcribe_file
from indexer.transcript import load_transcript

EPISODES = sorted(p.relative_to(SAMPLE_ARCHIVE / "reference").with_suffix("").as_posix()
                  for p in (SAMPLE_ARCHIVE / "reference").rglob("*.txt"))


AUDIO = {ArchiveLayout(SAMPLE_ARCHIVE).episode_for(p).id: p for p in ArchiveLayout(SAMPLE_ARCHIVE).audio_files()}


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(" ".join(normalise_words(reference)), " ".join(normalise_words(hypothesis)))


def reference_sentences(episode_id):
    return json.loads((SAMPLE_ARCHIVE / "reference" / f"{episode_id}.json").read_text())["sentences"]


def test_sample_archive_is_complete():
    assert len(EPISODES) >= 4
    for episode_id in EPISODES:
        sentences = reference_sentences(episode_id)
        assert sentences and all(s["end"] > s["start"] for s in sentences)


@pytest.mark.parametrize("episode_id", EPISODES)
def test_accuracy_on_natural_french(ingested_sample, episode_id):
    """Kokoro/Pico voices: base int8 greedy stays under 20 % WER (measured ~10-13 %)."""
    transcript = load_transcript(ingested_sample / "transcripts" / f"{episode_id}.json")
    reference = (SAMPLE_ARCHIVE / "reference" / f"{episode_id}.txt").read_text(encoding="utf-8")
    assert wer(reference, transcript.text) < 0.20
    assert transcript.language == "fr" and transcript.engine == "faster-whisper" and transcript.model == "base"


@pytest.mark.parametrize("episode_id", EPISODES)
def test_word_timestamps_sit_on_the_speech(ingested_sample, episode_id):
    transcript = load_transcript(ingested_sample / "transcripts" / f"{episode_id}.json")
    words = transcript.words
    assert words and all(0 <= w.start <= w.end <= transcript.duration + 0.05 for w in words)
    assert all(a.start <= b.start + 0.01 for a, b in zip(words, words[1:]))
    sentences = reference_sentences(episode_id)
    # Every spoken sentence has words inside it, and no word falls in a long silence.
    for sentence in sentences:
        assert any(sentence["start"] - 0.5 <= w.start <= sentence["end"] + 0.5 for w in words), sentence["text"]
    spans = [(s["start"] - 1.0, s["end"] + 1.0) for s in sentences]
    outside = [w for w in words if not any(a <= w.start <= b for a, b in spans)]
    assert len(outside) <= 0.02 * len(words)


def first_word_offsets(transcript, sentences):
    """|start of the first word at or after each sentence start - sentence start|."""
    offsets = []
    for sentence in sentences:
        candidates = [w.start for w in transcript.words if w.start >= sentence["start"] - 1.0]
        if candidates:
            offsets.append(abs(min(candidates) - sentence["start"]))
    return offsets


@pytest.mark.weights
def test_long_recording_in_windows_keeps_time(tmp_path):
    """Two episodes joined into one three-minute file, decoded 40 s at a time:
    cuts land in silences and word times in the last quarter are as good as in
    the first. (A few windows prove the windowing as well as hours of them;
    the three-hour file is benchmarks/long_file.py.)"""
    parts, sentences, offset = [], [], 0.0
    for episode_id in EPISODES[:2]:
        samples = audio.decode(AUDIO[episode_id])
        parts.append(samples)
        sentences += [{**s, "start": s["start"] + offset, "end": s["end"] + offset}
                      for s in reference_sentences(episode_id)]
        offset += len(samples) / audio.SAMPLE_RATE
    joined = tmp_path / "plateau.wav"
    pcm = (np.concatenate(parts) * 32767).astype("<i2").tobytes()
    subprocess.run(["ffmpeg", "-v", "error", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "-", str(joined)],
                   input=pcm, check=True)

    options = TranscribeOptions(window_seconds=40)
    windows = list(iter_windows(joined, offset, options))
    assert len(windows) >= offset // 40 >= 4
    assert max(len(w.samples) for w in windows) <= 70 * audio.SAMPLE_RATE  # bounded memory
    ends = [w.offset + len(w.samples) / audio.SAMPLE_RATE for w in windows]
    assert all(abs(end - w.offset) < 0.01 for end, w in zip(ends, windows[1:]))  # contiguous
    spoken = [(s["start"], s["end"]) for s in sentences]
    for end in ends[:-1]:  # every cut falls outside the speech (with the VAD's padding)
        assert not any(a + 0.2 < end < b - 0.2 for a, b in spoken), end

    transcript = transcribe_file(joined, options)
    reference = " ".join(s["text"] for s in sentences)
    assert wer(reference, transcript.text) < 0.20
    quarter = offset / 4
    first = first_word_offsets(transcript, [s for s in sentences if s["start"] < quarter])
    last = first_word_offsets(transcript, [s for s in sentences if s["start"] > 3 * quarter])
    assert np.median(first) < 0.6 and np.median(last) < 0.6
    assert np.median(last) < np.median(first) + 0.3  # no drift


@pytest.fixture(scope="module")
def espeak_clip():
    return TEST_DATA / "espeak_fr.wav"


@pytest.mark.weights
def test_both_engines_agree_through_the_pipeline(espeak_clip):
    """Same windows, same VAD, same settings: the same words (float32 so that
    the CTranslate2 and PyTorch arithmetic match)."""
    options = TranscribeOptions(compute_type="float32", temperatures=(0.0,))
    fast = transcribe_file(espeak_clip, options)
    slow = transcribe_file(espeak_clip, replace(options, engine="openai-whisper"))
    assert normalise_words(fast.text) == normalise_words(slow.text)
    assert slow.engine == "openai-whisper" and fast.engine == "faster-whisper"
    for a, b in zip(fast.words, slow.words):
        assert abs(a.start - b.start) < 0.2


@pytest.mark.weights
def test_silence_gives_no_segments_and_no_error(tmp_path):
    path = tmp_path / "silence.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "20", str(path)],
                   check=True)
    transcript = transcribe_file(path)
    assert transcript.segments == [] and transcript.duration == pytest.approx(20, abs=0.1)


def test_presets_and_unknown_names():
    assert PRESETS["fast"].beam_size == PRESETS["auto"].beam_size == 2 and PRESETS["accurate"].beam_size == 5
    assert preset("fast").fingerprint() != preset("accurate").fingerprint()
    with pytest.raises(EngineError, match="valid presets: auto, fast, accurate"):
        preset("turbo")
    with pytest.raises(EngineError, match="valid engines: faster-whisper, openai-whisper"):
        load_engine(TranscribeOptions(engine="whisperx"))


@pytest.mark.parametrize("name, content, message", [
    ("missing.mp3", None, "file not found"),
    ("empty.mp3", b"", "file is empty"),
    ("notes.mp3", "Ceci n'est pas un fichier audio.\n".encode(), "not a readable audio file"),
    ("corrupt.mp3", bytes(range(256)) * 40, "not a readable audio file"),
])
def test_bad_files_get_one_line_and_exit_1(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AudioError):
        audio.probe(path)
    result = CliRunner().invoke(main, ["transcribe", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("error: ") and str(path) in lines[0] and message in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.weights
@pytest.mark.smoke   # in `make test`: the real Whisper weights, end to end through the CLI
def test_cli_transcribe_writes_every_format(tmp_path, espeak_clip):
    result = CliRunner().invoke(main, ["transcribe", str(espeak_clip), "--out", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    for ext in ("json", "srt", "vtt", "txt"):
        assert (tmp_path / f"espeak_fr.{ext}").stat().st_size > 0
    transcript = load_transcript(tmp_path / "espeak_fr.json")
    assert transcript.segments and transcript.options["beam_size"] == 2


def test_cli_never_writes_one_file_over_another_of_the_same_name(tmp_path, espeak_clip, monkeypatch):
    """Found in review: a/talk.mp3 and b/talk.mp3 both went to OUT/talk.*, the second over the first."""
    from indexer.testing import FAKE_ENGINE
    from indexer.transcribe import outputs

    real = outputs.transcribe_files
    monkeypatch.setattr(outputs, "transcribe_files",  # the fake engine: the subject is the CLI
                        lambda files, options, **k: real(files, replace(options, engine=FAKE_ENGINE), **k))
    for folder, volume in (("a", "1.0"), ("b", "0.5")):
        (tmp_path / folder).mkdir()
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(espeak_clip), "-af", f"volume={volume}",
                        str(tmp_path / folder / "talk.wav")], check=True)
    first, second = tmp_path / "a" / "talk.wav", tmp_path / "b" / "talk.wav"
    result = CliRunner().invoke(main, ["transcribe", str(first), str(second), "--out", str(tmp_path / "out"),
                                       "--speakers", "off", "-q"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(second) in errors[0] and str(first) in errors[0]
    assert "1 of 2 file(s) failed" in result.output
    assert load_transcript(tmp_path / "out" / "talk.json").audio_path == str(first)


def test_cli_bad_format_fails_before_any_work(tmp_path, espeak_clip):
    result = CliRunner().invoke(main, ["transcribe", str(espeak_clip), "--format", "docx"])
    assert result.exit_code == 2 and "'docx' is not one of 'json'" in result.output


def test_parallel_plan_never_oversubscribes(monkeypatch):
    from indexer.transcribe import parallel_plan

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert parallel_plan(TranscribeOptions()) == (2, 1)          # a long file: one window per core
    assert parallel_plan(TranscribeOptions(cpu_threads=1)) == (1, 1)  # the batch already runs one file per core
    assert parallel_plan(TranscribeOptions(cpu_threads=2)) == (1, 2)
    assert parallel_plan(TranscribeOptions(parallel=1)) == (1, 2)


@pytest.mark.parametrize("cores, windows, plan", [
    (1, 1, (1, 1)), (1, 2, (1, 1)), (1, 3, (1, 1)),
    (2, 1, (1, 2)), (2, 2, (2, 1)), (2, 3, (2, 1)),
    (4, 1, (1, 4)), (4, 2, (2, 2)), (4, 3, (3, 1)),
])
def test_threads_follow_the_windows(cores, windows, plan):
    """Every core works: spare cores go to the windows there are, never more threads than cores."""
    from indexer.transcribe import parallel_plan

    assert parallel_plan(TranscribeOptions(), windows, cores) == plan
    # An explicit split (the batch's one file per core, or --threads) is kept whatever the file.
    assert parallel_plan(TranscribeOptions(cpu_threads=1), windows, cores) == (1, 1)
    assert parallel_plan(TranscribeOptions(parallel=1), windows, cores) == (1, cores)


@pytest.mark.parametrize("seconds, windows", [(30, 1), (150, 1), (151, 2), (240, 2), (241, 3), (3600, 30)])
def test_windows_are_known_from_the_duration(seconds, windows):
    from indexer.transcribe import expected_windows

    assert expected_windows(seconds, TranscribeOptions()) == windows


def test_speech_without_words_is_found_for_a_second_pass():
    """Whisper sometimes jumps over speech; VAD speech with no word for 3 s is such a span."""
    from indexer.transcribe.windows import Window, _skipped_spans
    from indexer.transcript import Segment, Word

    window = Window(100.0, np.zeros(60 * audio.SAMPLE_RATE, np.float32),
                    [{"start": 0, "end": 20 * audio.SAMPLE_RATE},
                     {"start": 30 * audio.SAMPLE_RATE, "end": 40 * audio.SAMPLE_RATE}])
    words = [Word(100.5, 101.0, " a", 0.9), Word(101.2, 102.0, " b", 0.9),      # then 10 s of nothing
             Word(112.0, 113.0, " c", 0.9), Word(114.0, 119.5, " d", 0.9),
             Word(130.4, 139.8, " e", 0.9)]
    segments = [Segment(0, 100.5, 119.5, "a b c d", words[:4]), Segment(1, 130.4, 139.8, "e", words[4:])]
    assert _skipped_spans(window, segments, 3.0) == [(102.0, 112.0)]
    assert _skipped_spans(window, [], 3.0) == [(100.0, 120.0), (130.0, 140.0)]
    # Without word timestamps the segments' own spans count as covered.
    bare = [Segment(0, 100.5, 119.5, "a b c d"), Segment(1, 130.4, 139.8, "e")]
    assert _skipped_spans(window, bare, 3.0) == []


@pytest.mark.weights
def test_a_noisy_clip_still_yields_most_of_its_words(tmp_path):
    """36 s of the table ronde under the babble of six other voices at 10 dB
    (benchmarks/noisy.py), with the archive's settings: WER measured 0.23 (0.095
    clean), 80 % of the words heard; the bounds leave a wide margin for other
    CPUs and library builds."""
    import sys

    from indexer.archive import load_settings
    from indexer.ingest import options_from_settings

    sys.path.insert(0, str(SAMPLE_ARCHIVE.parent / "benchmarks"))
    from noisy import babble, mix_at, write_wav

    episode, others = "table-ronde-engagement", [e for e in EPISODES if e != "table-ronde-engagement"]
    start, end = 10.6, 46.3  # in pauses, after the names of the introduction
    speech = audio.decode(AUDIO[episode], start, end - start)
    noise = babble([audio.decode(AUDIO[e]) for e in others], len(speech), np.random.default_rng(16))
    write_wav(tmp_path / "bar.wav", mix_at(speech, noise, 10.0))
    reference = " ".join(s["text"] for s in reference_sentences(episode) if start < s["start"] and s["end"] < end)

    transcript = transcribe_file(tmp_path / "bar.wav", options_from_settings(load_settings(SAMPLE_ARCHIVE)))
    heard = jiwer.process_words(" ".join(normalise_words(reference)), " ".join(normalise_words(transcript.text)))
    assert heard.wer < 0.40
    assert heard.hits >= 0.65 * len(normalise_words(reference))
