"""Every dataclass in cohort_dsl is a record (cohort_dsl/records.py): no
method compiled from generated source at import and a docstring of its own
(docs/performance.md, "Records instead of generated dataclass code"), and it
behaves exactly like the plain dataclass of the same fields: constructor
(order, defaults, a fresh object per default_factory), repr, equality,
hashing and frozenness.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import MISSING, FrozenInstanceError

import pytest

import cohort_dsl
from cohort_dsl.records import FrozenRecord, Record

#: run as programs, not imported for their classes
_SKIPPED = {"cohort_dsl.__main__"}
_GENERATED = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
#: values of a field whose record's ``__init__`` reads it (any other field gets a fresh object())
_SAMPLES = {("cohort_dsl.report.Report", "diagnostics"): []}  # sorted by location


def _dataclasses() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(cohort_dsl.__path__, "cohort_dsl."):
        if info.name in _SKIPPED:
            continue
        module = importlib.import_module(info.name)
        found.extend(value for value in vars(module).values()
                     if isinstance(value, type) and dataclasses.is_dataclass(value)
                     and value.__module__ == module.__name__)
    return found


DATACLASSES = _dataclasses()


def _twin(cls: type) -> type:
    """The plain ``@dataclass`` a record stands for."""
    specs = []
    for f in dataclasses.fields(cls):
        options = {"repr": f.repr, "compare": f.compare, "kw_only": f.kw_only}
        if f.default is not MISSING:
            options["default"] = f.default
        elif f.default_factory is not MISSING:
            options["default_factory"] = f.default_factory
        specs.append((f.name, f.type, dataclasses.field(**options)))
    twin = dataclasses.make_dataclass(cls.__name__, specs, frozen=issubclass(cls, FrozenRecord))
    twin.__qualname__ = cls.__qualname__
    return twin


def _values(cls, fields, names) -> dict:
    key = f"{cls.__module__}.{cls.__qualname__}"
    return {f.name: _SAMPLES.get((key, f.name), object()) for f in fields if f.name in names}


def _call(cls, fields, values: dict):
    return cls(*(values[f.name] for f in fields if f.name in values and not f.kw_only),
               **{f.name: values[f.name] for f in fields if f.name in values and f.kw_only})


def test_the_walk_finds_the_dataclasses():
    names = {f"{c.__module__}.{c.__qualname__}" for c in DATACLASSES}
    assert {"cohort_dsl.limits.Limits", "cohort_dsl.design.Design", "cohort_dsl.diagnostics.Diagnostic"} <= names


@pytest.mark.parametrize("cls", DATACLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_a_dataclass_is_a_record_that_behaves_as_the_dataclass(cls):
    generated = [name for name in _GENERATED
                 if getattr(vars(cls).get(name), "__code__", None) is not None
                 and vars(cls)[name].__code__.co_filename == "<string>"]
    assert not generated, f"{cls.__qualname__}: declare it a record (see cohort_dsl.records), not a plain @dataclass"
    assert issubclass(cls, Record)
    # without one, @dataclass writes one from inspect.signature(cls) at import
    assert not (cls.__doc__ or "").startswith(f"{cls.__name__}("), f"{cls.__qualname__}: give it a docstring"
    twin = _twin(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]

    given = _values(cls, fields, [f.name for f in fields])  # every field given: each lands where the dataclass puts it
    record, expected = _call(cls, fields, given), _call(twin, fields, given)
    assert all(getattr(record, name) == value for name, value in given.items())
    if cls.__repr__ is Record.__repr__:
        assert repr(record) == repr(expected)
    assert record == _call(cls, fields, given) and not record != _call(cls, fields, given)

    required = _values(cls, fields, [f.name for f in fields if f.default is MISSING and f.default_factory is MISSING])
    first, second, expected = _call(cls, fields, required), _call(cls, fields, required), _call(twin, fields, required)
    for f in fields:
        assert getattr(first, f.name) == getattr(expected, f.name), f.name
        if f.default_factory is not MISSING:
            assert getattr(first, f.name) is not getattr(second, f.name), f"{f.name}: one default shared by instances"
    assert first == second
    compared = [f for f in fields if f.compare]
    if compared:
        other = dict(given, **{compared[-1].name: object()})
        assert _call(cls, fields, given) != _call(cls, fields, other)

    try:
        hash(expected)
    except TypeError:  # not frozen, or a frozen one holding a dict
        with pytest.raises(TypeError):
            hash(first)
    else:
        assert hash(first) == hash(second)
    if issubclass(cls, FrozenRecord):
        with pytest.raises(FrozenInstanceError):
            setattr(first, fields[0].name, None)
    else:
        assert cls.__hash__ is None
    assert dataclasses.replace(first) == first
