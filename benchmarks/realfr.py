"""Real recorded French with a reference text, clean and under babble of other real voices.

    python benchmarks/realfr.py        # writes benchmarks/out/speed/realfr{,-10db,-5db}/realfr-N.{wav,txt}
                                       # and the same for tuxfr and tuxtight

Speech: the « June » prompts of Debian's ``asterisk-core-sounds-fr-wav`` (a
woman, Canadian French, 8 kHz telephone recordings), whose script ships in
``asterisk-core-sounds-fr`` (``core-sounds-fr.txt``: ``name: text``, one line
per prompt). Every top-level prompt with a script line is kept, except those
whose script holds digits (Whisper writes « 1 » or « un » at will), brackets
(tones, not words) or fewer than three words: 210 prompts, about 11.5 minutes,
1,762 words. They are joined in name order, ``GAP`` seconds of silence
between two prompts, into files of about two minutes; each file's reference
is its prompts' script lines. The script is the package's as shipped (it
has a few typos, e.g. « présentemnet », which cost every configuration alike).

Babble: a crowd of six other real people talking at once, none of them June:
volunteers' spoken descriptions of Tux Paint stamps and KTuberling's words
(``/work/data/voices``, built by ``voices_corpus.py``), each stream a seeded
random run of utterances, every stream at the same power, scaled to the
signal-to-noise ratio over the whole file (as ``noisy.py``). Seeded: the same
files every time. Packages are fetched with ``apt-get download`` and unpacked
with ``dpkg -x`` under ``benchmarks/out/deb``; nothing is installed.

A second set, ``tuxfr`` (``tuxfr``, ``tuxfr-10db``, ``tuxfr-5db``), holds other
people: the French descriptions of Tux Paint's stamps (``tuxpaint-stamps-default``,
about 930 volunteers' recordings by at least three people, « Une perruche
Adélaïde. »), each with its text from the stamp's ``fr.utf8=`` line, joined the
same way, under babble of June, Armelle and KTuberling's speakers (none of them
in the speech). Short sentences full of rare names: a harder set than June's.
``tuxtight`` is the same speech joined without pauses (continuous clean speech).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from noisy import SNRS, mix_at  # noqa: E402
from sample import ROOT, write_wav  # noqa: E402
from voices_corpus import SR, decode  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
DEB = OUT / "deb"
JUNE = DEB / "usr" / "share" / "asterisk" / "sounds" / "fr_CA_f_June"
SCRIPT = DEB / "usr" / "share" / "doc" / "asterisk-core-sounds-fr" / "core-sounds-fr.txt.gz"
TUX = DEB / "usr" / "share" / "tuxpaint" / "stamps"
VOICES = Path("/work/data/voices")
STREAMS = 6
GAP = 0.8             # seconds between two prompts: a speaker's pause between sentences
FILE_SECONDS = 120.0  # start a new file past this much speech
SEED = 27


def _unpack(package: str) -> None:
    DEB.mkdir(parents=True, exist_ok=True)   # dpkg -x makes the last folder only
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, capture_output=True)
        subprocess.run(["dpkg", "-x", str(next(Path(tmp).glob("*.deb"))), str(DEB)], check=True)


def prompts() -> list[tuple[Path, str]]:
    """(recording, script text) of every usable June prompt, in name order."""
    if not JUNE.is_dir():
        _unpack("asterisk-core-sounds-fr-wav")
    if not SCRIPT.is_file():
        _unpack("asterisk-core-sounds-fr")
    script = {}
    for line in gzip.open(SCRIPT, "rt", encoding="utf-8").read().splitlines():
        if ":" in line and not line.startswith(";"):
            name, text = line.split(":", 1)
            script[name.strip()] = text.strip()
    kept = []
    for wav in sorted(JUNE.glob("*.wav")):
        text = script.get(wav.stem)
        if text and not re.search(r"[\d\[\]()]", text) and len(text.split()) >= 3:
            kept.append((wav, text))
    return kept


def tux_prompts() -> list[tuple[Path, str]]:
    """(recording, French text) of every Tux Paint stamp description recorded in French, in path order."""
    if not TUX.is_dir():
        _unpack("tuxpaint-stamps-default")
    kept = []
    for ogg in sorted(TUX.rglob("*_desc_fr.ogg")):
        info = ogg.with_name(ogg.name.removesuffix("_desc_fr.ogg") + ".txt")
        lines = info.read_text(encoding="utf-8").splitlines() if info.is_file() else []
        text = next((line.split("=", 1)[1].strip() for line in lines if line.startswith("fr.utf8=")), "")
        if text and not re.search(r"[\d\[\]]", text):
            kept.append((ogg, text))
    return kept


# Each set: its speech, the voice corpus's sources its babble is drawn from (never the speaker's own),
# and the seconds of silence between two recordings. `tuxtight` is Tux Paint's without pauses:
# continuous clean speech, which the noise estimate can take for noisy (benchmarks/noise_choice.py).
CORPORA = {
    "realfr": (prompts, ("tuxpaint", "ktuberling"), GAP),
    "tuxfr": (tux_prompts, ("june", "armelle", "ktuberling"), GAP),
    "tuxtight": (tux_prompts, ("june", "armelle", "ktuberling"), 0.0),
}


def _read_wav(path: Path) -> np.ndarray:
    """A 16 kHz mono 16-bit WAV of the voices corpus (read directly: thousands of them)."""
    with wave.open(str(path)) as w:
        assert w.getframerate() == SR and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768


def _babble(length: int, rng: np.random.Generator, sources: tuple[str, ...]) -> np.ndarray:
    """``STREAMS`` streams of other people's utterances (from ``sources``), each at unit power, summed."""
    manifest = json.loads((VOICES / "manifest.json").read_text())["utterances"]
    pool = [VOICES / u["file"] for u in manifest if u["source"] in sources]
    if not pool:
        raise SystemExit(f"no babble voices in {VOICES} (run benchmarks/voices_corpus.py)")
    cache: dict[Path, np.ndarray] = {}
    mix = np.zeros(length, np.float32)
    for _ in range(STREAMS):
        parts, n = [], 0
        while n < length:
            path = pool[int(rng.integers(len(pool)))]
            if path not in cache:
                cache[path] = _read_wav(path)
            parts += [cache[path], np.zeros(int(rng.uniform(0.05, 0.4) * SR), np.float32)]
            n += len(parts[-2]) + len(parts[-1])
        stream = np.concatenate(parts)[:length]
        mix += stream / (np.sqrt(np.mean(stream ** 2)) + 1e-9)
    return mix


def make(out: Path = OUT / "speed", corpus: str = "realfr") -> dict[str, Path]:
    """{set name: folder} for ``corpus`` clean, -10db and -5db (e.g. realfr, realfr-10db,
    realfr-5db); reuses files already made."""
    speech_of, babble_sources, gap_seconds = CORPORA[corpus]
    folders = {corpus: out / corpus, **{f"{corpus}-{c}": out / f"{corpus}-{c}" for c in SNRS}}
    done = out / f"{corpus}.done"   # written last: a build cut short is made again
    if done.is_file():
        return folders
    groups, group, seconds = [], [], 0.0
    for wav, text in speech_of():
        samples = decode(wav)
        group.append((samples, text))
        seconds += len(samples) / SR + gap_seconds
        if seconds >= FILE_SECONDS:
            groups.append(group)
            group, seconds = [], 0.0
    if seconds >= FILE_SECONDS / 2:
        groups.append(group)
    elif group:
        groups[-1] += group   # a short remainder joins the last file
    gap = np.zeros(int(gap_seconds * SR), np.float32)
    for n, group in enumerate(groups):
        speech = np.concatenate([x for samples, _ in group for x in (samples, gap)])
        text = "\n".join(t for _, t in group) + "\n"
        noise = _babble(len(speech), np.random.default_rng([SEED, n]), babble_sources)
        for name, folder in folders.items():
            snr = SNRS.get(name.removeprefix(f"{corpus}-"))
            write_wav(folder / f"{corpus}-{n}.wav", speech if snr is None else mix_at(speech, noise, snr), SR)
            (folder / f"{corpus}-{n}.txt").write_text(text, encoding="utf-8")
    done.write_text(json.dumps({name: sorted(p.name for p in f.glob("*.wav")) for name, f in folders.items()}))
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    for corpus in CORPORA:
        for name, folder in make(corpus=corpus).items():
            files = sorted(folder.glob("*.wav"))
            print(f"{name}: {len(files)} files in {folder}")


if __name__ == "__main__":
    main()
