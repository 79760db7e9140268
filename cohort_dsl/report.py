"""A report: the diagnostics of one run, ready for a format to render."""

from __future__ import annotations

from dataclasses import dataclass, field

from cohort_dsl.diagnostics import ERROR, WARNING, Diagnostic


@dataclass
class Report:
    diagnostics: list[Diagnostic]
    registry: object = None
    #: the spec bundles (config.yaml paths) that were checked
    bundles: list[str] = field(default_factory=list)
    #: False when the report is part of a command's error output (no
    #: "Found N errors" line); formats that have a summary honour it
    show_summary: bool = True

    def __post_init__(self):
        self.diagnostics = sorted(self.diagnostics, key=Diagnostic.sort_key)

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == WARNING)

    def rule_name(self, code: str) -> str:
        rule = self.registry.lint_rules.get(code) if self.registry else None
        return rule.name if rule else code

    def summary(self) -> str:
        def n(count, word):
            return f"{count} {word}{'' if count == 1 else 's'}"

        where = f" in {n(len(self.bundles), 'bundle')}" if self.bundles else ""
        if not self.diagnostics:
            return f"All checks passed{where}."
        return f"Found {n(self.errors, 'error')} and {n(self.warnings, 'warning')}{where}."
