"""Records: dataclasses that cost nothing to compile at import.

``@dataclass`` writes ``__init__``, ``__repr__`` and ``__eq__`` (and, frozen,
``__setattr__``, ``__delattr__`` and ``__hash__``) as source text and
compiles each when the class is defined: ~0.7 ms a class, 1.4 ms frozen,
paid by every run (the pre-commit hook's included) for every class on its
path. A record is declared ``@dataclass(init=False, repr=False, eq=False)``
with its own ``__init__`` (compiled once, into the module's bytecode) and
one of the bases below: ``fields()``, ``replace()`` and the API reference
see a dataclass; repr, equality and hashing are a dataclass's.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from operator import attrgetter

_compared: dict[type, attrgetter] = {}


def _values(record) -> tuple:
    """The values of the fields a dataclass compares, in field order."""
    get = _compared.get(record.__class__)
    if get is None:
        names = [f.name for f in fields(record) if f.compare]
        get = _compared[record.__class__] = attrgetter(*names, names[0])  # always a tuple
    return get(record)


class Record:
    """A dataclass's repr and ``==`` (same class, equal fields); unhashable,
    like a dataclass that is not frozen."""

    __slots__ = ()

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _values(self) == _values(other)

    __hash__ = None


class FrozenRecord(Record):
    """A frozen dataclass's: hashable by value, and no attribute can be
    set after ``__init__`` (which sets them with ``object.__setattr__``)."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(_values(self))

    def __setattr__(self, name, value):
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise FrozenInstanceError(f"cannot delete field {name!r}")
