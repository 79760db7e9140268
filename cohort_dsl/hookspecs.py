"""Hook specifications: everything a plugin can contribute.

Plugins are found through the entry point group ``cohort_dsl`` (the same name
as the pluggy project), after the built-in plugins, which are ordinary
plugins too: the core special-cases none of them.

Conventions (as in pytest and datasette):

- Declaration hooks take no arguments; :meth:`cohort_dsl.registry.Registry.collect`
  calls each plugin's implementation as ``impl.function()``, plugin by plugin.
  They return a list of declarative objects (:mod:`cohort_dsl.registry`;
  ``cohort_dsl_spec_keys`` returns a mapping); the registry collects every
  plugin's answer, remembers which plugin declared what, and rejects
  duplicates (a section, code or name claimed twice is an error naming both
  plugins).
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

    :returns: a list of :class:`cohort_dsl.registry.RuleKind`
        ``(section, schema, parse, summary)``: the section name, the JSON
        Schema fragment of the section's value, and ``parse(section)``, called
        with the :class:`cohort_dsl.spec.Section` (already schema-valid); it
        returns (or yields) :class:`cohort_dsl.registry.Rule` objects in
        document order. The compiler calls each rule's ``apply(design)`` with
        the :class:`cohort_dsl.design.Design`; it filters or joins the
        design's factors in place (its return value is ignored).

    Combined: every plugin's list; a section declared twice is an error.
    Rules run in document order whatever plugin declared their kind.
    """


@hookspec
def cohort_dsl_lint_rules():
    """Declare diagnostic codes and lint checks.

    :returns: a list of :class:`cohort_dsl.registry.LintRule`
        ``(code, name, summary, doc, severity, check)``. A rule with a
        ``check`` callable runs in the check stage of every compiled bundle as
        ``check(context)``, with a :class:`cohort_dsl.lint.LintContext` (the
        ``bundle``, the ``compiled`` spec, ``catalogs``, ``settings``, the
        ``registry``, the parsed command-line ``options`` and a per-bundle
        ``cache``); it returns (or yields) diagnostics, or None. A rule
        without ``check`` documents a code that a stage emits.

    Combined: every plugin's list; a code declared twice is an error. An
    exception raised by a check becomes a ``P001`` diagnostic, an item that
    is not a Diagnostic a ``P002``, both naming the plugin and the check;
    the other checks and bundles still run.
    """


@hookspec
def cohort_dsl_catalog_sources():
    """Declare catalog sources: readers for files listing the values that exist.

    :returns: a list of :class:`cohort_dsl.catalogs.CatalogSource`
        ``(name, suffixes, load, summary)``: a name, the file suffixes it
        reads, and ``load(path, column)``, called with the catalog file's
        :class:`pathlib.Path` and the configured column (a string, or None).
        ``load`` returns ``{None: Catalog}`` for a file that lists one catalog
        (the caller assigns the configured axis) or ``{axis: Catalog}`` for a
        file keyed by axis, and raises a located
        :class:`cohort_dsl.diagnostics.SpecError` for an unreadable file
        (another exception is ``P001``, another answer ``P002``, naming the
        plugin).

    Combined: every plugin's list; a name declared twice is an error. A
    catalog file is read by the source whose suffixes match it.
    """


@hookspec
def cohort_dsl_membership_layouts():
    """Declare membership layouts: how rows become stage records and ids.

    :returns: a list of :class:`cohort_dsl.registry.Layout`
        ``(name, stages, summary, renamed)``, where ``stages`` is a chain
        of :class:`cohort_dsl.registry.Stage`, each declaring its id
        components (``combo``, ``template``, ``llm``, ``replicate``,
        ``columns``, ``other_axes``), attributes (``llm_in_id=False``) and
        id ``prefix``; each stage's parent is the one before it. A layout
        is pure data: :mod:`cohort_dsl.membership` computes the ids and
        runs the checks for any layout. The built-in ``two-phase`` layout
        (draft -> essay -> evaluation) is the default; ``single-stage``
        hashes every axis; a spec selects one with ``output.layout``.

    Combined: every plugin's list; a name declared twice is an error.
    """


@hookspec
def cohort_dsl_report_formats():
    """Declare output formats for diagnostics (``lint --format NAME``).

    :returns: a list of :class:`cohort_dsl.registry.ReportFormat`
        ``(name, render, summary)``. ``render(report, stream)`` is called
        with a :class:`cohort_dsl.report.Report` (the diagnostics, every
        bundle linted, the timings and the settings of the run) and a
        writable text stream (standard output, or the ``--output`` file,
        written atomically); its return value is ignored. A render that
        raises stops the run with exit code 2, naming the plugin.

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

    Called by the CLI as ``cohort_dsl_add_options(parser=..., command=...)``
    for each subcommand parser it builds: just the one being run when the
    first plain argument names it, otherwise (``cohort-dsl --help``, an
    unknown command) every subcommand.

    :param parser: the ``argparse`` parser of the subcommand.
    :param command: the subcommand's name (``lint``, ``compile``, ...).
    :returns: nothing; the return value is ignored.

    Combined: every plugin's implementation is called (pluggy's ordinary
    call); the parsed values reach lint checks as ``context.options``.
    """


@hookspec
def cohort_dsl_plugin_settings():
    """Declare the plugin's settings table, ``[tool.cohort-dsl.plugins.NAME]``.

    :returns: a JSON Schema (Draft 2020-12) mapping for the table, where
        ``NAME`` is the plugin's registered name (its entry point name). The
        table is validated against it when a project is made (a violation,
        or a table for a plugin that declares none, is a usage error, exit
        2); the validated values reach rule kinds' ``parse`` as
        ``section.settings_for(NAME)``, checks as
        ``context.settings.for_plugin(NAME)`` and formats as
        ``report.settings.for_plugin(NAME)``, and are part of the lint
        cache key.

    Combined: one schema per plugin; a plugin's absent table reads as ``{}``.
    """
