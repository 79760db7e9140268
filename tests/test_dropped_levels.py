"""Declared levels a rule drops (R016 dropped-level, and explain's listing).

A tie drops the levels its other axes lack, a pair the levels its `allowed`
never mentions, a tuple the levels its items never list; each is a warning at
the level, naming the first rule after which it is gone. Subsets drop levels
on purpose: listed by explain, never warned about.
"""

from __future__ import annotations

import json

import pytest

from conftest import write_bundle
from cohort_dsl.bundle import load_bundle
from cohort_dsl.cli import main
from cohort_dsl.compiler import DROPPED_LEVEL, compile_bundle
from cohort_dsl.pluginmanager import build_engine

TWO_PHASE = """\
axes:
  combo_id: [combo_v1_63bc76f8e4e7, combo_v1_9b42e2c4f889]
  draft_template: [creative-synthesis-v10, problem-solving-v3]
  draft_llm: [sonnet-4, gemini_25_pro, qwen3]
  essay_template: [essay-theme-v17]
  essay_llm: [gemini_25_pro, sonnet-4]
  evaluation_template: [creativity-metrics-v2, insight-density-v1]
  evaluation_llm: [gpt-5, opus-4, llama-4]
rules:
  ties:
    same_writer: [draft_llm, essay_llm]
"""

PAIR = """\
  pairs:
    cross_judging:
      left: draft_llm
      right: evaluation_llm
      allowed:
        - [sonnet-4, gpt-5]
        - [gemini_25_pro, opus-4]
"""


@pytest.fixture(autouse=True)
def _fresh_cwd(in_tmp_cwd):
    """No project configuration leaks into the CLI runs."""
    return in_tmp_cwd


@pytest.fixture
def run(capsys):
    engine = build_engine(entry_points=False)

    def run(*args):
        rc = main([str(a) for a in args], engine=engine)
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return rc, out, err

    return run


@pytest.fixture
def bundle(tmp_path):
    counter = iter(range(10**6))

    def make(config: str, **files) -> object:
        return write_bundle(tmp_path / f"b{next(counter)}" / "spec", {"config.yaml": config, **files})

    return make


def lint_json(run, path) -> tuple[int, dict]:
    rc, out, err = run("lint", path, "--format", "json", "--no-cache")
    return rc, json.loads(out)


def r016(report: dict) -> list[dict]:
    return [d for d in report["diagnostics"] if d["code"] == "R016"]


def where(config: str, text: str, after: str = "") -> tuple[int, int]:
    """1-based line and column of ``text`` (searched after ``after``)."""
    start = config.index(after) if after else 0
    offset = config.index(text, start)
    line = config.count("\n", 0, offset) + 1
    return line, offset - (config.rfind("\n", 0, offset) + 1) + 1


def line_of(config: str, text: str) -> int:
    return where(config, text)[0]


# -- ties -------------------------------------------------------------------------------------

def test_a_tie_dropping_a_level_is_r016_at_the_level(run, bundle):
    path = bundle(TWO_PHASE)
    rc, report = lint_json(run, path)
    assert rc == 0
    [d] = r016(report)
    assert d["severity"] == "warning"
    assert d["name"] == "dropped-level"
    assert d["path"].endswith("config.yaml")
    assert (d["line"], d["column"]) == where(TWO_PHASE, "qwen3")
    tie_line = line_of(TWO_PHASE, "same_writer:")
    assert d["message"] == f"level 'qwen3' of draft_llm appears in no row: dropped by ties same_writer (config.yaml:{tie_line})"
    assert d["hint"] == "essay_llm has no level 'qwen3' to tie with"


def test_lint_reports_r016_as_a_warning_and_exits_0(run, bundle):
    path = bundle(TWO_PHASE)
    rc, out, _ = run("lint", path, "--no-cache")
    assert rc == 0
    assert "R016" in out and "qwen3" in out
    rc, report = lint_json(run, path)
    assert rc == 0
    assert report["summary"]["errors"] == 0
    assert report["summary"]["warnings"] == len(report["diagnostics"]) >= 1


def test_r016_is_a_registered_warning():
    registry = build_engine(entry_points=False).registry
    rule = registry.lint_rules["R016"]
    assert rule is DROPPED_LEVEL or rule.code == DROPPED_LEVEL.code
    assert (rule.name, rule.severity) == ("dropped-level", "warning")


def test_compile_also_carries_the_warning(run, bundle):
    rc, out, err = run("compile", bundle(TWO_PHASE))
    assert rc == 0
    assert "R016" in err and "'qwen3' of draft_llm" in err
    assert "qwen3" not in out


def test_noqa_on_the_level_line_silences_it(run, bundle):
    config = TWO_PHASE.replace("qwen3]\n", "qwen3]  # noqa: R016\n")
    rc, report = lint_json(run, bundle(config))
    assert rc == 0
    assert r016(report) == []
    assert [d for d in report["diagnostics"] if d["code"] == "L001"] == []


# -- pairs ------------------------------------------------------------------------------------

def test_a_pair_whose_allowed_never_mentions_a_level(run, bundle):
    config = TWO_PHASE + PAIR
    rc, report = lint_json(run, bundle(config))
    assert rc == 0
    found = {d["message"].split("'")[1]: d for d in r016(report)}
    assert set(found) == {"qwen3", "llama-4"}
    d = found["llama-4"]
    assert (d["line"], d["column"]) == where(config, "llama-4")
    pair_line = line_of(config, "cross_judging:")
    assert d["message"] == (f"level 'llama-4' of evaluation_llm appears in no row: "
                            f"dropped by pairs cross_judging (config.yaml:{pair_line})")
    assert "no allowed entry of pairs cross_judging" in d["hint"] and "'llama-4'" in d["hint"]
    # qwen3 is gone after the tie already: the first rule is named, not the pair.
    assert "dropped by ties same_writer" in found["qwen3"]["message"]


def test_a_level_coupled_by_an_earlier_rule_is_dropped_with_it(bundle):
    config = TWO_PHASE + """\
  pairs:
    only_sonnet:
      left: draft_llm
      right: evaluation_llm
      allowed: [[sonnet-4, gpt-5], [sonnet-4, opus-4], [sonnet-4, llama-4]]
"""
    compiled = compile_bundle(load_bundle(bundle(config)))
    step = compiled.funnel[-1]
    assert step.label == "pairs only_sonnet"
    assert [(d.axis, d.level) for d in step.dropped] == [("draft_llm", "gemini_25_pro"), ("essay_llm", "gemini_25_pro")]
    essay = step.dropped[1]
    assert "coupled with draft_llm" in essay.hint
    assert essay.level_location.line == line_of(config, "essay_llm:")


# -- tuples -----------------------------------------------------------------------------------

TUPLE_SPEC = """\
axes:
  combo_id: [combo_v1_63bc76f8e4e7]
  draft_template: [creative-synthesis-v7, creative-synthesis-v10]
  draft_llm: [sonnet-4, gemini_25_pro]
  essay_template: [essay-theme-v16, essay-theme-v17, essay-llm-v1]
  evaluation_template: [creativity-metrics-v2]
  evaluation_llm: [opus-4]
rules:
  tuples:
    alignment:
      axes: [draft_template, essay_template, essay_llm]
      items:
        - [creative-synthesis-v7, essay-theme-v16, sonnet-4]
        - [creative-synthesis-v10, essay-theme-v17, gemini_25_pro]
"""


def test_a_tuple_that_never_lists_a_declared_level(run, bundle):
    rc, report = lint_json(run, bundle(TUPLE_SPEC))
    assert rc == 0
    [d] = r016(report)  # essay_llm is introduced by the tuple: not a declared level
    assert (d["line"], d["column"]) == where(TUPLE_SPEC, "essay-llm-v1")
    assert d["message"] == (f"level 'essay-llm-v1' of essay_template appears in no row: dropped by tuples alignment "
                            f"(config.yaml:{line_of(TUPLE_SPEC, 'alignment:')})")
    assert d["hint"] == "no item of tuples alignment lists 'essay-llm-v1' for essay_template"


# -- includes ---------------------------------------------------------------------------------

def test_a_level_from_a_csv_include_is_located_at_its_row(run, bundle):
    config = TWO_PHASE.replace("draft_llm: [sonnet-4, gemini_25_pro, qwen3]", "draft_llm: '@file:items/draft_llms.csv'")
    path = bundle(config, **{"items/draft_llms.csv": "draft_llm\nsonnet-4\nqwen3\ngemini_25_pro\n"})
    rc, report = lint_json(run, path)
    assert rc == 0
    [d] = r016(report)
    assert d["path"].replace("\\", "/").endswith("items/draft_llms.csv")
    assert d["line"] == 3
    assert "dropped by ties same_writer (config.yaml:" in d["message"]


# -- subsets ----------------------------------------------------------------------------------

SUBSET_SPEC = """\
axes:
  combo_id: [combo_v1_63bc76f8e4e7]
  draft_template: [creative-synthesis-v10, problem-solving-v3]
  draft_llm: [sonnet-4, gemini_25_pro, qwen3]
  essay_template: [essay-theme-v17]
  essay_llm: [sonnet-4, gemini_25_pro, qwen3]
  evaluation_template: [creativity-metrics-v2]
  evaluation_llm: [gpt-5]
rules:
  ties:
    same_writer: [draft_llm, essay_llm]
  subsets:
    draft_llm: [sonnet-4, gemini_25_pro]
"""


def test_subsets_drop_on_purpose_no_r016_but_explain_lists_them(run, bundle):
    path = bundle(SUBSET_SPEC)
    rc, report = lint_json(run, path)
    assert rc == 0
    assert r016(report) == []
    rc, out, err = run("explain", path, "--format", "json")
    assert rc == 0
    assert "R016" not in err
    funnel = {s["step"]: s for s in json.loads(out)["funnel"]}
    assert funnel["ties same_writer"]["dropped"] == []
    # The tie coupled essay_llm to draft_llm: the subset drops qwen3 of both.
    assert funnel["subsets draft_llm"]["dropped"] == [{"axis": "draft_llm", "level": "qwen3"},
                                                      {"axis": "essay_llm", "level": "qwen3"}]
    assert funnel["axes"]["dropped"] == []
    records = compile_bundle(load_bundle(path)).dropped
    assert [(d.axis, d.level, d.rule_label, d.rule_kind, d.hint) for d in records] == [
        ("draft_llm", "qwen3", "subsets draft_llm", "subsets", ""), ("essay_llm", "qwen3", "subsets draft_llm", "subsets", ""),
    ]
    assert records[1].level_location.line == line_of(SUBSET_SPEC, "essay_llm:")


# -- explain ----------------------------------------------------------------------------------

def test_explain_text_names_the_dropped_levels_under_their_step(run, bundle):
    rc, out, _ = run("explain", bundle(TWO_PHASE + PAIR))
    assert rc == 0
    lines = out.splitlines()
    tie = next(i for i, line in enumerate(lines) if line.strip().startswith("ties same_writer"))
    assert lines[tie + 1] == "      dropped draft_llm: qwen3 (1)"
    pair = next(i for i, line in enumerate(lines) if line.strip().startswith("pairs cross_judging"))
    assert pair == tie + 2
    assert lines[pair + 1] == "      dropped evaluation_llm: llama-4 (1)"
    assert sum("dropped" in line for line in lines) == 2


def test_explain_json_lists_dropped_levels_per_step(run, bundle):
    rc, out, _ = run("explain", bundle(TWO_PHASE + PAIR), "--format", "json")
    assert rc == 0
    funnel = json.loads(out)["funnel"]
    assert [s["dropped"] for s in funnel] == [
        [], [{"axis": "draft_llm", "level": "qwen3"}], [{"axis": "evaluation_llm", "level": "llama-4"}],
    ]


def test_explain_text_caps_the_listing_at_ten_values(run, bundle):
    levels = [f"m{i:02d}" for i in range(15)]
    config = f"axes:\n  draft_llm: [{', '.join(levels)}]\n  essay_llm: [m00, m01, m02]\nrules:\n  ties:\n    same_writer: [draft_llm, essay_llm]\n"
    rc, out, err = run("explain", bundle(config))
    assert rc == 0
    dropped = ", ".join(levels[3:13])
    assert f"      dropped draft_llm: {dropped}, … and 2 more (12)" in out.splitlines()
    assert err.count("R016") == 12


# -- nothing dropped ---------------------------------------------------------------------------

def test_a_spec_that_drops_nothing_has_no_r016(run, bundle):
    config = """\
axes:
  combo_id: [combo_v1_63bc76f8e4e7, combo_v1_9b42e2c4f889]
  draft_template: [creative-synthesis-v10]
  draft_llm: [sonnet-4, gemini_25_pro]
  essay_template: [essay-theme-v17]
  essay_llm: [gemini_25_pro, sonnet-4]
  evaluation_template: [creativity-metrics-v2]
  evaluation_llm: [gpt-5, opus-4]
rules:
  ties:
    same_writer: [draft_llm, essay_llm]
  pairs:
    cross_judging:
      left: draft_llm
      right: evaluation_llm
      allowed: [[sonnet-4, gpt-5], [gemini_25_pro, opus-4]]
"""
    path = bundle(config)
    rc, report = lint_json(run, path)
    assert rc == 0
    assert r016(report) == []
    rc, out, _ = run("explain", path)
    assert "dropped" not in out
    assert compile_bundle(load_bundle(path)).dropped == []


def test_minimal_tie(bundle):
    compiled = compile_bundle(load_bundle(bundle("axes:\n  a: [d1, d2, d3]\n  b: [d2, d3, d4]\nrules:\n  ties:\n    t: [a, b]\n")))
    assert [(d.axis, d.level, d.rule_label, d.rule_location.line, d.level_location.line) for d in compiled.dropped] == [
        ("a", "d1", "ties t", 6, 2), ("b", "d4", "ties t", 6, 3),
    ]
    assert [d.code for d in compiled.diagnostics] == ["R016", "R016"]
    assert compiled.dropped[1].hint == "a has no level 'd4' to tie with"


# -- cost --------------------------------------------------------------------------------------

def test_axes_the_rules_do_not_touch_are_not_scanned(bundle, monkeypatch):
    import cohort_dsl.compiler as compiler

    asked = []
    original = compiler._Before.domain

    def domain(self, axis):
        asked.append(axis)
        return original(self, axis)

    monkeypatch.setattr(compiler._Before, "domain", domain)
    combos = "combo_id\n" + "".join(f"combo_v1_{i:012x}\n" for i in range(2000))
    config = TWO_PHASE.replace("combo_id: [combo_v1_63bc76f8e4e7, combo_v1_9b42e2c4f889]",
                               "combo_id: '@file:items/combos.csv'") + PAIR
    compiled = compile_bundle(load_bundle(bundle(config, **{"items/combos.csv": combos})))
    assert [(d.axis, d.level) for d in compiled.dropped] == [("draft_llm", "qwen3"), ("evaluation_llm", "llama-4")]
    assert set(asked) <= {"draft_llm", "essay_llm", "evaluation_llm"}
