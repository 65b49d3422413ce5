"""Editors' corrections: an overlay on the machine transcripts."""

from .align import *  # noqa: F401,F403
from .align import CORRECTED_FLAG, SPEAKER_FLAG, normalise_token  # noqa: F401
