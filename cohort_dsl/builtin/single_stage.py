"""The built-in membership layout ``single-stage``: one generation per row.

One stage, ``generation`` (ids ``g_…``), whose id hashes every axis of the
spec (in column order) and the ``replicate`` column (absent: 1), so no axis
can vary without reaching the id. The record's wide columns are the axes
themselves, after ``replicate``; ``combo_id``, ``template_id`` and
``llm_model_id`` stay blank. Select it with ``output.layout: single-stage``.
"""

from __future__ import annotations

from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.registry import Layout, Stage

SINGLE_STAGE = Layout(
    "single-stage",
    (Stage("generation", "g_", replicate=("replicate",), other_axes=True),),
    "one generation per row: the id hashes every axis (and replicate)",
)


@hookimpl
def cohort_dsl_membership_layouts():
    return [SINGLE_STAGE]
