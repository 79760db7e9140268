"""The `excludes` rule kind: drop the combinations matching partial assignments.

    rules:
      excludes:
        no_copy_on_gemini:
          - {essay_template: essay-copy-v1, essay_llm: gemini_25_pro}
          - {draft_llm: [gpt-5, opus-4]}          # a list matches any of its levels

A combination is dropped when it matches every axis of one entry. The axes an
exclusion names are coupled (like a pair that allows every combination but the
excluded ones): when they already share a factor, its rows are filtered in
place; otherwise the factors are joined, in the order of the axes' current
levels. An entry that matches nothing is reported (EX001, a warning).
"""

from __future__ import annotations

import json
from functools import partial
from itertools import product
from pathlib import Path

from cohort_dsl import Diagnostic, LintRule, Reference, Rule, RuleKind, as_level

SECTION = "excludes"

UNMATCHED = LintRule(
    "EX001", "unmatched-exclusion", "An exclusion matches no combination.",
    "The entry excludes nothing: its levels are misspelt, or earlier rules already removed those combinations.",
    severity="warning",
)


def parse(section):
    """Called with the `excludes:` section (already valid against the schema
    fragment); returns one Rule per entry, in document order."""
    for entry in section.entries():
        exclusions = []
        references = []
        for i, assignment in enumerate(entry.value):
            wanted = {}
            for axis, value in assignment.items():
                values = value if isinstance(value, list) else [value]
                wanted[axis] = {as_level(v, entry.loc(i, axis)) for v in values}
                references.append(Reference(axis, entry.loc(i, axis), expects="axis"))
            exclusions.append((wanted, entry.loc(i)))
        yield Rule(
            SECTION, entry.name, entry.location,
            partial(apply, name=entry.name, exclusions=exclusions),
            references=tuple(references),
        )


def apply(design, *, name, exclusions):
    """Called in document order with the design (the factors so far)."""
    axes = tuple(sorted({axis for wanted, _ in exclusions for axis in wanted}, key=design.axis_order.index))
    shared = len({id(design.factor_of(axis)) for axis in axes}) == 1
    if shared:  # filter in place: the factor keeps its order
        factor = design.factor_of(axes[0])
        idx = [factor.axes.index(a) for a in axes]
        candidates = list(dict.fromkeys(tuple(row[i] for i in idx) for row in factor.rows))
    else:  # couple the axes: every combination of their current levels
        candidates = list(product(*(design.domain(axis) for axis in axes)))
    matched, keep = set(), []
    for combo in candidates:
        values = dict(zip(axes, combo))
        hits = [i for i, (wanted, _) in enumerate(exclusions)
                if all(values[a] in levels for a, levels in wanted.items())]
        matched.update(hits)
        if not hits:
            keep.append(combo)
    for i, (wanted, location) in enumerate(exclusions):
        if i not in matched:
            shown = ", ".join(f"{a}: {' | '.join(sorted(v))}" for a, v in wanted.items())
            design.report(Diagnostic(UNMATCHED.code, f"excludes {name}: {{{shown}}} matches no combination",
                                     location, UNMATCHED.severity))
    if shared:
        design.filter(axes, set(keep))
    else:
        design.join(axes, keep)


RULE_KIND = RuleKind(
    SECTION,
    json.loads((Path(__file__).with_name("excludes.schema.json")).read_text(encoding="utf-8")),
    parse,
    "drop the combinations matching partial assignments",
)
