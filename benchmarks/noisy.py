"""Noisy versions of the sample archive: each episode under babble made of the others.

    python benchmarks/noisy.py              # writes benchmarks/out/noisy/{10db,5db}/<episode>.wav

A bar is people talking: the babble behind an episode is the *other* sample
episodes (never its own words), each pitch-shifted by its own factor so that
they sound like other voices, started at random points, looped, and summed, so
several voices talk at once. It is scaled to the signal-to-noise ratio over
the whole file (speech power / babble power). Everything is seeded: the same
files every time. The synthetic voices are easier than real ones: read the
direction of a change, not the absolute word error rate.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out" / "noisy"
SNRS = {"10db": 10.0, "5db": 5.0}
# One per babble voice, lower and higher than the speakers. Each other episode
# speaks twice (6 voices from 3 episodes): with 3 voices the babble is a few
# intelligible talkers and Whisper transcribes them (WER 0.53 at 10 dB on a
# 36 s clip, more words than were said); with 6 it is a crowd (0.25).
PITCHES = (0.8, 0.88, 0.95, 1.08, 1.17, 1.3)
VOICES_PER_EPISODE = 2
SEED = 16


def _pitch_shift(samples: np.ndarray, factor: float) -> np.ndarray:
    """Another voice from the same recording: pitch × ``factor``, same tempo (ffmpeg)."""
    from indexer.audio import SAMPLE_RATE

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "-",
         "-af", f"asetrate={SAMPLE_RATE * factor:.0f},aresample={SAMPLE_RATE},atempo={1 / factor:.5f}",
         "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-"],
        input=pcm, capture_output=True, check=True)
    return np.frombuffer(out.stdout, "<i2").astype(np.float32) / 32767


def _loop(samples: np.ndarray, length: int, start: int) -> np.ndarray:
    reps = -(-(length + start) // len(samples))
    return np.tile(samples, reps)[start:start + length]


def babble(others: list[np.ndarray], length: int, rng: np.random.Generator) -> np.ndarray:
    """Several other voices at once, each at the same power, looped from a random point."""
    mix = np.zeros(length, np.float32)
    for k, voice in enumerate(others * VOICES_PER_EPISODE):
        shifted = _pitch_shift(voice, PITCHES[k % len(PITCHES)])
        part = _loop(shifted, length, int(rng.integers(len(shifted))))
        mix += part / (np.sqrt(np.mean(part ** 2)) + 1e-9)
    return mix


def mix_at(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    gain = np.sqrt(np.mean(speech ** 2) / (np.mean(noise ** 2) * 10 ** (snr_db / 10)))
    mixed = speech + gain * noise
    peak = float(np.abs(mixed).max())
    return mixed / peak * 0.95 if peak > 0.95 else mixed   # same SNR, no clipping


def write_wav(path: Path, samples: np.ndarray) -> None:
    from indexer.audio import SAMPLE_RATE

    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "-",
                    str(path)], input=pcm, check=True)


def make_noisy(episodes: list[tuple[str, Path]], out: Path = OUT) -> dict[str, list[tuple[str, Path]]]:
    """{condition: [(episode id, noisy wav)]}; reuses files already made."""
    from indexer import audio

    made: dict[str, list[tuple[str, Path]]] = {name: [] for name in SNRS}
    decoded = None
    for i, (episode_id, _) in enumerate(episodes):
        targets = {name: out / name / f"{episode_id}.wav" for name in SNRS}
        if all(p.is_file() for p in targets.values()):
            for name, p in targets.items():
                made[name].append((episode_id, p))
            continue
        decoded = decoded or [audio.decode(p) for _, p in episodes]
        rng = np.random.default_rng([SEED, i])
        others = [s for j, s in enumerate(decoded) if j != i]
        noise = babble(others, len(decoded[i]), rng)
        for name, snr in SNRS.items():
            write_wav(targets[name], mix_at(decoded[i], noise, snr))
            made[name].append((episode_id, targets[name]))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from sample import episodes

    for name, files in make_noisy(episodes(), args.out).items():
        for episode_id, path in files:
            print(f"{name}: {path}")


if __name__ == "__main__":
    main()
