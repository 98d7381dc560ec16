"""A restricted unpickler for the Boulanger-Lewandowski music pickles.

The files are Python 2 cPickle (protocol 2) dicts of lists of lists of tuples/lists of
numpy.int64 note numbers. Only builtin containers/numbers and numpy's scalar and dtype
reconstructors may be named; any other global (os.system, builtins.eval, ...) is refused
before it is looked up, so nothing in a hostile file runs.
"""
from __future__ import annotations

import io
import pickle
from typing import Any, BinaryIO

import numpy as np

from rnnbench.errors import DataError

_BUILTINS = {"list", "dict", "tuple", "set", "frozenset", "int", "float", "complex", "bool", "str", "bytes"}
def _numpy_scalar():
    try:  # numpy >= 2
        from numpy._core.multiarray import scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import scalar
    return scalar


_ALLOWED = {
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "dtype"): lambda: np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Admits builtin containers and numbers, numpy.dtype and numpy's scalar reconstructor."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("builtins", "__builtin__") and name in _BUILTINS:
            return getattr(__import__("builtins"), name)
        factory = _ALLOWED.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a data pickle")
        return factory()


def restricted_load(f: BinaryIO) -> Any:
    """Unpickle ``f`` (Python 2 pickles: latin1 for their byte strings) with RestrictedUnpickler."""
    return RestrictedUnpickler(f, encoding="latin1").load()


def restricted_loads(data: bytes) -> Any:
    return restricted_load(io.BytesIO(data))


def load_pickle_file(path, *, hint: str = "") -> Any:
    """Load a data pickle; a refused global or a corrupt/truncated file is a DataError naming the file."""
    try:
        with open(path, "rb") as f:
            return restricted_load(f)
    except pickle.UnpicklingError as e:
        if "is not allowed" in str(e):
            raise DataError(f"refusing to load {path}: {e}. {hint}".strip()) from None
        raise DataError(f"{path} is corrupt or truncated ({e}). {hint}".strip()) from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, UnicodeDecodeError) as e:
        raise DataError(f"{path} is corrupt or truncated ({type(e).__name__}: {e}). {hint}".strip()) from None
