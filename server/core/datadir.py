"""One erpmail process per data folder: an exclusive lock on DATA_DIR/erpmail.lock.

The server holds it while it runs and `erpmail rotate-secret-key` while it rewrites the stored
passwords, so that a second server cannot share the database (two dispatchers would claim the same
queue from two lease clocks) and a rotation cannot run under a server still encrypting with the old
key. The operating system drops the lock when the process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "erpmail.lock"


class DataDirInUse(OSError):
    """Another process holds the data folder."""


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Takes the lock at once, or raises DataDirInUse."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirInUse(
                f"the data folder {self.path.parent} is in use by another erpmail process"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops its lock
            self._fd = None
