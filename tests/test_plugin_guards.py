"""Every plugin callable runs guarded and every declaration is checked at
start-up (docs/plugins.md, "Failures are loud"): a wrong type or an
exception is reported naming the plugin, its distribution and the callable,
never as an internal error of the core. Start-up problems exit 2; a
callable's problem at lint time is a P-code diagnostic and the other
bundles are still linted."""

from __future__ import annotations

import pytest

from cohort_dsl import (CatalogSource, Diagnostic, LintRule, ReportFormat, Rule, RuleKind, Stage, Layout, hookimpl)
from cohort_dsl.pluginmanager import PluginError, build_engine

pytest_plugins = ["cohort_dsl.testing"]

CLEAN = "axes:\n  a: [x, y]\noutput:\n  layout: single-stage\n"
TWO_BUNDLES = {"cohorts/one/spec/config.yaml": CLEAN, "cohorts/two/spec/config.yaml": CLEAN}


def plugin(hook: str, answer):
    """A plugin object whose hook ``hook`` returns ``answer``."""
    namespace = {hook: hookimpl(lambda self: answer)}
    return type("Faulty", (), namespace)()


def start_up_error(obj) -> str:
    with pytest.raises(PluginError) as info:
        build_engine([obj], entry_points=False)
    return str(info.value)


# -- start-up: declarations of the wrong shape --------------------------------------

@pytest.mark.parametrize("hook, answer, expected", [
    ("cohort_dsl_rule_kinds", [RuleKind("s", "str", lambda section: [])], "schema='str' (str); it must be a JSON Schema"),
    ("cohort_dsl_rule_kinds", [RuleKind("s", {}, "parse")], "parse='parse' (str); it must be a callable"),
    ("cohort_dsl_lint_rules", [LintRule("FX001", "fx", "fx", check="check")], "check='check' (str)"),
    ("cohort_dsl_lint_rules", [LintRule("FX001", None, "fx")], "name=None"),
    ("cohort_dsl_report_formats", [ReportFormat("junit", None)], "render=None"),
    ("cohort_dsl_catalog_sources", [CatalogSource("sql", "sqlite", lambda p, c: {})], "suffixes='sqlite'"),
    ("cohort_dsl_membership_layouts", [Layout("l", (Stage("s", "s_", template="t"),))], "template='t' (str)"),
    ("cohort_dsl_membership_layouts", [Layout("l", (Stage("s", "s_"), Stage("s", "t_")))], "names a stage twice"),
    ("cohort_dsl_spec_keys", {"lab": "object"}, "must map key names to JSON Schema objects"),
    ("cohort_dsl_plugin_settings", ["max"], "cohort_dsl_plugin_settings must return a JSON Schema object"),
    ("cohort_dsl_plugin_settings", {"type": "objekt"}, "the schema of its settings"),
], ids=lambda v: v if isinstance(v, str) and v.startswith("cohort_dsl") else "")
def test_a_malformed_declaration_names_the_plugin_and_the_expected_type(hook, answer, expected):
    message = start_up_error(plugin(hook, answer))
    assert message.startswith("plugin Faulty (in-process)")
    assert expected in message


def test_a_dangling_ref_in_a_fragment_stops_start_up_naming_the_plugin():
    message = start_up_error(plugin("cohort_dsl_rule_kinds", [RuleKind("d", {"$ref": "#/$defs/nope"}, lambda s: [])]))
    assert "plugin Faulty (in-process)" in message and "'#/$defs/nope'" in message and "rule kind 'd'" in message


def test_a_remote_ref_is_refused_and_local_refs_to_the_base_or_own_defs_pass():
    assert "points at nothing" in start_up_error(
        plugin("cohort_dsl_spec_keys", {"lab": {"$ref": "https://example.org/lab.json"}}))
    fine = {"$defs": {"rate": {"type": "number"}},
            "type": "object", "properties": {"r": {"$ref": "#/$defs/rate"}, "l": {"$ref": "#/$defs/levels"}}}
    build_engine([plugin("cohort_dsl_spec_keys", {"lab": fine})], entry_points=False)


def test_an_installed_plugin_with_a_wrong_type_exits_2_naming_distribution_and_version(tmp_path, monkeypatch, capsys):
    from cohort_dsl.cli import main

    site = tmp_path / "site"
    dist = site / "lab_plugin-2.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-plugin\nVersion: 2.1\n\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[cohort_dsl]\nlab = lab_plugin_mod\n", encoding="utf-8")
    (site / "lab_plugin_mod.py").write_text(
        "from cohort_dsl import hookimpl, LintRule\n"
        "@hookimpl\n"
        "def cohort_dsl_lint_rules():\n"
        "    return LintRule('LAB001', 'lab', 'one rule, not a list')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("COHORT_DSL_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setattr("cohort_dsl.pluginmanager._default", None)
    assert main(["rules"]) == 2
    err = capsys.readouterr().err
    assert "plugin lab (lab-plugin 2.1): cohort_dsl_lint_rules must return a list of LintRule, got LintRule" in err
    assert "internal error" not in err


# -- run time: callables that raise or answer wrongly ---------------------------------

class CheckYieldsText:
    @hookimpl
    def cohort_dsl_lint_rules(self):
        return [LintRule("FX100", "text-check", "yields text", check=lambda context: ["a finding"])]


class CheckReturnsOne:
    @hookimpl
    def cohort_dsl_lint_rules(self):
        return [LintRule("FX101", "one-check", "returns one diagnostic",
                         check=lambda context: Diagnostic("FX101", "one", context.bundle.document.loc()))]


@pytest.mark.parametrize("faulty, expected", [
    (CheckYieldsText(), "check() of lint rule FX100 (text-check) must give Diagnostic objects, got str 'a finding'"),
    (CheckReturnsOne(), "check() of lint rule FX101 (one-check) must give an iterable of Diagnostic, got Diagnostic"),
])
def test_a_check_with_a_wrong_answer_is_p002_and_every_bundle_is_still_linted(cohort_project, faulty, expected):
    project = cohort_project(TWO_BUNDLES, plugins=[faulty])
    result = project.run("lint", "--no-cache", "--format", "json")
    assert result.exit_code == 1, result.stderr
    assert "internal error" not in result.stdout + result.stderr
    import json

    found = json.loads(result.stdout)
    findings = found["diagnostics"] if isinstance(found, dict) else found
    p002 = [d for d in findings if d["code"] == "P002"]
    assert len(p002) == 2, findings  # one per bundle: the other bundle was linted too
    assert all(expected in d["message"] and "Faulty" not in d["message"] for d in p002)
    assert all(f"plugin {type(faulty).__name__} (in-process)" in d["message"] for d in p002)


def test_a_parse_that_yields_the_wrong_type_is_p002_at_the_section(cohort_project):
    kind = RuleKind("odd", {"type": "object"}, lambda section: iter(["not a rule"]))
    project = cohort_project({"spec/config.yaml": "axes:\n  a: [x]\nrules:\n  odd: {}\n"},
                             plugins=[plugin("cohort_dsl_rule_kinds", [kind])])
    d = project.compile().assert_error("P002", line=4).diagnostic("P002")
    assert "parse() of rule kind 'odd' must give Rule objects, got str" in d.message
    assert d.plugin == "Faulty"


def test_an_apply_that_raises_is_p001_at_the_rule(cohort_project):
    def parse(section):
        return [Rule("boom", entry.name, entry.location, lambda design: 1 / 0) for entry in section.entries()]

    project = cohort_project({"spec/config.yaml": "axes:\n  a: [x]\nrules:\n  boom:\n    b1: {}\n"},
                             plugins=[plugin("cohort_dsl_rule_kinds", [RuleKind("boom", {"type": "object"}, parse)])])
    d = project.compile().assert_error("P001", line=5).diagnostic("P001")
    assert "plugin Faulty (in-process): apply() of boom b1 raised ZeroDivisionError" in d.message


@pytest.mark.parametrize("load, expected", [
    (lambda path, column: 1 / 0, "P001"),
    (lambda path, column: ["x"], "P002"),
    (lambda path, column: {None: {"x"}}, "P002"),
])
def test_a_catalog_source_that_raises_or_answers_wrongly_is_reported_by_name(cohort_project, load, expected):
    source = CatalogSource("odd", (".odd",), load)
    project = cohort_project({**TWO_BUNDLES, "a.odd": "x\n"}, catalogs={"a": "a.odd"},
                             plugins=[plugin("cohort_dsl_catalog_sources", [source])])
    result = project.lint()
    assert result.exit_code == 1
    d = result.diagnostic(expected)
    assert "plugin Faulty (in-process): load() of catalog source 'odd' reading a.odd" in d.message
    assert d.location.path.endswith("a.odd")


def test_a_render_that_raises_exits_2_naming_the_plugin(cohort_project, tmp_path):
    def render(report, stream):
        stream.write("<testsuite")
        raise ValueError("half a report")

    project = cohort_project(TWO_BUNDLES, plugins=[plugin("cohort_dsl_report_formats", [ReportFormat("junit", render)])])
    out = project.path("report.xml")
    result = project.run("lint", "--no-cache", "--format", "junit", "--output", str(out))
    assert result.exit_code == 2
    assert "plugin Faulty (in-process): render() of report format 'junit' raised ValueError: half a report" in result.stderr
    assert "internal error" not in result.stderr
    assert not out.exists()  # nothing half-written


def test_an_add_options_that_raises_exits_2_naming_the_plugin(cohort_project):
    class Clash:
        @hookimpl
        def cohort_dsl_add_options(self, parser, command):
            parser.add_argument("--format")  # every lint parser has one already

    result = cohort_project(TWO_BUNDLES, plugins=[Clash()]).run("lint")
    assert result.exit_code == 2
    assert "plugin Clash (in-process): cohort_dsl_add_options for lint raised ArgumentError" in result.stderr
