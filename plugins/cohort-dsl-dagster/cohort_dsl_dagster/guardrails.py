"""Guardrail lint rules, active when this distribution is installed:

- DG001 partition-key: a stage's gen ids are not valid Dagster partition keys;
- DG002 partition-scale: a stage would hold more than 100,000 partition keys
  across the data root (the scale Dagster documents for dynamic partitions).

This module is the plugin's entry point: it must not import dagster.
"""

from __future__ import annotations

from cohort_dsl import Diagnostic, LintRule, hookimpl
from cohort_dsl.diagnostics import SpecError

#: What Dagster refuses in a partition key ("..." selects ranges in its UI;
#: the others do not display). A copy of
#: dagster._core.definitions.partitions.utils.base.INVALID_PARTITION_SUBSTRINGS,
#: kept equal by this distribution's tests, so that linting needs no dagster import.
INVALID_KEY_SUBSTRINGS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")
#: Dagster's documented scale for the partitions of one definition.
MAX_PARTITIONS = 100_000


def why_invalid_key(key: str) -> str | None:
    """Why ``key`` is not a valid partition key (None when it is one)."""
    bad = [repr(part) for part in INVALID_KEY_SUBSTRINGS if part in key]
    if not key:
        return "it is empty"
    return f"it contains {', '.join(bad)}" if bad else None


def partition_keys(context):
    """A stage's ids are its prefix followed by base-36 digits, so they are
    valid keys exactly when the prefix is: one check per stage, not per id."""
    from cohort_dsl.membership import gen_id

    membership = _membership(context)
    if membership is None:
        return
    for stage in membership.layout.stages:
        why = why_invalid_key(gen_id(stage.prefix, ["x"]))
        if why:
            yield Diagnostic(PARTITION_KEY.code, f"the {stage.name} ids of layout {membership.layout.name!r} (prefix "
                             f"{stage.prefix!r}) are not valid Dagster partition keys: {why}",
                             context.bundle.document.key_loc(("axes",)),
                             PARTITION_KEY.severity, "give the layout's stage a prefix without '...' or control characters")


def partition_scale(context):
    """Count each stage's keys across the data root: this spec's ids plus the
    other cohorts' (their membership.csv). Cheap bounds first: the other
    files' line counts; the exact union only when the bound is above the
    limit."""
    from cohort_dsl.dataroot import DataRoot
    from cohort_dsl.files import read_bounded
    from cohort_dsl.service import MembershipService

    located = DataRoot.of_bundle(context.bundle.directory)
    membership = _membership(context) if located else None
    if membership is None:
        return
    root, cohort = located
    # The count depends on which cohorts exist: service.cohorts() records the
    # cohorts folder's listing, so a cached result misses when one appears.
    service = MembershipService(root)
    others = [c for c in service.cohorts() if c != cohort]
    sizes = dict(zip((s.name for s in membership.layout.stages), membership.stage_sizes()))
    bound = 0
    for other in others:
        try:
            bound += read_bounded(service.membership_path(other), 1 << 34).count(b"\n") - 1
        except OSError:
            continue
    theirs: dict[str, set] | None = None
    for stage, own in sizes.items():
        if own + bound <= MAX_PARTITIONS:
            continue
        if theirs is None:
            theirs = _ids_by_stage(service, others)
        known = theirs.get(stage, set())
        total = len(known) + (own if not known else
                              sum(1 for r in membership.records() if r.stage == stage and r.gen_id not in known))
        if total > MAX_PARTITIONS:
            yield Diagnostic(PARTITION_SCALE.code, f"stage {stage} would hold {total:,} Dagster partition keys across "
                             f"the data root ({own:,} from this cohort): Dagster documents dynamic partitions up to "
                             f"{MAX_PARTITIONS:,} per definition", context.bundle.document.key_loc(("axes",)),
                             PARTITION_SCALE.severity,
                             "shard the stage's partitions (docs/dagster.md, \"Beyond 100,000 ids\")")


def _ids_by_stage(service, cohorts) -> dict[str, set]:
    out: dict[str, set] = {}
    for cohort in cohorts:
        try:
            for stage, gid in service.membership(cohort):
                out.setdefault(stage, set()).add(gid)
        except SpecError:  # reported (M006) when that cohort is linted
            continue
    return out


def _membership(context):
    if context.cohort_dir is None and not context.compiled.spec.layout:
        return None  # not a cohort: nothing is materialized from it
    try:
        return context.membership
    except SpecError:  # M001/M004/M005, reported by the core checks
        return None


PARTITION_KEY = LintRule(
    "DG001", "partition-key", "A stage's gen ids are not valid Dagster partition keys.",
    "cohort-dsl-dagster registers every gen id as a key of the dynamic partitions definition `<stage>_gens`. "
    "Dagster refuses keys that contain `...` (its UI's range syntax) or a control character. Ids are the stage's "
    "prefix followed by base-36 digits, so the layout's prefix decides.", check=partition_keys)
PARTITION_SCALE = LintRule(
    "DG002", "partition-scale", "A stage would hold more than 100,000 Dagster partition keys.",
    "Dagster documents dynamic partitions up to 100,000 keys per definition; beyond that its UI and daemon slow "
    "down. Counted across the data root: this spec's ids of the stage plus the other cohorts' (ids shared by "
    "several cohorts count once). The result depends on which cohorts exist, so it is never cached. See "
    "docs/dagster.md for sharding.", severity="warning", check=partition_scale)


@hookimpl
def cohort_dsl_lint_rules():
    return [PARTITION_KEY, PARTITION_SCALE]
