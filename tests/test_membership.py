"""Membership (docs/cohorts.md, "Generation ids"; issue 3): generation ids
compatible with the original pipeline, the `membership` command's slim and
wide outputs, stage order, replicate columns, layout errors, id collisions,
and streaming."""

from __future__ import annotations

import csv
import io
import json
import sys
import tracemalloc

import pytest

from gate_helpers import (TESTS_DIR, cli, engine, hand_id, id_of_text, reference_membership,  # noqa: F401
                          write_files)
from cohort_dsl.membership import gen_id

SLIM = ["stage", "gen_id"]
WIDE = ["stage", "gen_id", "origin_cohort_id", "parent_gen_id", "combo_id", "template_id", "llm_model_id", "replicate"]
ORIGINAL = TESTS_DIR / "fixtures" / "original"

# The smallest spec with every column the two-phase layout reads.
SMALL = """axes:
  combo_id: [c1]
  draft_template: [d]
  draft_llm: [m]
  essay_template: [e]
  essay_llm: [x]
  evaluation_template: [v]
  evaluation_llm: [y]
"""
# Its ids, by hand (docs/cohorts.md, "Generation ids"):
#   draft       "c1|d|m|1"                     -> d_we8m947woxzpay3
#   essay       "d_we8m947woxzpay3|e|1"        -> e_3wgo3d3o6nomg7un   (essay_llm x is not in the id)
#   evaluation  "e_3wgo3d3o6nomg7un|v|y|1"     -> v_150rblkkkacx91pg
SMALL_DRAFT, SMALL_ESSAY, SMALL_EVALUATION = "d_we8m947woxzpay3", "e_3wgo3d3o6nomg7un", "v_150rblkkkacx91pg"


@pytest.fixture(autouse=True)
def _cwd(in_tmp_cwd):
    return in_tmp_cwd


@pytest.fixture
def spec(tmp_path):
    counter = iter(range(10**6))

    def make(config: str, **files) -> str:
        folder = tmp_path / f"spec{next(counter)}"
        write_files(folder, {"config.yaml": config, **files})
        return str(folder)

    return make


def parse_csv(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def wide_rows(result) -> list[dict]:
    header, rows = parse_csv(result.out)
    assert header == WIDE
    return [dict(zip(header, row)) for row in rows]


# =============================================================================
# generation ids, computed by hand
# =============================================================================

class TestGenerationIds:
    """Each id: the signature text -> BLAKE2b, digest_size=10 -> big-endian
    integer -> base 36 (0-9a-z) -> prefix. The literals below are the ids
    the original pipeline computed."""

    def test_the_hand_computation_reproduces_the_original_pipeline(self):
        # "combo-1|draft-a|draft-llm|1" (draft-A lower-cased) -> d_3rdru73r8ppaqlsz
        assert id_of_text("d_", "combo-1|draft-a|draft-llm|1") == "d_3rdru73r8ppaqlsz"
        # replicate 2: "combo-1|draft-a|draft-llm|2" -> d_1ft3vdc1tduj8b2a
        assert id_of_text("d_", "combo-1|draft-a|draft-llm|2") == "d_1ft3vdc1tduj8b2a"
        # essay: "d_3rdru73r8ppaqlsz|essay-x|1" -> e_3p5jidm7056q95x9
        assert id_of_text("e_", "d_3rdru73r8ppaqlsz|essay-x|1") == "e_3p5jidm7056q95x9"
        # draft ("combo", "tpl", "model", 1): "combo|tpl|model|1" -> d_5cucb6yezk5z03ri
        assert id_of_text("d_", "combo|tpl|model|1") == "d_5cucb6yezk5z03ri"
        # evaluation: "e_3p5jidm7056q95x9|eval-1|eval-llm|1" -> v_d6witcypvut8jo2
        assert id_of_text("v_", "e_3p5jidm7056q95x9|eval-1|eval-llm|1") == "v_d6witcypvut8jo2"

    @pytest.mark.parametrize("prefix, components, expected", [
        ("d_", ["combo-1", "draft-A", "draft-llm", 1], "d_3rdru73r8ppaqlsz"),
        ("d_", ["combo-1", "draft-A", "draft-llm", 2], "d_1ft3vdc1tduj8b2a"),
        ("e_", ["d_3rdru73r8ppaqlsz", "essay-X", 1], "e_3p5jidm7056q95x9"),
        ("d_", ["combo", "tpl", "model", 1], "d_5cucb6yezk5z03ri"),
        ("v_", ["e_3p5jidm7056q95x9", "eval-1", "eval-llm", 1], "v_d6witcypvut8jo2"),
        # each component is str(v).strip().lower()
        ("d_", ["  Combo-1 ", "DRAFT-A", "Draft-LLM ", 1], "d_3rdru73r8ppaqlsz"),
        # ids are not padded: 15 base-36 digits here
        ("d_", ["c1", "d", "m", 1], "d_we8m947woxzpay3"),
    ])
    def test_gen_id_api(self, prefix, components, expected):
        assert gen_id(prefix, components) == expected

    def test_small_spec_ids_and_parent_chain(self, cli, spec):
        result = cli("membership", spec(SMALL), "--cohort-id", "c1-cohort", "--wide")
        assert result.rc == 0, result
        assert wide_rows(result) == [
            {"stage": "draft", "gen_id": SMALL_DRAFT, "origin_cohort_id": "c1-cohort", "parent_gen_id": "",
             "combo_id": "c1", "template_id": "d", "llm_model_id": "m", "replicate": "1"},
            {"stage": "essay", "gen_id": SMALL_ESSAY, "origin_cohort_id": "c1-cohort", "parent_gen_id": SMALL_DRAFT,
             "combo_id": "c1", "template_id": "e", "llm_model_id": "x", "replicate": "1"},
            {"stage": "evaluation", "gen_id": SMALL_EVALUATION, "origin_cohort_id": "c1-cohort",
             "parent_gen_id": SMALL_ESSAY, "combo_id": "c1", "template_id": "v", "llm_model_id": "y", "replicate": "1"},
        ]
        # the literals are what the hand computation gives
        assert hand_id("d_", "c1", "d", "m", 1) == SMALL_DRAFT
        assert hand_id("e_", SMALL_DRAFT, "e", 1) == SMALL_ESSAY
        assert hand_id("v_", SMALL_ESSAY, "v", "y", 1) == SMALL_EVALUATION

    def test_original_fixture_cohort_cartesian(self, cli):
        result = cli("membership", ORIGINAL / "cohort_cartesian", "--cohort-id", "cohort_cartesian", "--wide")
        assert result.rc == 0, result
        rows = wide_rows(result)
        by_stage = {s: [r for r in rows if r["stage"] == s] for s in ("draft", "essay", "evaluation")}
        assert [len(by_stage[s]) for s in ("draft", "essay", "evaluation")] == [2, 8, 8]
        assert [r["gen_id"] for r in by_stage["draft"]] == ["d_3rdru73r8ppaqlsz", "d_1ft3vdc1tduj8b2a"]
        first_essay = by_stage["essay"][0]
        assert first_essay["gen_id"] == "e_3p5jidm7056q95x9"
        assert first_essay["parent_gen_id"] == "d_3rdru73r8ppaqlsz"
        assert first_essay["llm_model_id"] == "essay-llm"
        first_evaluation = by_stage["evaluation"][0]
        assert first_evaluation["gen_id"] == "v_d6witcypvut8jo2"
        assert first_evaluation["parent_gen_id"] == "e_3p5jidm7056q95x9"
        drafts = {r["gen_id"] for r in by_stage["draft"]}
        essays = {r["gen_id"] for r in by_stage["essay"]}
        assert all(r["parent_gen_id"] in drafts for r in by_stage["essay"])
        assert all(r["parent_gen_id"] in essays for r in by_stage["evaluation"])

    @pytest.mark.parametrize("fixture", ["cohort_cartesian", "creative_alignment_tuple"])
    def test_original_fixtures_equal_the_naive_reference(self, cli, fixture):
        """Every row of the fixture's expected output, hashed by hand and
        deduplicated in first-seen order, gives exactly the wide membership."""
        expected_rows = [json.loads(line) for line in (ORIGINAL / fixture / "expected.jsonl").read_text().splitlines()
                         if line.strip()]
        result = cli("membership", ORIGINAL / fixture, "--cohort-id", fixture, "--wide")
        assert result.rc == 0, result
        _, rows = parse_csv(result.out)
        got = [tuple(r[:-1]) + (int(r[-1]),) for r in rows]
        assert got == reference_membership(expected_rows, fixture)


# =============================================================================
# the membership command: columns, formats, order
# =============================================================================

class TestMembershipCommand:
    SPEC = """axes:
  combo_id: [c1, c2]
  draft_template: [d]
  draft_llm: [m]
  essay_template: [e1, e2]
  essay_llm: [x]
  evaluation_template: [v]
  evaluation_llm: [y1, y2]
"""

    def test_slim_is_the_default_with_exactly_two_columns(self, cli, spec):
        result = cli("membership", spec(self.SPEC), "--cohort-id", "c")
        assert result.rc == 0, result
        header, rows = parse_csv(result.out)
        assert header == SLIM
        assert result.out.startswith("stage,gen_id\n")
        assert all(len(r) == 2 for r in rows)
        assert len(rows) == 2 + 4 + 8

    def test_wide_columns(self, cli, spec):
        result = cli("membership", spec(self.SPEC), "--cohort-id", "c", "--wide")
        header, rows = parse_csv(result.out)
        assert header == WIDE
        assert all(r[2] == "c" for r in rows)

    def test_slim_is_the_wide_projection(self, cli, spec):
        path = spec(self.SPEC)
        slim = parse_csv(cli("membership", path, "--cohort-id", "c").out)[1]
        wide = parse_csv(cli("membership", path, "--cohort-id", "c", "--wide").out)[1]
        assert slim == [r[:2] for r in wide]

    def test_jsonl_slim_and_wide(self, cli, spec):
        path = spec(self.SPEC)
        slim = [json.loads(line) for line in cli("membership", path, "--cohort-id", "c", "--format", "jsonl").out.splitlines()]
        assert all(list(r) == SLIM for r in slim)
        wide_result = cli("membership", path, "--cohort-id", "c", "--format", "jsonl", "--wide")
        wide = [json.loads(line) for line in wide_result.out.splitlines()]
        assert all(list(r) == WIDE for r in wide)
        assert all(isinstance(r["replicate"], int) for r in wide)
        assert [(r["stage"], r["gen_id"]) for r in wide] == [(r["stage"], r["gen_id"]) for r in slim]
        csv_rows = parse_csv(cli("membership", path, "--cohort-id", "c", "--wide").out)[1]
        assert [list(map(str, r.values())) for r in wide] == csv_rows

    def test_stages_in_order_each_first_seen_and_deduplicated(self, cli, spec):
        result = cli("membership", spec(self.SPEC), "--cohort-id", "c", "--wide")
        rows = wide_rows(result)
        stages = [r["stage"] for r in rows]
        assert stages == ["draft"] * 2 + ["essay"] * 4 + ["evaluation"] * 8
        ids = [r["gen_id"] for r in rows]
        assert len(ids) == len(set(ids))
        # first-seen order: the rows vary the last axis fastest
        assert [r["combo_id"] for r in rows if r["stage"] == "draft"] == ["c1", "c2"]
        essays = [(r["combo_id"], r["template_id"]) for r in rows if r["stage"] == "essay"]
        assert essays == [("c1", "e1"), ("c1", "e2"), ("c2", "e1"), ("c2", "e2")]
        evaluations = [r["llm_model_id"] for r in rows if r["stage"] == "evaluation"]
        assert evaluations == ["y1", "y2"] * 4

    def test_rows_that_share_a_draft_give_one_draft(self, cli, spec):
        # 2 x 2 x 2 rows, but one draft, two essays, and 8 evaluations
        config = SMALL.replace("essay_template: [e]", "essay_template: [e1, e2]") \
            .replace("evaluation_template: [v]", "evaluation_template: [v1, v2]") \
            .replace("evaluation_llm: [y]", "evaluation_llm: [y1, y2]")
        rows = wide_rows(cli("membership", spec(config), "--cohort-id", "c", "--wide"))
        assert [r["stage"] for r in rows].count("draft") == 1
        assert [r["stage"] for r in rows].count("essay") == 2
        assert [r["stage"] for r in rows].count("evaluation") == 8

    def test_the_same_spec_gives_the_same_output(self, cli, spec):
        path = spec(self.SPEC)
        assert cli("membership", path, "--cohort-id", "c", "--wide").out == \
            cli("membership", path, "--cohort-id", "c", "--wide").out

    def test_cohort_id_is_required(self, cli, spec):
        result = cli("membership", spec(SMALL))
        assert result.rc == 2
        assert "--cohort-id" in result.err


# =============================================================================
# replicates
# =============================================================================

BASE = SMALL


class TestReplicates:
    @pytest.mark.parametrize("extra, stage, replicate, expected", [
        # draft_replicate wins over draft_template_replicate: "c1|d|m|2"
        ("  draft_template_replicate: ['3']\n  draft_replicate: ['2']\n", "draft", 2, "d_1m0uwmrs7jwmarsd"),
        # draft_template_replicate alone: "c1|d|m|3"
        ("  draft_template_replicate: ['3']\n", "draft", 3, "d_5eo4h7679iuml556"),
        # essay_template_replicate: "d_we8m947woxzpay3|e|2"
        ("  essay_template_replicate: [2]\n", "essay", 2, "e_59r8u3g54bwbd1cw"),
        # evaluation_replicate wins over the template and llm replicates: "e_3wgo3d3o6nomg7un|v|y|2"
        ("  evaluation_llm_replicate: ['4']\n  evaluation_replicate: ['2']\n  evaluation_template_replicate: ['3']\n",
         "evaluation", 2, "v_4n7ngnqlxm66jrnm"),
        # evaluation_template_replicate wins over evaluation_llm_replicate: "e_3wgo3d3o6nomg7un|v|y|3"
        ("  evaluation_llm_replicate: ['4']\n  evaluation_template_replicate: ['3']\n", "evaluation", 3,
         "v_15dheggyyfd7xuav"),
        # evaluation_llm_replicate alone: "e_3wgo3d3o6nomg7un|v|y|4"
        ("  evaluation_llm_replicate: ['4']\n", "evaluation", 4, "v_q9ej4jhvyf6m43u"),
    ])
    def test_replicate_column_precedence(self, cli, spec, extra, stage, replicate, expected):
        rows = wide_rows(cli("membership", spec(BASE + extra), "--cohort-id", "c", "--wide"))
        record = next(r for r in rows if r["stage"] == stage)
        assert record["replicate"] == str(replicate)
        assert record["gen_id"] == expected

    def test_absent_replicates_are_one(self, cli, spec):
        rows = wide_rows(cli("membership", spec(BASE), "--cohort-id", "c", "--wide"))
        assert [r["replicate"] for r in rows] == ["1", "1", "1"]

    def test_replicates_make_distinct_ids(self, cli, spec):
        config = BASE + "  draft_replicate: [1, 2, 3]\n"
        rows = wide_rows(cli("membership", spec(config), "--cohort-id", "c", "--wide"))
        drafts = [r for r in rows if r["stage"] == "draft"]
        assert [r["replicate"] for r in drafts] == ["1", "2", "3"]
        assert [r["gen_id"] for r in drafts] == [hand_id("d_", "c1", "d", "m", n) for n in (1, 2, 3)]

    def test_integer_text_with_spaces_is_accepted(self, cli, spec):
        rows = wide_rows(cli("membership", spec(BASE + "  draft_replicate: [' 2 ']\n"), "--cohort-id", "c", "--wide"))
        assert rows[0]["replicate"] == "2"
        assert rows[0]["gen_id"] == "d_1m0uwmrs7jwmarsd"

    @pytest.mark.parametrize("written, column", [("'0'", 21), ("'-1'", 21), ("x", 21), ("'1.5'", 21), ("two", 21)])
    def test_non_positive_integer_is_m004_located(self, cli, spec, written, column):
        config = BASE + f"  draft_replicate: [{written}]\n"
        result = cli("membership", spec(config), "--cohort-id", "c")
        assert result.rc == 1
        assert result.out == ""
        assert "M004" in result.err
        assert "draft_replicate" in result.err
        assert f"config.yaml:9:{column}: M004" in result.err

    def test_bad_replicate_among_good_ones_points_at_it(self, cli, spec):
        config = BASE + "  evaluation_replicate: [1, 2, zero]\n"
        result = cli("membership", spec(config), "--cohort-id", "c")
        assert result.rc == 1
        assert "config.yaml:9:32: M004" in result.err
        assert "'zero'" in result.err

    def test_unicode_digit_replicate_is_m004(self, cli, spec):
        config = BASE + "  draft_replicate: ['²']\n"
        result = cli("membership", spec(config), "--cohort-id", "c")
        assert result.rc == 1
        assert "M004" in result.err

    def test_replicates_equal_as_integers_are_a_collision(self, cli, spec):
        config = BASE + "  draft_replicate: ['1', ' 1']\n"
        result = cli("membership", spec(config), "--cohort-id", "c")
        assert "M002" in result.err
        assert "' 1'" in result.err

    def test_a_replicate_not_in_plain_decimal_is_refused(self, cli, spec):
        result = cli("membership", spec(BASE + "  draft_replicate: ['1', '01']\n"), "--cohort-id", "c")
        assert result.rc == 1 and result.out == ""
        assert "M004" in result.err and "'01'" in result.err and "write it 1" in result.err


# =============================================================================
# layout errors
# =============================================================================

class TestLayoutErrors:
    def test_missing_columns_are_m001_naming_them(self, cli, spec):
        config = "axes:\n  combo_id: [c1]\n  draft_template: [d]\n  essay_template: [e]\n  evaluation_template: [v]\n"
        result = cli("membership", spec(config), "--cohort-id", "c")
        assert result.rc == 1
        assert result.out == ""
        assert "M001" in result.err
        line = next(line for line in result.err.splitlines() if "M001" in line)
        for column in ("draft_llm", "essay_llm", "evaluation_llm"):
            assert column in line
        for present in ("combo_id", "draft_template"):
            assert present not in line.split("M001", 1)[1]
        # located in the spec
        assert "config.yaml:1:1: M001" in line

    def test_missing_columns_with_an_explicit_layout_point_at_it(self, cli, spec):
        config = "axes:\n  combo_id: [c1]\noutput:\n  layout: two-phase\n"
        result = cli("membership", spec(config), "--cohort-id", "c")
        assert result.rc == 1
        assert "config.yaml:4:11: M001" in result.err

    def test_unknown_layout_is_m005(self, cli, spec):
        result = cli("membership", spec(SMALL + "output:\n  layout: nope\n"), "--cohort-id", "c")
        assert result.rc == 1
        assert "config.yaml:10:11: M005" in result.err
        assert "'nope'" in result.err
        assert "two-phase" in result.err

    def test_unknown_layout_suggests_a_close_one(self, cli, spec):
        result = cli("membership", spec(SMALL + "output:\n  layout: two-phaze\n"), "--cohort-id", "c")
        assert result.rc == 1
        assert "M005" in result.err and "did you mean 'two-phase'" in result.err

    def test_the_named_layout_works(self, cli, spec):
        result = cli("membership", spec(SMALL + "output:\n  layout: two-phase\n"), "--cohort-id", "c")
        assert result.rc == 0
        assert result.out.splitlines()[1:] == [f"draft,{SMALL_DRAFT}", f"essay,{SMALL_ESSAY}",
                                               f"evaluation,{SMALL_EVALUATION}"]


# =============================================================================
# collisions
# =============================================================================

class TestCollisions:
    def test_components_are_stripped_and_lower_cased(self, cli, spec):
        config = SMALL.replace("combo_id: [c1]", "combo_id: [' C1 ']").replace("draft_template: [d]", "draft_template: [D]")
        rows = wide_rows(cli("membership", spec(config), "--cohort-id", "c", "--wide"))
        assert rows[0]["gen_id"] == SMALL_DRAFT
        assert rows[1]["gen_id"] == SMALL_ESSAY
        # the output shows the value as written (stripped)
        assert rows[0]["combo_id"] == "C1"
        assert rows[0]["template_id"] == "D"

    def test_template_ids_differing_only_in_case_collide(self, cli, spec):
        config = SMALL.replace("draft_template: [d]", "draft_template: [T1, t1]")
        result = cli("membership", spec(config), "--cohort-id", "c", "--wide")
        # M002 is an error (its declared severity): refused, no row printed
        assert result.rc == 1, result
        assert result.out == ""
        # M002 with both sources: 'T1' at 3:20 and 't1' at 3:24
        m002 = [line for line in result.err.splitlines() if "M002" in line]
        assert len(m002) == 1, result.err
        assert "'T1'" in m002[0] and "'t1'" in m002[0]
        assert "config.yaml:3:20" in m002[0]
        assert "config.yaml:3:24: M002" in m002[0]

    def test_essays_differing_only_in_essay_llm_share_an_id(self, cli, spec):
        config = SMALL.replace("essay_llm: [x]", "essay_llm: [x, z]")
        result = cli("membership", spec(config), "--cohort-id", "c", "--wide")
        assert result.rc == 1, result  # an error: refused, no row printed
        assert result.out == ""
        m002 = [line for line in result.err.splitlines() if "M002" in line]
        assert len(m002) == 1, result.err
        assert "essay_llm" in m002[0]
        assert "'x'" in m002[0] and "'z'" in m002[0]
        # reported at the second value, with the first one's location in the message
        assert "config.yaml:6:18: M002" in m002[0]
        assert "config.yaml:6:15" in m002[0]

    def test_a_tie_coupling_essay_llm_avoids_collisions(self, cli, spec):
        config = SMALL.replace("draft_llm: [m]", "draft_llm: [m1, m2]").replace("essay_llm: [x]", "essay_llm: [m1, m2]") \
            + "rules:\n  ties:\n    writer: [draft_llm, essay_llm]\n"
        result = cli("membership", spec(config), "--cohort-id", "c", "--wide")
        assert result.rc == 0, result
        assert "M002" not in result.err
        rows = wide_rows(result)
        essays = [r for r in rows if r["stage"] == "essay"]
        assert [r["llm_model_id"] for r in essays] == ["m1", "m2"]
        assert len({r["gen_id"] for r in essays}) == 2

    def test_a_tuple_coupling_essay_llm_avoids_collisions(self, cli, spec):
        config = SMALL.replace("  essay_template: [e]\n  essay_llm: [x]\n", "") \
            + "rules:\n  tuples:\n    route:\n      axes: [essay_template, essay_llm]\n      items: [[e1, x], [e2, z]]\n"
        result = cli("membership", spec(config), "--cohort-id", "c", "--wide")
        assert result.rc == 0, result
        assert "M002" not in result.err
        essays = [r for r in wide_rows(result) if r["stage"] == "essay"]
        assert [(r["template_id"], r["llm_model_id"]) for r in essays] == [("e1", "x"), ("e2", "z")]


# =============================================================================
# streaming
# =============================================================================

def _levels(prefix: str, n: int) -> str:
    return "[" + ", ".join(f"{prefix}{i}" for i in range(n)) + "]"


class _Sink:
    """A stdout that keeps nothing but a line count."""

    def __init__(self):
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)

    def flush(self) -> None:
        pass


def test_membership_of_200k_rows_streams(tmp_path, engine, monkeypatch):
    """The rows are never held: a 200,000-row spec (50 combos x 4 x 5 draft
    keys, 2 essay templates, 5 x 2 evaluation keys, and a 10-level axis in
    the evaluation id) gives 1,000 drafts, 2,000 essays and 200,000
    evaluations with a peak below what holding its rows takes. What grows
    is the set of each stage's id digests, which proves no two records
    share an id (memory per distinct id, not per row)."""
    from cohort_dsl.bundle import load_bundle
    from cohort_dsl.cli import main
    from cohort_dsl.compiler import compile_bundle

    folder = tmp_path / "big"
    write_files(folder, {"config.yaml": f"""axes:
  combo_id: {_levels('combo-', 50)}
  draft_template: {_levels('dt-', 4)}
  draft_llm: {_levels('dl-', 5)}
  essay_template: {_levels('et-', 2)}
  essay_llm: [el]
  evaluation_template: {_levels('vt-', 5)}
  evaluation_llm: {_levels('vl-', 2)}
  shard: {_levels('s', 10)}
output:
  layout: {{name: two-phase, evaluation: {{id: [shard]}}}}
"""})
    sink = _Sink()
    monkeypatch.setattr(sys, "stdout", sink)
    tracemalloc.start()
    try:
        rc = main(["membership", str(folder), "--cohort-id", "big", "--wide"], engine=engine)
        _, streamed_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rc == 0
    assert sink.lines == 1 + 1_000 + 2_000 + 200_000

    compiled = compile_bundle(load_bundle(folder), engine)
    tracemalloc.start()
    try:
        rows = list(compiled.rows())
        _, rows_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rows) == 200_000
    del rows
    assert streamed_peak < 32 * 1024 * 1024, f"membership peaked at {streamed_peak / 1e6:.1f} MB"
    assert streamed_peak < rows_peak, (streamed_peak, rows_peak)


# -- the order of the axes, the manifest's summary ----------------------------------

_ORDERED_AXES = """  combo_id: [c1, c2, c3]
  draft_template: [dt-a, dt-b]
  draft_llm: [dl-a, dl-b]
  essay_template: [et-a, et-b]
  essay_llm: [el]
  evaluation_template: [vt-a, vt-b]
  evaluation_llm: [vl-a, vl-b, vl-c]
  evaluation_replicate: [1, 2]
"""


def _membership_of(folder, engine, config: str):
    from cohort_dsl.bundle import load_bundle
    from cohort_dsl.compiler import compile_bundle
    from cohort_dsl.membership import build_membership

    write_files(folder, {"config.yaml": config})
    return build_membership(compile_bundle(load_bundle(folder), engine), engine.registry, "c")


@pytest.mark.parametrize("axes", [_ORDERED_AXES, "".join(reversed(_ORDERED_AXES.splitlines(keepends=True)))],
                         ids=["draft-axes-first", "evaluation-axes-first"])
def test_each_id_is_hashed_once_whatever_the_axis_order(tmp_path, engine, monkeypatch, axes):
    """Declaring the evaluation axes before the draft axes changes the
    records' order, not their ids, and every id is still hashed once: a
    parent id is looked up, never recomputed."""
    import cohort_dsl.membership as membership_module

    hashed = []
    blake2b = membership_module.blake2b

    class Counting:
        def __init__(self, state):
            self.state = state

        def copy(self):
            return Counting(self.state.copy())

        def update(self, data):
            hashed.append(data)
            self.state.update(data)

        def digest(self):
            return self.state.digest()

    def counting(**kwargs):
        return Counting(blake2b(**kwargs))

    expected = list(_membership_of(tmp_path / "ordered", engine, "axes:\n" + _ORDERED_AXES).records())
    monkeypatch.setattr(membership_module, "blake2b", counting)
    records = list(_membership_of(tmp_path / "spec", engine, "axes:\n" + axes).records())
    assert sorted(records) == sorted(expected)
    assert len(hashed) == len(records) == 12 + 24 + 288


@pytest.mark.parametrize("config", [
    "axes:\n" + _ORDERED_AXES,
    "axes:\n" + _ORDERED_AXES + "  shard: [s1, s2]\noutput:\n  layout: {name: two-phase, essay: {id: [shard]}}\n",
    "axes:\n  topic: [a, b, c]\n  replicate: [1, 2, 3]\noutput:\n  layout: single-stage\n",
    "axes:\n" + _ORDERED_AXES + "rules:\n  pairs:\n    judges:\n      left: draft_llm\n      right: evaluation_llm\n"
    "      allowed: [[dl-a, vl-a], [dl-b, vl-b], [dl-b, vl-c]]\n",
], ids=["two-phase", "extra-id-axis", "single-stage", "coupled"])
def test_the_manifest_summary_is_what_the_records_count(tmp_path, engine, config):
    from cohort_dsl.materialize import _counted_summary

    membership = _membership_of(tmp_path, engine, config)
    assert membership.summary() == _counted_summary(membership)


def test_a_summary_is_refused_when_a_stage_keeps_one_llm_per_id(tmp_path, engine):
    """Essays that differ only in essay_llm (M002) are not the whole
    product of their factors: they must be counted."""
    membership = _membership_of(tmp_path, engine, "axes:\n" + _ORDERED_AXES.replace("essay_llm: [el]", "essay_llm: [x, y]"))
    assert "M002" in [d.code for d in membership.diagnostics]
    assert membership.summary() is None


@pytest.mark.parametrize("axes", [_ORDERED_AXES, "".join(reversed(_ORDERED_AXES.splitlines(keepends=True)))],
                         ids=["draft-axes-first", "evaluation-axes-first"])
def test_remembered_head_parts_and_merged_blocks_change_nothing(tmp_path, engine, monkeypatch, axes):
    """Own texts and parent ids remembered per head part, and a small last
    factor multiplied into a big one before it: the same records in the
    same order as without either (and with the memory bound reached)."""
    import cohort_dsl.membership as membership_module

    config = "axes:\n" + axes.replace("combo_id: [c1, c2, c3]", "combo_id: [" + ", ".join(f"c{i}" for i in range(300)) + "]")
    assert "c299" in config
    fast = list(_membership_of(tmp_path / "fast", engine, config).records())
    monkeypatch.setattr(membership_module, "_REMEMBERED", 0)
    blocked = membership_module._blocked
    monkeypatch.setattr(membership_module, "_blocked", lambda lists: blocked(lists, few=0))
    plain = list(_membership_of(tmp_path / "plain", engine, config).records())
    assert fast == plain and len(fast) == len(set(r.gen_id for r in fast))
