"""`explain --why` and explain's balance statistics (docs/cohorts.md,
"Reviewing a change"): the rule that removed a combination, with its
location; marginals per level; coverage and imbalance of coupled axes."""

from __future__ import annotations

import json

import pytest

from gate_helpers import cli, engine  # noqa: F401

SPEC = """\
axes:
  draft_template: [d1, d2, d3]
  essay_template: [e1, e2, e3]
  llm_a: [m1, m2]
  llm_b: [m2, m3]
  note: ["a,b", "x=y"]
rules:
  ties:
    same_llm: [llm_a, llm_b]
  pairs:
    dp:
      left: draft_template
      right: essay_template
      balance: left
      allowed: [[d1, e1], [d1, e2], [d2, e1], [d2, e3]]
"""


@pytest.fixture
def spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "config.yaml").write_text(SPEC, encoding="utf-8")
    return "spec/config.yaml"


def explain(cli, spec, *args) -> dict:
    result = cli("explain", spec, "--format", "json", *args)
    assert result.rc == 0, result
    return json.loads(result.out)


def test_why_names_the_pair_and_the_tie_that_removed_a_combination(cli, spec):
    by_pair = explain(cli, spec, "--why", "draft_template=d1,essay_template=e3")["why"]
    assert by_pair == {"axes": {"draft_template": "d1", "essay_template": "e3"}, "rows": 0, "rows_before": 2,
                       "removed_by": {"rule": "dp", "section": "pairs", "path": spec, "line": 11}}
    by_tie = explain(cli, spec, "--why", "llm_a=m1")["why"]
    assert by_tie["removed_by"] == {"rule": "same_llm", "section": "ties", "path": spec, "line": 9}
    text = cli("explain", spec, "--why", "llm_a=m1").out
    assert f"no row carries it: ties same_llm ({spec}:9) removed the last 36 rows that did" in text


def test_why_counts_a_combination_that_is_present(cli, spec):
    why = explain(cli, spec, "--why", "draft_template=d2, essay_template=e3")["why"]
    assert why == {"axes": {"draft_template": "d2", "essay_template": "e3"}, "rows": 2, "removed_by": None}


def test_commas_and_equals_inside_values_are_escaped(cli, spec):
    assert explain(cli, spec, "--why", r"note=a\,b")["why"]["rows"] == 4
    assert explain(cli, spec, "--why", r"note=x\=y,llm_b=m2")["why"]["rows"] == 4


@pytest.mark.parametrize("why, where, hint", [
    ("draft_templat=d1", ":1:1: R017 --why: 'draft_templat' is not an axis", "did you mean 'draft_template'"),
    ("essay_template=e4", ":3:3: R017 --why: 'e4' is not a level of axis 'essay_template'", "its levels: e1, e2, e3"),
    ("essay_template=e-1", ":3:3: R017 --why: 'e-1' is not a level", "did you mean 'e1'"),
])
def test_an_unknown_axis_or_level_is_a_located_error(cli, spec, why, where, hint):
    result = cli("explain", spec, "--why", why)
    assert result.rc == 1
    assert spec + where in result.err and hint in result.err


@pytest.mark.parametrize("why", ["draft_template", "=d1", "a=1,a=2", "note=a\\", "draft_template=d1,,"])
def test_a_malformed_why_is_a_usage_error(cli, spec, why):
    assert cli("explain", spec, "--why", why).rc == 2


def test_marginals_coverage_and_imbalance(cli, spec):
    info = explain(cli, spec)
    assert info["rows"] == 8  # 4 allowed pairs x 1 tied llm x 2 notes
    marginals = {m["axis"]: m for m in info["marginals"]}
    assert [(lv["level"], lv["rows"]) for lv in marginals["draft_template"]["levels"]] == [("d1", 4), ("d2", 4)]
    assert marginals["draft_template"]["imbalance"] == 1  # balance: left did what it should
    assert [(lv["level"], lv["rows"]) for lv in marginals["essay_template"]["levels"]] == \
        [("e1", 4), ("e2", 2), ("e3", 2)]
    assert marginals["essay_template"]["imbalance"] == 2
    pairs = {tuple(c["axes"]): c for c in info["couplings"]}
    assert set(pairs) == {("llm_a", "llm_b"), ("draft_template", "essay_template")}
    dp = pairs["draft_template", "essay_template"]
    assert (dp["occurring"], dp["possible"], dp["imbalance"], dp["rule"]) == (4, 6, 1, "pairs dp")
    assert sorted(map(tuple, dp["cells"])) == [("d1", "e1", 2), ("d1", "e2", 2), ("d2", "e1", 2), ("d2", "e3", 2)]
    dropped = {step["step"]: step["dropped"] for step in info["funnel"]}
    assert dropped["ties same_llm"] == [{"axis": "llm_a", "level": "m1"}, {"axis": "llm_b", "level": "m3"}]
    assert dropped["pairs dp"] == [{"axis": "draft_template", "level": "d3"}]
    text = cli("explain", spec).out
    assert "essay_template" in text and "2..4 (imbalance 2.00)" in text
    assert "draft_template × essay_template       4/6      (67%)" in text


def test_the_report_without_cells_is_the_report_less_its_cells(spec):
    # what the text report is computed from: the same summary, no list of cells
    from cohort_dsl.compiler import compile_bundle
    from cohort_dsl.bundle import load_bundle
    from cohort_dsl.explain import report

    compiled = compile_bundle(load_bundle(spec))
    full, summary = report(compiled), report(compiled, cells=False)
    # the levels report() counts once are each axis's domain
    assert full["axes"] == compiled.explain()["axes"]
    assert [c["possible"] for c in full["couplings"]] == \
        [len(compiled.design.domain(a)) * len(compiled.design.domain(b)) for a, b in (c["axes"] for c in full["couplings"])]
    assert all(coupling.pop("cells") for coupling in full["couplings"])
    assert summary == full
