"""Text data files read strictly: a file that is not what its loader expects is refused with one line
naming the file, the line and the fix, before any training (PTB, the sentiment reviews and ratings)."""
from __future__ import annotations

from pathlib import Path

from rnnbench.errors import DataError

BOMS = {b"\xef\xbb\xbf": "UTF-8", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def read_text(path: Path, encoding: str, fix: str) -> str:
    """The text of ``path`` in ``encoding``; a byte-order mark, a NUL byte or a byte that is not
    ``encoding`` is refused (``fix``: what the user should do, in the message)."""
    data = Path(path).read_bytes()
    for bom, name in BOMS.items():
        if data.startswith(bom):
            raise DataError(f"{path} starts with a {name} byte-order mark (line 1), which would be read as a word; "
                            f"{fix}")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataError(f"{path} line {_line(data, nul)} holds a NUL byte: not a text file; {fix}")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise DataError(f"{path} line {_line(data, e.start)} is not {encoding} text (byte {e.start}); "
                        f"{fix}") from None


def _line(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def numbers(path: Path, text: str, low: float, high: float, fix: str) -> list[float]:
    """One number per line of ``text`` (blank lines are refused too: they would shift every later
    value), each in [low, high]."""
    out = []
    for i, line in enumerate(text.splitlines(), start=1):
        try:
            value = float(line.strip())
        except ValueError:
            raise DataError(f"{path} line {i} is {line.strip()[:40]!r}, not a number; {fix}") from None
        if not low <= value <= high:
            raise DataError(f"{path} line {i} holds {value:g}, outside the scale [{low:g}, {high:g}]; {fix}")
        out.append(value)
    return out
