"""The lock of a cohort's folder: how a writer and its readers take turns.

``materialize`` holds it exclusively from staging to publishing, so two runs
of one cohort never interleave, and once it holds it any temporary file in
the folder is a dead run's. A reader that finds a membership set whose files
do not match its ``manifest.json`` takes it shared: that waits for a run
that is publishing right now, after which the set is whole again (or was
left mixed by a killed run, which the reader then reports).

It is a ``flock`` on the folder itself: no lock file to leave behind or to
commit, and the kernel releases it when the holder's descriptor closes, so a
killed run never leaves it held. Where ``fcntl`` is missing (not POSIX),
there is no locking.
"""

from __future__ import annotations

import os
from pathlib import Path


class CohortLock:
    """``with CohortLock(folder):`` exclusive; ``shared=True`` for readers.
    ``on_wait()`` is called once when another holder makes this one wait."""

    def __init__(self, directory: Path, *, shared: bool = False, on_wait=None):
        self.directory, self.shared, self.on_wait = directory, shared, on_wait
        self.fd: int | None = None

    def __enter__(self) -> "CohortLock":
        self.fd = os.open(self.directory, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        try:
            try:
                fcntl.flock(self.fd, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                if self.on_wait is not None:
                    self.on_wait()
                fcntl.flock(self.fd, mode)
        except BaseException:
            os.close(self.fd)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
