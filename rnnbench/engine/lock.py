"""One process per run folder: ``with RunLock(folder):`` holds an exclusive lock on
``<folder>/.lock`` for as long as the run (or a population group) trains.

The lock is the kernel's (``flock``): it is released when its holder ends, however it ends
(``kill -9`` included), so a lock left by a dead process is simply taken over by the next one. The
file names the holder (PID, host, start time) for the message a second process prints; the holder
removes it when it is done. A process that finds the folder held raises RunLocked: two processes
never train into one folder (metrics.csv, checkpoint.pt and results.json would interleave).
"""
from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path
from typing import Optional

from rnnbench.engine.results import ANOTHER_FOLDER
from rnnbench.errors import RnnbenchError

NAME = ".lock"


class RunLocked(RnnbenchError):
    """The folder is held by another live process."""


class RunLock:
    def __init__(self, folder: Path, what: str = "run folder"):
        self.folder, self.what = Path(folder), what
        self.path = self.folder / NAME
        self.fd: Optional[int] = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> "RunLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            try:  # never through a link: a planted .lock -> file outside would be truncated (issue 32)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            except OSError as e:
                if os.path.islink(self.path):
                    raise RunLocked(f"{self.path} is a symbolic link; rnnbench writes its run files only into the "
                                    f"run folder, never through a link. Remove the link (or {ANOTHER_FOLDER})") from None
                raise

            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode(errors="replace").split()
                os.close(fd)
                who = f"process {holder[0]} on {holder[1]}" if len(holder) >= 2 else "another process"
                raise RunLocked(f"{self.folder} is in use by {who} (this {self.what} is locked while it trains); "
                                f"nothing was changed. Wait for it to end, or stop it and run this command again "
                                f"to resume") from None
            try:  # the file locked must still be the one at the path (a finishing holder unlinks it)
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still held: a waiting process re-checks the inode
        finally:
            os.close(self.fd)
            self.fd = None
