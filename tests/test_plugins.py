"""The plugin system: every hook exercised, every hook documented, failures loud.

Each hookspec in cohort_dsl.hookspecs has a ``test_hook_<name>`` here (a
meta-test checks it), as datasette's suite does.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import cohort_dsl.hookspecs as hookspecs
from cohort_dsl import hookimpl
from cohort_dsl.catalogs import Catalog, CatalogSource
from cohort_dsl.diagnostics import Diagnostic, Location
from cohort_dsl.membership import Layout, Stage
from cohort_dsl.pluginmanager import PluginError, build_engine
from cohort_dsl.registry import LintRule, ReportFormat, Rule, RuleKind

pytest_plugins = ["cohort_dsl.testing"]

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("cohort_dsl_"))


# -- meta ---------------------------------------------------------------------

def test_every_hook_has_a_test():
    tests = {name for name in globals() if name.startswith("test_hook_")}
    missing = [hook for hook in HOOKS if f"test_hook_{hook}" not in tests]
    assert not missing, f"hooks without a test_hook_<name>: {missing}"


def test_every_hook_is_documented():
    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `(cohort_dsl_\w+)", guide, re.M))
    assert set(HOOKS) <= documented, f"not documented in docs/plugins.md: {sorted(set(HOOKS) - documented)}"


def test_every_hookspec_has_a_docstring():
    for name in HOOKS:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert ":returns:" in doc or ":param" in doc, name
        assert "Combined" in doc or "Return value ignored" in doc, name


# -- one test per hook ----------------------------------------------------------

class Repeat:
    """A rule kind `repeat: {axis: n}` that keeps the first n levels."""

    KIND, DESCRIPTION = "repeat", "keep the first n levels"
    SCHEMA = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}

    @classmethod
    def parse(cls, section):
        from functools import partial

        from cohort_dsl.registry import Reference

        for entry in section.entries():
            yield Rule(cls.KIND, entry.name, entry.location, partial(cls.apply, axis=entry.name, n=entry.value),
                       references=(Reference(entry.name, entry.location, "axis"),))

    @staticmethod
    def apply(design, *, axis, n):
        keep = design.domain(axis)[:n]
        design.filter((axis,), {(v,) for v in keep})

    @hookimpl
    def cohort_dsl_rule_kinds(self):
        return [RuleKind(self.KIND, self.SCHEMA, self.parse, self.DESCRIPTION)]


def test_hook_cohort_dsl_rule_kinds(cohort_project):
    spec = "axes:\n  a: [x, y, z]\n  b: [p]\nrules:\n  repeat:\n    a: 2\n"
    project = cohort_project({"spec/config.yaml": spec}, plugins=[Repeat()])
    assert project.compile().assert_success().rows == [{"a": "x", "b": "p"}, {"a": "y", "b": "p"}]
    assert "repeat" in project.registry.schema["properties"]["rules"]["properties"]
    bad = cohort_project({"spec/config.yaml": spec.replace("a: 2", "a: two")}, plugins=[Repeat()])
    bad.compile().assert_error("S001", line=6)
    funnel = project.explain().explain["funnel"]
    assert [s["rows"] for s in funnel] == [3, 2]


class DirectShrink(Repeat):
    """A rule kind `shrink: {axis: n}` that changes a factor's rows itself,
    not through ``design.filter()``: the funnel must still be exact."""

    KIND, DESCRIPTION = "shrink", "keep the first n rows, outside filter()"
    SCHEMA = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}

    @staticmethod
    def apply(design, *, axis, n):
        factor = design.factor_of(axis)
        factor.rows = factor.rows[:n]


@pytest.mark.parametrize("direct_first", [True, False])
def test_a_rule_that_changes_factors_itself_still_gets_an_exact_funnel(cohort_project, direct_first):
    # the funnel's counts follow what filter() and join() record; a rule
    # that bypasses them is caught by the final count and counted whole
    shrink, repeat = "  shrink:\n    a: 2\n", "  repeat:\n    b: 2\n"
    spec = "axes:\n  a: [x, y, z]\n  b: [p, q, r]\nrules:\n" + (shrink + repeat if direct_first else repeat + shrink)
    project = cohort_project({"spec/config.yaml": spec}, plugins=[Repeat(), DirectShrink()])
    funnel = project.explain().explain["funnel"]
    assert [s["rows"] for s in funnel] == [9, 6, 4]
    assert len(project.compile().assert_success().rows) == 4
    emptied = cohort_project({"spec/config.yaml": spec.replace("a: 2", "a: 0")}, plugins=[Repeat(), DirectShrink()])
    emptied.compile().assert_error("R005", line=6 if direct_first else 8)


class OddCount:
    @staticmethod
    def check(context):
        if context.compiled.count % 2:
            yield Diagnostic("ODD1", f"{context.compiled.count} rows is odd", context.bundle.document.key_loc(("axes",)),
                             "warning")

    @hookimpl
    def cohort_dsl_lint_rules(self):
        return [LintRule("ODD1", "odd-count", "The row count is odd.", "Even designs balance better.",
                         "warning", self.check)]


def test_hook_cohort_dsl_lint_rules(cohort_project):
    project = cohort_project({"spec/config.yaml": "axes:\n  a: [x, y, z]\n"}, plugins=[OddCount()])
    result = project.lint("spec")
    assert result.exit_code == 0  # a warning does not fail the gate
    d = result.diagnostic("ODD1")
    assert (d.severity, d.location.line) == ("warning", 1)
    assert project.lint("spec", ignore=["ODD"]).codes == []


class TsvCatalogs:
    @staticmethod
    def load(path, column):
        catalog = Catalog(str(path), column)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                catalog.rows[line.split("\t")[0]] = None
                catalog.locations[line.split("\t")[0]] = Location(str(path), number)
        return {None: catalog}

    @hookimpl
    def cohort_dsl_catalog_sources(self):
        return [CatalogSource("tsv", (".tsv",), self.load, "tab-separated, values in the first column")]


def test_hook_cohort_dsl_catalog_sources(cohort_project):
    files = {"spec/config.yaml": "axes:\n  model: [sonnet-4, gpt-5x]\n", "models.tsv": "sonnet-4\tAnthropic\ngpt-5\tOpenAI\n"}
    project = cohort_project(files, plugins=[TsvCatalogs()], catalogs={"model": "models.tsv"})
    result = project.lint("spec")
    d = result.assert_error("C001", line=2).diagnostic("C001", line=2)
    assert "did you mean 'gpt-5'" in d.hint


class OnePhase:
    @hookimpl
    def cohort_dsl_membership_layouts(self):
        return [Layout("one-phase", (
            Stage("draft", "d_", template=("draft_template",), llm=("draft_llm",), combo=("combo_id",)),
            Stage("evaluation", "v_", template=("evaluation_template",), llm=("evaluation_llm",)),
        ), "drafts evaluated directly")]


def test_hook_cohort_dsl_membership_layouts(cohort_project):
    spec = ("axes:\n  combo_id: [c1]\n  draft_template: [d1]\n  draft_llm: [m]\n  evaluation_template: [v1, v2]\n"
            "  evaluation_llm: [j]\noutput:\n  layout: one-phase\n")
    project = cohort_project({"spec/config.yaml": spec}, plugins=[OnePhase()])
    records = project.membership().assert_success().records
    assert [r.stage for r in records] == ["draft", "evaluation", "evaluation"]
    assert records[1].parent_gen_id == records[0].gen_id
    assert "one-phase" in project.run("plugins").stdout


class Tally:
    @staticmethod
    def render(report, out):
        out.write(f"{report.errors} {report.warnings}\n")

    @hookimpl
    def cohort_dsl_report_formats(self):
        return [ReportFormat("tally", self.render, "errors and warnings, counted")]


def test_hook_cohort_dsl_report_formats(cohort_project):
    project = cohort_project({"cohorts/c/spec/config.yaml": "axes:\n  a: [x, x]\n"}, plugins=[Tally()])
    result = project.run("lint", "--all", "--format", "tally", "--no-cache", "--ignore", "M001")
    assert (result.exit_code, result.stdout) == (0, "0 1\n")


class Notes:
    @hookimpl
    def cohort_dsl_spec_keys(self):
        return {"notes": {"type": "string", "description": "free text about the cohort"}}


def test_hook_cohort_dsl_spec_keys(cohort_project):
    spec = "notes: a pilot\naxes:\n  a: [x]\n"
    project = cohort_project({"spec/config.yaml": spec}, plugins=[Notes()])
    project.compile().assert_success()
    without = cohort_project({"spec/config.yaml": spec})
    without.compile().assert_error("S002", line=1)
    bad = cohort_project({"spec/config.yaml": spec.replace("a pilot", "[1, 2]")}, plugins=[Notes()])
    bad.compile().assert_error("S001", line=1)


class Strict:
    @hookimpl
    def cohort_dsl_add_options(self, parser, command):
        if command == "lint":
            parser.add_argument("--max-levels-per-axis", type=int, default=None)

    @staticmethod
    def check(context):
        limit = getattr(context.options, "max_levels_per_axis", None)
        if limit is None:
            return
        for axis in context.compiled.design.axis_order:
            if len(context.compiled.design.domain(axis)) > limit:
                yield Diagnostic("WIDE1", f"axis {axis!r} has more than {limit} levels",
                                 context.bundle.document.key_loc(("axes", axis)))

    @hookimpl
    def cohort_dsl_lint_rules(self):
        return [LintRule("WIDE1", "wide-axis", "An axis has too many levels.", "Set by --max-levels-per-axis.",
                         check=self.check)]


def test_hook_cohort_dsl_add_options(cohort_project):
    project = cohort_project({"cohorts/c/spec/config.yaml": "axes:\n  a: [x, y, z]\n  b: [p]\n"}, plugins=[Strict()])
    assert project.run("lint", "--all", "--no-cache", "--ignore", "M001").exit_code == 0
    result = project.run("lint", "--all", "--no-cache", "--ignore", "M001", "--max-levels-per-axis", "2")
    assert result.exit_code == 1
    assert "config.yaml:2:3: WIDE1 axis 'a' has more than 2 levels" in result.stdout
    assert "--max-levels-per-axis" not in project.run("compile", "--help").stdout


class Budget:
    """A check configured in [tool.cohort-dsl.plugins.Budget] (an in-process
    plugin's name is its class name): at most ``max-levels`` levels per
    axis (default 3)."""

    SCHEMA = {"type": "object", "properties": {"max-levels": {"type": "integer", "minimum": 1}},
              "additionalProperties": False}

    @staticmethod
    def check(context):
        limit = context.settings.for_plugin("Budget").get("max-levels", 3)
        for axis in context.compiled.design.axis_order:
            if len(context.compiled.design.domain(axis)) > limit:
                yield Diagnostic("BUD1", f"axis {axis!r} has more than {limit} levels",
                                 context.bundle.document.key_loc(("axes", axis)))

    @hookimpl
    def cohort_dsl_lint_rules(self):
        return [LintRule("BUD1", "budget", "An axis has too many levels.", check=self.check)]

    @hookimpl
    def cohort_dsl_plugin_settings(self):
        return self.SCHEMA


def test_hook_cohort_dsl_plugin_settings(cohort_project):
    files = {"cohorts/c/spec/config.yaml": "axes:\n  a: [w, x, y, z]\noutput:\n  layout: single-stage\n"}
    default = cohort_project(files, plugins=[Budget()])
    assert "BUD1 axis 'a' has more than 3 levels" in default.run("lint").stdout  # no table: the plugin's default
    project = cohort_project(files, plugins=[Budget()], config={"plugins": {"Budget": {"max-levels": 4}}})
    assert project.run("lint").exit_code == 0  # cached now
    settings = project.path("cohort-dsl.toml")
    settings.write_text(settings.read_text(encoding="utf-8").replace("4", "2"), encoding="utf-8")
    result = project.run("lint")  # a changed setting is a cache miss, never a stale pass
    assert result.exit_code == 1 and "more than 2 levels" in result.stdout
    assert project.run("plugins", "--format", "json").stdout.count('"max-levels"') == 1


class Head:
    """A rule kind ``head: [AXIS, ...]`` keeping the first ``keep`` levels
    of each axis, ``keep`` read from [tool.cohort-dsl.plugins.Head]."""

    @staticmethod
    def parse(section):
        from functools import partial

        keep = section.settings_for("Head").get("keep", 1)
        for i, axis in enumerate(section.value):
            yield Rule("head", axis, section.bundle.document.loc(("rules", "head", i)),
                       partial(Repeat.apply, axis=axis, n=keep))

    @hookimpl
    def cohort_dsl_rule_kinds(self):
        return [RuleKind("head", {"type": "array", "items": {"type": "string"}}, self.parse)]

    @hookimpl
    def cohort_dsl_plugin_settings(self):
        return {"type": "object", "properties": {"keep": {"type": "integer", "minimum": 1}}}


def test_plugin_settings_reach_a_rule_kinds_parse(cohort_project):
    files = {"spec/config.yaml": "axes:\n  a: [x, y, z]\nrules:\n  head: [a]\n"}
    assert cohort_project(files, plugins=[Head()]).compile().rows == [{"a": "x"}]
    project = cohort_project(files, plugins=[Head()], config={"plugins": {"Head": {"keep": 2}}})
    assert project.compile().rows == [{"a": "x"}, {"a": "y"}]
    assert project.run("compile", "spec").stdout.splitlines() == ["a", "x", "y"]


@pytest.mark.parametrize("table, expected", [
    ({"Budget": {"max-levels": 0}}, "[tool.cohort-dsl.plugins.Budget] max-levels: "),
    ({"Budget": {"max-level": 2}}, "[tool.cohort-dsl.plugins.Budget] (the table): "),
    ({"Budgte": {"max-levels": 2}}, "[tool.cohort-dsl.plugins.Budgte]: no installed plugin named 'Budgte' has settings"),
])
def test_plugin_settings_are_validated_as_usage_errors(cohort_project, table, expected):
    project = cohort_project({"cohorts/c/spec/config.yaml": "axes:\n  a: [x]\n"}, plugins=[Budget()],
                             config={"plugins": table})
    result = project.run("lint")
    assert result.exit_code == 2
    assert expected in result.stderr
    assert re.search(r"cohort-dsl\.toml:\d+:\d+: \[tool", result.stderr), result.stderr  # located at the key


# -- loud failures --------------------------------------------------------------

def _fake_distribution(tmp_path, monkeypatch, name: str, version: str, entry_points: str) -> None:
    site = tmp_path / "site"
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[cohort_dsl]\n{entry_points}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    return site


def test_a_plugin_that_fails_to_import_names_its_distribution(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, monkeypatch, "broken-plugin", "1.2.3", "broken = broken_plugin_module_that_is_missing")
    with pytest.raises(PluginError) as info:
        build_engine(entry_points=True)
    message = str(info.value)
    assert "broken-plugin 1.2.3" in message and "ModuleNotFoundError" in message
    assert "--disable-plugin broken" in message


def test_a_broken_plugin_can_be_disabled_by_name(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, monkeypatch, "broken-plugin", "1.2.3", "broken = broken_plugin_module_that_is_missing")
    build_engine(entry_points=True, disable=["broken"])
    monkeypatch.setenv("COHORT_DSL_DISABLE_PLUGINS", "broken-plugin")
    build_engine(entry_points=True)


def test_an_entry_point_plugin_is_loaded_and_listed(tmp_path, monkeypatch):
    site = _fake_distribution(tmp_path, monkeypatch, "odd-plugin", "0.4", "odd = odd_plugin_mod")
    (site / "odd_plugin_mod.py").write_text(
        "from cohort_dsl import hookimpl, LintRule\n"
        "@hookimpl\n"
        "def cohort_dsl_lint_rules():\n"
        "    return [LintRule('ODD9', 'odd', 'odd', 'odd')]\n", encoding="utf-8")
    engine = build_engine(entry_points=True)
    rule = engine.registry.lint_rules["ODD9"]
    assert (rule.plugin.name, rule.plugin.dist, rule.plugin.version) == ("odd", "odd-plugin", "0.4")


def test_an_unknown_hook_is_an_error_naming_the_plugin():
    class Typo:
        @hookimpl
        def cohort_dsl_lint_rule(self):  # missing "s"
            return []

    with pytest.raises(PluginError) as info:
        build_engine([Typo()], entry_points=False)
    assert "cohort_dsl_lint_rule" in str(info.value) and "unknown hook" in str(info.value)


def test_a_duplicate_rule_kind_names_both_plugins():
    class Subsets2:
        @hookimpl
        def cohort_dsl_rule_kinds(self):
            return [RuleKind("subsets", {"type": "object"}, lambda section: [])]

    with pytest.raises(PluginError) as info:
        build_engine([Subsets2()], entry_points=False)
    message = str(info.value)
    assert "rule kind section 'subsets' is declared twice" in message
    assert "cohort_dsl.builtin.subsets" in message and "Subsets2" in message


def test_a_duplicate_lint_code_names_both_plugins():
    class Clash:
        @hookimpl
        def cohort_dsl_lint_rules(self):
            return [LintRule("R005", "mine", "mine", "mine")]

    with pytest.raises(PluginError) as info:
        build_engine([Clash()], entry_points=False)
    assert "lint code 'R005' is declared twice" in str(info.value)


def test_an_invalid_schema_fragment_is_refused_at_start_up():
    class BadSchema:
        @hookimpl
        def cohort_dsl_rule_kinds(self):
            return [RuleKind("broken", {"type": "objekt"}, lambda section: [])]

    with pytest.raises(PluginError) as info:
        build_engine([BadSchema()], entry_points=False)
    assert "schema fragment of rule kind 'broken' is invalid" in str(info.value)


def test_a_hook_returning_the_wrong_type_is_refused():
    class Wrong:
        @hookimpl
        def cohort_dsl_rule_kinds(self):
            return [{"section": "x"}]

    with pytest.raises(PluginError, match="must return RuleKind objects"):
        build_engine([Wrong()], entry_points=False)


def test_an_exception_in_a_lint_check_becomes_a_diagnostic(cohort_project):
    class Crashy:
        @staticmethod
        def check(context):
            raise ZeroDivisionError("oops")

        @hookimpl
        def cohort_dsl_lint_rules(self):
            return [LintRule("CR1", "crashy", "crashes", "crashes", check=self.check)]

    project = cohort_project({"spec/config.yaml": "axes:\n  a: [x]\n"}, plugins=[Crashy()])
    result = project.lint("spec")
    d = result.assert_error("P001").diagnostic("P001")
    assert "Crashy" in d.message and "ZeroDivisionError: oops" in d.message


def test_an_exception_in_a_rule_kind_becomes_a_diagnostic(cohort_project):
    class Explodes:
        @staticmethod
        def parse(section):
            raise KeyError("boom")

        @hookimpl
        def cohort_dsl_rule_kinds(self):
            return [RuleKind("explodes", {"type": "object"}, self.parse)]

    project = cohort_project({"spec/config.yaml": "axes:\n  a: [x]\nrules:\n  explodes: {}\n"}, plugins=[Explodes()])
    d = project.compile().assert_error("P001", line=4).diagnostic("P001", line=4)
    assert "Explodes" in d.message and "KeyError" in d.message


def test_require_plugins_fails_when_missing(capsys):
    from cohort_dsl.cli import main

    assert main(["--require-plugins", "no-such-plugin", "plugins"]) == 2
    assert "required plugin not installed: no-such-plugin" in capsys.readouterr().err


def test_plugins_json_lists_distribution_version_hooks_and_contributions(cohort_project):
    project = cohort_project({}, plugins=[OddCount(), Tally()])
    listing = json.loads(project.run("plugins", "--format", "json").stdout)
    by_name = {p["name"]: p for p in listing}
    core = by_name["cohort_dsl.builtin.ties"]
    assert core["builtin"] and core["rule_kinds"] == ["ties"] and core["hooks"] == ["cohort_dsl_rule_kinds"]
    odd = next(p for p in listing if "ODD1" in p["lint_codes"])
    assert odd["hooks"] == ["cohort_dsl_lint_rules"]
    assert any("tally" in p["report_formats"] for p in listing)


def test_plugins_lists_every_implemented_hook_with_options_settings_and_spec_keys(cohort_project):
    project = cohort_project({}, plugins=[Strict(), Budget()])
    listing = {p["name"]: p for p in json.loads(project.run("plugins", "--format", "json").stdout)}
    assert listing["Strict"]["hooks"] == ["cohort_dsl_add_options", "cohort_dsl_lint_rules"]
    assert listing["Budget"]["hooks"] == ["cohort_dsl_lint_rules", "cohort_dsl_plugin_settings"]
    assert listing["Budget"]["settings"] == Budget.SCHEMA and listing["Strict"]["settings"] is None
    text = project.run("plugins").stdout
    assert "    hooks: cohort_dsl_add_options, cohort_dsl_lint_rules\n" in text
    assert "    settings [tool.cohort-dsl.plugins.Budget]: max-levels\n" in text


def test_rules_markdown_honours_the_code_filter_and_groups_a_plugins_codes_under_it(cohort_project):
    class Lab:
        @hookimpl
        def cohort_dsl_lint_rules(self):
            return [LintRule("LAB001", "lab-rule", "A lab rule.")]

    project = cohort_project({}, plugins=[Lab()])
    text = project.run("rules", "--format", "markdown", "LAB").stdout
    assert "### LAB001 `lab-rule` (error)" in text and "## Plugin Lab (in-process)" in text
    assert "## Lint" not in text and "S001" not in text
    full = project.run("rules", "--format", "markdown").stdout
    assert full.index("## Lint") < full.index("## Plugin Lab (in-process)") < full.index("LAB001")


def test_a_composition_with_plugin_fragments_has_its_own_schema_id(cohort_project):
    builtin = json.loads(cohort_project({}).run("schema").stdout)
    project = cohort_project({}, plugins=[Repeat()])
    assert project.run("schema", "--out", "schemas/cohort-spec.schema.json").exit_code == 0
    composed = json.loads(project.path("schemas/cohort-spec.schema.json").read_text(encoding="utf-8"))
    assert composed["$id"].startswith(builtin["$id"] + "?composition=")
    assert "repeat" in composed["properties"]["rules"]["properties"]
    assert json.loads(project.run("schema").stdout)["$id"] == composed["$id"]  # stable for one composition


def test_the_schema_pre_commit_hook_runs_the_schema_command():
    import yaml

    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    schema = hooks["cohort-dsl-schema"]
    assert schema["entry"] == "cohort-dsl schema" and schema["args"][0] == "--out"
    assert schema["pass_filenames"] is False and schema["always_run"] is True


def test_the_example_plugin_distribution_is_discovered():
    """CI installs plugins/cohort-dsl-plugin-example; it must be found
    through its entry point with no configuration."""
    pytest.importorskip("cohort_dsl_plugin_example")
    engine = build_engine(entry_points=True)
    kind = engine.registry.rule_kinds["excludes"]
    assert (kind.plugin.name, kind.plugin.dist) == ("example", "cohort-dsl-plugin-example")
    assert "excludes" in engine.registry.schema["properties"]["rules"]["properties"]
    assert {"EX001", "EX100"} <= set(engine.registry.lint_rules)


def test_builtins_can_be_left_out_for_isolated_tests():
    engine = build_engine([Repeat()], builtins=False, entry_points=False)
    assert list(engine.registry.rule_kinds) == ["repeat"]


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("POSIX paths in fake distributions")
