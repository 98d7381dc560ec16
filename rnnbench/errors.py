"""User-facing errors: printed as one message, never as a traceback."""
from __future__ import annotations

import signal
import sys
from typing import Callable


class RnnbenchError(Exception):
    """A mistake in the input (config, data, paths) that the user can fix.

    The CLI prints ``rnnbench: error: <message>`` and exits non-zero; the message
    itself must say what is wrong and how to fix it.
    """


class ConfigError(RnnbenchError):
    """A config value that the schema admits but the code cannot use."""


class SearchIncomplete(RnnbenchError):
    """A group of a population or search failed or stopped before its end (rnnbench/population/search.py):
    rnnbench exits 1 and says whether the same command resumes it."""


class DataError(RnnbenchError):
    """Missing, corrupt or unreadable data."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a `kill`, a scheduler stopping a job) raised where Ctrl-C raises KeyboardInterrupt: the run stops the
    same way (its checkpoint kept, a search's record written, the same command resumes) and the command exits 143."""


def stop_on_sigterm():
    """Have SIGTERM stop this process as Ctrl-C does (raised in the main thread as Terminated); returns the
    handler it replaces. Once: a second SIGTERM while the stop writes its checkpoint and records is ignored
    (e.g. `pkill -f rnnbench` reaching rnnbench-reproduce, which passes its own on to the same run), so that it
    cannot cut the stop short; SIGKILL still ends the process."""
    def terminate(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated("SIGTERM")

    return signal.signal(signal.SIGTERM, terminate)


def interrupted_code(e: KeyboardInterrupt) -> int:
    """The exit status of a command stopped by ``e``: 143 for SIGTERM, 130 for Ctrl-C (128 + the signal)."""
    return 128 + (signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)


def cli_entry(prog: str, main: Callable[[], int], interrupted: str = "interrupted; nothing was changed") -> int:
    """Run a console script's ``main``: a user mistake prints ``<prog>: error: <message>`` (exit 2), a
    path that cannot be read or written the same (OSError, e.g. an --out that is a file), Ctrl-C one
    line (exit 130; SIGTERM the same, exit 143), a closed pipe (``| head``) nothing."""
    previous = stop_on_sigterm()
    try:
        return main()
    except RnnbenchError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return interrupted_code(e)
    except BrokenPipeError:
        sys.stdout = None
        return 0
    except OSError as e:  # a user's path: unwritable, a file where a folder must be, a folder where a file must be
        where = f" {e.filename}" if e.filename else ""
        print(f"{prog}: error: cannot use{where}: {e.strerror or e}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
