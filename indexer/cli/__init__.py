"""Command line: a thin shell over the same API the notebooks import.

Each command builds a library object and calls one method. Errors of the
package become one line on stderr and a non-zero exit status. The conventions
every command follows (the archive, ``--json``, choices, deprecated spellings)
are in :mod:`indexer.cli.options`.
"""

from . import searching, transcription, upkeep, voices  # noqa: F401  (each registers its commands)
from .shell import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    main()
