"""The built-in membership layout ``two-phase``: draft -> essay -> evaluation.

- draft id: (combo, draft_template, draft_llm, draft replicate)
- essay id: (draft id, essay_template, essay replicate); essay_llm is an
  attribute of the essay, not part of its id
- evaluation id: (essay id, evaluation_template, evaluation_llm, replicate)

Replicate columns: the first present wins; absent means 1. The original
pipeline also accepted other names for some columns (``combo``,
``draft_model``, ``generation_llm``, ``*_rep``); they are not read here —
a second name would escape the catalog and collision checks configured for
the first — and a spec that uses one gets M001 naming the column to rename
(``RENAMED``).
"""

from __future__ import annotations

from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.registry import Layout, Stage

#: names the original pipeline accepted -> the column the layout reads
RENAMED = {"combo": "combo_id", "draft_model": "draft_llm", "generation_llm": "draft_llm",
           "draft_rep": "draft_replicate", "essay_rep": "essay_replicate", "evaluation_rep": "evaluation_replicate"}

TWO_PHASE = Layout(
    "two-phase",
    (
        Stage("draft", "d_", template=("draft_template",), llm=("draft_llm",),
              replicate=("draft_replicate", "draft_template_replicate"), combo=("combo_id",),
              mode_axis="draft_template"),
        Stage("essay", "e_", template=("essay_template",), llm=("essay_llm",), llm_in_id=False,
              replicate=("essay_replicate", "essay_template_replicate"), mode_axis="essay_template"),
        Stage("evaluation", "v_", template=("evaluation_template",), llm=("evaluation_llm",),
              replicate=("evaluation_replicate", "evaluation_template_replicate", "evaluation_llm_replicate"),
              mode_axis="evaluation_template"),
    ),
    "draft -> essay -> evaluation (the essay's llm is not part of its id)",
    renamed=RENAMED,
)


@hookimpl
def cohort_dsl_membership_layouts():
    return [TWO_PHASE]
