"""A report: the diagnostics of one run, ready for a format to render."""

from __future__ import annotations

from dataclasses import dataclass, field

from cohort_dsl.diagnostics import ERROR, WARNING, Diagnostic
from cohort_dsl.records import Record


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Report(Record):
    """What a report format's ``render(report, stream)`` is given: the
    diagnostics of one run and what the run covered.

    Attributes a format may read (all documented in docs/plugins.md):
    ``diagnostics`` (sorted by location), ``bundles`` (every config.yaml
    linted, clean ones included, as absolute paths), ``skipped`` (bundles
    left out), ``timings`` (phase -> seconds), ``settings`` (the
    :class:`cohort_dsl.settings.Settings` of the run, or None),
    ``registry`` (the plugin registry: ``rule_name(code)`` reads it),
    ``show_summary`` and ``color``; and ``errors``, ``warnings``,
    :meth:`statistics` and :meth:`summary`."""

    diagnostics: list[Diagnostic]
    registry: object = None
    #: the spec bundles (config.yaml paths) that were checked
    bundles: list[str] = field(default_factory=list)
    #: False when the report is part of a command's error output (no
    #: "Found N errors" line); formats that have a summary honour it
    show_summary: bool = True
    #: ANSI colour in the text format (the CLI decides: see
    #: :func:`cohort_dsl.paths.want_color`); never on by default
    color: bool = False
    #: the settings file of the run (CI formats make paths relative to the
    #: repository root, else to this file's folder)
    settings_path: object = None
    #: bundles left out because git does not track them (pre-commit scope)
    skipped: list[str] = field(default_factory=list)
    #: wall-clock seconds per phase of the run: ``catalogs`` (reading
    #: them), ``bundles`` (linting every bundle), ``total``; empty when the
    #: report is a command's error output
    timings: dict[str, float] = field(default_factory=dict)
    #: the settings the run used (select/ignore, severity, catalogs,
    #: per-plugin ``plugin_settings``); None for a command's error output
    settings: object = None
    #: what a page format (html) shows besides the diagnostics: explain's
    #: data (``explain``, ``why``) or a diff's (``change``), as plain data
    page: dict | None = None

    def __init__(self, diagnostics: list[Diagnostic], registry: object = None, bundles: list[str] | None = None,
                 show_summary: bool = True, color: bool = False, settings_path: object = None,
                 skipped: list[str] | None = None, timings: dict[str, float] | None = None, settings: object = None,
                 page: dict | None = None):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        self.registry, self.bundles = registry, [] if bundles is None else bundles
        self.show_summary, self.color, self.settings_path = show_summary, color, settings_path
        self.skipped, self.timings = [] if skipped is None else skipped, {} if timings is None else timings
        self.settings, self.page = settings, page

    @property
    def errors(self) -> int:
        """How many diagnostics are errors."""
        return sum(1 for d in self.diagnostics if d.severity == ERROR)

    @property
    def warnings(self) -> int:
        """How many diagnostics are warnings."""
        return sum(1 for d in self.diagnostics if d.severity == WARNING)

    def rule_name(self, code: str) -> str:
        """The registered name of ``code`` (the code itself when unknown)."""
        rule = self.registry.lint_rules.get(code) if self.registry else None
        return rule.name if rule else code

    def statistics(self) -> list[tuple[int, str, str]]:
        """``(count, code, name)`` per code, most frequent first."""
        counts: dict[str, int] = {}
        for d in self.diagnostics:
            counts[d.code] = counts.get(d.code, 0) + 1
        return sorted(((n, code, self.rule_name(code)) for code, n in counts.items()), key=lambda t: (-t[0], t[1]))

    def summary(self) -> str:
        """``All checks passed in N bundles.`` or ``Found N errors and M warnings in K bundles.``"""
        def n(count, word):
            return f"{count} {word}{'' if count == 1 else 's'}"

        where = f" in {n(len(self.bundles), 'bundle')}" if self.bundles else ""
        if not self.diagnostics:
            return f"All checks passed{where}."
        return f"Found {n(self.errors, 'error')} and {n(self.warnings, 'warning')}{where}."
