"""The severity policy: one answer to "is this an error?" for every command.

A diagnostic's severity is its code's declared default (the ``LintRule`` a
plugin registered), unless ``[tool.cohort-dsl.severity]`` overrides it. The
stage that found a problem never decides: ``lint``, ``materialize``,
``membership`` and ``compile`` apply the same policy, so a spec is an error
everywhere or nowhere, and an error stops every command that writes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping

from cohort_dsl.diagnostics import ERROR, Diagnostic, SpecError, UsageError, did_you_mean


class Policy:
    """The registry's severities, with ``overrides`` (code -> severity).
    (A plain class: a frozen dataclass costs ~1 ms to define at start-up.)"""

    __slots__ = ("registry", "overrides")

    def __init__(self, registry, overrides: Mapping[str, str] | None = None):
        self.registry = registry
        self.overrides = {} if overrides is None else overrides
        unknown = [code for code in self.overrides if code not in self.registry.lint_rules]
        if unknown:
            hint = did_you_mean(unknown[0], self.registry.lint_rules)
            raise UsageError(f"severity: unknown code {unknown[0]!r}" + (f" ({hint})" if hint else "")
                             + "; `cohort-dsl rules` lists the codes")

    def severity(self, diagnostic: Diagnostic) -> str:
        code = diagnostic.code
        if code in self.overrides:
            return self.overrides[code]
        rule = self.registry.lint_rules.get(code)
        return rule.severity if rule is not None else diagnostic.severity

    def apply(self, diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
        """The diagnostics with the policy's severities."""
        out = []
        for d in diagnostics:
            severity = self.severity(d)
            out.append(d if severity == d.severity else replace(d, severity=severity))
        return out

    def refuse_errors(self, diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
        """The diagnostics with the policy's severities; raises
        :class:`SpecError` carrying all of them when one is an error."""
        applied = self.apply(diagnostics)
        if any(d.severity == ERROR for d in applied):
            raise SpecError(applied)
        return applied
