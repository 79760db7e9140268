"""The membership service (docs/cohorts.md, "Reading membership from code";
issue 3): one reader over the materialized cohorts of a data root."""

from __future__ import annotations

import pytest

from gate_helpers import cli, engine, hand_id, make_project  # noqa: F401
from cohort_dsl.diagnostics import SpecError
from cohort_dsl.service import MembershipService

# alpha: 2 drafts (c1, c2), 2 essays each, 2 evaluations each
ALPHA = """axes:
  combo_id: [c1, c2]
  draft_template: [d1]
  draft_llm: [m1]
  essay_template: [e1, e2]
  essay_llm: [m1]
  evaluation_template: [v1]
  evaluation_llm: [j1, j2]
"""
# beta shares combo c2 (so the c2 draft, its essays and evaluations) with alpha
BETA = ALPHA.replace("[c1, c2]", "[c2, c3]")

D1 = hand_id("d_", "c1", "d1", "m1", 1)
D2 = hand_id("d_", "c2", "d1", "m1", 1)
D3 = hand_id("d_", "c3", "d1", "m1", 1)


def essay(draft, template):
    return hand_id("e_", draft, template, 1)


def evaluation(essay_id, judge):
    return hand_id("v_", essay_id, "v1", judge, 1)


@pytest.fixture
def root(in_tmp_cwd, cli):
    make_project(in_tmp_cwd, {"alpha": {"config.yaml": ALPHA}, "beta": {"config.yaml": BETA},
                              "unmaterialized": {"config.yaml": ALPHA}}, catalogs={}, catalog_config={})
    assert cli("materialize", "alpha", "beta").rc == 0
    return in_tmp_cwd / "data"


@pytest.fixture
def service(root):
    return MembershipService(root)


def test_cohorts_are_the_materialized_ones(service):
    assert service.cohorts() == ["alpha", "beta"]


def test_cohorts_of_an_empty_data_root(tmp_path):
    assert MembershipService(tmp_path / "nothing").cohorts() == []


def test_gen_ids_by_stage_in_file_order(service):
    assert service.gen_ids("alpha", "draft") == [D1, D2]
    assert service.gen_ids("alpha", "essay") == [essay(D1, "e1"), essay(D1, "e2"), essay(D2, "e1"), essay(D2, "e2")]
    evaluations = service.gen_ids("alpha", "evaluation")
    assert evaluations[:2] == [evaluation(essay(D1, "e1"), "j1"), evaluation(essay(D1, "e1"), "j2")]
    assert len(evaluations) == 8
    everything = service.gen_ids("alpha")
    assert everything == service.gen_ids("alpha", "draft") + service.gen_ids("alpha", "essay") + evaluations


def test_gen_ids_of_a_cohort_without_membership(service):
    assert service.gen_ids("unmaterialized") == []
    assert service.gen_ids("no-such-cohort", "draft") == []


def test_membership_rows(service):
    rows = service.membership("beta")
    assert rows[0] == ("draft", D2)
    assert [stage for stage, _ in rows] == ["draft"] * 2 + ["essay"] * 4 + ["evaluation"] * 8


def test_parent(service):
    e = essay(D1, "e2")
    v = evaluation(e, "j2")
    assert service.parent(v) == e
    assert service.parent(e) == D1
    assert service.parent(D1) is None
    assert service.parent("v_unknown") is None


def test_parents_nearest_first(service):
    e = essay(D2, "e1")
    v = evaluation(e, "j1")
    assert service.parents(v) == [e, D2]
    assert service.parents(e) == [D2]
    assert service.parents(D2) == []


def test_children_of_a_draft_are_its_essays(service):
    assert service.children(D1) == [essay(D1, "e1"), essay(D1, "e2")]
    # D2 is in both cohorts; its essays are listed once
    assert service.children(D2) == [essay(D2, "e1"), essay(D2, "e2")]


def test_children_of_an_essay_are_its_evaluations(service):
    e = essay(D1, "e1")
    assert service.children(e) == [evaluation(e, "j1"), evaluation(e, "j2")]
    assert service.children(evaluation(e, "j1")) == []


def test_cohorts_containing_across_cohorts(service):
    assert service.cohorts_containing(D1) == ["alpha"]
    assert service.cohorts_containing(D2) == ["alpha", "beta"]
    assert service.cohorts_containing(D3) == ["beta"]
    shared_evaluation = evaluation(essay(D2, "e2"), "j1")
    assert service.cohorts_containing(shared_evaluation) == ["alpha", "beta"]
    assert service.cohorts_containing("d_nope") == []


def test_refresh_sees_a_new_materialization(service, root, cli):
    assert service.cohorts_containing(D1) == ["alpha"]
    assert cli("materialize", "unmaterialized").rc == 0
    service.refresh()
    assert service.cohorts() == ["alpha", "beta", "unmaterialized"]
    assert service.cohorts_containing(D1) == ["alpha", "unmaterialized"]


def test_wide_records(service):
    records = service.records("alpha")
    assert [r.gen_id for r in records] == service.gen_ids("alpha")
    first_essay = next(r for r in records if r.stage == "essay")
    assert first_essay.parent_gen_id == D1
    assert first_essay.template_id == "e1"
    assert first_essay.replicate == 1
    assert first_essay.origin_cohort_id == "alpha"


class TestMalformedFiles:
    def test_wrong_header_is_m006_at_line_1(self, root):
        path = root / "cohorts" / "alpha" / "membership.csv"
        path.write_text("stage,id\ndraft,d_x\n")
        with pytest.raises(SpecError) as info:
            MembershipService(root).gen_ids("alpha")
        d = info.value.diagnostics[0]
        assert d.code == "M006"
        assert d.location.path.endswith("membership.csv")
        assert d.location.line == 1
        assert "stage,gen_id" in d.message

    def test_row_with_extra_field_is_m006_at_its_line(self, root):
        path = root / "cohorts" / "beta" / "membership.csv"
        lines = path.read_text().splitlines()
        lines[3] += ",extra"
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(SpecError) as info:
            MembershipService(root).cohorts_containing(D1)
        d = info.value.diagnostics[0]
        assert d.code == "M006"
        assert d.location.line == 4
        assert "3 fields" in d.message

    def test_non_utf8_is_m006(self, root):
        (root / "cohorts" / "alpha" / "membership.csv").write_bytes(b"stage,gen_id\ndraft,d_\xff\n")
        with pytest.raises(SpecError) as info:
            MembershipService(root).gen_ids("alpha")
        assert info.value.diagnostics[0].code == "M006"
