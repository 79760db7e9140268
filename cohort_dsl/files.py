"""Atomic file writes: a temporary file in the same folder, then a rename.

A reader (or a crash, or SIGKILL) sees the old file or the new one, never a
half-written one; on failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

TEMP_PREFIX = ".cohort-dsl-tmp-"
_umask: int | None = None


def temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in ``path``'s folder, with the permissions a
    plain ``open()`` would give (mkstemp's are 0600)."""
    global _umask
    if _umask is None:
        _umask = os.umask(0)
        os.umask(_umask)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask)
    except (AttributeError, OSError):  # not on every platform
        pass
    return fd, name


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = ""):
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_beside(path)
    except OSError as exc:  # name the file the user asked for, not its parent
        raise OSError(exc.errno, f"cannot write the file here ({exc.strerror})", str(path)) from None
    try:
        if "b" in mode:
            handle = os.fdopen(fd, mode)
        else:
            handle = os.fdopen(fd, mode, encoding=encoding, newline=newline, buffering=1 << 20)
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_writer(path) as handle:
        handle.write(text)
