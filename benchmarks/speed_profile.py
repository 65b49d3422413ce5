"""Where a whole run's time goes, `indexer transcribe` beside plain faster-whisper (issue 27).

    python benchmarks/speed_profile.py FILE [FILE…] [--name speed-profile]

Each file is run twice, each time in a fresh process: `plain` (speed.py's
loop: faster-whisper base int8, greedy, VAD, word timestamps) and `indexer`
(`indexer transcribe`'s code path, TranscriptWriter with its defaults,
speakers included). Inside the process, the stages are timed by wrapping the
functions that do them: CPU seconds of the whole process (every thread, and
the ffmpeg/ffprobe children) and wall seconds, exclusive of the stages nested
in them. A file of one window runs its stages one after the other, so the
process-wide CPU clock is the stage's; longer files decode windows side by
side and the split is then only indicative.

Results: benchmarks/results/<name>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Stages:
    """Exclusive CPU and wall seconds per stage; nested stages are subtracted from their parent."""

    def __init__(self):
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.local = threading.local()

    def wrap(self, owner, attribute: str, stage: str, when=None) -> None:
        original = getattr(owner, attribute)
        stages = self

        def timed(*args, **kwargs):
            if when is not None and not when():
                return original(*args, **kwargs)
            stack = stages.local.__dict__.setdefault("stack", [])
            stack.append([0.0, 0.0])   # CPU and wall of nested stages
            cpu, wall = _cpu(), time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                d_cpu, d_wall = _cpu() - cpu, time.perf_counter() - wall
                inner = stack.pop()
                stages.cpu[stage] = stages.cpu.get(stage, 0.0) + d_cpu - inner[0]
                stages.wall[stage] = stages.wall.get(stage, 0.0) + d_wall - inner[1]
                stages.calls[stage] = stages.calls.get(stage, 0) + 1
                if stack:
                    stack[-1][0] += d_cpu
                    stack[-1][1] += d_wall

        setattr(owner, attribute, timed)


def _whisper_stages(stages: Stages, transcribing=None) -> None:
    """Stages inside faster-whisper, shared by both configurations (``transcribing()``:
    False while the speakers stage runs, whose VAD is counted apart)."""
    import faster_whisper.transcribe as fw
    import faster_whisper.vad as vad

    stages.wrap(fw.WhisperModel, "__init__", "whisper model load")
    stages.wrap(fw.WhisperModel, "encode", "encoder")
    stages.wrap(fw.WhisperModel, "find_alignment", "word alignment")
    stages.wrap(fw.WhisperModel, "generate_with_fallback", "decoder (sequential loop, incl. fallback)")
    stages.wrap(fw.WhisperModel, "detect_language", "language detection")
    stages.wrap(vad, "get_speech_timestamps", "VAD (transcription)", transcribing)
    if transcribing is not None:
        stages.wrap(vad, "get_speech_timestamps", "speakers: VAD again", lambda: not transcribing())
    fw.get_speech_timestamps = vad.get_speech_timestamps
    stages.wrap(fw, "decode_audio", "audio decode (PyAV)")
    stages.wrap(fw.FeatureExtractor, "__call__", "log-mel features")


def run_plain(files: list[str], stages: Stages) -> None:
    from indexer.models import resolve_model

    _whisper_stages(stages)
    from faster_whisper import WhisperModel

    model = WhisperModel(str(resolve_model("base").path), device="cpu", compute_type="int8")
    for path in files:
        segments, _ = model.transcribe(path, language="fr", beam_size=1, vad_filter=True, word_timestamps=True)
        list(segments)


def run_indexer(files: list[str], stages: Stages, out_dir: str) -> None:
    import indexer.audio as audio
    import indexer.files as files_module
    import indexer.speakers.diarization as diarization
    import indexer.transcribe.batched as batched
    import indexer.transcribe.engines as engines
    import indexer.transcribe.noise as noise
    import indexer.transcribe.run as run
    import indexer.transcribe.windows as windows
    from indexer.speakers import SpeakerOptions, assign, backends
    from indexer.transcribe import TranscribeOptions, TranscriptWriter, outputs

    in_speakers = threading.local()

    def speaking() -> bool:
        return getattr(in_speakers, "on", False)

    def transcribing() -> bool:
        return not speaking()

    _whisper_stages(stages, transcribing)
    stages.wrap(engines.FasterWhisperEngine, "_sampling_copy", "seeded sampling copy load")

    original_diarize = diarization.diarize_voices

    def diarize_voices(*args, **kwargs):
        in_speakers.on = True
        try:
            return original_diarize(*args, **kwargs)
        finally:
            in_speakers.on = False

    diarization.diarize_voices = diarize_voices
    assign.diarize_voices = diarize_voices
    stages.wrap(assign, "diarize_voices", "speakers: clustering, turns (rest)")
    stages.wrap(audio, "probe", "ffprobe")
    stages.wrap(audio, "decode", "audio decode (ffmpeg), transcription", transcribing)
    stages.wrap(audio, "decode", "speakers: audio decode again (ffmpeg)", speaking)
    stages.wrap(files_module, "sha256_file", "sha256 of the file")
    run.sha256_file = files_module.sha256_file
    stages.wrap(backends.CamppBackend, "embed_regions", "speakers: CAM++ embeddings")
    stages.wrap(backends, "load_backend", "speaker model load")
    outputs.load_backend = backends.load_backend
    stages.wrap(noise, "estimate_snr", "noise estimate")
    stages.wrap(batched.BatchDecoder, "decode", "batched decoder loop (rest)")
    stages.wrap(batched.BatchDecoder, "_fallback", "temperature fallback (batched)")
    stages.wrap(windows, "_recover_skipped_speech", "recovering skipped speech (rest)")
    stages.wrap(engines.FasterWhisperEngine, "transcribe", "sequential engine call (rest)")
    stages.wrap(outputs, "export", "writing the transcript")
    stages.wrap(assign, "assign_speakers", "speakers: words to turns")
    writer = TranscriptWriter(out_dir, ["json"], SpeakerOptions())
    for outcome in writer.write(files, TranscribeOptions()):
        if outcome.error:
            raise SystemExit(outcome.error.one_line())


def child(config: str, files: list[str], started_cpu: float) -> None:
    """In the measured process: run, and print the stages as JSON."""
    import tempfile

    stages = Stages()
    t0 = time.perf_counter()
    cpu0 = _cpu()
    stages.cpu["process start-up (interpreter, before the imports)"] = cpu0
    if config == "plain":
        import faster_whisper  # noqa: F401
        import indexer.models  # noqa: F401
    else:
        import indexer.cli  # noqa: F401   what the command imports before any work
        import indexer.transcribe.outputs  # noqa: F401
        import indexer.speakers.campplus  # noqa: F401   (torch)
    stages.cpu["imports"], stages.wall["imports"] = _cpu() - cpu0, time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        if config == "plain":
            run_plain(files, stages)
        else:
            run_indexer(files, stages, tmp)
    total_cpu, total_wall = _cpu(), time.perf_counter() - t0
    stages.cpu["other (Python between stages)"] = total_cpu - sum(stages.cpu.values())
    stages.wall["other (Python between stages)"] = total_wall - sum(stages.wall.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"cpu": stages.cpu, "wall": stages.wall, "calls": stages.calls, "total_cpu": total_cpu,
                      "total_wall": total_wall, "peak_mb": peak}))


def measure(config: str, files: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", config, *files], capture_output=True, text=True,
                         env=env, cwd=ROOT)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["outside_wall"] = round(time.perf_counter() - started, 2)
    return result


def markdown(report: dict) -> str:
    columns = [(f, c) for f in report["files"] for c in ("plain", "indexer")]
    stages = list(dict.fromkeys(s for f, c in columns for s in report["runs"][f][c]["cpu"]))
    def label(f: str) -> str:
        return str(Path(f).relative_to(ROOT)) if Path(f).is_relative_to(ROOT) else Path(f).name

    head = " | ".join(f"{c}: {label(f)} ({report['seconds'][f]:.0f} s)" for f, c in columns)
    lines = [f"# Where the time goes: plain faster-whisper and `indexer transcribe` ({report['date']})", "",
             f"CPU seconds per stage (every thread and child process), exclusive of nested stages; one fresh "
             f"process each, 2-core machine shared with other jobs (load {report['load']}). "
             "Run: `python benchmarks/speed_profile.py FILES`.", "",
             f"| stage | {head} |", "|---" * (len(columns) + 1) + "|"]
    for stage in stages:
        cells = [report["runs"][f][c]["cpu"].get(stage) for f, c in columns]
        lines.append(f"| {stage} | " + " | ".join("–" if x is None else f"{x:.2f}" for x in cells) + " |")
    lines.append("| **total CPU s** | " + " | ".join(f"**{report['runs'][f][c]['total_cpu']:.2f}**"
                                                   for f, c in columns) + " |")
    lines.append("| wall s (inside) | " + " | ".join(f"{report['runs'][f][c]['total_wall']:.1f}"
                                                    for f, c in columns) + " |")
    lines.append("| peak MB | " + " | ".join(str(report["runs"][f][c]["peak_mb"]) for f, c in columns) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--rewrite":
        rewrite(sys.argv[2])
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:], 0.0)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--name", default="speed-profile")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from indexer import audio

    files = [str(Path(f).resolve()) for f in args.files]
    report = {"date": time.strftime("%Y-%m-%d"), "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
              "files": files, "seconds": {f: audio.probe(f).duration for f in files}, "runs": {}}
    for f in files:
        report["runs"][f] = {}
        for config in ("plain", "indexer"):
            print(f"{config}: {f} …", file=sys.stderr, flush=True)
            report["runs"][f][config] = measure(config, [f])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / f"{args.name}.md").write_text(markdown(report))
    print(markdown(report))


def rewrite(name: str) -> None:
    """The .md again from the .json (``--rewrite NAME``)."""
    report = json.loads((RESULTS / f"{name}.json").read_text())
    (RESULTS / f"{name}.md").write_text(markdown(report))


if __name__ == "__main__":
    main()
