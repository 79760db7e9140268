"""The membership service (docs/cohorts.md, "Reading membership from code";
issue 3): one reader over the materialized cohorts of a data root."""

from __future__ import annotations

import pytest

from gate_helpers import cli, engine, hand_id, make_project  # noqa: F401
from cohort_dsl.diagnostics import SpecError
from cohort_dsl.service import MembershipService, UnknownName

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


def test_an_unknown_cohort_is_named_with_did_you_mean(service):
    with pytest.raises(UnknownName) as info:
        service.gen_ids("alpah", "draft")
    assert "'alpah'" in str(info.value) and "did you mean 'alpha'" in str(info.value)
    assert (info.value.kind, info.value.name) == ("cohort", "alpah")


def test_a_cohort_with_a_spec_but_no_membership_says_to_materialize(service):
    with pytest.raises(UnknownName, match="cohort-dsl materialize unmaterialized"):
        service.gen_ids("unmaterialized")


def test_an_unknown_stage_is_named_with_did_you_mean(service):
    with pytest.raises(UnknownName) as info:
        service.gen_ids("alpha", "drafts")
    assert "'drafts'" in str(info.value) and "did you mean 'draft'" in str(info.value)


def test_a_layout_stage_without_ids_is_empty_not_unknown(service, root):
    path = root / "cohorts" / "alpha" / "membership.csv"
    path.write_text("".join(line for line in path.read_text().splitlines(True) if not line.startswith("evaluation")))
    assert service.gen_ids("alpha", "evaluation") == []  # manifest.json names the layout's stages
    assert service.stages("alpha") == ["draft", "essay", "evaluation"]


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


def test_an_unknown_gen_id_is_named_with_did_you_mean(service):
    typo = D1[:-1] + ("x" if D1[-1] != "x" else "y")
    for query in (service.parent, service.children, service.cohorts_containing):
        with pytest.raises(UnknownName) as info:
            query(typo)
        assert repr(typo) in str(info.value) and f"did you mean {D1!r}" in str(info.value)


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
    with pytest.raises(UnknownName):
        service.cohorts_containing("d_nope")


def test_the_index_sees_a_new_materialization_by_itself(service, root, cli):
    assert service.cohorts_containing(D1) == ["alpha"]
    assert cli("materialize", "unmaterialized").rc == 0
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
            MembershipService(root).gen_ids("beta")
        d = info.value.diagnostics[0]
        assert d.code == "M006"
        assert d.location.line == 4
        assert "3 fields" in d.message and "cohort beta" in d.message

    def test_a_malformed_cohort_is_reported_by_name_and_the_others_still_answer(self, root):
        path = root / "cohorts" / "beta" / "membership.csv"
        path.write_text(path.read_text().replace(D3, D3 + ",extra", 1))
        service = MembershipService(root)
        assert service.cohorts_containing(D1) == ["alpha"]
        assert service.cohorts_containing(D2) == ["alpha"]  # beta's copy cannot be read
        assert service.parent(essay(D1, "e1")) == D1
        problems = service.problems()
        assert list(problems) == ["beta"] and problems["beta"][0].code == "M006"
        with pytest.raises(UnknownName) as info:
            service.cohorts_containing(D3)  # only beta holds it: the error says beta could not be read
        assert "'beta' could not be read" in str(info.value)

    def test_a_gen_id_with_a_line_break_is_m006(self, root):
        (root / "cohorts" / "beta" / "membership.csv").write_text('stage,gen_id\ndraft,"d_a\nb"\n')
        service = MembershipService(root)
        assert service.cohorts_containing(D1) == ["alpha"]
        assert "line break" in service.problems()["beta"][0].message

    def test_a_hand_edit_is_seen_without_refresh(self, root):
        service = MembershipService(root)
        assert service.cohorts_containing(D3) == ["beta"]
        path = root / "cohorts" / "beta" / "membership.csv"
        path.write_text("".join(line for line in path.read_text().splitlines(True) if D3 not in line))
        with pytest.raises(UnknownName):
            service.cohorts_containing(D3)


class TestOtherShapes:
    def test_crlf_and_quoted_files_read_the_same(self, root):
        expected = MembershipService(root).gen_ids("alpha", "essay")
        path = root / "cohorts" / "alpha" / "membership.csv"
        lines = path.read_text().splitlines()
        path.write_bytes(("\r\n".join(lines[:3] + [f'"{lines[3].split(",")[0]}",{lines[3].split(",")[1]}'] + lines[4:])
                          + "\r\n").encode())
        assert MembershipService(root).gen_ids("alpha", "essay") == expected

    def test_columns_are_read_by_header_name(self, root):
        path = root / "cohorts" / "alpha" / "membership.csv"
        expected = MembershipService(root).membership("alpha")
        path.write_text("gen_id,stage\n" + "".join(f"{g},{s}\n" for s, g in expected))
        assert MembershipService(root).membership("alpha") == expected

    def test_an_older_eight_column_membership_csv_gives_parents_without_a_wide_file(self, root):
        cohort = root / "cohorts" / "alpha"
        (cohort / "membership.csv").write_text((cohort / "membership_wide.csv").read_text())
        (cohort / "membership_wide.csv").unlink()
        service = MembershipService(root)
        assert service.gen_ids("alpha", "draft") == [D1, D2]
        assert service.parent(evaluation(essay(D1, "e2"), "j1")) == essay(D1, "e2")
        assert service.children(D1) == [essay(D1, "e1"), essay(D1, "e2")]
        assert service.record(essay(D1, "e2")).template_id == "e2"

    def test_a_parent_that_no_file_records_is_an_error_not_none(self, root):
        (root / "cohorts" / "alpha" / "membership_wide.csv").unlink()
        service = MembershipService(root)
        assert service.parent(essay(D2, "e1")) == D2  # beta records it
        with pytest.raises(UnknownName, match="not recorded"):
            service.parent(essay(D1, "e1"))
        with pytest.raises(UnknownName, match="membership_wide.csv"):
            service.record(D1)

    def test_record_is_the_wide_row(self, root):
        record = MembershipService(root).record(essay(D2, "e2"))
        assert (record.stage, record.parent_gen_id, record.template_id, record.origin_cohort_id) == \
            ("essay", D2, "e2", "alpha")

    def test_non_utf8_is_m006(self, root):
        (root / "cohorts" / "alpha" / "membership.csv").write_bytes(b"stage,gen_id\ndraft,d_\xff\n")
        with pytest.raises(SpecError) as info:
            MembershipService(root).gen_ids("alpha")
        assert info.value.diagnostics[0].code == "M006"


def write_big_cohort(root, cohort: str, n: int) -> list[tuple[str, str, str]]:
    """A materialized-looking cohort of ``n`` ids (1% drafts, 10% essays,
    the rest evaluations), written straight to disk; returns
    ``(stage, gen_id, parent)`` rows."""
    drafts = [f"d_{i:014x}" for i in range(n // 100)]
    essays = [(f"e_{i:014x}", drafts[i % len(drafts)]) for i in range(n // 10)]
    evaluations = [(f"v_{i:014x}", essays[i % len(essays)][0]) for i in range(n - len(drafts) - len(essays))]
    rows = [("draft", d, "") for d in drafts] + [("essay", e, p) for e, p in essays] + \
           [("evaluation", v, p) for v, p in evaluations]
    folder = root / "cohorts" / cohort
    folder.mkdir(parents=True)
    (folder / "membership.csv").write_text("stage,gen_id\n" + "".join(f"{s},{g}\n" for s, g, _ in rows))
    (folder / "membership_wide.csv").write_text(
        "stage,gen_id,origin_cohort_id,parent_gen_id,combo_id,template_id,llm_model_id,replicate\n"
        + "".join(f"{s},{g},{cohort},{p},c,t,m,1\n" for s, g, p in rows))
    return rows


@pytest.mark.slow
def test_a_million_ids(tmp_path):
    """Every answer at 1M ids is right, and the index holds <= 100 bytes
    per id. How fast the first call and each later answer are is measured
    by ``bench/bench.py --only service`` (CPU seconds against a floor, in
    docs/performance.md); here the bounds only catch a hang or a quadratic
    turn, whatever else the machine runs."""
    import sys
    import time

    rows = write_big_cohort(tmp_path, "big", 1_000_000)
    service = MembershipService(tmp_path)
    start = time.process_time()
    assert service.cohorts_containing(rows[-1][1]) == ["big"]
    assert service.parent(rows[-1][1]) == rows[-1][2]
    first = time.process_time() - start
    assert first <= 60, first

    sample = rows[::1000]
    start = time.process_time()
    for _, gid, parent in sample:
        assert service.cohorts_containing(gid) == ["big"]
        assert service.parent(gid) == (parent or None)
    assert time.process_time() - start <= 10
    assert service.children(rows[0][1]) == [e for s, e, p in rows if p == rows[0][1]]

    index = service.index()
    held = sys.getsizeof(index.text) + sum(a.buffer_info()[1] * a.itemsize
                                           for a in (index.starts, index.hashes, index.rows, *index.parent_rows()))
    assert held / len(rows) <= 100, held / len(rows)
