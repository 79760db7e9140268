"""Report formats ``text`` and ``json`` (``github`` and ``sarif`` live in
:mod:`cohort_dsl.builtin.ci_reporters`)."""

from __future__ import annotations

import json

from cohort_dsl import __version__
from cohort_dsl.diagnostics import WARNING, display_path
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.paths import escape_control
from cohort_dsl.registry import ReportFormat


BOLD = "\x1b[1m"
RED_BOLD = "\x1b[1;31m"
YELLOW = "\x1b[33m"
CYAN = "\x1b[36m"
RESET = "\x1b[0m"


def render_text(report, out) -> None:
    """``path:line:col: CODE message`` (warnings say so), a hint line, and
    a summary (unless ``report.show_summary`` is False).

    Control characters in paths, messages and hints are shown as escapes
    (:func:`cohort_dsl.paths.escape_control`): one diagnostic is one line
    (plus its hint line). With ``report.color``, ANSI SGR colour: the
    location bold, the code bold red (errors) or yellow (warnings),
    ``hint:`` cyan, the summary bold; each span is reset after itself."""
    color = bool(getattr(report, "color", False))

    def paint(sgr: str, text: str) -> str:
        return f"{sgr}{text}{RESET}" if color else text

    for d in report.diagnostics:
        warning = d.severity == WARNING
        prefix = "warning: " if warning else ""
        location = paint(BOLD, escape_control(str(d.location)))
        code = paint(YELLOW if warning else RED_BOLD, d.code)
        out.write(f"{location}: {code} {prefix}{escape_control(d.message)}\n")
        if d.hint:
            out.write(f"  {paint(CYAN, 'hint:')} {escape_control(d.hint)}\n")
    if report.show_summary:
        out.write(paint(BOLD, report.summary()) + "\n")


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
