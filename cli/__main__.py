"""``python -m cli ARGS``: the ``parcrawl`` command, run from a checkout without installing."""

from __future__ import annotations

import sys

from cli import main

if __name__ == "__main__":  # not when multiprocessing's spawn re-imports the main module
    sys.exit(main())
