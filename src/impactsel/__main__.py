"""``python -m impactsel`` -> the command line."""

from __future__ import annotations

import os
import sys

# ``python -m`` puts the current directory first on sys.path: in a checkout that has a
# package named like one of ours (``git/``, ``libcst/``), importing it would run the
# analysed code. impactsel never imports from the current directory.
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from impactsel.cli import console

if __name__ == "__main__":
    console()
