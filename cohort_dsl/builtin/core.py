"""The codes the core stages emit (loading, schema, includes, rules).

They are declared like any plugin's lint rules so that every code is
documented (docs/rules.md is generated from the registry), selectable and
ignorable. None of them has a ``check``: the stage that finds the problem
reports it. Each code is declared once, as a :class:`LintRule` in the module
that emits it; this plugin only hands them to the registry.
"""

from __future__ import annotations

from cohort_dsl.builtin.pairs import IMBALANCE, SELF_PAIR
from cohort_dsl.builtin.subsets import UNKNOWN_KEEP
from cohort_dsl.bundle import TOP_LEVEL
from cohort_dsl.compiler import DROPPED_LEVEL, EMPTY_RESULT
from cohort_dsl.design import ARITY, OUT_OF_DOMAIN, ROW_LIMIT
from cohort_dsl.explain import WHY_VALUE
from cohort_dsl.document import DUPLICATE_KEY, YAML_FEATURE, YAML_LIMIT, YAML_SYNTAX
from cohort_dsl.guard import PLUGIN_CRASH, WRONG_RESULT
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.catalog_migration import MIGRATION_PROBLEM
from cohort_dsl.importer import IMPORT_UNEXPLAINED, LIST_PROBLEM, SPEC_EXISTS
from cohort_dsl.includes import (INCLUDE_COLUMNS, INCLUDE_EMPTY_CELL, INCLUDE_ESCAPE, INCLUDE_FORMAT, INCLUDE_MISSING,
                                 INCLUDE_TOO_LARGE)
from cohort_dsl.levels import NON_STRING_LEVEL
from cohort_dsl.lint import INTERNAL_ERROR, UNKNOWN_SUPPRESSION, UNUSED_SUPPRESSION
from cohort_dsl.materialize import INPUT_CHANGED, METADATA_CONFLICT, METADATA_DIFFERS
from cohort_dsl.schema import SCHEMA_VIOLATION, UNKNOWN_KEY
from cohort_dsl.spec import (DUPLICATE_LEVEL, DUPLICATE_NAME, EMPTY_AXIS, FORWARD_REFERENCE, SPEC_LIMIT,
                             UNKNOWN_FIELD, UNKNOWN_NAME)

CORE_CODES = (
    YAML_SYNTAX,
    DUPLICATE_KEY,
    NON_STRING_LEVEL,
    YAML_LIMIT,
    YAML_FEATURE,
    SCHEMA_VIOLATION,
    UNKNOWN_KEY,
    TOP_LEVEL,
    INCLUDE_MISSING,
    INCLUDE_ESCAPE,
    INCLUDE_FORMAT,
    INCLUDE_EMPTY_CELL,
    INCLUDE_TOO_LARGE,
    INCLUDE_COLUMNS,
    UNKNOWN_NAME,
    FORWARD_REFERENCE,
    UNKNOWN_KEEP,
    EMPTY_RESULT,
    OUT_OF_DOMAIN,
    IMBALANCE,
    DUPLICATE_LEVEL,
    EMPTY_AXIS,
    ARITY,
    DUPLICATE_NAME,
    SELF_PAIR,
    UNKNOWN_FIELD,
    ROW_LIMIT,
    SPEC_LIMIT,
    DROPPED_LEVEL,
    UNUSED_SUPPRESSION,
    UNKNOWN_SUPPRESSION,
    INTERNAL_ERROR,
    PLUGIN_CRASH,
    WRONG_RESULT,
    METADATA_CONFLICT,
    METADATA_DIFFERS,
    INPUT_CHANGED,
    IMPORT_UNEXPLAINED,
    SPEC_EXISTS,
    LIST_PROBLEM,
    MIGRATION_PROBLEM,
    WHY_VALUE,
)


@hookimpl
def cohort_dsl_lint_rules():
    return list(CORE_CODES)
