"""cohort-dsl-dagster: cohorts materialized as Dagster assets, generations
registered as dynamic partitions (see docs/dagster.md).

``build_definitions`` and ``MembershipResource`` import dagster; they are
loaded on first use, so that cohort-dsl, which imports this package for its
guardrail lint rules (:mod:`cohort_dsl_dagster.guardrails`), starts without
importing dagster.
"""

from __future__ import annotations

__all__ = ["build_definitions", "generation_partitions", "MembershipResource", "MaterializeConfig"]


def __getattr__(name: str):
    if name in ("build_definitions", "generation_partitions", "MaterializeConfig"):
        from cohort_dsl_dagster import definitions

        return getattr(definitions, name)
    if name == "MembershipResource":
        from cohort_dsl_dagster.resource import MembershipResource

        return MembershipResource
    raise AttributeError(f"module 'cohort_dsl_dagster' has no attribute {name!r}")
