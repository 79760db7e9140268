"""Diagnostics: what every stage reports, as plain data.

A :class:`Diagnostic` is a located message with a stable code. Stages that
cannot go on raise :class:`SpecError` carrying the diagnostics that stopped
them; the CLI turns those into reports and exit codes, so exceptions never
cross the CLI boundary.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cohort_dsl.records import FrozenRecord

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)
#: Set (to anything but "" or "0") to let an internal error's traceback through.
DEBUG_ENV = "COHORT_DSL_DEBUG"


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


# one per level of large includes: slots keep it small; a frozen record
# (cohort_dsl.records) with its hot methods written out
@dataclass(init=False, repr=False, eq=False, slots=True)
class Location(FrozenRecord):
    """Where something was written: a file, and a 1-based line and column.

    ``line``/``col`` are None when unknown (a spec given as an in-memory
    mapping, or a whole-file problem such as an unreadable file).
    """

    path: str | None = None
    line: int | None = None
    col: int | None = None

    def __init__(self, path: str | None = None, line: int | None = None, col: int | None = None):
        set_field = object.__setattr__
        set_field(self, "path", path)
        set_field(self, "line", line)
        set_field(self, "col", col)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.path, self.line, self.col) == (other.path, other.line, other.col)

    def __hash__(self) -> int:
        return hash((self.path, self.line, self.col))

    def __getstate__(self):  # pickled (results of forked lint workers): set without __setattr__
        return (self.path, self.line, self.col)

    def __setstate__(self, state) -> None:
        Location.__init__(self, *state)

    def __str__(self) -> str:
        parts = [display_path(self.path) if self.path else "<spec>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


@dataclass(init=False, repr=False, eq=False)  # a frozen record: see cohort_dsl.records
class Diagnostic(FrozenRecord):
    """One finding. ``severity`` is filled from the code's registered default
    when the lint gate reports it (a stage may set it directly)."""

    code: str
    message: str
    location: Location = field(default_factory=Location)
    severity: str = ERROR
    hint: str | None = None
    # The plugin whose rule produced it, when not the core.
    plugin: str | None = None

    def __init__(self, code: str, message: str, location: Location | None = None, severity: str = ERROR,
                 hint: str | None = None, plugin: str | None = None):
        set_field = object.__setattr__
        set_field(self, "code", code)
        set_field(self, "message", message)
        set_field(self, "location", Location() if location is None else location)
        set_field(self, "severity", severity)
        set_field(self, "hint", hint)
        set_field(self, "plugin", plugin)

    def sort_key(self) -> tuple:
        """Report order: path, line, column, code, message."""
        loc = self.location
        return (loc.path or "", loc.line or 0, loc.col or 0, self.code, self.message)

    def render(self) -> str:
        """``path:line:col: CODE message`` plus an indented hint line."""
        text = f"{self.location}: {self.code} {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class SpecError(Exception):
    """A stage stopped on bad input. Carries one or more diagnostics."""

    def __init__(self, diagnostics: "Diagnostic | list[Diagnostic]"):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


class UsageError(Exception):
    """Bad command-line use or configuration: exit code 2."""


def error(code: str, message: str, location: Location | None = None, hint: str | None = None) -> SpecError:
    """Shorthand for the common ``raise error(...)``."""
    return SpecError(Diagnostic(code, message, location or Location(), ERROR, hint))


def display_path(path: str) -> str:
    """A path as users want to read it: relative to the working directory
    when it lies below it, unchanged otherwise."""
    if not os.path.isabs(path):
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel


DID_YOU_MEAN_POOL = 2000


class Candidates:
    """Names to suggest from, indexed once for many look-ups: a large pool
    (a catalog of a million values) is kept sorted forwards and by reversed
    text, and a word is compared only with its neighbours in both orders —
    the names that share its beginning or its end. A miss then costs
    milliseconds, not seconds."""

    def __init__(self, names):
        self.names = names if isinstance(names, list) else list(names)
        self._forward = self._backward = None

    def near(self, word: str) -> list[str]:
        if len(self.names) <= DID_YOU_MEAN_POOL:
            return self.names
        from bisect import bisect_left

        if self._forward is None:
            self._forward = sorted(self.names)
            self._backward = sorted(name[::-1] for name in self.names)
        half = 100  # neighbours on each side, in each order
        at = bisect_left(self._forward, word)
        pool = self._forward[max(0, at - half): at + half]
        at = bisect_left(self._backward, word[::-1])
        pool += [name[::-1] for name in self._backward[max(0, at - half): at + half]]
        return list(dict.fromkeys(pool))


def did_you_mean(word: str, candidates) -> str | None:
    """A "did you mean …" hint for a misspelt name, or None. ``candidates``
    is any iterable of names, or a :class:`Candidates` built once for many
    look-ups against a large pool."""
    import difflib

    pool = (candidates if isinstance(candidates, Candidates) else Candidates(candidates)).near(word)
    matches = difflib.get_close_matches(word, pool, n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"
