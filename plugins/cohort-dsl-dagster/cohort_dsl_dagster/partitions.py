"""Gen ids as Dagster dynamic partitions: one definition ``<stage>_gens``
per stage of the installed layouts.

Adding is chunked (at most ``chunk_size`` keys per ``add_dynamic_partitions``
call: SQLite storage binds one variable per key, and builds with the
upstream default allow 32,766) and idempotent: keys already registered are
left where they are, new ones are appended in membership.csv order, so a
re-run leaves every list unchanged. Deleting (``prune``, only with
``force``) costs one storage call per key: Dagster's API deletes one key at
a time.
"""

from __future__ import annotations

from cohort_dsl_dagster.guardrails import why_invalid_key

SUFFIX = "_gens"


def definition_name(stage: str) -> str:
    return stage + SUFFIX


def layout_stages(registry) -> list[str]:
    """Every stage of every installed layout, the default layout's first."""
    from cohort_dsl.membership import DEFAULT_LAYOUT

    layouts = sorted(registry.layouts.values(), key=lambda layout: layout.name != DEFAULT_LAYOUT)
    return list(dict.fromkeys(stage.name for layout in layouts for stage in layout.stages))


class PartitionError(Exception):
    """Gen ids that cannot be registered (the message says which and why)."""


def register(instance, service, cohort_id: str, stages: list[str], chunk_size: int) -> dict[str, int]:
    """Add every gen id of each stage of ``cohort_id`` to ``<stage>_gens``;
    returns how many keys each definition gained."""
    added: dict[str, int] = {}
    for stage in service.stages(cohort_id):
        if stage not in stages:
            raise PartitionError(f"cohort {cohort_id} has ids of stage {stage!r}, which no installed layout declares: "
                                 f"there is no {definition_name(stage)} partitions definition "
                                 f"(stages: {', '.join(stages)})")
        keys = service.gen_ids(cohort_id, stage)
        for key in keys:
            why = why_invalid_key(key)
            if why:
                raise PartitionError(f"gen id {key!r} of cohort {cohort_id} is not a valid Dagster partition key "
                                     f"({why}); nothing of stage {stage} was registered")
        name = definition_name(stage)
        existing = set(instance.get_dynamic_partitions(name))
        new = [key for key in keys if key not in existing]
        for start in range(0, len(new), chunk_size):
            instance.add_dynamic_partitions(name, new[start:start + chunk_size])
        added[name] = len(new)
    return added


def prune(instance, service, stages: list[str], log=None) -> dict[str, int]:
    """Delete the keys no cohort's membership.csv under the data root holds
    any more (ids another cohort still uses are kept). Refused while a
    cohort cannot be read: its ids would look unused."""
    problems = service.problems()
    if problems:
        named = "; ".join(f"{cohort}: {diagnostics[0].render()}" for cohort, diagnostics in sorted(problems.items()))
        raise PartitionError(f"no partition was deleted: cohorts whose membership cannot be read would lose ids "
                             f"still in use ({named})")
    used: dict[str, set[str]] = {stage: set() for stage in stages}
    for cohort in service.cohorts():
        for stage, gid in service.membership(cohort):
            used.setdefault(stage, set()).add(gid)
    deleted: dict[str, int] = {}
    for stage in stages:
        name = definition_name(stage)
        stale = [key for key in instance.get_dynamic_partitions(name) if key not in used[stage]]
        if stale and log is not None:
            log.info(f"deleting {len(stale):,} keys of {name}, one storage call each")
        for key in stale:
            instance.delete_dynamic_partition(name, key)
        deleted[name] = len(stale)
    return deleted
