"""Built-in lint checks: they run on a compiled spec in the check stage.

- R004 dead-rule: a rule after which the row count is unchanged;
- C001 catalog-miss: a value of a cataloged axis that its catalog lacks;
- M001/M002/M004/M005: the membership layout's columns, id collisions,
  replicate values, the layout name (for cohorts: bundles at
  ``cohorts/<id>/spec``, or specs that set ``output.layout``);
- M003 stale-membership: a committed membership.csv that differs from what
  the spec now produces.
"""

from __future__ import annotations

from dataclasses import replace

from cohort_dsl.catalogs import CATALOG_ERROR, CATALOG_MISS, LEGACY_ACTIVE
from cohort_dsl.dataroot import DataRoot
from cohort_dsl.diagnostics import ERROR, WARNING, Candidates, Diagnostic, Location, SpecError, did_you_mean
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.membership import (BAD_REPLICATE, DUPLICATE_ID, ID_COLLISION, ID_SEPARATOR, LAYOUT_COLUMNS, LAYOUT_OPTIONS,
                                   MEMBERSHIP_FORMAT, STALE_MEMBERSHIP, UNKNOWN_LAYOUT, UNREAD_AXIS)
from cohort_dsl.registry import LintRule
from cohort_dsl.service import MIXED_SET

# R004 is emitted only here, so it is declared here; the other codes of
# CHECKS are declared by the core module that emits them, and the ones
# checked here get their check attached with dataclasses.replace.
DEAD_RULE = LintRule("R004", "dead-rule", "A rule removes no combination.",
                     "After the rule the row count is unchanged: it allows everything it touches. It may be intended "
                     "documentation, but usually a constraint is missing. (A tuple that supplies the levels of undeclared "
                     "axes is not reported.)", WARNING)


def dead_rules(context):
    compiled = context.compiled
    spec = compiled.spec
    introduces_levels = {
        rule.label for rule in spec.rules
        if any((spec.axis(a) is None or spec.axis(a).levels is None) for a in rule.introduces)
    }
    for before, step in zip(compiled.funnel, compiled.funnel[1:]):
        if step.rows == before.rows and step.label not in introduces_levels:
            yield Diagnostic(DEAD_RULE.code, f"{step.label} removes no combination ({step.rows:,} rows before and after)",
                             step.location or Location(), WARNING,
                             "it allows everything it touches: is a constraint missing?")


def catalog_misses(context):
    design = context.compiled.design
    for axis, catalog in sorted(context.catalogs.items()):
        if axis not in design.axis_order:
            continue
        known = None
        for value in design.domain(axis):
            if value in catalog:
                continue
            known = known if known is not None else Candidates(list(catalog.rows))  # indexed once per catalog
            where = design.origins.get(axis, {}).get(value) or context.bundle.document.key_loc(("axes", axis))
            hint = did_you_mean(value, known) or f"the catalog is {catalog.path}"
            yield Diagnostic(CATALOG_MISS.code, f"{value!r} is not in the {axis} catalog ({_short(catalog.path)})", where, ERROR, hint)


def _short(path: str) -> str:
    from cohort_dsl.diagnostics import display_path

    return display_path(path)


def membership_problems(context):
    return _membership_walk(context)[0]


def stale_membership(context):
    return _membership_walk(context)[1]


def _membership_walk(context) -> tuple[list, list]:
    """Build the membership once per bundle for both checks."""
    cached = context.cache.get("membership")
    if cached is not None:
        return cached
    if context.cohort_dir is None and not context.compiled.spec.layout:
        # Not a cohort (no cohorts/<id>/spec folder, no output.layout):
        # nothing will be materialized from it.
        context.cache["membership"] = ([], [])
        return [], []
    try:
        membership = context.membership
        committed = context.membership_file
        # Collisions are found from the factors when the membership is built;
        # only the stale check walks the records.
        stale = []
        if committed is not None and committed.is_file():
            from cohort_dsl.service import set_problems

            located = DataRoot.of_bundle(context.bundle.directory)
            if not _recorded_as_current(context, membership, located[0]):
                stale = set_problems(*located) + _compare_committed(context, membership)
        elif committed is not None:
            from cohort_dsl.files import record_absent

            record_absent(committed)  # a membership.csv that appears later changes this result
        cached = (list(membership.diagnostics), stale)
    except SpecError as exc:  # M001/M004/M005: reported once
        cached = (exc.diagnostics, [])
    context.cache["membership"] = cached
    return cached


def _recorded_as_current(context, membership, root: DataRoot) -> bool:
    """The manifest proves the committed files are a whole set and what the
    spec gives now: nothing to recompute (docs/cohorts.md, "Checking a
    committed membership")."""
    from cohort_dsl.materialize import unchanged_since_materialized

    return unchanged_since_materialized(membership, root, context.registry, context.settings)


def _compare_committed(context, membership) -> list[Diagnostic]:
    from cohort_dsl.change import MATERIALIZED, compare_membership, materialized_side

    root, cohort_id = DataRoot.of_bundle(context.bundle.directory)
    change = compare_membership(membership, materialized_side(root, cohort_id), MATERIALIZED, catalogs=context.catalogs)
    if change.same:
        return []
    return [Diagnostic(
        STALE_MEMBERSHIP.code,
        f"the committed membership.csv of cohort {context.cohort_id} differs from what the spec now produces: "
        f"{change.summary()}",
        change.edited_location() or context.bundle.document.key_loc(("axes",)), ERROR,
        "the cohort already ran: editing its spec orphans generations. Revert the edit and create a new cohort, "
        f"or re-materialize with --force if the change is intended (`cohort-dsl diff {context.cohort_id}` lists "
        "the records)",
    )]


CHECKS = (
    replace(DEAD_RULE, check=dead_rules),
    replace(CATALOG_MISS, check=catalog_misses, on_declared=True),
    LEGACY_ACTIVE,
    CATALOG_ERROR,
    replace(LAYOUT_COLUMNS, check=membership_problems),
    ID_COLLISION,
    replace(STALE_MEMBERSHIP, check=stale_membership),
    BAD_REPLICATE,
    UNKNOWN_LAYOUT,
    MEMBERSHIP_FORMAT,
    UNREAD_AXIS,
    ID_SEPARATOR,
    DUPLICATE_ID,
    LAYOUT_OPTIONS,
    MIXED_SET,
)


@hookimpl
def cohort_dsl_lint_rules():
    return list(CHECKS)


__all__ = ["CHECKS", "SpecError"]
