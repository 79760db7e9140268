"""Rule kind ``ties``: the listed axes take equal values.

``ties: {name: [axes] | {axes: [axes]}}``. The common levels are the
intersection of the axes' current levels, in the order of the first axis;
every tied axis stays in the output with the common value. Later rules may
name the tie: a value for it is one level.
"""

from __future__ import annotations

from functools import partial

from cohort_dsl.compiler import EMPTY_RESULT
from cohort_dsl.diagnostics import error
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.registry import Reference, Rule, RuleKind
from cohort_dsl.schema import load_fragment

SECTION = "ties"


def parse(section):
    for entry in section.entries():
        sub = () if isinstance(entry.value, list) else ("axes",)
        axes = tuple(entry.get(*sub))
        yield Rule(
            SECTION, entry.name, entry.location,
            partial(apply, name=entry.name, axes=axes, location=entry.location),
            references=tuple(Reference(a, entry.loc(*sub, i), expects="axis") for i, a in enumerate(axes)),
            # A tie named after one of its own axes (`ties: {a: [a, b]}`) adds
            # no new name: `a` already means that value.
            named=entry.name not in axes,
        )


def apply(design, *, name, axes, location):
    first = design.domain(axes[0])
    others = [set(design.domain(a)) for a in axes[1:]]
    common = [v for v in first if all(v in other for other in others)]
    if not common:
        shown = "; ".join(f"{a}: {', '.join(design.domain(a)[:5])}" for a in axes)
        raise error(EMPTY_RESULT.code, f"ties {name}: the axes {', '.join(axes)} share no level", location,
                    f"their levels here are {shown}")
    n = len(axes)
    design.join(axes, [(v,) * n for v in common])
    if name not in axes:
        design.define(name, SECTION, axes, partial(_decode, n=n), (name,), location, from_columns=lambda cells, n=n: cells * n)


def _decode(value, location, *, n):
    from cohort_dsl.levels import as_level

    return (as_level(value, location),) * n


@hookimpl
def cohort_dsl_rule_kinds():
    return [RuleKind(SECTION, load_fragment(SECTION), parse, "the listed axes take equal values")]
