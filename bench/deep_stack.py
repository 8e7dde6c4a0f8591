"""Run pytest-impacted's ``impacted-tests`` with a deep stack: ``python bench/deep_stack.py ARGS...``.

astroid recurses once per level of a syntax tree, and sympy has expressions deep
enough to overflow Python's default stack (``RecursionError``). The benchmark
retries with this when that happens, and says so in its notes: the same tool, the
same arguments, a 1 GiB thread stack and a recursion limit of 1,000,000.
"""

from __future__ import annotations

import sys
import threading

from pytest_impacted.cli import impacted_tests_cli

STACK_BYTES = 1024 * 1024 * 1024
RECURSION_LIMIT = 1_000_000


def main() -> int:
    sys.argv[0] = "impacted-tests"
    sys.setrecursionlimit(RECURSION_LIMIT)
    threading.stack_size(STACK_BYTES)
    code: list[object] = [1]

    def run() -> None:
        try:
            code[0] = impacted_tests_cli()
        except SystemExit as exit_:
            code[0] = exit_.code

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return code[0] if isinstance(code[0], int) else 1


if __name__ == "__main__":
    sys.exit(main())
