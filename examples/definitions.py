"""Dagster definitions for this data repo: the recipe to copy (docs/dagster.md).

    pip install cohort-dsl-dagster     # (in the repo: pip install -e plugins/cohort-dsl-dagster)
    dagster asset materialize -f examples/definitions.py --select cohort_membership --partition baseline-cartesian

``cohort_membership`` writes the cohort's membership files exactly as
``cohort-dsl materialize baseline-cartesian`` does and registers its gen ids
as the partitions ``draft_gens``, ``essay_gens`` and ``evaluation_gens``.
``draft`` is a stage asset: one partition per draft id, each reading its
record (templates, model, combo) through the ``membership`` resource.
"""

from pathlib import Path

import dagster as dg

from cohort_dsl_dagster import MembershipResource, build_definitions, generation_partitions

DATA_ROOT = Path(__file__).resolve().parent / "data"


@dg.asset(partitions_def=generation_partitions("draft"))
def draft(context: dg.AssetExecutionContext, membership: MembershipResource) -> dg.MaterializeResult:
    record = membership.record(context.partition_key)
    # The LLM call goes here: record.template_id with record.llm_model_id on record.combo_id.
    return dg.MaterializeResult(metadata={"combo_id": record.combo_id, "template_id": record.template_id,
                                          "llm_model_id": record.llm_model_id, "replicate": record.replicate,
                                          "cohorts": membership.cohorts_containing(record.gen_id)})


defs = dg.Definitions.merge(build_definitions(DATA_ROOT), dg.Definitions(assets=[draft]))
