"""Rule kind ``subsets``: keep only the listed levels of an axis.

``subsets: {axis: [levels] | '@file:...'}`` filters the factor the axis lives
in (also one made by an earlier tie, pair or tuple), keeping factor order. A
keep value the axis does not have is a warning; keeping nothing is an error.
"""

from __future__ import annotations

from functools import partial

from cohort_dsl.compiler import EMPTY_RESULT
from cohort_dsl.diagnostics import WARNING, Diagnostic, did_you_mean, error
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.registry import LintRule, Reference, Rule, RuleKind
from cohort_dsl.schema import load_fragment

SECTION = "subsets"
UNKNOWN_KEEP = LintRule("R003", "subset-unknown-level", "A subsets value is not a level of the axis.",
                        "The value keeps nothing: it is misspelt, or an earlier rule already removed it.", WARNING)


def parse(section):
    from cohort_dsl.spec import dedupe

    for entry in section.entries():
        keep, origins = dedupe(entry.levels(axis=entry.name), f"subsets {entry.name}", section.report)
        yield Rule(
            SECTION, entry.name, entry.location,
            partial(apply, axis=entry.name, keep=keep, origins=origins, location=entry.location),
            references=(Reference(entry.name, entry.location, expects="axis"),),
        )


def apply(design, *, axis, keep, origins, location):
    current = design.domain(axis)
    present = set(current)
    for value in keep:
        if value not in present:
            design.report(Diagnostic(
                UNKNOWN_KEEP.code, f"subsets {axis}: {value!r} is not a level of axis {axis!r} here, so it keeps nothing",
                origins[value], WARNING, did_you_mean(value, current),
            ))
    design.filter((axis,), {(value,) for value in keep})
    if not design.domain(axis):
        raise error(EMPTY_RESULT.code, f"subsets {axis} keeps none of the levels of axis {axis!r}", location,
                    f"its levels here are: {', '.join(current[:8])}{', …' if len(current) > 8 else ''}")


@hookimpl
def cohort_dsl_rule_kinds():
    return [RuleKind(SECTION, load_fragment(SECTION), parse, "keep only the listed levels of an axis")]
