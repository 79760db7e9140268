"""The compiler: a parsed spec becomes a :class:`~cohort_dsl.design.Design`
(load → validate → parse → **expand** → check → emit).

Rules run in document order; after each one the row count is recorded (the
funnel ``explain`` shows). Nothing here enumerates rows: the count is the
product of the factor sizes, checked against ``max-rows`` before any row is
generated (rows are streamed by :mod:`cohort_dsl.rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from cohort_dsl.bundle import Bundle
from cohort_dsl.design import ROW_LIMIT, Design, FunnelStep
from cohort_dsl.diagnostics import ERROR, Diagnostic, Location, SpecError, error
from cohort_dsl.registry import LintRule
from cohort_dsl.spec import EMPTY_AXIS, Spec, axis_names, check_field_order, parse_spec, plugin_crash

EMPTY_RESULT = LintRule("R005", "empty-result", "A rule leaves no rows.",
                        "A subset that keeps nothing, a tie whose axes share no level, or a pair/tuple whose combinations "
                        "match nothing left by earlier rules.")


@dataclass
class CompiledDesign:
    """A compiled spec: the final factors, the output columns, the funnel."""

    spec: Spec
    design: Design
    columns: list[str]
    funnel: list[FunnelStep]
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.design.count

    @property
    def factors(self):
        return self.design.factors

    @property
    def seed(self) -> int | None:
        return self.spec.seed

    def plan(self):
        from cohort_dsl.rows import RowPlan

        return RowPlan(self.design.factors, self.columns)

    def rows(self, seed: int | None = None, limit: int | None = None):
        """Rows as tuples aligned with :attr:`columns` (streamed)."""
        return self.plan().tuples(seed=seed, limit=limit)

    def dicts(self, seed: int | None = None, limit: int | None = None):
        columns = self.columns
        return (dict(zip(columns, row)) for row in self.rows(seed, limit))

    def explain(self) -> dict:
        """What ``explain --format json`` prints."""
        return {
            "rows": self.count,
            "columns": self.columns,
            "axes": [{"name": name, "levels": len(self.design.domain(name))} for name in self.design.axis_order],
            "factors": [
                {"axes": list(f.axes), "rows": len(f.rows), "position": f.position, "rules": list(f.rules)}
                for f in self.design.factors
            ],
            "funnel": [
                {"step": s.label, "rows": s.rows, **({"line": s.location.line} if s.location and s.location.line else {})}
                for s in self.funnel
            ],
            "seed": self.spec.seed,
        }


def compile_bundle(bundle: Bundle, engine=None, *, max_rows: int | None = None) -> CompiledDesign:
    """Compile a bundle; raise :class:`SpecError` with every error found
    (warnings found before the error ride along).

    ``max_rows`` overrides the bundle's row limit for this compilation only:
    ``bundle`` is not modified (the compiled ``spec.bundle`` is then a copy
    with the new limit, sharing the bundle's include cache)."""
    if engine is None:
        from cohort_dsl.pluginmanager import get_engine

        engine = get_engine()
    if max_rows is not None and max_rows != bundle.limits.max_rows:
        bundle = replace(bundle, limits=bundle.limits.updated(max_rows=max_rows))
    spec = parse_spec(bundle, engine.registry)
    design = initial_design(spec)
    funnel = [FunnelStep("axes", design.count, bundle.document.key_loc(("axes",)))]
    for rule in spec.rules:
        design.current_rule = rule
        try:
            rule.apply(design)
        except SpecError as exc:
            raise SpecError(spec.diagnostics + design.diagnostics + exc.diagnostics) from None
        except Exception as exc:  # a plugin bug must not crash the run
            crash = plugin_crash(rule.plugin, f"applying {rule.label}", exc, rule.location)
            raise SpecError(spec.diagnostics + design.diagnostics + [crash]) from None
        count = design.count
        funnel.append(FunnelStep(rule.label, count, rule.location))
        if count == 0:
            empty = Diagnostic(EMPTY_RESULT.code, f"{rule.label} leaves no rows", rule.location, ERROR,
                               "its constraint matches none of the combinations left by the rules above it")
            raise SpecError(spec.diagnostics + design.diagnostics + [empty])
    design.current_rule = None
    try:
        columns = check_field_order(spec, design.axis_order)
    except SpecError as exc:
        raise SpecError(spec.diagnostics + design.diagnostics + exc.diagnostics) from None
    compiled = CompiledDesign(spec, design, columns, funnel, spec.diagnostics + design.diagnostics)
    limit = bundle.limits.max_rows
    if compiled.count > limit:
        over = error(ROW_LIMIT.code, f"the spec expands to {compiled.count:,} rows, above the limit of {limit:,}",
                     bundle.document.key_loc(("axes",)),
                     "raise the limit with --max-rows N (or max-rows in [tool.cohort-dsl]), or trim the spec with rules")
        raise SpecError(compiled.diagnostics + over.diagnostics)
    return compiled


def initial_design(spec: Spec) -> Design:
    """Every axis its own factor: declared axes in order, then axes that
    only rules introduce (tuples), levels in first-seen order."""
    limits = spec.bundle.limits
    introduced: dict[str, dict[str, Location]] = {}
    for rule in spec.rules:
        for axis, located in rule.introduces.items():
            bucket = introduced.setdefault(axis, {})
            for value, loc in located:
                bucket.setdefault(value, loc)
    levels: dict[str, list[str]] = {}
    origins: dict[str, dict[str, Location]] = {}
    names = axis_names(spec.axes, spec.rules)
    if not names:
        raise error(EMPTY_AXIS.code, "the spec defines no axes", spec.bundle.document.key_loc(("axes",)),
                    "declare at least one axis under axes:, or a tuples rule that introduces axes")
    for name in names:
        decl = spec.axis(name)
        if decl is not None and decl.levels is not None:
            levels[name], origins[name] = decl.levels, dict(decl.origins)
            continue
        found = introduced.get(name)
        if not found:
            raise error(EMPTY_AXIS.code, f"axis {name!r} is null but no tuple rule lists its levels", decl.location,
                        "give it levels, or couple it in a tuples rule")
        levels[name], origins[name] = list(found), dict(found)
    design = Design.from_levels(levels, limits)
    design.origins = origins
    design.declared = levels
    return design
