"""cohort-dsl-plugin-example: hook implementations.

cohort-dsl finds this module through the entry point declared in
pyproject.toml and calls the functions marked ``@hookimpl`` below. Each hook
returns declarative objects; cohort-dsl checks them (a section or code that
another plugin already declared is an error naming both plugins).
"""

from __future__ import annotations

from cohort_dsl import hookimpl

from cohort_dsl_plugin_example import excludes, self_grading


@hookimpl
def cohort_dsl_rule_kinds():
    """The `excludes` section under `rules:`."""
    return [excludes.RULE_KIND]


@hookimpl
def cohort_dsl_lint_rules():
    """The codes this plugin reports: EX001 (emitted by `excludes` while it
    runs) and EX100 (a check run by `cohort-dsl lint`)."""
    return [excludes.UNMATCHED, self_grading.SELF_GRADING]


@hookimpl
def cohort_dsl_plugin_settings():
    """The [tool.cohort-dsl.plugins.example] table: `allow-self-grading`,
    models EX100 leaves alone."""
    return self_grading.SETTINGS_SCHEMA
