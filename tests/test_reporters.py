"""Report formats of `cohort-dsl lint` (docs/ci.md; issue 4): json, github
workflow annotations, and SARIF 2.1.0 for code scanning."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import jsonschema
import pytest

from gate_helpers import cli, engine, full_spec, make_project, spec_path  # noqa: F401
from cohort_dsl import __version__
from cohort_dsl.builtin.ci_reporters import render_github
from cohort_dsl.diagnostics import ERROR, WARNING, Diagnostic, Location
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.pluginmanager import build_engine
from cohort_dsl.registry import LintRule
from cohort_dsl.report import Report

CONFIG = "data/cohorts/c1/spec/config.yaml"
# The OASIS SARIF 2.1.0 (errata01) schema: tests/schemas/README.md
OFFICIAL_SARIF_SCHEMA = json.loads((Path(__file__).resolve().parent / "schemas" / "sarif-schema-2.1.0.json")
                                   .read_text(encoding="utf-8"))


@pytest.fixture
def project(in_tmp_cwd):
    """One cohort with an error (C001 'dx2' at 3:24, did you mean 'd2') and
    a warning (R008, the repeated 'd1' at 3:29)."""
    make_project(in_tmp_cwd, {"c1": {"config.yaml": full_spec("[d1, dx2, d1]")}})
    return in_tmp_cwd


@pytest.fixture
def lint(cli):
    def run(fmt, *args, **kwargs):
        return cli("lint", "--no-cache", "--format", fmt, "--all", *args, **kwargs)

    return run


# =============================================================================
# json
# =============================================================================

class TestJson:
    def test_structure(self, lint, project):
        result = lint("json")
        assert result.rc == 1
        payload = json.loads(result.out)
        assert payload["tool"] == {"name": "cohort-dsl", "version": __version__}
        assert payload["summary"] == {"errors": 1, "warnings": 1, "bundles": 1}
        assert [d["code"] for d in payload["diagnostics"]] == ["C001", "R008"]
        c001, r008 = payload["diagnostics"]
        for d in payload["diagnostics"]:
            assert {"code", "name", "severity", "message", "hint", "path", "line", "column"} <= set(d)
        assert c001 == {**c001, "code": "C001", "name": "catalog-miss", "severity": "error", "path": CONFIG,
                        "line": 3, "column": 24}
        assert "'dx2'" in c001["message"]
        assert "did you mean 'd2'" in c001["hint"]
        assert r008["name"] == "duplicate-value" and r008["severity"] == "warning"
        assert (r008["line"], r008["column"]) == (3, 29)

    def test_clean_run(self, lint, project):
        spec_path(project, "c1").write_text(full_spec("[d1, d2]"))
        payload = json.loads(lint("json").out)
        assert payload["diagnostics"] == []
        assert payload["summary"] == {"errors": 0, "warnings": 0, "bundles": 1}

    def test_json_is_the_only_stdout(self, lint, project):
        result = lint("json")
        json.loads(result.out)  # nothing else on stdout
        assert result.err == ""


# =============================================================================
# github
# =============================================================================

class TestGithub:
    def test_annotations_then_the_text_report(self, lint, project):
        result = lint("github")
        assert result.rc == 1
        lines = result.out.splitlines()
        assert lines[0] == (f"::error file={CONFIG},line=3,col=24,title=C001 catalog-miss::"
                            "'dx2' is not in the draft_template catalog (data/catalogs/draft_templates.csv)"
                            "%0Adid you mean 'd2'?")
        assert lines[1].startswith(f"::warning file={CONFIG},line=3,col=29,title=R008 duplicate-value::")
        # the full text report follows the annotations
        text = lint("text").out
        assert "\n".join(lines[2:]) + "\n" == text
        assert lines[-1] == "Found 1 error and 1 warning in 1 bundle."

    def test_step_summary(self, lint, project, tmp_path, monkeypatch):
        summary = tmp_path / "summary.md"
        summary.write_text("# earlier step\n")
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
        lint("github")
        text = summary.read_text()
        assert text.startswith("# earlier step\n")  # appended, not replaced
        assert "cohort-dsl" in text
        assert "Found 1 error and 1 warning in 1 bundle." in text
        assert "C001" in text and "R008" in text

    def test_step_summary_escapes_control_characters(self, engine, tmp_path, monkeypatch):
        summary = tmp_path / "summary.md"
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
        d = Diagnostic("C001", "a|b\nc", Location("new\nline/config.yaml", 2, 3), ERROR)
        render_github(Report([d], engine.registry), io.StringIO())
        assert "| `new\\nline/config.yaml:2:3` | C001 | a\\|b\\nc |" in summary.read_text()

    def test_no_step_summary_when_unset(self, lint, project, tmp_path):
        lint("github")
        assert not list(tmp_path.glob("**/*summary*"))

    def test_data_and_property_escaping(self, engine):
        d = Diagnostic("C001", "100% sure\r\nsecond line", Location("dir,a:b/config.yaml", 2, 3), ERROR, "a hint")
        out = io.StringIO()
        render_github(Report([d], engine.registry), out)
        first = out.getvalue().splitlines()[0]
        assert first == ("::error file=dir%2Ca%3Ab/config.yaml,line=2,col=3,title=C001 catalog-miss::"
                         "100%25 sure%0D%0Asecond line%0Aa hint")

    def test_title_escaping_and_missing_location(self):
        class Plugin:
            @hookimpl
            def cohort_dsl_lint_rules(self):
                return [LintRule("ZZ900", "odd:name,with-comma", "A rule with a strange name.", severity=WARNING)]

        registry = build_engine(plugins=[Plugin()], entry_points=False).registry
        out = io.StringIO()
        render_github(Report([Diagnostic("ZZ900", "50%", Location(), WARNING)], registry), out)
        assert out.getvalue().splitlines()[0] == "::warning title=ZZ900 odd%3Aname%2Cwith-comma::50%25"

    def test_escaping_through_the_cli(self, cli, in_tmp_cwd):
        catalogs = {"catalogs/draft_templates.csv": "template_id\nd1\n"}
        make_project(in_tmp_cwd, {"x,y:z": {"config.yaml": full_spec("[d1, 'd%1']")}}, catalogs=catalogs)
        result = cli("lint", "--no-cache", "--format", "github", "--all")
        first = result.out.splitlines()[0]
        assert first.startswith("::error file=data/cohorts/x%2Cy%3Az/spec/config.yaml,line=3,col=24,")
        assert "::'d%251' is not in" in first


# =============================================================================
# sarif
# =============================================================================

SARIF_SUBSET = {
    "type": "object",
    "required": ["$schema", "version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "pattern": "sarif"},
        "runs": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object", "required": ["driver"],
                        "properties": {"driver": {
                            "type": "object", "required": ["name", "rules"],
                            "properties": {
                                "name": {"const": "cohort-dsl"},
                                "rules": {"type": "array", "items": {
                                    "type": "object",
                                    "required": ["id", "shortDescription", "fullDescription", "help"],
                                    "properties": {
                                        "id": {"type": "string"},
                                        "shortDescription": {"$ref": "#/$defs/message"},
                                        "fullDescription": {"$ref": "#/$defs/message"},
                                        "help": {"$ref": "#/$defs/message"},
                                    },
                                }},
                            },
                        }},
                    },
                    "results": {"type": "array", "items": {
                        "type": "object",
                        "required": ["ruleId", "level", "message", "locations", "partialFingerprints"],
                        "properties": {
                            "ruleId": {"type": "string"},
                            "level": {"enum": ["error", "warning", "note", "none"]},
                            "message": {"$ref": "#/$defs/message"},
                            "partialFingerprints": {"type": "object", "minProperties": 1,
                                                    "additionalProperties": {"type": "string"}},
                            "locations": {"type": "array", "minItems": 1, "items": {
                                "type": "object", "required": ["physicalLocation"],
                                "properties": {"physicalLocation": {
                                    "type": "object", "required": ["artifactLocation", "region"],
                                    "properties": {
                                        "artifactLocation": {
                                            "type": "object", "required": ["uri"],
                                            # relative: no scheme, no leading slash
                                            "properties": {"uri": {"type": "string", "pattern": "^(?![a-z]+:|/)"}},
                                        },
                                        "region": {
                                            "type": "object", "required": ["startLine"],
                                            "properties": {"startLine": {"type": "integer", "minimum": 1},
                                                           "startColumn": {"type": "integer", "minimum": 1}},
                                        },
                                    },
                                }},
                            }},
                        },
                    }},
                },
            },
        },
    },
    "$defs": {"message": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}}},
}


class TestSarif:
    def sarif(self, lint) -> dict:
        result = lint("sarif")
        assert result.rc == 1
        return json.loads(result.out)

    def test_matches_the_required_structure(self, lint, project):
        sarif = self.sarif(lint)
        jsonschema.validate(sarif, SARIF_SUBSET)

    def test_valid_against_the_official_schema(self, lint, project):
        sarif = self.sarif(lint)
        jsonschema.Draft4Validator(OFFICIAL_SARIF_SCHEMA).validate(sarif)
        run = sarif["runs"][0]
        assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.as_uri() + "/"
        assert all(rule["helpUri"].startswith("https://github.com/cohort-dsl/cohort-dsl/blob/main/docs/rules.md#")
                   for rule in run["tool"]["driver"]["rules"])

    def test_rules_and_results(self, lint, project):
        run = self.sarif(lint)["runs"][0]
        rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
        assert {"C001", "R008"} <= set(rules)
        assert rules["C001"]["shortDescription"]["text"] == "A value is not in its axis's catalog."
        results = run["results"]
        assert [r["ruleId"] for r in results] == ["C001", "R008"]
        assert [r["level"] for r in results] == ["error", "warning"]
        c001 = results[0]
        location = c001["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == CONFIG
        assert location["region"] == {"startLine": 3, "startColumn": 24}
        assert "'dx2'" in c001["message"]["text"]
        for result in results:
            if "ruleIndex" in result:
                assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]

    def test_fingerprints_are_stable_and_independent_of_the_line(self, lint, project):
        first = self.sarif(lint)["runs"][0]["results"]
        assert self.sarif(lint)["runs"][0]["results"] == first
        spec = spec_path(project, "c1")
        spec.write_text("# a comment\n# and another\n" + spec.read_text())
        moved = self.sarif(lint)["runs"][0]["results"]
        assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in moved] == [5, 5]
        assert [r["partialFingerprints"] for r in moved] == [r["partialFingerprints"] for r in first]
        assert len({json.dumps(r["partialFingerprints"]) for r in first}) == 2

    def test_a_clean_run_is_valid_sarif_with_no_results(self, cli, in_tmp_cwd):
        make_project(in_tmp_cwd, {"c1": {"config.yaml": full_spec("[d1, d2]")}})
        result = cli("lint", "--no-cache", "--format", "sarif", "--all")
        assert result.rc == 0
        sarif = json.loads(result.out)
        jsonschema.validate(sarif, SARIF_SUBSET)
        assert sarif["runs"][0]["results"] == []

    def test_a_diagnostic_in_a_catalog_file(self, cli, in_tmp_cwd):
        catalogs = {"catalogs/draft_templates.csv": "template_id,active\nd1,true\n"}
        make_project(in_tmp_cwd, {"c1": {"config.yaml": full_spec("[d1]")}}, catalogs=catalogs)
        result = cli("lint", "--no-cache", "--format", "sarif", "--all")
        sarif = json.loads(result.out)
        jsonschema.validate(sarif, SARIF_SUBSET)
        uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == "data/catalogs/draft_templates.csv"
        assert re.fullmatch(r"[^:]+", uri)
