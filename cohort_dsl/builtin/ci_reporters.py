"""Report formats for CI: ``github`` (workflow annotations) and ``sarif``
(2.1.0, for GitHub code scanning)."""

from __future__ import annotations

import hashlib
import json
import os

from cohort_dsl import __version__
from cohort_dsl.diagnostics import ERROR, display_path
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.registry import ReportFormat

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/cohort-dsl/cohort-dsl"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report, out) -> None:
    """One ``::error``/``::warning`` annotation per diagnostic, then the full
    text report (GitHub shows only 10 annotations of each kind per step),
    and a summary to ``$GITHUB_STEP_SUMMARY`` when it is set."""
    from cohort_dsl.builtin.reporters import render_text

    for d in report.diagnostics:
        loc = d.location
        props = []
        if loc.path:
            props.append(f"file={_escape_property(_relative(loc.path))}")
        if loc.line:
            props.append(f"line={loc.line}")
        if loc.col:
            props.append(f"col={loc.col}")
        props.append(f"title={_escape_property(f'{d.code} {report.rule_name(d.code)}')}")
        message = d.message + (f"\n{d.hint}" if d.hint else "")
        level = "error" if d.severity == ERROR else "warning"
        out.write(f"::{level} {','.join(props)}::{_escape_data(message)}\n")
    render_text(report, out)
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        try:
            with open(summary_path, "a", encoding="utf-8") as handle:
                handle.write(_markdown_summary(report))
        except OSError:
            pass


def _markdown_summary(report) -> str:
    lines = ["## cohort-dsl lint", "", report.summary(), ""]
    if report.diagnostics:
        lines += ["| location | code | message |", "|---|---|---|"]
        for d in report.diagnostics:
            message = d.message.replace("|", "\\|")
            lines.append(f"| `{d.location}` | {d.code} | {message} |")
    return "\n".join(lines) + "\n\n"


def _relative(path: str) -> str:
    shown = display_path(path)
    return shown.replace(os.sep, "/")


def render_sarif(report, out) -> None:
    registry = report.registry
    used = sorted({d.code for d in report.diagnostics})
    all_codes = sorted(registry.lint_rules) if registry else used
    index = {code: i for i, code in enumerate(all_codes)}
    rules = []
    for code in all_codes:
        rule = registry.lint_rules.get(code) if registry else None
        rules.append({
            "id": code,
            "name": rule.name if rule else code,
            "shortDescription": {"text": rule.summary if rule else code},
            "fullDescription": {"text": rule.doc or rule.summary if rule else code},
            "help": {"text": (rule.doc or rule.summary) if rule else code},
            "defaultConfiguration": {"level": "error" if (rule is None or rule.severity == ERROR) else "warning"},
            "properties": {"plugin": str(rule.plugin.name) if rule and rule.plugin else "cohort-dsl"},
        })
    results = []
    for d in report.diagnostics:
        result = {
            "ruleId": d.code,
            "ruleIndex": index[d.code] if d.code in index else -1,
            "level": "error" if d.severity == ERROR else "warning",
            "message": {"text": d.message + (f"\nhint: {d.hint}" if d.hint else "")},
            "partialFingerprints": {"cohortDslFingerprint/v1": _fingerprint(d)},
        }
        if result["ruleIndex"] < 0:
            del result["ruleIndex"]
        loc = d.location
        if loc.path:
            physical = {"artifactLocation": {"uri": _relative(loc.path), "uriBaseId": "%SRCROOT%"}}
            if loc.line:
                region = {"startLine": loc.line}
                if loc.col:
                    region["startColumn"] = loc.col
                physical["region"] = region
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "cohort-dsl", "version": __version__, "semanticVersion": __version__,
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": _srcroot()}},
            "results": results,
        }],
    }
    json.dump(sarif, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _srcroot() -> str:
    from pathlib import Path

    return Path.cwd().absolute().as_uri() + "/"


def _fingerprint(d) -> str:
    """Stable across runs and machines: the code, the file (relative) and
    the message; not the line, so unrelated edits above do not change it."""
    key = f"{d.code}\0{_relative(d.location.path) if d.location.path else ''}\0{d.message}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@hookimpl
def cohort_dsl_report_formats():
    return [
        ReportFormat("github", render_github, "GitHub workflow annotations, then the full text report"),
        ReportFormat("sarif", render_sarif, "SARIF 2.1.0 for GitHub code scanning"),
    ]
