"""A lint rule: EX100 self-grading — a model evaluates an essay it wrote.

It shows how a check reads the compiled design without enumerating rows:
the factor model tells whether some row has equal values in two columns.
"""

from __future__ import annotations

from cohort_dsl import Diagnostic, LintRule

WRITER, JUDGE = "essay_llm", "evaluation_llm"


#: the plugin's settings, [tool.cohort-dsl.plugins.example] (see cohort_dsl_plugin_settings)
SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        "allow-self-grading": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                               "description": "models allowed to grade their own essays"},
    },
    "additionalProperties": False,
}


def check(context):
    """Yield one warning if any row has essay_llm == evaluation_llm (for a
    model the settings do not allow to)."""
    allowed = set(context.settings.for_plugin("example").get("allow-self-grading", ()))
    design = context.compiled.design
    if WRITER not in design.axis_order or JUDGE not in design.axis_order:
        return
    writer, judge = design.factor_of(WRITER), design.factor_of(JUDGE)
    if writer is judge:  # coupled: look at the factor's rows
        i, j = writer.axes.index(WRITER), writer.axes.index(JUDGE)
        same = sorted({row[i] for row in writer.rows if row[i] == row[j]})
    else:  # independent: every shared level meets itself in some row
        same = sorted(set(design.domain(WRITER)) & set(design.domain(JUDGE)))
    same = [model for model in same if model not in allowed]
    if same:
        origin = design.origins.get(JUDGE, {}).get(same[0]) or context.bundle.document.key_loc(("axes",))
        yield Diagnostic(SELF_GRADING.code, f"{', '.join(same)} evaluate{'s' if len(same) == 1 else ''} essays "
                         f"{'it' if len(same) == 1 else 'they'} wrote", origin, SELF_GRADING.severity,
                         "pair essay_llm with evaluation_llm (a pairs rule) or exclude the combination")


SELF_GRADING = LintRule(
    "EX100", "self-grading", "A model evaluates an essay it wrote.",
    "Models grade their own writing more kindly. The check reads the factors: if essay_llm and "
    "evaluation_llm are independent, any model on both axes grades itself; if they are coupled, the "
    "coupled rows are inspected.",
    severity="warning", check=check,
)
