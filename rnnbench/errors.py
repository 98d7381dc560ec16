"""User-facing errors: printed as one message, never as a traceback."""


class RnnbenchError(Exception):
    """A mistake in the input (config, data, paths) that the user can fix.

    The CLI prints ``rnnbench: error: <message>`` and exits non-zero; the message
    itself must say what is wrong and how to fix it.
    """


class ConfigError(RnnbenchError):
    """A config value that the schema admits but the code cannot use."""


class DataError(RnnbenchError):
    """Missing, corrupt or unreadable data."""
