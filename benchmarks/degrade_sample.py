"""Make a harder copy of an archive: telephone band, low-bitrate mp3, babble and noise.

    python benchmarks/degrade_sample.py archive benchmarks/out/degraded
    PYTHONPATH=$PWD python -m indexer ingest --archive benchmarks/out/degraded

Each episode is cut to 300-3400 Hz, mixed with a babble of the *other*
episodes' voices (15 dB below it by default) and white noise, resampled to
8 kHz and encoded as 24 kbit/s mono mp3. (At -6 dB of babble and 16 kbit/s
the word error rate was 0.75: nothing left to search; these defaults give a
transcript about as wrong as real recordings.) Sidecars, ``archive.yaml`` and
``reference/`` are copied, so ``search_recall.py`` runs on the copy as on the
original. Used to check that search recall does not rest on the synthetic
voices' few transcription errors.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

AUDIO = {".mp3", ".m4a", ".ogg", ".wav", ".flac", ".opus"}


def degrade(src: Path, others: list[Path], out: Path, babble_db: float = -15.0, noise: float = 0.01,
            bitrate: str = "24k") -> None:
    inputs = ["-i", str(src)]
    for other in others:
        inputs += ["-stream_loop", "-1", "-i", str(other)]
    n = len(others)
    babble = "".join(f"[{i + 1}:a]aresample=16000,pan=mono|c0=c0[b{i}];" for i in range(n))
    graph = (
        f"[0:a]aresample=16000,pan=mono|c0=c0,highpass=f=300,lowpass=f=3400[v];{babble}"
        + "".join(f"[b{i}]" for i in range(n))
        + f"amix=inputs={n}:duration=longest:normalize=1,volume={babble_db}dB,highpass=f=300,lowpass=f=3400[bb];"
        + f"anoisesrc=color=white:amplitude={noise}:sample_rate=16000[nz];"
        + "[v][bb][nz]amix=inputs=3:duration=first:normalize=0,aresample=8000[out]"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[out]",
                    "-ac", "1", "-c:a", "libmp3lame", "-b:a", bitrate, str(out)], check=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("archive", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--babble-db", type=float, default=-15.0, help="babble level relative to the voice")
    p.add_argument("--noise", type=float, default=0.01, help="white noise amplitude")
    p.add_argument("--bitrate", default="24k")
    args = p.parse_args(argv)
    audio_dir = args.archive / "audio"
    files = sorted(f for f in audio_dir.rglob("*") if f.suffix.lower() in AUDIO)
    for f in files:
        rel = f.relative_to(audio_dir)
        target = args.out / "audio" / rel.with_suffix(".mp3")
        degrade(f, [o for o in files if o != f], target, args.babble_db, args.noise, args.bitrate)
        for side in (".yaml", ".json"):
            if f.with_suffix(side).is_file():
                shutil.copy2(f.with_suffix(side), target.with_suffix(side))
    for name in ("archive.yaml",):
        if (args.archive / name).is_file():
            shutil.copy2(args.archive / name, args.out / name)
    if (args.archive / "reference").is_dir():
        shutil.copytree(args.archive / "reference", args.out / "reference", dirs_exist_ok=True)


if __name__ == "__main__":
    main()
