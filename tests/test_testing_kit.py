"""The testing kit for plugin authors (cohort_dsl.testing; docs/plugins.md,
"Testing with the kit"): assertions that return the Outcome, and YAML case
files that fail loudly when malformed or when a case comes out otherwise."""

from __future__ import annotations

import json

import pytest

from cohort_dsl.testing import load_cases

pytest_plugins = ["cohort_dsl.testing"]

SPEC = "axes:\n  a: [x, y]\nrules:\n  subsets:\n    b: [x]\n"


def test_assertions_return_the_outcome_and_chain(cohort_project):
    outcome = cohort_project({"spec/config.yaml": SPEC}).compile()
    assert outcome.assert_error("R001", line=5).assert_codes("R001") is outcome
    assert outcome.diagnostic("R001", line=5).code == "R001"
    with pytest.raises(pytest.fail.Exception, match="no R001 error at line 4"):
        outcome.assert_error("R001", line=4)


def write_cases(tmp_path, text: str):
    path = tmp_path / "cases.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, message", [
    ("- a list\n", "maps case names to cases"),
    ("c1: {pass: true}\n", "a mapping with a `spec:` text"),
    ("c1: {spec: 'axes: {a: [x]}', pass: true, fail: [R001]}\n", "exactly one of `pass: true` and `fail:"),
    ("c1: {spec: 'axes: {a: [x]}', pass: false}\n", "exactly one of `pass: true`"),
    ("c1: {spec: 'axes: {a: [x]}', passes: true}\n", "unknown key 'passes'"),
    ("c1: {spec: 'axes: {a: [x]}', fail: [{code: R001, line: two}]}\n", "each `fail` entry"),
    ("c1: {spec: 'axes: {a: [x]}', pass: true, rows: 1}\n", "`rows` needs `command: compile`"),
])
def test_a_malformed_case_file_names_the_file_and_the_case(tmp_path, text, message):
    with pytest.raises(ValueError, match="cases.yaml") as info:
        load_cases(write_cases(tmp_path, text))
    assert message in str(info.value)


def test_cases_match_codes_and_lines_exactly(tmp_path, cohort_project):
    path = write_cases(tmp_path, f"""
wrong_level:
  command: compile
  spec: {json.dumps(SPEC)}
  fail: [{{code: R001, line: 5}}]
any_line:
  command: compile
  spec: {json.dumps(SPEC)}
  fail: [R001]
expects_a_pass:
  command: compile
  spec: {json.dumps(SPEC)}
  pass: true
""")
    right, any_line, wrong = (param.values[0] for param in load_cases(path))
    right.run(cohort_project)
    any_line.run(cohort_project)
    with pytest.raises(pytest.fail.Exception, match="case expects_a_pass: expected no diagnostics, got R001@5"):
        wrong.run(cohort_project)
