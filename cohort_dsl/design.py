"""The design: the factor model of a spec (docs/spec_dsl.md, "Rules: the factor
model" and "Order, columns and count").

A design is a list of **factors**; each factor is a small relation over one or
more axes (its rows are tuples of levels). At the start every axis is its own
factor. Rules act on axis names wherever those now live:

- :meth:`Design.filter` keeps the rows of one factor whose values are in a
  set, in factor order (subsets);
- :meth:`Design.join` couples the factors holding the given axes to exactly
  the rows of a constraint, in constraint order, and within one constraint
  row the matching rows of the joined factors in factor order (ties, pairs,
  tuples).

The final rows are the product of the factors in position order (a factor
sits at the position of its earliest axis), the last varying fastest. The
count is arithmetic, so it is known before any row exists.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, field
from itertools import product
from math import prod
from operator import attrgetter, itemgetter
from typing import Callable, Iterable, NamedTuple, Sequence

from cohort_dsl.diagnostics import Diagnostic, Location, SpecError, did_you_mean, error
from cohort_dsl.limits import DEFAULT_LIMITS, Limits
from cohort_dsl.records import Record
from cohort_dsl.registry import LintRule

OUT_OF_DOMAIN = LintRule("R006", "out-of-domain", "A pair or tuple value is not a level of its axis.",
                         "Every value of a pair must be in its side's current domain; tuple item values must be levels of "
                         "declared axes. The entry is located in config.yaml or in the included CSV.")
ARITY = LintRule("R010", "arity-mismatch", "A tuple item or pair value has the wrong number of values.",
                 "A tuple item lists one value per axis; a pair entry is `[left, right]`, where a side naming a tuple "
                 "or pair takes a list.")
ROW_LIMIT = LintRule("R014", "row-limit", "The spec expands to more rows than allowed.",
                     "The row count is computed before any row exists. Above max-rows (default 1,000,000) the spec is "
                     "refused; raise the limit with --max-rows or max-rows in [tool.cohort-dsl] if it is intended.")


class Factor:
    """A relation over ``axes``; ``rows`` are tuples aligned with ``axes``."""

    __slots__ = ("axes", "rows", "position", "rules")

    def __init__(self, axes: tuple, rows: list, position: int, rules: tuple = ()):
        self.axes = axes
        self.rows = rows
        self.position = position
        self.rules = rules  # labels of the rules that shaped it

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Factor({self.axes}, {len(self.rows)} rows)"


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Target(Record):
    """What a name used in a rule stands for: an axis, or a named rule.

    ``decode(value, location)`` turns a value written for this name into a
    tuple of levels aligned with ``axes`` (a tie takes one level for all its
    axes, a tuple a list with one level per axis, a pair ``[left, right]``).
    ``columns`` are the CSV header names that spell a value of it, and
    ``from_columns`` turns those cells into the tuple aligned with ``axes``
    (identity when the columns are the axes).
    """

    name: str
    kind: str  # "axis" or the rule kind that defined it
    axes: tuple
    decode: Callable[[object, Location], tuple]
    columns: tuple
    location: Location | None = None
    from_columns: Callable[[tuple], tuple] | None = None

    def __init__(self, name: str, kind: str, axes: tuple, decode: Callable[[object, Location], tuple], columns: tuple,
                 location: Location | None = None, from_columns: Callable[[tuple], tuple] | None = None):
        self.name, self.kind, self.axes, self.decode, self.columns = name, kind, axes, decode, columns
        self.location, self.from_columns = location, from_columns

    def value_from_columns(self, cells: tuple) -> tuple:
        return self.from_columns(cells) if self.from_columns else tuple(cells)

    @property
    def scalar(self) -> bool:
        return len(self.columns) == 1

    def describe(self) -> str:
        return f"axis {self.name!r}" if self.kind == "axis" else f"{self.kind} {self.name!r}"


class DroppedLevel(NamedTuple):
    """A level of an axis declared with levels that was present before a
    rule and is gone after it (a tuple: a subset may drop many)."""

    axis: str
    level: str
    rule_label: str
    rule_location: Location | None = None
    #: where the level was written (config.yaml, or the include row)
    level_location: Location | None = None
    rule_kind: str = ""
    #: why the rule dropped it, when that is cheap to tell (empty for subsets)
    hint: str = ""


class DroppedLevels(Sequence):
    """The declared levels one rule dropped, as a sequence of
    :class:`DroppedLevel` in axis order, then level order.

    Stored per axis (``by_axis``: axis -> levels, ``hints``: axis -> one hint
    per level, or None): a subset of a large axis may drop most of it, and
    the records are made only when someone reads them."""

    __slots__ = ("rule_label", "rule_location", "rule_kind", "by_axis", "hints", "origins", "_items")

    def __init__(self, rule_label: str = "", rule_location: Location | None = None, rule_kind: str = "",
                 by_axis: dict | None = None, hints: dict | None = None, origins: dict | None = None):
        self.rule_label, self.rule_location, self.rule_kind = rule_label, rule_location, rule_kind
        self.by_axis: dict[str, list[str]] = by_axis or {}
        self.hints: dict[str, list[str]] | None = hints
        self.origins = origins or {}
        self._items: list[DroppedLevel] | None = None

    def _records(self) -> list[DroppedLevel]:
        if self._items is None:
            label, where, kind = self.rule_label, self.rule_location, self.rule_kind
            items = []
            for axis, levels in self.by_axis.items():
                origin = self.origins.get(axis, {}).get
                hints = (self.hints or {}).get(axis) or [""] * len(levels)
                items.extend(DroppedLevel(axis, level, label, where, origin(level), kind, hint)
                             for level, hint in zip(levels, hints))
            self._items = items
        return self._items

    def __len__(self) -> int:
        return sum(len(levels) for levels in self.by_axis.values())

    def __getitem__(self, index):
        return self._records()[index]

    def __iter__(self):
        return iter(self._records())

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"DroppedLevels({self.rule_label!r}, {dict((a, len(v)) for a, v in self.by_axis.items())})"


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class FunnelStep(Record):
    """The rows left after one rule (the funnel explain shows) and the declared levels it dropped."""

    label: str
    rows: int
    location: Location | None = None
    #: the declared levels this rule dropped (a :class:`DroppedLevels`)
    dropped: Sequence[DroppedLevel] = field(default_factory=DroppedLevels)

    def __init__(self, label: str, rows: int, location: Location | None = None,
                 dropped: Sequence[DroppedLevel] | None = None):
        self.label, self.rows, self.location = label, rows, location
        self.dropped = DroppedLevels() if dropped is None else dropped


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Design(Record):
    """What a rule's ``apply(design)`` changes: the factors (small
    relations over one or more axes, whose product is the rows), the names
    rules defined (``targets``) and where each level was written
    (``origins``). Rules filter and join factors; rows are never enumerated."""

    axis_order: list[str]
    factors: list[Factor]
    limits: Limits = DEFAULT_LIMITS
    targets: dict[str, Target] = field(default_factory=dict)
    # axis -> level -> where the level was first written (for catalog checks)
    origins: dict[str, dict[str, Location]] = field(default_factory=dict)
    # axis -> the levels it started with (declared, or listed by tuples)
    declared: dict[str, list] = field(default_factory=dict)
    #: axes whose ``origins`` are the declaration's dict (a million levels need not be copied)
    shared_origins: set = field(default_factory=set, repr=False, compare=False)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    current_rule: object = None
    #: axis -> its factor, for the factor list it was built from (see :meth:`where`)
    _where: dict = field(default_factory=dict, repr=False, compare=False)
    _where_for: tuple = field(default=(), repr=False, compare=False)
    #: while a rule runs (see :meth:`begin_rule`): id -> (factor, rows) as the
    #: rule found them, for the factors it filtered or joined; and the new factors
    touched: dict = field(default_factory=dict, repr=False, compare=False)
    made: list = field(default_factory=list, repr=False, compare=False)

    def __init__(self, axis_order: list[str], factors: list[Factor], limits: Limits = DEFAULT_LIMITS,
                 targets: dict[str, Target] | None = None, origins: dict[str, dict[str, Location]] | None = None,
                 declared: dict[str, list] | None = None, shared_origins: set | None = None,
                 diagnostics: list[Diagnostic] | None = None, current_rule: object = None, _where: dict | None = None,
                 _where_for: tuple = (), touched: dict | None = None, made: list | None = None):
        self.axis_order, self.factors, self.limits = axis_order, factors, limits
        self.targets = {} if targets is None else targets
        self.origins = {} if origins is None else origins
        self.declared = {} if declared is None else declared
        self.shared_origins = set() if shared_origins is None else shared_origins
        self.diagnostics = [] if diagnostics is None else diagnostics
        self.current_rule = current_rule
        self._where = {} if _where is None else _where
        self._where_for = _where_for
        self.touched = {} if touched is None else touched
        self.made = [] if made is None else made

    @classmethod
    def from_levels(cls, levels: dict[str, list[str]], limits: Limits = DEFAULT_LIMITS) -> "Design":
        """One single-axis factor per axis, in the given (axis) order."""
        order = list(levels)
        factors = [Factor((axis,), list(zip(values)), i) for i, (axis, values) in enumerate(levels.items())]
        design = cls(order, factors, limits)
        for axis in order:
            design.targets[axis] = axis_target(axis)
        return design

    # -- reading ------------------------------------------------------------
    @property
    def count(self) -> int:
        """The number of rows: the product of the factors' sizes."""
        return prod(map(len, map(_ROWS, self.factors)))

    def where(self) -> dict[str, Factor]:
        """axis -> the factor holding it. Kept up to date by :meth:`join`;
        rebuilt when the factor list was replaced or resized by other code,
        so that a rule costs what it touches, not the number of factors."""
        key = (id(self.factors), len(self.factors))
        if self._where_for != key:
            self._where = {axis: factor for factor in self.factors for axis in factor.axes}
            self._where_for = key
        return self._where

    def factor_of(self, axis: str) -> Factor:
        """The factor holding ``axis`` (KeyError when none does)."""
        return self.where()[axis]

    def domain(self, axis: str) -> list[str]:
        """The distinct current values of an axis, in factor order."""
        factor = self.factor_of(axis)
        return list(dict.fromkeys(map(itemgetter(factor.axes.index(axis)), factor.rows)))

    def domain_of(self, axes: tuple) -> set:
        """The distinct current value tuples of axes that share a factor."""
        factor = self.factor_of(axes[0])
        idx = [factor.axes.index(a) for a in axes]
        if idx == list(range(len(factor.axes))):
            return set(factor.rows)
        return set(zip(*(map(itemgetter(i), factor.rows) for i in idx)))

    def resolve(self, name: str, location: Location | None = None) -> Target:
        """What ``name`` (an axis or an earlier named rule) stands for."""
        target = self.targets.get(name)
        if target is None:  # references are checked before rules run
            from cohort_dsl.spec import UNKNOWN_NAME

            raise error(UNKNOWN_NAME.code, f"unknown axis or rule {name!r}", location, did_you_mean(name, self.targets))
        return target

    def begin_rule(self, rule) -> None:
        """Start recording what ``rule`` changes (through :meth:`filter` and
        :meth:`join`, the documented way for a rule to change factors)."""
        self.current_rule = rule
        self.touched, self.made = {}, []

    def _touch(self, factor: Factor) -> None:
        self.touched.setdefault(id(factor), (factor, factor.rows))

    # -- rules use these ----------------------------------------------------
    def define(self, name: str, kind: str, axes: tuple, decode, columns: tuple, location: Location | None = None,
               from_columns=None) -> Target:
        """Make ``name`` available to later rules."""
        target = Target(name, kind, tuple(axes), decode, tuple(columns), location, from_columns)
        self.targets[name] = target
        return target

    def note_origin(self, axis: str, value: str, location: Location) -> None:
        """Remember where a level was first written (diagnostics point there)."""
        found = self.origins.get(axis)
        if found is None:
            found = self.origins[axis] = {}
        elif value in found:
            return
        elif axis in self.shared_origins:  # the declaration's own: copied before the first change
            found = self.origins[axis] = found.copy()  # a dict, or lazy Origins (shares the levels)
            self.shared_origins.discard(axis)
        found[value] = location

    def note_origins(self, axes: tuple, rows: list, origins) -> None:
        """:meth:`note_origin` for every level of ``rows`` (tuples aligned
        with ``axes``; ``origins``: row -> where it was written), in row
        order: only levels not yet known are located."""
        for i, axis in enumerate(axes):
            known = self.origins.get(axis, ())
            new = {level for level in set(map(itemgetter(i), rows)) if level not in known}
            for row in rows if new else ():
                if row[i] in new:
                    new.discard(row[i])
                    self.note_origin(axis, row[i], origins[row])
                    if not new:
                        break

    def report(self, diagnostic: Diagnostic) -> None:
        """Record a non-fatal finding (a warning, usually)."""
        self.diagnostics.append(diagnostic)

    def check_in_domain(self, target: Target, value: tuple, location: Location, shown=None, domain: set | None = None) -> None:
        """Raise R006 unless ``value`` (decoded for ``target``) is current.
        Pass ``domain`` (``domain_of(target.axes)``) when checking many values."""
        if value in (domain if domain is not None else self.domain_of(target.axes)):
            return
        if target.scalar and target.kind == "axis":
            levels = self.domain(target.axes[0])
            raise error(OUT_OF_DOMAIN.code, f"{value[0]!r} is not a level of axis {target.name!r} ({_preview(levels)})",
                        location, did_you_mean(value[0], levels))
        if target.scalar:
            levels = self.domain(target.axes[0])
            raise error(OUT_OF_DOMAIN.code, f"{value[0]!r} is not a value of {target.describe()} ({_preview(levels)})",
                        location, did_you_mean(value[0], levels))
        shown = shown if shown is not None else list(value)
        raise error(OUT_OF_DOMAIN.code, f"{shown!r} is not a combination of {target.describe()} (axes {', '.join(target.axes)})",
                    location, "a value for a tuple or pair side lists one level per axis, as in its items")

    def filter(self, axes: tuple, keep: set) -> int:
        """Keep the rows of the factor holding ``axes`` whose values on them
        are in ``keep`` (a set of tuples). Returns the number removed."""
        factor = self.factor_of(axes[0])
        if any(a not in factor.axes for a in axes):
            raise ValueError("filter axes must share a factor; join them first")
        idx = [factor.axes.index(a) for a in axes]
        before = len(factor.rows)
        self._touch(factor)
        if len(idx) == 1:
            i = idx[0]
            values = {k[0] for k in keep}
            factor.rows = [row for row in factor.rows if row[i] in values]
        else:
            factor.rows = [row for row in factor.rows if tuple(row[i] for i in idx) in keep]
        factor.rules = factor.rules + (self._label(),)
        return before - len(factor.rows)

    def join(self, axes: tuple, constraint: Iterable[tuple]) -> Factor:
        """Couple the factors holding ``axes`` to exactly the ``constraint``
        rows (tuples aligned with ``axes``, already deduplicated)."""
        axes = tuple(axes)
        constraint = list(constraint)
        touched: list[Factor] = []
        for axis in axes:
            factor = self.factor_of(axis)
            if not any(f is factor for f in touched):
                touched.append(factor)
        touched.sort(key=lambda f: f.position)
        plans = []  # per factor: the key of a constraint row, and the factor's rows by key
        for factor in touched:
            f_key = itemgetter(*[factor.axes.index(a) for a in axes if a in factor.axes])
            c_key = itemgetter(*[axes.index(a) for a in axes if a in factor.axes])
            index: dict = {}  # keys are scalars for one axis, tuples for several (as itemgetter gives them)
            for row in factor.rows:
                index.setdefault(f_key(row), []).append(row)
            plans.append((c_key, index))
        new_axes = sum((f.axes for f in touched), ())
        if all(len(index) == len(f.rows) and set(f.axes) <= set(axes) for f, (_, index) in zip(touched, plans)):
            rows = self._covering_join(axes, constraint, new_axes, plans)
        else:
            rows = self._general_join(constraint, plans)

        rules = tuple(dict.fromkeys(sum((f.rules for f in touched), ()) + (self._label(),)))
        merged = Factor(new_axes, rows, touched[0].position, rules)
        where = self.where()
        factors = self.factors
        for factor in touched:
            self._touch(factor)
            factors.remove(factor)  # by identity (a Factor has no __eq__)
        insort(factors, merged, key=_POSITION)
        where.update(dict.fromkeys(new_axes, merged))
        self._where_for = (id(factors), len(factors))
        self.made.append(merged)
        return merged

    def _general_join(self, constraint: list, plans: list) -> list[tuple]:
        # Count before building: a join may not create more rows than allowed.
        empty: list = []

        def matches():  # per constraint row, the matching rows of each factor (not held: a join may be large)
            return ([index.get(c_key(row), empty) for c_key, index in plans] for row in constraint)

        self._check_join_size(sum(prod(map(len, found)) for found in matches()))
        rows: list[tuple] = []
        for found in matches():
            if len(found) == 1:
                rows.extend(found[0])
            else:
                rows.extend(sum(combo, ()) for combo in product(*found))
        return rows

    def _covering_join(self, axes: tuple, constraint: list, new_axes: tuple, plans: list) -> list[tuple]:
        """The join when the constraint names every axis of the factors it
        touches and their rows are distinct: each constraint row matches at
        most one row of each factor, so the result is the constraint rows
        found in every factor, in the factors' axis order (C-speed: no
        product per row; a constraint of 100k rows joins in milliseconds)."""
        found = constraint
        for c_key, index in plans:
            if not all(map(index.__contains__, map(c_key, found))):
                found = [row for row in found if c_key(row) in index]
        self._check_join_size(len(found))
        if new_axes == axes:
            return found  # join's own copy of the constraint, or a filtered one
        if len(new_axes) == 1:
            return list(zip(map(itemgetter(axes.index(new_axes[0])), found)))
        return list(map(itemgetter(*[axes.index(a) for a in new_axes]), found))

    def _check_join_size(self, total: int) -> None:
        if total > self.limits.max_rows:
            rule = self.current_rule
            raise error(ROW_LIMIT.code, f"{self._label()} would couple {total:,} combinations, above the row limit of {self.limits.max_rows:,}",
                        getattr(rule, "location", None), "raise the limit with --max-rows N or max-rows in [tool.cohort-dsl]")

    def _label(self) -> str:
        rule = self.current_rule
        return rule.label if rule is not None else "(rule)"


_ROWS = attrgetter("rows")
_POSITION = attrgetter("position")


def axis_target(axis: str) -> Target:
    def decode(value, location, _axis=axis):
        from cohort_dsl.levels import as_level

        if isinstance(value, list):
            raise error(ARITY.code, f"axis {_axis!r} takes a single level here, not a list", location)
        return (as_level(value, location),)

    return Target(axis, "axis", (axis,), decode, (axis,))


def _preview(values: list, limit: int = 6) -> str:
    shown = ", ".join(values[:limit])
    more = len(values) - limit
    return f"levels: {shown}" + (f", … {more} more" if more > 0 else "")


__all__ = ["Design", "DroppedLevel", "DroppedLevels", "Factor", "Target", "FunnelStep", "SpecError"]
