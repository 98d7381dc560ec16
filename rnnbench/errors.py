"""User-facing errors: printed as one message, never as a traceback."""
from __future__ import annotations

import sys
from typing import Callable


class RnnbenchError(Exception):
    """A mistake in the input (config, data, paths) that the user can fix.

    The CLI prints ``rnnbench: error: <message>`` and exits non-zero; the message
    itself must say what is wrong and how to fix it.
    """


class ConfigError(RnnbenchError):
    """A config value that the schema admits but the code cannot use."""


class DataError(RnnbenchError):
    """Missing, corrupt or unreadable data."""


def cli_entry(prog: str, main: Callable[[], int]) -> int:
    """Run a console script's ``main``: a user mistake prints ``<prog>: error: <message>``, exit 2."""
    try:
        return main()
    except RnnbenchError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
