"""Report formats ``text`` and ``json`` (``github`` and ``sarif`` live in
:mod:`cohort_dsl.builtin.ci_reporters`)."""

from __future__ import annotations

import json

from cohort_dsl import __version__
from cohort_dsl.diagnostics import WARNING, display_path
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.registry import ReportFormat


def render_text(report, out) -> None:
    """``path:line:col: CODE message`` (warnings say so), a hint line, and
    a summary (unless ``report.show_summary`` is False)."""
    for d in report.diagnostics:
        prefix = "warning: " if d.severity == WARNING else ""
        out.write(f"{d.location}: {d.code} {prefix}{d.message}\n")
        if d.hint:
            out.write(f"  hint: {d.hint}\n")
    if report.show_summary:
        out.write(report.summary() + "\n")


def as_dict(d, report) -> dict:
    loc = d.location
    return {
        "code": d.code,
        "name": report.rule_name(d.code),
        "severity": d.severity,
        "message": d.message,
        "hint": d.hint,
        "path": display_path(loc.path) if loc.path else None,
        "line": loc.line,
        "column": loc.col,
        "plugin": d.plugin,
    }


def render_json(report, out) -> None:
    payload = {
        "tool": {"name": "cohort-dsl", "version": __version__},
        "summary": {"errors": report.errors, "warnings": report.warnings, "bundles": len(report.bundles)},
        "diagnostics": [as_dict(d, report) for d in report.diagnostics],
    }
    json.dump(payload, out, indent=2, ensure_ascii=False)
    out.write("\n")


@hookimpl
def cohort_dsl_report_formats():
    return [
        ReportFormat("text", render_text, "path:line:col: CODE message, with hints and a summary"),
        ReportFormat("json", render_json, "a JSON object with a summary and every diagnostic"),
    ]
