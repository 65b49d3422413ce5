"""Real French voices from Debian packages, cut into utterances for the speaker benchmarks.

    python benchmarks/voices_corpus.py [--out /work/data/voices]

Downloads (``apt-get download``, nothing installed) and unpacks (``dpkg -x``)
the packages below, decodes every French recording to 16 kHz mono 16-bit WAV,
trims its silence, and writes them with a ``manifest.json`` (source, package,
file, seconds) to ``--out``, under a temporary name renamed at the end (other
jobs may read the folder). Only human recordings are kept:

* ``asterisk-core-sounds-fr-wav``: June, Canadian French telephone prompts (woman);
* ``asterisk-prompt-fr-armelle``: Armelle Desjardins, French prompts (woman, GSM);
* ``tuxpaint-stamps-default``: spoken descriptions of stamps in French
  (``*_desc_fr.ogg``, volunteers: Jacques Chion, PaulK and others);
* ``ktuberling-data``: the French words of KTuberling;
* ``klettres-data``: French letters and syllables of KLettres.

Which person speaks in the Tux Paint and KTuberling files is not written
anywhere; ``benchmarks/voices.py`` groups them (see its doc).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from sample import write_wav

SR = 16_000
PACKAGES = {
    "june": ("asterisk-core-sounds-fr-wav", "usr/share/asterisk/sounds/fr_CA_f_June", ("*.wav",)),
    "armelle": ("asterisk-prompt-fr-armelle", "usr/share/asterisk/sounds/fr", ("*.gsm",)),
    "tuxpaint": ("tuxpaint-stamps-default", "usr/share/tuxpaint/stamps", ("*_fr.ogg",)),
    "ktuberling": ("ktuberling-data", "usr/share/ktuberling/sounds/fr", ("*.wav", "*.ogg")),
    "klettres": ("klettres-data", "usr/share/klettres/fr", ("*.ogg",)),
}


def decode(path: Path) -> np.ndarray:
    args = ["ffmpeg", "-nostdin", "-v", "error"]
    if path.suffix == ".gsm":
        args += ["-f", "gsm", "-ar", "8000"]
    out = subprocess.run([*args, "-i", str(path), "-ac", "1", "-ar", str(SR), "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(out, np.int16).astype(np.float32) / 32768


def trim(samples: np.ndarray, below_peak_db: float = 40.0) -> np.ndarray:
    """Without the leading and trailing silence (10 ms frames quieter than the peak by ``below_peak_db``)."""
    frame = SR // 100
    n = len(samples) // frame
    if n == 0:
        return samples
    energy = 10 * np.log10(np.mean(samples[:n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(energy > energy.max() - below_peak_db)
    return samples[loud[0] * frame:(loud[-1] + 1) * frame] if len(loud) else samples[:0]


def _convert(job: tuple[str, str, str]) -> tuple[str, float] | None:
    source, target, _ = job
    try:
        samples = trim(decode(Path(source)))
    except subprocess.CalledProcessError:
        return None
    if len(samples) < SR // 4:
        return None
    write_wav(Path(target), samples)
    return target, len(samples) / SR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="/work/data/voices", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    out: Path = args.out
    if (out / "manifest.json").is_file():
        print(f"{out} is there already (remove it to build it again)")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    with tempfile.TemporaryDirectory() as tmp:
        unpacked = Path(tmp)
        jobs = []
        for source, (package, folder, patterns) in PACKAGES.items():
            subprocess.run(["apt-get", "download", package], cwd=unpacked, check=True, capture_output=True)
            deb = next(unpacked.glob(f"{package}_*.deb"))
            subprocess.run(["dpkg", "-x", str(deb), str(unpacked / package)], check=True)
            deb.unlink()
            base = unpacked / package / folder
            files = sorted({p for pattern in patterns for p in base.rglob(pattern)})
            for path in files:
                name = str(path.relative_to(base).with_suffix("")).replace("/", "__")
                jobs.append((str(path), str(building / source / f"{name}.wav"), package))
        manifest = []
        with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
            for job, done in zip(jobs, pool.map(_convert, jobs, chunksize=16)):
                if done:
                    manifest.append({"source": Path(done[0]).parent.name, "package": job[2],
                                     "file": os.path.relpath(done[0], building),
                                     "original": os.path.relpath(job[0], unpacked / job[2]),
                                     "seconds": round(done[1], 3)})
    (building / "manifest.json").write_text(json.dumps({"utterances": manifest}, indent=1) + "\n")
    if out.exists():
        shutil.rmtree(out)
    os.replace(building, out)
    os.chmod(out, 0o755)
    total = {}
    for m in manifest:
        total[m["source"]] = total.get(m["source"], 0.0) + m["seconds"]
    print(json.dumps({k: round(v) for k, v in total.items()}))


if __name__ == "__main__":
    main()
