"""The data root, downloads and checksum verification.

The root is ``data.root`` from the config, else ``$RNNBENCH_DATA``, else a per-user cache
directory. A missing file is downloaded into the root from its canonical address (then the
mirrors of sources.py), written to a temporary file, verified against the shipped SHA-256 and
only then renamed into place, so an interrupted download never leaves a half file behind.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from platformdirs import user_cache_dir
from tqdm import tqdm

from rnnbench.data.sources import ARCHIVE_MEMBERS, sha256_table, urls
from rnnbench.errors import DataError

_TIMEOUT_S = 30


def data_root(root: str | os.PathLike | None) -> Path:
    """The configured root, else $RNNBENCH_DATA, else the per-user cache directory."""
    if root in (None, ""):
        root = os.environ.get("RNNBENCH_DATA") or user_cache_dir("rnnbench")
    path = Path(root).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise DataError(f"the data root {path} is a file, not a folder; set data.root=... (or RNNBENCH_DATA) to the "
                        "folder that holds music/, ptb/ and sentiment/")
    if path.is_dir() and not os.access(path, os.R_OK | os.X_OK):
        raise DataError(f"the data root {path} cannot be read (permissions); make it readable or set data.root=... "
                        "to another folder")
    return path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fix_hint(relpath: str, root: Path) -> str:
    addresses = urls(relpath)
    where = f" from {addresses[0]}" if addresses else ""
    return (
        f"Fix: put the file at {root / relpath}{where} (or point data.root / $RNNBENCH_DATA at a folder "
        "that has it, e.g. a copy of shared/data), then run again."
    )


def verify(path: Path, relpath: str, root: Path) -> None:
    """Raise DataError unless ``path`` has the SHA-256 recorded for ``relpath``."""
    expected = sha256_table().get(relpath)
    if expected is None:
        return
    actual = sha256_of(path)
    if actual != expected:
        raise DataError(
            f"checksum mismatch for '{relpath}' in data root {root}: expected sha256 {expected}, "
            f"got {actual} ({path.stat().st_size:,} bytes; a truncated or edited file?). "
            f"Delete {path} and run again with data.download=true to fetch it anew, or replace it. "
            + _fix_hint(relpath, root)
        )


def _download(url: str, dest: Path, progress: bool) -> None:
    """Stream ``url`` into ``dest`` (a temporary name); raises OSError/URLError on failure."""
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        bar = tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress)
        with open(dest, "wb") as out, bar:
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                bar.update(len(block))


def _member(tar: tarfile.TarFile, name: str) -> tarfile.TarInfo:
    for info in tar.getmembers():
        if info.isfile() and info.name.removeprefix("./") == name:
            return info
    raise KeyError(name)


def _fetch_from_archive(relpath: str, root: Path) -> list[str]:
    """Download the archive holding ``relpath`` and extract it and its missing siblings (only
    the members listed in ARCHIVE_MEMBERS, each verified, then renamed into place). Returns the
    errors met; empty when ``relpath`` is in place."""
    archive_url = ARCHIVE_MEMBERS[relpath][0]
    with tempfile.TemporaryDirectory(dir=root) as tmpdir:
        archive = Path(tmpdir) / "archive"
        try:
            print(f"rnnbench: downloading {archive_url} (for {relpath}) into {root}", file=sys.stderr)
            _download(archive_url, archive, progress=sys.stderr.isatty())
            with tarfile.open(archive) as tar:
                for rel, (url, name) in ARCHIVE_MEMBERS.items():
                    dest = root / rel
                    if url != archive_url or dest.is_file():
                        continue
                    data = tar.extractfile(_member(tar, name)).read()
                    expected = sha256_table().get(rel)
                    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
                        return [f"{archive_url}: member {name} fails its checksum"]
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    part = Path(tmpdir) / "member"
                    part.write_bytes(data)
                    os.replace(part, dest)
        except (OSError, urllib.error.URLError, tarfile.TarError, KeyError) as e:
            return [f"{archive_url}: {getattr(e, 'reason', e)}"]
    return []


def _fetch_file(relpath: str, path: Path, addresses: list[str]) -> list[str]:
    """Try each address in turn: stream to a temporary file, verify, rename. Returns the errors
    met; empty once ``path`` is in place."""
    errors = []
    for url in addresses:
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp)
        try:
            print(f"rnnbench: downloading {url} -> {path}", file=sys.stderr)
            _download(url, tmp, progress=sys.stderr.isatty())
            expected = sha256_table().get(relpath)
            if expected is not None and sha256_of(tmp) != expected:
                errors.append(f"{url}: checksum mismatch")
                continue
            os.replace(tmp, path)
            return []
        except (OSError, urllib.error.URLError) as e:
            errors.append(f"{url}: {getattr(e, 'reason', e)}")
        finally:
            tmp.unlink(missing_ok=True)
    return errors


def ensure_file(relpath: str, root: str | os.PathLike | None, *, download: bool = True, check: bool = True) -> Path:
    """Return the path of ``relpath`` under the data root, downloading and verifying it if needed."""
    root = data_root(root)
    path = root / relpath
    if path.exists() and not path.is_file():  # a folder, or a FIFO that would block every reader
        raise DataError(f"{path} exists but is not a regular file; remove it (it is downloaded again) or put the data "
                        "file there")
    if path.is_file():
        if check:
            verify(path, relpath, root)
        return path
    addresses = urls(relpath)
    if not download:
        raise DataError(
            f"'{relpath}' is not in data root {root} and data.download=false. " + _fix_hint(relpath, root)
        )
    if not addresses:
        raise DataError(f"'{relpath}' is not in data root {root} and has no download address. " + _fix_hint(relpath, root))
    made = [d for d in (path.parent, *path.parent.parents) if not d.exists() and root in d.parents]
    path.parent.mkdir(parents=True, exist_ok=True)
    if relpath in ARCHIVE_MEMBERS:
        errors = _fetch_from_archive(relpath, root)
    else:
        errors = _fetch_file(relpath, path, addresses)
    if not errors:
        return path
    for d in made:  # a failed download leaves no empty folders behind in the data root (issue 32)
        try:
            d.rmdir()
        except OSError:  # not empty: something else was written there meanwhile
            pass
    raise DataError(
        f"could not download '{relpath}' into data root {root} ({'; '.join(errors)}). "
        "Without network, set data.download=false and provide the file yourself. " + _fix_hint(relpath, root)
    )
