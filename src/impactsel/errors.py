"""One exception tree. Every message says what went wrong and what to do about it.

The command line prints ``impactsel: error: <message>`` and exits with code 2; the
slug names the README section (``#error-<slug>``) that explains the fix.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class ImpactselError(Exception):
    """Something the user can fix: bad input, a bad revision, a bad configuration."""

    def __init__(self, message: str, *, slug: str = "usage") -> None:
        super().__init__(message)
        self.message = message
        self.slug = slug


class ConfigError(ImpactselError):
    """A configuration file that cannot be read or holds bad values."""


class GitError(ImpactselError):
    """Not a repository, an unknown revision, a missing merge base."""


class UsageError(ImpactselError):
    """Command-line arguments that do not fit."""


def import_extra(module: str, extra: str, name: str | None = None) -> ModuleType:
    """Import an optional dependency, or say which extra of impactsel installs it.

    ``name``: the distribution's name in the message, when it is not the module's.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImpactselError(
            f"{name or module} is not installed; install the extra: pip install 'impactsel[{extra}]'", slug=extra
        ) from None
