"""Does a file get the same words alone and decoded in one batch beside another file? (issue 27)

    python benchmarks/batch_rows.py FILE OTHER

Transcribes FILE three ways with the defaults, each in a fresh process: alone
(``transcribe_file``), alone through the cross-file path of ``indexer
transcribe`` (``_transcribe_short`` with one file), and in one batch beside
OTHER (``_transcribe_short`` with both, as ``indexer transcribe FILE OTHER``
does with two one-window files). Prints how many segments differ.

On the June set (benchmarks/speed.py --sets june), june-0.mp3 beside
june-1.mp3: 28 of 37 segments differ (the same 314 words in number, other
segment cuts, times and a few words), while alone and alone-through-the-batch
path are identical. This is why ``ingest`` does not batch across episodes
(indexer/ingest/lanes.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import json, sys
from pathlib import Path
from indexer import audio
from indexer.transcribe import TranscribeOptions, load_engine, transcribe_file
from indexer.transcribe.engines import sized
from indexer.transcribe.run import _transcribe_short
mode, paths = sys.argv[1], [Path(p) for p in sys.argv[2:]]
options = TranscribeOptions()
engine = load_engine(options)
if mode == "alone":
    transcript = transcribe_file(paths[0], options, sized(engine, 1))
else:
    files = [(p, audio.probe(p)) for p in (paths if mode == "beside" else paths[:1])]
    transcript = _transcribe_short(files, options, sized(engine, 4), lambda seconds: None)[0]
print(json.dumps([(s.start, s.end, s.text) for s in transcript.segments]))
"""


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    runs = {mode: json.loads(subprocess.run([sys.executable, "-c", CHILD, mode, *sys.argv[1:]], check=True,
                                            capture_output=True, text=True).stdout.strip().splitlines()[-1])
            for mode in ("alone", "alone-batch-path", "beside")}
    alone = runs["alone"]
    for mode, segments in runs.items():
        differing = sum(1 for a, b in zip(alone, segments) if a != b) + abs(len(alone) - len(segments))
        print(f"{mode:18} {len(segments)} segments, {differing} differ from alone")


if __name__ == "__main__":
    main()
