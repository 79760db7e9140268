"""A one-line progress counter for long runs on a terminal.

``Progress(total, label, stream, enabled)`` draws ``\\r{label} {done}/{total}
{elapsed}s`` on ``stream`` (stderr), at most 10 times a second, and clears the
line (``\\r\\x1b[K``) on :meth:`~Progress.close`; close it before writing the
report. Disabled, it writes nothing at all. :meth:`Progress.enabled_for`
decides: a terminal and a human output format (text, github), never json or
sarif. No dependencies; no threads (lint forks workers).
"""

from __future__ import annotations

import time

HUMAN_FORMATS = frozenset({"text", "github"})
INTERVAL = 0.1  # seconds between redraws, at least
CLEAR = "\r\x1b[K"
clock = time.monotonic


class Progress:
    def __init__(self, total: int, label: str, stream, enabled: bool):
        self.total, self.label, self.stream = total, label, stream
        self.enabled = bool(enabled)
        self.done = 0
        self._start = clock()
        self._last = None  # monotonic time of the last redraw; None: nothing on screen
        if self.enabled:
            self._draw(self._start)  # at once: the first bundle may take a while

    @staticmethod
    def enabled_for(stream, fmt: str) -> bool:
        """True only for a terminal ``stream`` and a human format."""
        if fmt not in HUMAN_FORMATS:
            return False
        try:
            return bool(stream.isatty())
        except (AttributeError, OSError, ValueError):  # no isatty, or a closed stream
            return False

    def advance(self, n: int = 1) -> None:
        if not self.enabled:
            return
        self.done += n
        now = clock()
        if self._last is None or now - self._last >= INTERVAL:
            self._draw(now)

    def close(self) -> None:
        if self.enabled and self._last is not None:
            self._write(CLEAR)
        self._last = None
        self.enabled = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _draw(self, now: float) -> None:
        self._last = now
        self._write(f"\r{self.label} {self.done}/{self.total} {now - self._start:.1f}s")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: stop drawing
            self.enabled = False
