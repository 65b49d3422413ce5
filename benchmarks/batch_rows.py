"""Does a file get the same words alone and decoded in one batch beside another file? (issue 27)

    python benchmarks/batch_rows.py FILE OTHER

Transcribes FILE three ways with the defaults, each in a fresh process: alone
(``transcribe_file``), as ``indexer transcribe FILE OTHER`` does today
(``transcribe_files`` with both: each file decoded alone), and with its window
in one batch beside OTHER's (``transcribe_windows`` with both files' windows,
as ``indexer transcribe`` did with two one-window files until it was found
here). Prints how many segments differ.

On the June set (benchmarks/speed.py --sets june), june-0.mp3 beside
june-1.mp3: 28 of 37 segments differ (the same 314 words in number, other
segment cuts, times and a few words), while alone and through ``transcribe_files``
are identical. This is why neither ``ingest`` (indexer/ingest/lanes.py) nor
``indexer transcribe`` batches across files.
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import json, sys
from pathlib import Path
from indexer import audio
from indexer.files import sha256_file
from indexer.transcribe import TranscribeOptions, iter_windows, load_engine, transcribe_file, transcribe_files
from indexer.transcribe.engines import sized
from indexer.transcribe.windows import transcribe_windows
mode, paths = sys.argv[1], [Path(p) for p in sys.argv[2:]]
options = TranscribeOptions()
engine = load_engine(options)
if mode == "alone":
    segments = transcribe_file(paths[0], options, sized(engine, 1)).segments
elif mode == "transcribe-files":
    segments = next(iter(transcribe_files(paths, options, engine)))[1].segments
else:   # one batch of both files' windows (one each), as indexer transcribe did
    windows = [w for p in paths for w in iter_windows(p, audio.probe(p).duration, options, sha256_file(p))]
    segments = transcribe_windows(sized(engine, 4), windows, options.language, lambda seconds: None)[0]
print(json.dumps([(s.start, s.end, s.text) for s in segments]))
"""


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    runs = {mode: json.loads(subprocess.run([sys.executable, "-c", CHILD, mode, *sys.argv[1:]], check=True,
                                            capture_output=True, text=True).stdout.strip().splitlines()[-1])
            for mode in ("alone", "transcribe-files", "beside")}
    alone = runs["alone"]
    for mode, segments in runs.items():
        differing = sum(1 for a, b in zip(alone, segments) if a != b) + abs(len(alone) - len(segments))
        print(f"{mode:18} {len(segments)} segments, {differing} differ from alone")


if __name__ == "__main__":
    main()
