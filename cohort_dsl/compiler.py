"""The compiler: a parsed spec becomes a :class:`~cohort_dsl.design.Design`
(load → validate → parse → **expand** → check → emit).

Rules run in document order; after each one the row count is recorded (the
funnel ``explain`` shows), with the declared levels the rule dropped (R016
warns about those, except the ones a subset drops on purpose). Only the
factors a rule replaced or shrank are looked at, so axes the rule does not
touch cost nothing. Nothing here enumerates rows: the count is the
product of the factor sizes, checked against ``max-rows`` before any row is
generated (rows are streamed by :mod:`cohort_dsl.rows`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from math import prod
from operator import attrgetter, itemgetter

from cohort_dsl.bundle import Bundle
from cohort_dsl.design import ROW_LIMIT, Design, DroppedLevel, DroppedLevels, FunnelStep
from cohort_dsl.diagnostics import ERROR, WARNING, Diagnostic, Location, SpecError, error
from cohort_dsl.records import Record
from cohort_dsl.registry import LintRule
from cohort_dsl.guard import plugin_crash
from cohort_dsl.spec import EMPTY_AXIS, Spec, axis_names, check_field_order, parse_spec

EMPTY_RESULT = LintRule("R005", "empty-result", "A rule leaves no rows.",
                        "A subset that keeps nothing, a tie whose axes share no level, or a pair/tuple whose combinations "
                        "match nothing left by earlier rules.")
DROPPED_LEVEL = LintRule("R016", "dropped-level", "A declared level appears in no row.",
                         "A tie, pair or tuple removed every row carrying a level declared under axes: a tie whose other "
                         "axes lack the level, a pair whose allowed entries never mention it, a tuple whose items never "
                         "list it, or combinations that earlier rules already removed. The warning is located where the "
                         "level was written (config.yaml or the include row) and names the first rule after which it is "
                         "gone; `explain` lists the levels each rule drops. Levels removed by subsets are intended and "
                         "not reported (explain still lists them).", WARNING)
#: rule kinds that drop levels on purpose: listed by explain, never warned about
INTENTIONAL_DROPS = frozenset({"subsets"})


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class CompiledDesign(Record):
    """A compiled spec: the final factors, the output columns, the funnel."""

    spec: Spec
    design: Design
    columns: list[str]
    funnel: list[FunnelStep]
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __init__(self, spec: Spec, design: Design, columns: list[str], funnel: list[FunnelStep],
                 diagnostics: list[Diagnostic] | None = None):
        self.spec, self.design, self.columns, self.funnel = spec, design, columns, funnel
        self.diagnostics = [] if diagnostics is None else diagnostics

    @property
    def count(self) -> int:
        return self.design.count

    @property
    def factors(self):
        return self.design.factors

    @property
    def seed(self) -> int | None:
        return self.spec.seed

    @property
    def dropped(self) -> list[DroppedLevel]:
        """Every declared level a rule dropped, rule by rule in document order."""
        return [d for step in self.funnel for d in step.dropped]

    def plan(self):
        from cohort_dsl.rows import RowPlan

        return RowPlan(self.design.factors, self.columns)

    def rows(self, seed: int | None = None, limit: int | None = None):
        """Rows as tuples aligned with :attr:`columns` (streamed)."""
        return self.plan().tuples(seed=seed, limit=limit)

    def dicts(self, seed: int | None = None, limit: int | None = None):
        columns = self.columns
        return (dict(zip(columns, row)) for row in self.rows(seed, limit))

    def explain(self, levels: dict[str, int] | None = None) -> dict:
        """What ``explain --format json`` prints (``levels``: each axis's
        number of levels, when the caller has counted them)."""
        if levels is None:
            levels = {name: len(self.design.domain(name)) for name in self.design.axis_order}
        return {
            "rows": self.count,
            "columns": self.columns,
            "axes": [{"name": name, "levels": levels[name]} for name in self.design.axis_order],
            "factors": [
                {"axes": list(f.axes), "rows": len(f.rows), "position": f.position, "rules": list(f.rules)}
                for f in self.design.factors
            ],
            "funnel": [
                {"step": s.label, "rows": s.rows, **({"line": s.location.line} if s.location and s.location.line else {}),
                 "dropped": _dropped_json(s.dropped)}
                for s in self.funnel
            ],
            "seed": self.spec.seed,
        }


def _dropped_json(dropped) -> list[dict]:
    if isinstance(dropped, DroppedLevels):  # without making the records
        return [{"axis": axis, "level": level} for axis, levels in dropped.by_axis.items() for level in levels]
    return [{"axis": d.axis, "level": d.level} for d in dropped]


def compile_bundle(bundle: Bundle, engine=None, *, max_rows: int | None = None, observe=None) -> CompiledDesign:
    """Compile a bundle; raise :class:`SpecError` with every error found
    (warnings found before the error ride along). ``observe(rule, design)``,
    when given, is called before the first rule (``rule`` None) and after
    each rule (``explain --why`` follows a combination through the rules).

    ``max_rows`` overrides the bundle's row limit for this compilation only:
    ``bundle`` is not modified (the compiled ``spec.bundle`` is then a copy
    with the new limit, sharing the bundle's include cache)."""
    if engine is None:
        from cohort_dsl.pluginmanager import get_engine

        engine = get_engine()
    if max_rows is not None and max_rows != bundle.limits.max_rows:
        bundle = replace(bundle, limits=bundle.limits.updated(max_rows=max_rows))
    refuse_huge_product(bundle)
    spec = parse_spec(bundle, engine.registry)
    compiled = _expand(spec, bundle, observe, exact_counts=False)
    if compiled.funnel[-1].rows != compiled.count:
        # a rule changed factors other than through filter() and join(): the
        # counts after each rule are recomputed whole (observe saw it all once)
        compiled = _expand(spec, bundle, None, exact_counts=True)
    if compiled.count > bundle.limits.max_rows:
        raise SpecError(compiled.diagnostics + _over_limit(bundle, compiled.count).diagnostics)
    return compiled


def _expand(spec, bundle: Bundle, observe, exact_counts: bool) -> CompiledDesign:
    """The rules applied in order to the initial design. The row count after
    each rule (the funnel) is the count before it, less the factors the
    rule changed as they were and times them as they are (what
    ``design.touched`` and ``design.made`` record), so that a rule costs
    what it touches; with ``exact_counts``, the product of every factor's
    size after each rule."""
    design = initial_design(spec)
    funnel = [FunnelStep("axes", design.count, bundle.document.key_loc(("axes",)))]
    tracked = {decl.name for decl in spec.axes if decl.levels is not None}
    if observe is not None:
        observe(None, design)
    for rule in spec.rules:
        design.begin_rule(rule)
        before = _Before(design)
        try:
            rule.apply(design)
        except SpecError as exc:
            raise SpecError(spec.diagnostics + design.diagnostics + exc.diagnostics) from None
        except Exception as exc:  # a plugin bug must not crash the run
            crash = plugin_crash(rule.plugin, f"apply() of {rule.label}", exc, rule.location)
            raise SpecError(spec.diagnostics + design.diagnostics + [crash]) from None
        if observe is not None:
            observe(rule, design)
        count = design.count if exact_counts else _count_after_rule(design, funnel[-1].rows)
        funnel.append(FunnelStep(rule.label, count, rule.location, _dropped_by(rule, design, before, tracked)))
        if count == 0:
            empty = Diagnostic(EMPTY_RESULT.code, f"{rule.label} leaves no rows", rule.location, ERROR,
                               "its constraint matches none of the combinations left by the rules above it")
            raise SpecError(spec.diagnostics + design.diagnostics + [empty])
    design.current_rule = None
    try:
        columns = check_field_order(spec, design.axis_order)
    except SpecError as exc:
        raise SpecError(spec.diagnostics + design.diagnostics + exc.diagnostics) from None
    return CompiledDesign(spec, design, columns, funnel,
                          spec.diagnostics + design.diagnostics + dropped_level_warnings(funnel, bundle))


def _count_after_rule(design: Design, before: int) -> int:
    """The row count after a rule from the count ``before`` it: each factor
    that existed before the rule and that it changed divides out at its
    size then (the rows recorded when first touched); each factor it
    changed or made that is still in the design multiplies in at its size
    now. (``before`` is not 0: the compile stops at an empty rule.)"""
    made = {id(factor) for factor in design.made}
    count = before
    current = {}
    for key, (factor, rows) in design.touched.items():
        if key not in made:
            if not rows:  # emptied outside filter() and join(): the compile recounts whole
                return design.count
            count //= len(rows)
        current[key] = factor
    for factor in design.made:
        current[id(factor)] = factor
    where = design.where()
    for factor in current.values():
        if factor.axes and where.get(factor.axes[0]) is factor:
            count *= len(factor.rows)
    return count


def _over_limit(bundle: Bundle, count: int, at_most: int | None = None) -> SpecError:
    """R014; ``at_most``, when given, is a bound of a count known only from below."""
    expands = f"{count:,} rows" if at_most is None else f"at least {count:,} rows (its includes' lines allow up to {at_most:,})"
    return error(ROW_LIMIT.code, f"the spec expands to {expands}, above the limit of {bundle.limits.max_rows:,}",
                 bundle.document.key_loc(("axes",)),
                 "raise the limit with --max-rows N (or max-rows in [tool.cohort-dsl]), or trim the spec with rules")


#: an include of at most this many rows is counted exactly (the stages read it anyway)
_COUNTED_EXACTLY = 100_000


def refuse_huge_product(bundle: Bundle) -> None:
    """Without rules the row count is the product of the axes' distinct
    levels: refuse (R014) a product above the limit before any include is
    parsed. One streaming pass over each include bounds its rows (its line
    breaks); when the product of those bounds is within the limit nothing
    more is done. Otherwise, axis by axis, inline levels and includes of
    up to ``_COUNTED_EXACTLY`` rows are counted exactly, and a larger
    include counts distinct values from its first lines only up to a cap,
    its share of what the product needs ("at least N rows"): two 1M-line
    includes are refused in the time it takes to read them, holding a few
    thousand values. Includes after the product is over are not read.
    Anything unusual (rules, a null axis, a value that is not text, an
    include that cannot be read) is left to the stages, which report it."""
    from cohort_dsl.includes import Survey, is_include, resolve

    data = bundle.document.data
    axes = data.get("axes") if isinstance(data, dict) else None
    if not isinstance(axes, dict) or data.get("rules"):
        return
    limits = bundle.limits
    bounds = []  # per axis: its exact distinct count, or the Survey of its include
    for name, value in axes.items():
        if is_include(value):
            if bundle.directory is None:
                return
            try:
                survey = Survey.of(resolve(value, bundle.directory, bundle.document.loc(("axes", name))), limits)
            except (SpecError, OSError):
                return
            if survey is None:
                return  # items YAML may type: counted by the stages
            bounds.append(survey)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            bounds.append(len(set(value)))
        else:
            return
    uppers = [b if isinstance(b, int) else b.rows_at_most for b in bounds]
    if prod(uppers) <= limits.max_rows:
        return
    count, at_least = 1, False
    for i, ((name, value), bound) in enumerate(zip(axes.items(), bounds)):
        if isinstance(bound, int):
            count *= bound
            continue
        if count > limits.max_rows:  # over already: no need to read more
            at_least = True
            continue
        found = None
        if _COUNTED_EXACTLY < bound.rows_at_most <= limits.max_levels:
            cap = _share(count, uppers[i:], bounds[i:], limits.max_rows)
            found = bound.distinct_at_least(name, cap)
            at_least |= found == cap
        if found is None:
            try:
                include = bundle.include(value, bundle.document.loc(("axes", name)))
            except SpecError:
                return
            if include.header is None or not (len(include.header) == 1 or name in include.header):
                return  # items YAML may type (counted by the stages), or a column error
            found = include.distinct(0 if len(include.header) == 1 else include.header.index(name))
        if not found:
            return
        count *= found
    if count > limits.max_rows:
        raise _over_limit(bundle, count, prod(uppers) if at_least else None)


def _share(count: int, uppers: list, bounds: list, limit: int) -> int:
    """How many distinct values the first of ``bounds`` (a large include)
    must show for the product to pass ``limit``: the need is spread evenly
    (geometrically) over the large includes left, the others taken at
    their bounds. A count above the result proves nothing more."""
    import math

    large = sum(1 for b in bounds if not isinstance(b, int) and _COUNTED_EXACTLY < b.rows_at_most)
    rest = prod(uppers[1:])
    need = limit // (count * rest) + 1  # the others at their bounds
    excess = (math.log(count) + math.log(uppers[0]) + math.log(rest) - math.log(limit + 1)) / large
    even = 1 if excess >= math.log(uppers[0]) else math.ceil(uppers[0] / math.exp(excess))  # (exp may overflow)
    return min(uppers[0], max(need, even))


def initial_design(spec: Spec) -> Design:
    """Every axis its own factor: declared axes in order, then axes that
    only rules introduce (tuples), levels in first-seen order."""
    limits = spec.bundle.limits
    introduced: dict[str, dict[str, Location]] = {}
    declared = {decl.name for decl in spec.axes if decl.levels is not None}
    for rule in spec.rules:
        for axis, located in rule.introduces.items():
            if axis in declared:
                continue  # its levels are the declaration's (a tuple's rows are checked against them)
            bucket = introduced.setdefault(axis, {})
            for value, loc in located:
                bucket.setdefault(value, loc)
    levels: dict[str, list[str]] = {}
    origins: dict[str, dict[str, Location]] = {}
    names = axis_names(spec.axes, spec.rules)
    declarations = {}
    for decl in spec.axes:
        declarations.setdefault(decl.name, decl)
    if not names:
        raise error(EMPTY_AXIS.code, "the spec defines no axes", spec.bundle.document.key_loc(("axes",)),
                    "declare at least one axis under axes:, or a tuples rule that introduces axes")
    for name in names:
        decl = declarations.get(name)
        if decl is not None and decl.levels is not None:
            levels[name], origins[name] = decl.levels, decl.origins
            continue
        found = introduced.get(name)
        if not found:
            raise error(EMPTY_AXIS.code, f"axis {name!r} is null but no tuple rule lists its levels", decl.location,
                        "give it levels, or couple it in a tuples rule")
        levels[name], origins[name] = list(found), dict(found)
    design = Design.from_levels(levels, limits)
    design.origins = origins
    design.shared_origins = {decl.name for decl in spec.axes if decl.levels is not None and decl.origins is origins.get(decl.name)}
    design.declared = levels
    return design


# -- dropped levels (R016) ---------------------------------------------------

class _Before:
    """The factors as they were before a rule, as far as it changed them: the
    design records each factor a filter or join is about to change, with its
    rows list (a filter replaces the list, a join makes a new factor, so
    both survive the rule). A factor the rule did not touch is as it was, so
    a rule costs what it touches, not the number of factors. Domains are
    computed only when asked for."""

    __slots__ = ("design", "_where", "_domains")

    def __init__(self, design: Design):
        self.design = design
        self._where: dict | None = None
        self._domains: dict[str, dict] = {}

    def factor(self, axis: str):
        """``(factor, rows)`` holding ``axis`` before the rule."""
        if self._where is None:
            self._where = {axis: entry for entry in self.design.touched.values() for axis in entry[0].axes}
        found = self._where.get(axis)
        if found is None:
            factor = self.design.where().get(axis)
            return (factor, factor.rows) if factor is not None else (None, ())
        return found

    def factor_axes(self, axis: str) -> tuple:
        factor = self.factor(axis)[0]
        return factor.axes if factor is not None else ()

    def domain(self, axis: str) -> dict:
        """The axis's distinct values before the rule, in factor order."""
        found = self._domains.get(axis)
        if found is None:
            factor, rows = self.factor(axis)
            found = {}
            if factor is not None:
                i = factor.axes.index(axis)
                found = dict.fromkeys(row[i] for row in rows)
            self._domains[axis] = found
        return found

    def same_factor(self, a: str, b: str) -> bool:
        factor = self.factor(a)[0]
        return factor is not None and factor is self.factor(b)[0]

    def changed(self) -> list:
        """The factors now in the design that the rule made, or filtered to
        fewer rows."""
        design = self.design
        where = design.where()
        out = [f for f in design.made if where.get(f.axes[0]) is f]
        out += [f for f, rows in design.touched.values() if where.get(f.axes[0]) is f and len(f.rows) != len(rows)]
        return out


_ROWS = attrgetter("rows")


def _dropped_by(rule, design: Design, before: _Before, tracked: set) -> DroppedLevels:
    """The declared levels present before ``rule`` and gone after it. Only
    axes of factors that the rule replaced (a join) or shrank (a filter) can
    have lost a level; every other axis is skipped without computing its
    domain."""
    found: dict[str, list[str]] = {}
    for factor in before.changed():
        for i, axis in enumerate(factor.axes):
            if axis not in tracked:
                continue
            old = before.domain(axis)
            now = set(map(itemgetter(i), factor.rows))
            if len(now) < len(old):
                found[axis] = [level for level in old if level not in now]
    if not found:
        return DroppedLevels(rule.label, rule.location, rule.kind)
    by_axis = {axis: found[axis] for axis in design.axis_order if axis in found}
    hints = None
    if rule.kind not in INTENTIONAL_DROPS:  # only warnings need a hint
        why = _Why(rule, design, before)
        hints = {axis: [why(axis, level) for level in levels] for axis, levels in by_axis.items()}
    return DroppedLevels(rule.label, rule.location, rule.kind, by_axis, hints, design.origins)


class _Why:
    """A hint saying why ``rule`` dropped a level, from what is cheap to
    tell: the tie's other axes before the rule, whether a pair's sides were
    independent (then every allowed entry gives rows, so a dropped level is
    one that no entry mentions), the values a tuple lists."""

    def __init__(self, rule, design: Design, before: _Before):
        self.rule, self.design, self.before = rule, design, before
        self._listed: dict[str, set] = {}
        self.direct = self._direct_axes()

    def __call__(self, axis: str, level: str) -> str:
        rule, before, direct = self.rule, self.before, self.direct
        label = rule.label
        if axis not in direct:
            coupled = [a for a in before.factor_axes(axis) if a != axis]
            if coupled:
                return (f"{axis} is coupled with {_names(coupled)} by the rules above, and {label} kept none of "
                        f"the rows carrying {level!r}")
            return f"{label} kept no row carrying {level!r}"
        if rule.kind == "ties":
            lacking = [a for a in direct if a != axis and level not in before.domain(a)]
            if lacking:
                return f"{_names(lacking)} {'has' if len(lacking) == 1 else 'have'} no level {level!r} to tie with"
            return f"no row left by the rules above has {level!r} on {_names(direct)} at once"
        if rule.kind == "pairs":
            sides = self._sides()
            side = "left" if axis in sides[0] else "right"
            if sides[0] and sides[1] and not before.same_factor(sides[0][0], sides[1][0]):
                return f"no allowed entry of {label} has {level!r} for {axis} (on its {side} side)"
            return (f"the allowed entries of {label} with {level!r} for {axis} match no combination left by the "
                    f"rules above")
        if rule.kind == "tuples":
            listed = self._listed.get(axis)
            if listed is None:
                from cohort_dsl.levels import located_values

                listed = self._listed[axis] = set(located_values(rule.introduces.get(axis, ())))
            if level not in listed:
                return f"no item of {label} lists {level!r} for {axis}"
            return f"the items of {label} with {level!r} for {axis} match no combination left by the rules above"
        return f"{label} kept no row carrying {level!r} for {axis}"

    def _sides(self) -> tuple:
        targets = self.design.targets
        sides = []
        for ref in self.rule.references[:2]:
            target = targets.get(ref.name)
            sides.append(target.axes if target is not None else ())
        while len(sides) < 2:
            sides.append(())
        return tuple(sides)

    def _direct_axes(self) -> list:
        """The axes the rule names itself (not those coupled to them)."""
        rule = self.rule
        if rule.kind == "pairs":
            left, right = self._sides()
            return list(left + right)
        if rule.kind == "tuples":
            return list(rule.introduces)
        if rule.kind == "ties":
            return [ref.name for ref in rule.references]
        targets = self.design.targets
        axes: list = []
        for ref in rule.references:
            target = targets.get(ref.name)
            axes.extend(target.axes if target is not None else (ref.name,))
        return list(dict.fromkeys(axes))


def _names(axes) -> str:
    axes = list(axes)
    return axes[0] if len(axes) == 1 else ", ".join(axes[:-1]) + " and " + axes[-1]


def _where(location: Location | None) -> str:
    if location is None or location.line is None:
        return ""
    name = os.path.basename(location.path) if location.path else "config.yaml"
    return f" ({name}:{location.line})"


def dropped_level_warnings(funnel: list[FunnelStep], bundle: Bundle) -> list[Diagnostic]:
    """One R016 warning per declared level a rule dropped (it then appears in
    no row: levels never come back), except those a subset dropped."""
    out = []
    for step in funnel:
        if not step.dropped or getattr(step.dropped, "rule_kind", "") in INTENTIONAL_DROPS:
            continue  # a subset's levels are not even made into records
        for d in step.dropped:
            if d.rule_kind in INTENTIONAL_DROPS:
                continue
            where = d.level_location or bundle.document.key_loc(("axes", d.axis))
            out.append(Diagnostic(DROPPED_LEVEL.code,
                                  f"level {d.level!r} of {d.axis} appears in no row: dropped by {d.rule_label}"
                                  f"{_where(d.rule_location)}", where, WARNING,
                                  d.hint or f"{d.rule_label} kept no row carrying it"))
    return out
