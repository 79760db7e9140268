"""Tests of the example plugin, written with cohort-dsl's testing kit."""

from __future__ import annotations

from pathlib import Path

import pytest

import cohort_dsl_plugin_example as plugin
from cohort_dsl.testing import load_cases

SPEC = """\
axes:
  essay_template: [essay-copy-v1, essay-theme-v16]
  essay_llm: [gemini_25_pro, sonnet-4]
  evaluation_llm: [gpt-5]
rules:
  excludes:
    no_copy_on_gemini:
      - {essay_template: essay-copy-v1, essay_llm: gemini_25_pro}
"""


def test_excludes_drops_matching_combinations(cohort_project):
    project = cohort_project({"spec/config.yaml": SPEC}, plugins=[plugin])
    result = project.compile("spec").assert_success()
    assert result.rows == [
        {"essay_template": "essay-copy-v1", "essay_llm": "sonnet-4", "evaluation_llm": "gpt-5"},
        {"essay_template": "essay-theme-v16", "essay_llm": "gemini_25_pro", "evaluation_llm": "gpt-5"},
        {"essay_template": "essay-theme-v16", "essay_llm": "sonnet-4", "evaluation_llm": "gpt-5"},
    ]


def test_excludes_shows_in_the_funnel(cohort_project):
    project = cohort_project({"spec/config.yaml": SPEC}, plugins=[plugin])
    funnel = project.explain("spec").assert_success().explain["funnel"]
    assert [(step["step"], step["rows"]) for step in funnel] == [("axes", 4), ("excludes no_copy_on_gemini", 3)]


def test_a_list_matches_any_level_and_filters_inside_a_factor(cohort_project):
    spec = """\
axes:
  a: [x, y, z]
  b: [p, q]
  c: [x, y, z]
rules:
  ties:
    same: [a, c]
  excludes:
    drop:
      - {a: [x, z]}
"""
    project = cohort_project({"spec/config.yaml": spec}, plugins=[plugin])
    result = project.compile("spec").assert_success()
    assert [(r["a"], r["b"], r["c"]) for r in result.rows] == [("y", "p", "y"), ("y", "q", "y")]


def test_an_exclusion_that_matches_nothing_is_a_warning(cohort_project):
    spec = SPEC.replace("essay_llm: gemini_25_pro}", "essay_llm: gemini}")
    project = cohort_project({"spec/config.yaml": spec}, plugins=[plugin])
    result = project.lint("spec")
    assert result.exit_code == 0
    warning = result.diagnostic("EX001")
    assert warning.severity == "warning" and warning.location.line == 8


def test_unknown_axis_is_located(cohort_project):
    spec = SPEC.replace("essay_llm: gemini_25_pro}", "essay_lm: gemini_25_pro}")
    project = cohort_project({"spec/config.yaml": spec}, plugins=[plugin])
    project.compile("spec").assert_error("R001", line=8)


def test_schema_fragment_rejects_a_bad_shape(cohort_project):
    spec = SPEC.replace("      - {essay_template: essay-copy-v1, essay_llm: gemini_25_pro}\n", "      - essay-copy-v1\n")
    project = cohort_project({"spec/config.yaml": spec}, plugins=[plugin])
    project.compile("spec").assert_error("S001", line=8)


def test_self_grading_lint_rule(cohort_project):
    spec = SPEC.replace("evaluation_llm: [gpt-5]", "evaluation_llm: [gpt-5, sonnet-4]")
    project = cohort_project({"spec/config.yaml": spec}, plugins=[plugin])
    result = project.lint("spec")
    assert result.diagnostic("EX100").message == "sonnet-4 evaluates essays it wrote"


def test_listed_by_the_plugins_command(cohort_project):
    project = cohort_project({}, plugins=[plugin])
    result = project.run("plugins", "--format", "json")
    assert result.exit_code == 0
    assert '"excludes"' in result.stdout and '"EX100"' in result.stdout


def test_the_composed_schema_accepts_excludes(cohort_project):
    project = cohort_project({}, plugins=[plugin])
    assert "excludes" in project.registry.schema["properties"]["rules"]["properties"]


@pytest.mark.parametrize("case", load_cases(Path(__file__).with_name("cases.yaml")))
def test_yaml_case(cohort_project, case):
    case.run(cohort_project, plugins=[plugin])


def test_the_plugin_imports_only_public_names():
    """Plugin code imports cohort-dsl only as `from cohort_dsl import ...`
    (the names docs/plugins.md documents), never a private module."""
    import ast

    import cohort_dsl

    package = Path(plugin.__file__).parent
    for source in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cohort_dsl") \
                    and not node.module.startswith("cohort_dsl_plugin_example"):
                assert node.module == "cohort_dsl", f"{source.name}:{node.lineno} imports {node.module}"
                assert {a.name for a in node.names} <= set(cohort_dsl.__all__), source.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("cohort_dsl.") for a in node.names), source.name
