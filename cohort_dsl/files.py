"""Files: bounded reads of regular files, recorded; atomic writes.

Reads: :func:`read_bounded` and :func:`open_text` open a file without
blocking, check the opened descriptor is a regular file (a FIFO would hang,
``/dev/zero`` would never end) and read at most a byte bound. While a
:func:`recording` is active, each read leaves the digest of the exact bytes
read, so a cache keyed by them can never store a result under content it did
not see.

Writes: a temporary file in the same folder, then a rename. A reader (or a
crash, or SIGKILL) sees the old file or the new one, never a half-written
one; on failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import os
import stat
from pathlib import Path

try:  # the C module itself: importing hashlib also loads OpenSSL (~3 ms)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other Python implementations
    from hashlib import blake2b

ABSENT = "-"  # the digest recorded for a file that did not exist
PRESENT = "+"  # ... for a file whose existence, not its bytes, was looked at
LISTING = "dir:"  # ... prefixes the digest of a folder's sorted entry names
_reads: contextvars.ContextVar = contextvars.ContextVar("cohort_dsl_reads", default=None)


class NotRegularFile(OSError):
    """A path that is a FIFO, a device, a socket or a folder."""


class TooLarge(OSError):
    """A file above the byte bound it was read with."""

    def __init__(self, path, limit: int):
        super().__init__(f"{path} is larger than {limit:,} bytes")
        self.filename, self.limit = str(path), limit


def digest_bytes(data: bytes) -> str:
    return blake2b(data, digest_size=16).hexdigest()


class Reads(dict):
    """``{absolute path: digest of the bytes read}``; ``changed`` holds the
    paths read twice with different bytes (edited while the run read them)."""

    def __init__(self):
        super().__init__()
        self.changed: set[str] = set()

    def note(self, path: str, digest: str) -> None:
        previous = self.get(path)
        if previous is not None and previous != digest:
            # A file seen present and read: its bytes are the stronger record.
            if digest == PRESENT and previous != ABSENT:
                return
            if previous != PRESENT or digest == ABSENT:
                self.changed.add(path)
        self[path] = digest


@contextlib.contextmanager
def recording():
    """Collect the reads made inside the block as :class:`Reads` (a file
    found absent is recorded as ``ABSENT``). Recordings nest: an enclosing
    one also sees the reads of the blocks inside it."""
    log = Reads()
    token = _reads.set(log)
    try:
        yield log
    finally:
        _reads.reset(token)
        outer = _reads.get()
        if outer is not None:
            for path, digest in log.items():
                outer.note(path, digest)
            outer.changed |= log.changed


def _note(path, digest: str) -> None:
    log = _reads.get()
    if log is not None:
        log.note(str(Path(path).absolute()), digest)


def record_absent(path) -> None:
    """Note that the lint looked for ``path`` and found nothing (its later
    appearance must change a cached result)."""
    log = _reads.get()
    if log is not None:
        log.setdefault(str(Path(path).absolute()), ABSENT)


def record_presence(path) -> bool:
    """Whether ``path`` is a regular file, noted as such (its appearance or
    removal, not an edit, must change a cached result)."""
    present = os.path.isfile(path)
    log = _reads.get()
    if log is not None:
        log.setdefault(str(Path(path).absolute()), PRESENT if present else ABSENT)
    return present


def record_listing(folder) -> list[str]:
    """The sorted entry names of ``folder`` (none when it is absent), noted
    so that an entry added or removed changes a cached result."""
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        record_absent(folder)
        return []
    _note(folder, _listing_digest(names))
    return names


def _listing_digest(names: list[str]) -> str:
    return LISTING + digest_bytes("\n".join(names).encode("utf-8", "surrogateescape"))


def current_digest(path, recorded: str, limit: int) -> str:
    """What a recording would note for ``path`` now, in the kind of the
    ``recorded`` entry (bytes, presence or a folder's listing), for a cache
    to compare; raises for what cannot be read."""
    if recorded == PRESENT:
        return PRESENT if os.path.isfile(path) else ABSENT
    if recorded.startswith(LISTING):
        try:
            return _listing_digest(sorted(os.listdir(path)))
        except (FileNotFoundError, NotADirectoryError):
            return ABSENT
    return digest_file(path, limit)


def read_chunks(path, limit: int, size: int = 1 << 20):
    """The bytes of a regular file as chunks of at most ``size`` bytes,
    at most ``limit`` bytes in all (above it: :class:`TooLarge`), without
    holding the file; recorded (as :func:`read_bounded` records it) once
    the last chunk was read."""
    fd = _open_regular(path)
    digest = blake2b(digest_size=16) if _reads.get() is not None else None
    try:
        total = 0
        while True:
            chunk = os.read(fd, min(size, limit + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise TooLarge(path, limit)
            if digest is not None:
                digest.update(chunk)
            yield chunk
    finally:
        os.close(fd)
    if digest is not None:
        _note(path, digest.hexdigest())


def inside(path, root) -> bool:
    """Whether ``path``, symlinks resolved, is ``root`` or lies below it."""
    real, top = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([real, top]) == top


def _open_regular(path) -> int:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(f"{path} is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bounded(path, limit: int) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them (above it:
    :class:`TooLarge`); recorded when a :func:`recording` is active."""
    fd = _open_regular(path)
    try:
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise TooLarge(path, limit)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if _reads.get() is not None:
        _note(path, digest_bytes(data))
    return data


class _HashingReader(io.RawIOBase):
    """A raw reader over a descriptor that hashes what passes through while
    a :func:`recording` is active; on close it reads what was left unread
    (so the digest is the file's) and records it. Outside a recording it
    hashes nothing (readers of big membership files pay no digest)."""

    def __init__(self, fd: int, path):
        super().__init__()
        self.fd, self.path = fd, path
        self.hash = blake2b(digest_size=16) if _reads.get() is not None else None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = os.read(self.fd, len(buffer))
        if self.hash is not None:
            self.hash.update(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                if _reads.get() is not None:
                    if self.hash is None:  # a recording began after the open: digest the whole file
                        os.lseek(self.fd, 0, os.SEEK_SET)
                        self.hash = blake2b(digest_size=16)
                    while True:
                        rest = os.read(self.fd, 1 << 20)
                        if not rest:
                            break
                        self.hash.update(rest)
                    _note(self.path, self.hash.hexdigest())
            finally:
                os.close(self.fd)
        super().close()


def open_text(path, encoding: str = "utf-8-sig"):
    """A text stream (UTF-8, a BOM allowed; newlines as written) over a
    regular file, streamed rather than read whole; recorded like
    :func:`read_bounded`."""
    fd = _open_regular(path)
    return io.TextIOWrapper(io.BufferedReader(_HashingReader(fd, path), 1 << 16), encoding=encoding, newline="")


def digest_file(path, limit: int) -> str:
    """The digest :func:`read_bounded` would record, ``ABSENT`` for a file
    that does not exist; raises for what cannot be read."""
    try:
        fd = _open_regular(path)
    except FileNotFoundError:
        return ABSENT
    try:
        h, size = blake2b(digest_size=16), 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return h.hexdigest()
            size += len(chunk)
            if size > limit:
                raise TooLarge(path, limit)
            h.update(chunk)
    finally:
        os.close(fd)


#: a file smaller than this is hashed by the interpreter's own SHA-256:
#: importing hashlib loads OpenSSL (~4 ms, a lint's check of a committed
#: membership.csv), which its speed (~6x) pays back from about 1 MB
SMALL_SHA256 = 1 << 18


def _sha256(size: int):
    """A SHA-256 object for ``size`` bytes (the same digest either way)."""
    if size >= SMALL_SHA256:
        import hashlib

        return hashlib.sha256()
    try:
        from _sha2 import sha256  # Python 3.12+
    except ImportError:
        try:
            from _sha256 import sha256
        except ImportError:  # pragma: no cover - other Python implementations
            from hashlib import sha256
    return sha256()


def sha256_file(path) -> str:
    """The SHA-256 of a regular file's bytes (streamed); recorded like
    :func:`read_bounded` when a :func:`recording` is active."""
    fd = _open_regular(path)
    try:
        sha, log = _sha256(os.fstat(fd).st_size), _reads.get()
        record = blake2b(digest_size=16) if log is not None else None
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            sha.update(chunk)
            if record is not None:
                record.update(chunk)
    finally:
        os.close(fd)
    if record is not None:
        _note(path, record.hexdigest())
    return sha.hexdigest()


TEMP_PREFIX = ".cohort-dsl-tmp-"
_umask: int | None = None


def temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in ``path``'s folder, with the permissions a
    plain ``open()`` would give (mkstemp's are 0600)."""
    global _umask
    if _umask is None:
        _umask = os.umask(0)
        os.umask(_umask)
    import tempfile  # only where a file is written: not on the lint path

    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask)
    except (AttributeError, OSError):  # not on every platform
        pass
    return fd, name


def open_temp_beside(path: Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = ""):
    """``(file object, name)`` of a new temporary file beside ``path``
    (see :func:`temp_beside`), opened with ``mode``. A stop (SIGTERM,
    SIGINT: their handlers raise) waits until the file is created and
    opened, so that it never lands between the two and leaves the file
    behind; a stop that came meanwhile is raised here, the file removed."""
    held = _hold_stops()
    try:
        fd, name = temp_beside(path)
        try:
            if "b" in mode:
                handle = os.fdopen(fd, mode)
            else:
                handle = os.fdopen(fd, mode, encoding=encoding, newline=newline, buffering=1 << 20)
        except BaseException:
            with contextlib.suppress(OSError):  # a failed file object may have closed it already
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise
    except BaseException:
        _release_stops(held)
        raise
    try:
        _release_stops(held)  # raises the stop's exception, if one came
    except BaseException:
        with contextlib.suppress(OSError):
            handle.close()
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return handle, name


def _hold_stops():
    """Block SIGTERM and SIGINT for this thread (where the platform can);
    what :func:`_release_stops` restores."""
    try:  # the C module behind `signal` (its enums cost ~1 ms to build)
        import _signal as signal
    except ImportError:  # pragma: no cover - another Python implementation
        import signal
    if not hasattr(signal, "pthread_sigmask"):
        return None
    try:
        return signal, signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    except (ValueError, OSError):
        return None


def _release_stops(held) -> None:
    """Restore the mask :func:`_hold_stops` changed: a stop that came
    meanwhile has its handler run (and raise) here."""
    if held is not None:
        signal, previous = held
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = ""):
    """Write ``path`` through a temporary file renamed onto it. What is
    there is written *through*, never replaced: a symlink keeps pointing
    where it did (the file it points at is replaced), and a device or FIFO
    (``/dev/null``, ``/dev/stdout``) is written directly. Errors name
    ``path``, not the temporary file."""
    shown = str(path)
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        existing = os.stat(path)
    except OSError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise IsADirectoryError(21, "is a folder, not a file", shown)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        try:
            with open(path, mode, **({} if "b" in mode else {"encoding": encoding, "newline": newline})) as handle:
                yield handle
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror or str(exc), shown) from None
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = open_temp_beside(path, mode, encoding, newline)
    except OSError as exc:  # name the file the user asked for, not its parent
        raise OSError(exc.errno, f"cannot write the file here ({exc.strerror})", shown) from None
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OSError(exc.errno, exc.strerror or str(exc), shown) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_writer(path) as handle:
        handle.write(text)
