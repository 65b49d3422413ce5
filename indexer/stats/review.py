"""Word confidence and the table of segments worth an editor's check."""

from __future__ import annotations

import pandas as pd

from ..corrections import CORRECTED_FLAG
from ..transcript import Flag, hms, join_words
from .episodes import UNKNOWN, episode_data


def word_confidence(archive) -> pd.DataFrame:
    """Every word Whisper wrote, with its probability (machine transcripts, before corrections)."""
    rows = []
    for machine in archive.transcripts():
        for seg in machine.segments:
            for w in seg.words:
                rows.append((machine.episode_id, seg.id, w.start, w.end, w.word.strip(), w.probability))
    return pd.DataFrame(rows, columns=["episode", "segment_id", "start", "end", "word", "probability"])


REVIEW_COLUMNS = ["episode", "title", "segment_id", "timecode", "start", "end", "speaker", "reasons",
                  "min_probability", "low_words", "marked", "text", "audio_path"]


def review_table(archive, max_probability: float = 0.5, include_corrected: bool = False) -> pd.DataFrame:
    """Segments worth checking: suspect ones, and those with a word below ``max_probability``.

    Worst first (suspect, then the least sure word). ``marked`` is the text with
    the unsure words as ``[?mot]`` (the convention of quotes); ``reasons`` lists
    the segment's flags as codes (``repeated, low-confidence-words``; the display
    names them in its language), ``low_words`` the unsure words, and
    ``table.attrs["max_probability"]`` the threshold. Segments an editor has
    corrected are left out unless ``include_corrected``. Show it with players:
    :func:`review_players`.
    """
    from ..quotes import join_words  # here: `import indexer.stats` does not load the quotes (issue 26)

    rows = []
    for data in episode_data(archive):
        audio = archive.layout.audio_file(data.transcript.audio_path)
        for seg in data.transcript.segments:
            if not include_corrected and CORRECTED_FLAG in seg.flags:
                continue
            low = [w for w in seg.words if w.probability < max_probability]
            if not seg.suspect and not low:
                continue
            reasons = [f for f in seg.flags if f not in (Flag.SUSPECT, Flag.LOW_CONFIDENCE_WORDS, Flag.CORRECTED)]
            if low:
                reasons.append(Flag.LOW_CONFIDENCE_WORDS)   # with ``low_words``: the display counts them
            marked = join_words(seg.words, lambda w, core: f"[?{core}]" if w.probability < max_probability
                                else core) if seg.words else seg.text.strip()
            rows.append({
                "episode": data.id, "title": data.title, "segment_id": seg.id, "timecode": hms(seg.start),
                "start": seg.start, "end": seg.end, "speaker": seg.speaker or UNKNOWN,
                "reasons": ", ".join(reasons), "suspect": seg.suspect,
                "min_probability": min((w.probability for w in seg.words), default=float("nan")),
                "low_words": [w.word.strip() for w in low], "marked": marked, "text": seg.text.strip(),
                "audio_path": audio,
            })
    frame = pd.DataFrame(rows, columns=REVIEW_COLUMNS + ["suspect"])
    frame = frame.sort_values(["suspect", "min_probability", "episode", "start"],
                              ascending=[False, True, True, True], na_position="last", kind="stable")
    frame = frame[REVIEW_COLUMNS].reset_index(drop=True)
    frame.attrs["max_probability"] = max_probability
    return frame
