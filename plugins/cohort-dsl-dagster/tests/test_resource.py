"""MembershipResource, and the example recipe: a stage asset partitioned
by draft_gens reading its record through the resource."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import dagster as dg
import pytest
from conftest import EXAMPLES, materialize

from cohort_dsl.cli import main
from cohort_dsl.service import UnknownName
from cohort_dsl_dagster import MembershipResource, build_definitions


@pytest.fixture
def materialized(small_repo, monkeypatch):
    monkeypatch.chdir(small_repo.parent)
    assert main(["materialize", "alpha", "beta"]) == 0
    return MembershipResource(data_root=str(small_repo))


def test_questions_and_answers(materialized):
    drafts = materialized.gen_ids("alpha", "draft")
    assert len(drafts) == 2
    essays = materialized.children(drafts[0])
    assert len(essays) == 2 and materialized.parent(essays[0]) == drafts[0]
    assert materialized.parent(drafts[0]) is None
    assert materialized.cohorts_containing(drafts[1]) == ["alpha", "beta"]  # c2 is in both, listed once each
    record = materialized.record(essays[1])
    assert (record.stage, record.parent_gen_id, record.template_id) == ("essay", drafts[0], "e2")


@pytest.mark.parametrize("question, argument, named", [
    ("gen_ids", ("typo-cohort", "draft"), "'typo-cohort'"),
    ("gen_ids", ("alpha", "drafts"), "did you mean 'draft'"),
    ("parent", ("d_nope",), "'d_nope'"),
    ("children", ("d_nope",), "'d_nope'"),
    ("cohorts_containing", ("d_nope",), "'d_nope'"),
    ("record", ("d_nope",), "'d_nope'"),
])
def test_an_unknown_name_raises_never_an_empty_list(materialized, question, argument, named):
    with pytest.raises(UnknownName, match=named):
        getattr(materialized, question)(*argument)


def test_a_misspelt_cohort_gets_did_you_mean(materialized):
    with pytest.raises(UnknownName, match="did you mean 'alpha'"):
        materialized.gen_ids("alpah", "draft")


def test_the_index_is_kept_across_calls(materialized):
    drafts = materialized.gen_ids("alpha", "draft")
    materialized.parent(drafts[0])
    index = materialized.service.index()
    materialized.cohorts_containing(drafts[1])
    assert materialized.service.index() is index


def load_example():
    spec = importlib.util.spec_from_file_location("example_definitions", EXAMPLES / "definitions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # only reads the examples data repo
    return module


def test_the_example_stage_asset_reads_its_record(examples_copy, instance):
    example = load_example()
    defs = build_definitions(examples_copy)
    assert materialize(defs, "dual-llm-tie", instance).success
    draft_id = instance.get_dynamic_partitions("draft_gens")[0]
    result = dg.materialize([example.draft], partition_key=draft_id, instance=instance,
                            resources={"membership": MembershipResource(data_root=str(examples_copy))})
    assert result.success
    metadata = result.asset_materializations_for_node("draft")[0].metadata
    assert "dual-llm-tie" in metadata["cohorts"].value
    assert metadata["template_id"].value in {"creative-synthesis-v10", "problem-solving-v3"}


def test_the_example_definitions_validate(tmp_path):
    dagster = [sys.executable, "-m", "dagster", "definitions", "validate", "-f", str(EXAMPLES / "definitions.py")]
    done = subprocess.run(dagster, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**os.environ, "DAGSTER_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
