"""Levels: the values an axis takes. Always strings, never rewritten.

A level is the text the author wrote. A YAML integer written in canonical
decimal (``0``, ``7``, ``-3``, ``42``) is accepted and becomes that text
(``1`` -> ``"1"``). Any other spelling that a reader would turn into a
number -- leading zeros (``007``, ``010``: octal in YAML 1.1), ``0x1F``,
``0b11``, ``1_000``, sexagesimal ``12:30``, a leading ``+``, exponents and
floats (``1e3``, ``1.5``, ``.inf``) -- is an error (Y003) located at the
value, with a hint that quotes the text as written. So are booleans, nulls
(YAML 1.1 reads ``no``, ``on``, ``off``, ``yes`` as booleans: the classic
trap) and nested lists or mappings.

:func:`written_number` is the one check of a number's spelling; the loader
records the source text of every scalar it concerns
(:attr:`cohort_dsl.document.Document.raw_scalars`), and the spec and the
include reader run it on every one (:func:`number_problems`), so that no
level or integer value is ever silently rewritten, wherever it is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import ItemsView, Mapping, Sequence
from functools import cache
from itertools import chain, count
from operator import itemgetter

from cohort_dsl.diagnostics import ERROR, Diagnostic, Location, SpecError, error
from cohort_dsl.registry import LintRule

NON_STRING_LEVEL = LintRule("Y003", "non-string-value",
                            "A level (or value) was read by YAML as a boolean, null, number or list, or is a number not "
                            "written as a plain decimal integer.",
                            "Levels are text and are never rewritten. YAML 1.1 reads `yes`, `no`, `on`, `off`, `true`, "
                            "`false` as booleans, `~` and `null` as null and `1.5` as a number, so `[yes, no]` is not two "
                            "levels named yes and no. A YAML integer written in canonical decimal (`0`, `7`, `-3`, `42`: "
                            "an optional `-`, no leading zeros, no `+`, `_`, `:`, `0x`, `0o` or `0b`) is accepted and "
                            "becomes its text (`1` -> `\"1\"`). Any other spelling a reader would turn into a number is "
                            "an error at the value: leading zeros (`007`, `010`: octal), hex (`0x1F`), binary (`0b11`), "
                            "underscores (`1_000`), sexagesimal (`12:30`, `1:30`), a leading `+` (`+5`), exponents and "
                            "floats (`1e3`, `1.5`, `.5`, `.inf`, `.nan`), and `08`, `0o17`, which YAML 1.2 and JSON read "
                            "as numbers. The hint quotes the text as written: "
                            "`quote it: \"010\"`. The same holds in YAML and JSON includes, and for integer values such "
                            "as `output.seed`, which must be written as a plain decimal integer (`90`, not `1:30`).")

_YAML_TYPE_NAMES = {bool: "a boolean", type(None): "null", float: "a number", list: "a list", dict: "a mapping"}

_LEVELS_ARE_TEXT = "levels are text; only plain decimal integers such as 7 or 42 may stay unquoted"
_WHY = {bool: "YAML 1.1 reads yes/no/on/off/true/false as booleans", type(None): "YAML reads null and ~ as null",
        float: _LEVELS_ARE_TEXT}

#: canonical decimal: an optional ``-``, no leading zeros (``-0`` is not canonical: it prints as ``0``)
_CANONICAL = re.compile(r"-?(?:0|[1-9][0-9]*)")


@cache
def _number_like() -> re.Pattern:
    """What YAML 1.2 (core schema) and JSON read as a number, although YAML
    1.1 reads it as text: ``08``, ``1e3``, ``0o17``, ``1.5e3``, … (compiled
    when a scalar first starts like one: most specs have none)."""
    return re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
                      r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                      r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")


_NUMBER_START = frozenset("0123456789+-.")


def is_canonical_decimal(raw: str) -> bool:
    """``raw`` is an integer in canonical decimal: ``0``, ``7``, ``-3``, ``42``."""
    return _CANONICAL.fullmatch(raw) is not None and raw != "-0"


def looks_like_number(raw: str) -> bool:
    """``raw`` (text YAML 1.1 kept as a string) is a number to YAML 1.2 or JSON."""
    return bool(raw) and raw[0] in _NUMBER_START and _number_like().fullmatch(raw) is not None


def written_number(value, raw: str | None, location: Location, what: str = "level",
                   integer: bool = False) -> Diagnostic | None:
    """The one check of how a number is written.

    ``value`` is what YAML made of a plain scalar and ``raw`` its source
    text; ``what`` names it in the message ("level", "value",
    "output.seed"). Returns the Y003 diagnostic when the scalar is a number
    not written in canonical decimal, else None. For an ``integer`` value
    the hint gives the plain decimal spelling instead of quoting (a float
    with an integral value, such as ``1:30.0``, is refused too). Booleans,
    nulls and other floats are left to the type checks, which report them
    with the same code or as a wrong type."""
    if raw is None or isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if is_canonical_decimal(raw):
            return None
        number, reading = value, f"was read as the number {value}"
    elif isinstance(value, float):
        if not integer or not value.is_integer():
            return None  # a float level is reported by the type checks
        number, reading = int(value), f"was read as the number {int(value)}"
    elif isinstance(value, str):
        if not looks_like_number(raw):
            return None
        number = _number_of(raw)
        reading = "is written as a number" + (f" (YAML 1.2 and JSON read it as {number})" if number is not None else "")
    else:
        return None
    plain = str(number) if isinstance(number, int) else None
    if integer:
        if plain is None:
            return None  # not an integer at all: the schema's type check says so
        return Diagnostic(NON_STRING_LEVEL.code, f"{what} {raw} is not a plain decimal integer: it {reading}", location,
                          ERROR, f"write it as a plain decimal integer: {plain}")
    hint = f'quote it: "{raw}"'
    if what == "level":
        hint += f" ({_LEVELS_ARE_TEXT})"
    elif plain is not None:
        hint += f", or write {plain} if it is meant as a number"
    return Diagnostic(NON_STRING_LEVEL.code, f"{what} {raw} {reading}, not as text", location, ERROR, hint)


def number_problems(document, what_at) -> list[Diagnostic]:
    """:func:`written_number` for every scalar of ``document`` whose source
    text was recorded, in document order. ``what_at(path)`` returns
    ``(what, integer)`` for the value at ``path``."""
    out = []
    for path, raw in document.raw_scalars.items():
        what, integer = what_at(path)
        problem = written_number(document.value(path), raw, document.loc(path), what, integer)
        if problem is not None:
            out.append(problem)
    return out


def as_level(value, location: Location, raw: str | None = None, what: str = "level") -> str:
    """Return ``value`` as a level string, or raise a located Y003 error.
    An integer becomes its text (``raw``, the source text when known, must
    be canonical decimal: a level is never rewritten)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise SpecError(non_string_level(value, location, raw, what))
    problem = written_number(value, raw, location, what)
    if problem is not None:
        raise SpecError(problem)
    return value if isinstance(value, str) else str(value)


def non_string_level(value, location: Location, raw: str | None = None, what: str = "level"):
    """The Y003 diagnostic for a value that is not a string (shared by the
    schema check, which sees the same mistake first for inline levels)."""
    kind = _YAML_TYPE_NAMES.get(type(value), type(value).__name__)
    if isinstance(value, (list, dict)):
        return error(
            NON_STRING_LEVEL.code,
            f"a {what} must be a single value, not {kind}",
            location,
            hint="write each level as a plain string",
        ).diagnostics[0]
    shown = raw if raw is not None else ("null" if value is None else str(value).lower())
    return error(
        NON_STRING_LEVEL.code,
        f"{what} {shown} was read as {kind}, not as text",
        location,
        hint=f'quote it: "{shown}" ({_WHY.get(type(value), _WHY[float])})',
    ).diagnostics[0]


def _number_of(raw: str):
    """The number YAML 1.2 / JSON read ``raw`` as (None if out of range)."""
    try:
        if raw.startswith("0o"):
            return int(raw[2:], 8)
        if raw.startswith("0x"):
            return int(raw[2:], 16)
        if re.fullmatch(r"[-+]?[0-9]+", raw):
            return int(raw)
        value = float(raw.replace(".inf", "inf").replace(".Inf", "inf").replace(".INF", "inf")
                      .replace(".nan", "nan").replace(".NaN", "nan").replace(".NAN", "nan"))
    except (ValueError, OverflowError):
        return None
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e18:
        return int(value)
    return value


class Origins(Mapping):
    """Where each level of an axis was first written: ``{level: Location}``
    for distinct ``levels`` aligned with their ``locations`` (a lazy
    sequence for an include), without a dict or a Location per level until
    one is looked up. Levels a rule adds later (``origins[level] = loc``)
    are held apart; :meth:`copy` shares the levels."""

    __slots__ = ("levels", "locations", "added", "_index")

    def __init__(self, levels: list, locations: Sequence, added: dict | None = None):
        self.levels, self.locations = levels, locations
        self.added = dict(added or {})
        self._index = None

    def _position(self, level):
        if self._index is None:  # built on the first look-up: most runs never make one
            self._index = dict(zip(self.levels, count()))
        return self._index.get(level)

    def __getitem__(self, level):
        position = self._position(level)
        if position is not None:
            return self.locations[position]
        return self.added[level]

    def __contains__(self, level) -> bool:
        return self._position(level) is not None or level in self.added

    def __setitem__(self, level, location) -> None:
        if level not in self:
            self.added[level] = location

    def __len__(self) -> int:
        return len(self.levels) + len(self.added)

    def __iter__(self):
        return chain(self.levels, self.added)

    def items(self):
        return _OriginItems(self)

    def copy(self) -> "Origins":
        return Origins(self.levels, self.locations, self.added)


class _OriginItems(ItemsView):
    def __iter__(self):  # the locations in one pass (a lazy sequence makes them at C speed)
        origins = self._mapping
        return chain(zip(origins.levels, origins.locations), origins.added.items())


class LocatedColumn(Sequence):
    """Column ``index`` of ``rows`` (tuples) as ``(value, location)``
    pairs, made when read: what a tuple rule introduces for each of its
    axes, without a pair per row and axis."""

    __slots__ = ("rows", "index", "locations")

    def __init__(self, rows: Sequence, index: int, locations: Sequence):
        self.rows, self.index, self.locations = rows, index, locations

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, position):
        if isinstance(position, slice):
            return list(zip(map(itemgetter(self.index), self.rows[position]), self.locations[position]))
        return self.rows[position][self.index], self.locations[position]

    def __iter__(self):
        return zip(self.values(), self.locations)

    def values(self):
        return map(itemgetter(self.index), self.rows)


def located_values(located):
    """The values of ``(value, location)`` pairs (without locating a
    :class:`LocatedColumn`'s)."""
    return located.values() if isinstance(located, LocatedColumn) else (value for value, _ in located)
