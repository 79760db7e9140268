"""Hook specifications: everything a plugin can contribute.

Plugins are found through the entry point group ``cohort_dsl`` (the same name
as the pluggy project), after the built-in plugins, which are ordinary
plugins too: the core special-cases none of them.

Conventions (as in pytest and datasette):

- Declaration hooks take no arguments and return a list of declarative
  objects (:mod:`cohort_dsl.registry`); the registry collects every plugin's
  list, remembers which plugin declared what, and rejects duplicates (a
  section, code or name claimed twice is an error naming both plugins).
- Implementations may accept fewer arguments than a spec names, so specs can
  grow without breaking plugins.
- A hookimpl whose name is not specified here is an error at start-up
  (``check_pending``), not a silent no-op.
"""

from __future__ import annotations

import pluggy

PROJECT = "cohort_dsl"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def cohort_dsl_rule_kinds():
    """Declare rule kinds: sections under ``rules:`` in a spec.

    :returns: a list of :class:`cohort_dsl.registry.RuleKind`. Each gives the
        section name, the JSON Schema fragment of the section's value, and
        ``parse(section)``, which returns :class:`cohort_dsl.registry.Rule`
        objects whose ``apply(design)`` filters or joins the design's factors.

    Combined: every plugin's list; a section declared twice is an error.
    Rules run in document order whatever plugin declared their kind.
    """


@hookspec
def cohort_dsl_lint_rules():
    """Declare diagnostic codes and lint checks.

    :returns: a list of :class:`cohort_dsl.registry.LintRule`. A rule with a
        ``check`` callable runs in the check stage as ``check(context)`` with
        a :class:`cohort_dsl.lint.LintContext` (the bundle, the compiled design,
        catalogs, settings) and yields diagnostics. A rule without ``check``
        documents a code that a stage emits.

    Combined: every plugin's list; a code declared twice is an error. An
    exception raised by a check becomes a ``P001`` diagnostic naming the
    plugin; the other checks still run.
    """


@hookspec
def cohort_dsl_catalog_sources():
    """Declare catalog sources: readers for files listing the values that exist.

    :returns: a list of :class:`cohort_dsl.catalogs.CatalogSource` (a name,
        the file suffixes it reads, and ``load(path, column, location)``).

    Combined: every plugin's list; a name declared twice is an error. A
    catalog file is read by the source whose suffixes match it.
    """


@hookspec
def cohort_dsl_membership_layouts():
    """Declare membership layouts: how rows become stage records and ids.

    :returns: a list of :class:`cohort_dsl.membership.Layout`. The built-in
        ``two-phase`` layout (draft -> essay -> evaluation) is the default; a
        spec selects another with ``output.layout``.

    Combined: every plugin's list; a name declared twice is an error.
    """


@hookspec
def cohort_dsl_report_formats():
    """Declare output formats for diagnostics (``lint --format NAME``).

    :returns: a list of :class:`cohort_dsl.registry.ReportFormat`.

    Combined: every plugin's list; a name declared twice is an error.
    """


@hookspec
def cohort_dsl_spec_keys():
    """Declare extra top-level keys a spec may use.

    :returns: a mapping ``{key: json_schema}``; the schema is composed into
        the spec schema under ``properties.<key>``. Without a declaration an
        unknown top-level key is an error (``S002``).

    Combined: the union of every plugin's mapping; a key declared twice is
    an error.
    """


@hookspec
def cohort_dsl_add_options(parser, command):
    """Add command-line options to a subcommand.

    :param parser: the ``argparse`` parser of the subcommand.
    :param command: the subcommand's name (``lint``, ``compile``, ...).

    Called for every subcommand, for every plugin; the parsed values reach
    lint checks as ``context.options``. Return value ignored.
    """
