import os
import pickle

import numpy as np
import pytest

from rnnbench.data.unpickle import load_pickle_file, restricted_loads
from rnnbench.errors import DataError


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_refuses_os_system_and_does_not_run_it(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"train": [_Exploit(marker)]}, protocol=2)
    assert b"system" in payload  # the payload really names os.system (posix.system)
    with pytest.raises(pickle.UnpicklingError, match="system' is not allowed"):
        restricted_loads(payload)
    assert not marker.exists()
    path = tmp_path / "evil.pickle"
    path.write_bytes(payload)
    with pytest.raises(DataError, match=r"refusing to load .*evil.pickle"):
        load_pickle_file(path)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["eval", "exec", "getattr", "__import__"])
def test_refuses_dangerous_builtins(name):
    payload = b"\x80\x02c__builtin__\n" + name.encode() + b"\nq\x00."
    with pytest.raises(pickle.UnpicklingError, match="is not allowed"):
        restricted_loads(payload)


def _py2_int64(value: int) -> bytes:
    """np.int64(value) as Python 2's cPickle (protocol 2) wrote it in the original files:
    numpy.core.multiarray.scalar(numpy.dtype('i8', 0, 1) + BUILD state, <8 raw bytes as str>)."""
    return (
        b"cnumpy.core.multiarray\nscalar\n"
        b"cnumpy\ndtype\nU\x02i8K\x00K\x01\x87R"
        b"(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
        b"U\x08" + int(value).to_bytes(8, "little") + b"\x86R"
    )


def test_loads_python2_numpy_int64_notes_as_in_the_original_files():
    # {'test': [[(60, 64)]]} with numpy.int64 notes; SHORT_BINSTRINGs are decoded as latin1.
    payload = b"\x80\x02}U\x04test]]" + _py2_int64(60) + _py2_int64(64) + b"\x86aas."
    out = restricted_loads(payload)
    assert out == {"test": [[(60, 64)]]}
    assert isinstance(out["test"][0][0][0], np.int64)


def test_loads_python3_numpy_scalars():
    data = {"test": [[(np.int64(60), np.int64(64))]], "train": [[[np.int64(21)], []]], "valid": []}
    payload = pickle.dumps(data, protocol=4)
    assert b"scalar" in payload and b"dtype" in payload
    out = restricted_loads(payload)
    assert out == data and isinstance(out["train"][0][0][0], np.int64)


def test_truncated_pickle_is_a_clear_error(tmp_path):
    path = tmp_path / "cut.pickle"
    path.write_bytes(pickle.dumps({"train": [[(60,)] * 50]}, protocol=2)[:40])
    with pytest.raises(DataError, match=r"cut.pickle is corrupt or truncated"):
        load_pickle_file(path)
