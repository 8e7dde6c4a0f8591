"""The baseline of the benchmark: ``libcst.parse_module`` over a list of files, and nothing else.

Reads each file the way impactsel does (bytes, decoded as ``utf-8-sig``) and
parses it; prints one JSON object: the number of files, of parse failures and
the seconds the loop took (imports and interpreter start-up excluded; the
parent measures those with the wall time).

Usage: ``python bench/bare_parse.py FILE_LIST [--jobs N]``, FILE_LIST holding one
path a line, relative to the working directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import libcst


def parse_one(path: str) -> bool:
    """Whether ``path`` parses (an unreadable or undecodable file counts as a failure)."""
    try:
        libcst.parse_module(Path(path).read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, libcst.ParserSyntaxError):
        return False
    return True


def parse_all(paths: list[str], jobs: int) -> list[bool]:
    """Parse ``paths`` in this process (``jobs`` 1) or in a pool of ``jobs`` processes."""
    if jobs <= 1:
        return [parse_one(p) for p in paths]
    with Pool(jobs) as pool:
        return pool.map(parse_one, paths, chunksize=16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file_list", type=Path, help="file with one path a line")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default: 1)")
    args = parser.parse_args(argv)
    paths = [line for line in args.file_list.read_text(encoding="utf-8").splitlines() if line]
    started = time.perf_counter()
    results = parse_all(paths, args.jobs)
    seconds = time.perf_counter() - started
    print(json.dumps({"files": len(paths), "failures": results.count(False), "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
