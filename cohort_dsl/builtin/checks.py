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

from itertools import zip_longest

from cohort_dsl.diagnostics import ERROR, WARNING, Diagnostic, Location, SpecError, did_you_mean
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.registry import LintRule


def dead_rules(context):
    compiled = context.compiled
    spec = compiled.spec
    introduces_levels = {
        rule.label for rule in spec.rules
        if any((spec.axis(a) is None or spec.axis(a).levels is None) for a in rule.introduces)
    }
    for before, step in zip(compiled.funnel, compiled.funnel[1:]):
        if step.rows == before.rows and step.label not in introduces_levels:
            yield Diagnostic("R004", f"{step.label} removes no combination ({step.rows:,} rows before and after)",
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
            known = known if known is not None else list(catalog.rows)
            where = design.origins.get(axis, {}).get(value) or context.bundle.document.key_loc(("axes", axis))
            hint = did_you_mean(value, known) or f"the catalog is {catalog.path}"
            yield Diagnostic("C001", f"{value!r} is not in the {axis} catalog ({_short(catalog.path)})", where, ERROR, hint)


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
        committed = context.cohort_dir / "membership.csv" if context.cohort_dir else None
        # Collisions are found from the factors when the membership is built;
        # only the stale check walks the records.
        stale = _compare_committed(context, membership, committed) if committed is not None and committed.is_file() else []
        cached = (list(membership.diagnostics), stale)
    except SpecError as exc:  # M001/M004/M005: reported once
        cached = (exc.diagnostics, [])
    context.cache["membership"] = cached
    return cached


def _compare_committed(context, membership, path) -> list[Diagnostic]:
    from cohort_dsl.service import describe_diff, iter_slim

    missing = object()
    new = ((r.stage, r.gen_id) for r in membership.records())
    if all(a == b for a, b in zip_longest(new, iter_slim(path), fillvalue=missing)):
        return []
    old_ids = {gid for _, gid in iter_slim(path)}
    new_ids = [r.gen_id for r in membership.records()]
    new_set = set(new_ids)
    added = [g for g in new_ids if g not in old_ids]
    removed = [g for _, g in iter_slim(path) if g not in new_set]
    return [Diagnostic(
        "M003",
        f"the committed membership.csv of cohort {context.cohort_id} differs from what the spec now produces: "
        f"{describe_diff(added, removed)}",
        context.bundle.document.key_loc(("axes",)), ERROR,
        "the cohort already ran: editing its spec orphans generations. Revert the edit and create a new cohort, "
        "or re-materialize with --force if the change is intended",
    )]


CHECKS = (
    LintRule("R004", "dead-rule", "A rule removes no combination.",
             "After the rule the row count is unchanged: it allows everything it touches. It may be intended "
             "documentation, but usually a constraint is missing. (A tuple that supplies the levels of undeclared "
             "axes is not reported.)", WARNING, dead_rules),
    LintRule("C001", "catalog-miss", "A value is not in its axis's catalog.",
             "Every value of a cataloged axis that the compiled spec uses must exist in the catalog configured for "
             "that axis ([tool.cohort-dsl.catalogs], --catalog, --catalog-csv). The diagnostic points at the line "
             "of config.yaml or the row of the included CSV where the value was written, with close matches.",
             ERROR, catalog_misses),
    LintRule("C002", "catalog-active-column", "A catalog CSV has a legacy `active` column.",
             "Catalogs are immutable inputs that list what exists; selecting what a cohort uses belongs in its "
             "spec (axes, subsets). Drop the column."),
    LintRule("C003", "catalog-error", "A catalog cannot be read.",
             "The catalog file is missing, not UTF-8, not valid JSON/CSV, or lacks the configured column."),
    LintRule("M001", "layout-columns", "The spec lacks a column the membership layout needs.",
             "The two-phase layout reads combo_id, draft_template, draft_llm, essay_template, essay_llm, "
             "evaluation_template and evaluation_llm (replicate columns are optional). Missing columns are named.",
             ERROR, membership_problems),
    LintRule("M002", "gen-id-collision", "Two different stage records get the same generation id.",
             "The essay id does not include essay_llm, so essays that differ only in essay_llm share an id; values "
             "that differ only in case or spaces give the same ids too. Both sources are reported."),
    LintRule("M003", "stale-membership", "A committed membership.csv differs from what the spec now produces.",
             "The cohort already ran: editing its spec would orphan generations. The diagnostic says how many ids "
             "would appear and disappear, with examples.", ERROR, stale_membership),
    LintRule("M004", "bad-replicate", "A replicate value is not a positive integer.",
             "Replicate columns hold 1, 2, 3, …"),
    LintRule("M005", "unknown-layout", "output.layout names a layout that is not installed.",
             "`cohort-dsl plugins` lists the installed layouts."),
    LintRule("M006", "membership-file", "A membership file cannot be read.",
             "membership.csv must start with the header stage,gen_id (it is written by materialize)."),
)


@hookimpl
def cohort_dsl_lint_rules():
    return list(CHECKS)


__all__ = ["CHECKS", "SpecError"]
