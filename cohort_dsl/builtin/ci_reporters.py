"""Report formats for CI: ``github`` (workflow annotations) and ``sarif``
(2.1.0, for GitHub code scanning)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from cohort_dsl import __version__
from cohort_dsl.diagnostics import ERROR, display_path
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.paths import escape_control, file_uri, relative_path, relative_uri, report_root, rule_help_uri
from cohort_dsl.registry import ReportFormat

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/cohort-dsl/cohort-dsl"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_CONTROL_BUT_LINES = re.compile("[^\r\n]+")


def _annotation_text(text: str) -> str:
    """A message for an annotation: control characters escaped except CR
    and LF, which the data escaping encodes (GitHub shows them as line
    breaks inside the annotation, never as a new workflow command)."""
    return _CONTROL_BUT_LINES.sub(lambda m: escape_control(m.group()), text)


def _root(report) -> Path:
    """The folder report locations are relative to (docs/ci.md): the
    repository root of the working directory, else the folder of the
    settings file (``report.settings_path`` when the caller sets one, else
    the config found from the working directory), else the working
    directory."""
    cwd = Path.cwd()
    settings_path = getattr(report, "settings_path", None)
    if settings_path is None:
        from cohort_dsl.settings import find_config

        settings_path = find_config(cwd)
    return report_root(settings_path, cwd)


def _repo_path(path: str, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX, not encoded); outside the root,
    the path as the text report shows it."""
    rel = relative_path(path, root)
    return rel if rel is not None else display_path(path).replace(os.sep, "/")


def render_github(report, out) -> None:
    """One ``::error``/``::warning`` annotation per diagnostic, then the full
    text report (GitHub shows only 10 annotations of each kind per step),
    and a summary to ``$GITHUB_STEP_SUMMARY`` when it is set."""
    from cohort_dsl.builtin.reporters import render_text

    root = _root(report) if any(d.location.path for d in report.diagnostics) else None
    for d in report.diagnostics:
        loc = d.location
        props = []
        if loc.path:
            props.append(f"file={_escape_property(_repo_path(loc.path, root))}")
        if loc.line:
            props.append(f"line={loc.line}")
        if loc.col:
            props.append(f"col={loc.col}")
        props.append(f"title={_escape_property(f'{d.code} {report.rule_name(d.code)}')}")
        message = _annotation_text(d.message) + (f"\n{_annotation_text(d.hint)}" if d.hint else "")
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
            location = escape_control(str(d.location)).replace("`", "'")
            message = escape_control(d.message).replace("|", "\\|")
            lines.append(f"| `{location}` | {d.code} | {message} |")
    return "\n".join(lines) + "\n\n"


def render_sarif(report, out) -> None:
    """SARIF 2.1.0: every rule of the registry (a built-in one with a
    ``helpUri`` into docs/rules.md), one result per diagnostic. Locations are URIs relative
    to ``%SRCROOT%``, the repository root (:func:`_root`), percent-encoded
    (RFC 3986); texts have their control characters escaped."""
    registry = report.registry
    root = _root(report)
    used = sorted({d.code for d in report.diagnostics})
    all_codes = sorted(registry.lint_rules) if registry else used
    index = {code: i for i, code in enumerate(all_codes)}
    rules = []
    for code in all_codes:
        rule = registry.lint_rules.get(code) if registry else None
        summary = escape_control(rule.summary) if rule else code
        doc = escape_control(rule.doc or rule.summary) if rule else code
        entry = {
            "id": code,
            "name": rule.name if rule else code,
            "shortDescription": {"text": summary},
            "fullDescription": {"text": doc},
            "help": {"text": doc},
            "defaultConfiguration": {"level": "error" if (rule is None or rule.severity == ERROR) else "warning"},
            "properties": {"plugin": str(rule.plugin.name) if rule and rule.plugin else "cohort-dsl"},
        }
        if rule is not None and rule.plugin is not None and rule.plugin.builtin:
            # docs/rules.md documents the built-in rules; a plugin documents its own
            entry["helpUri"] = rule_help_uri(rule)
        rules.append(entry)
    results = []
    for d in report.diagnostics:
        text = escape_control(d.message) + (f"\nhint: {escape_control(d.hint)}" if d.hint else "")
        result = {
            "ruleId": d.code,
            "ruleIndex": index[d.code] if d.code in index else -1,
            "level": "error" if d.severity == ERROR else "warning",
            "message": {"text": text},
            "partialFingerprints": {"cohortDslFingerprint/v1": _fingerprint(d, root)},
        }
        if result["ruleIndex"] < 0:
            del result["ruleIndex"]
        loc = d.location
        if loc.path:
            uri = relative_uri(loc.path, root)
            artifact = {"uri": uri}
            if not uri.startswith("file:"):  # an absolute URI has no base (SARIF 3.4.4)
                artifact["uriBaseId"] = "%SRCROOT%"
            physical = {"artifactLocation": artifact}
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
            "originalUriBaseIds": {"%SRCROOT%": {"uri": file_uri(root).rstrip("/") + "/"}},
            "results": results,
        }],
    }
    json.dump(sarif, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _fingerprint(d, root: Path) -> str:
    """Stable across runs, machines and working directories: the code, the
    file (relative to the repository root) and the message; not the line,
    so unrelated edits above do not change it."""
    key = f"{d.code}\0{_repo_path(d.location.path, root) if d.location.path else ''}\0{d.message}"
    import hashlib  # here, not at the top: loading it (OpenSSL) costs every lint run, used by two formats only

    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@hookimpl
def cohort_dsl_report_formats():
    return [
        ReportFormat("github", render_github, "GitHub workflow annotations, then the full text report"),
        ReportFormat("sarif", render_sarif, "SARIF 2.1.0 for GitHub code scanning"),
    ]
