"""pytest plugin: ``--impact-since REV`` deselects the tests a change cannot affect.

Nothing heavy is imported until the option is given.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("impactsel")
    group.addoption("--impact-since", metavar="REV", help="run only the tests the changes since REV can affect")
