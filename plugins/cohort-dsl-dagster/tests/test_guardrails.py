"""The guardrail lint rules DG001 and DG002, active when this distribution
is installed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import write_repo

import cohort_dsl_dagster.guardrails as guardrails
from cohort_dsl import Layout, Stage, hookimpl
from cohort_dsl.cli import main

# 50 combos x 10 essay templates x 101 evaluation templates: 50,500 evaluations
SPEC = """axes:
  combo_id: {combos}
  draft_template: [d1]
  draft_llm: [m1]
  essay_template: {essays}
  essay_llm: [m1]
  evaluation_template: {evaluations}
  evaluation_llm: [j1]
"""


def spec(first_combo: int) -> str:
    return SPEC.format(combos=[f"c{i}" for i in range(first_combo, first_combo + 50)],
                       essays=[f"e{i}" for i in range(10)], evaluations=[f"v{i}" for i in range(101)]).replace("'", "")


def lint(capsys, *args) -> str:
    main(["lint", "--format", "text", *args])
    return capsys.readouterr().out


def test_a_stage_above_100000_keys_across_the_data_root_is_a_warning_and_never_cached(tmp_path, monkeypatch, capsys):
    write_repo(tmp_path, {"a": spec(0), "b": spec(100)})
    monkeypatch.chdir(tmp_path)
    assert "DG002" not in lint(capsys)  # nothing materialized: 50,500 each
    assert main(["materialize", "a"]) == 0
    capsys.readouterr()
    out = lint(capsys)  # the cache holds the first result; the listing changed, so it must not be used
    warnings = [line for line in out.splitlines() if "DG002" in line]
    assert len(warnings) == 1 and "cohorts/b/spec/config.yaml" in warnings[0], out
    assert "101,000" in warnings[0] and "50,500 from this cohort" in warnings[0]


def test_ids_shared_with_another_cohort_count_once(tmp_path, monkeypatch, capsys):
    write_repo(tmp_path, {"a": spec(0), "b": spec(0).replace("c0,", "c999,")})
    monkeypatch.chdir(tmp_path)
    assert main(["materialize", "a"]) == 0
    capsys.readouterr()
    assert "DG002" not in lint(capsys)  # 51,510 distinct evaluation ids, not 101,000


class DottedLayout:
    @hookimpl
    def cohort_dsl_membership_layouts(self):
        return [Layout("dotted", (Stage("draft", "d...", template=("draft_template",), llm=("draft_llm",),
                                        combo=("combo_id",)),))]


def test_ids_that_are_not_partition_keys_are_an_error(cohort_project):
    project = cohort_project({"spec/config.yaml": "axes:\n  combo_id: [c1]\n  draft_template: [t1]\n"
                              "  draft_llm: [m1]\noutput:\n  layout: dotted\n"}, plugins=[guardrails, DottedLayout()])
    result = project.lint("spec")
    assert result.exit_code == 1
    assert "'...'" in result.diagnostic("DG001").message


def test_the_copied_invalid_substrings_are_dagsters():
    try:
        from dagster._core.definitions.partitions.utils.base import INVALID_PARTITION_SUBSTRINGS
    except ImportError:  # moved in another dagster release: check through the public API instead
        import dagster as dg

        for part in guardrails.INVALID_KEY_SUBSTRINGS:
            with pytest.raises(Exception):
                dg.StaticPartitionsDefinition([f"a{part}b"])
        return
    assert tuple(INVALID_PARTITION_SUBSTRINGS) == guardrails.INVALID_KEY_SUBSTRINGS


def test_linting_does_not_import_dagster():
    code = "import sys, cohort_dsl_dagster.guardrails; assert 'dagster' not in sys.modules, 'dagster imported'"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
