"""Declarative layouts (docs/plugins.md, "Membership layouts"): a layout is
data — stages with their id components — and the core computes ids,
streams records and runs the checks for any layout. The built-in
``single-stage`` layout proves it: one stage whose id hashes every axis.
Ids here are derived by hand (BLAKE2b-80 of the components joined with
``|``, in base 36), not by the code under test."""

from __future__ import annotations

import csv
import json
from hashlib import blake2b

import pytest

from cohort_dsl import Layout, Stage, hookimpl

pytest_plugins = ["cohort_dsl.testing"]

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def hand_id(prefix: str, text: str) -> str:
    n = int.from_bytes(blake2b(text.encode("utf-8"), digest_size=10).digest(), "big")
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = DIGITS[r] + out
    return prefix + (out or "0")


SINGLE = "axes:\n  model: [a, B ]\n  temperature: ['0', '1']\noutput:\n  layout: single-stage\n"


def test_single_stage_ids_hash_every_axis_so_an_extra_axis_reaches_the_id(cohort_project):
    project = cohort_project({"spec/config.yaml": SINGLE})
    result = project.membership("spec")
    result.assert_success()
    # one record per row: the axis the two-phase layout would drop (M009) reaches the id
    assert [(r.gen_id, r.extras) for r in result.records] == [
        (hand_id("g_", "1|a|0"), ("a", "0")), (hand_id("g_", "1|a|1"), ("a", "1")),
        (hand_id("g_", "1|b|0"), ("B", "0")), (hand_id("g_", "1|b|1"), ("B", "1")),
    ]
    assert {(r.stage, r.parent_gen_id, r.template_id, r.llm_model_id, r.replicate) for r in result.records} == {
        ("generation", "", "", "", 1)}


def test_single_stage_reads_the_replicate_column(cohort_project):
    spec = "axes:\n  model: [a]\n  replicate: ['1', '2']\noutput:\n  layout: single-stage\n"
    records = cohort_project({"spec/config.yaml": spec}).membership("spec").records
    assert [(r.gen_id, r.replicate, r.extras) for r in records] == [
        (hand_id("g_", "1|a"), 1, ("a",)), (hand_id("g_", "2|a"), 2, ("a",))]


def test_the_same_extra_axis_under_two_phase_is_refused_not_collapsed(cohort_project):
    spec = ("axes:\n  combo_id: [c1]\n  draft_template: [d]\n  draft_llm: [m]\n  essay_template: [e]\n"
            "  essay_llm: [m]\n  evaluation_template: [v]\n  evaluation_llm: [j]\n  temperature: ['0', '1']\n")
    result = cohort_project({"spec/config.yaml": spec}).membership("spec")
    assert "M009" in result.codes


def test_single_stage_materializes_the_axes_as_wide_columns(cohort_project):
    project = cohort_project({"cohorts/c1/spec/config.yaml": SINGLE})
    assert project.run("materialize", "c1").exit_code == 0
    folder = project.path("cohorts/c1")
    with open(folder / "membership.csv", encoding="utf-8", newline="") as handle:
        slim = list(csv.reader(handle))
    assert slim[0] == ["stage", "gen_id"] and len(slim) == 5
    wide_file = next(p for p in folder.iterdir() if p.name != "membership.csv" and p.suffix == ".csv")
    with open(wide_file, encoding="utf-8", newline="") as handle:
        wide = list(csv.reader(handle))
    assert wide[0][-3:] == ["replicate", "model", "temperature"]
    assert wide[1][1] == hand_id("g_", "1|a|0") and wide[1][-2:] == ["a", "0"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["layout"] == "single-stage"
    assert manifest["stages"]["generation"]["count"] == 4 and manifest["stages"]["generation"]["templates"] == []
    # the membership command's wide output carries the same columns
    out = project.run("membership", "cohorts/c1/spec", "--cohort-id", "c1", "--wide").stdout.splitlines()
    assert out[0].endswith(",replicate,model,temperature") and out[1:] == [",".join(row) for row in wide[1:]]


class Sweep:
    """A plugin layout: a run stage whose id reads ``model`` and every
    other axis, and a score stage below it reading ``judge``."""

    LAYOUT = Layout("sweep", (
        Stage("run", "r_", columns=("model",), other_axes=True),
        Stage("score", "s_", llm=("judge",)),
    ), "runs, then scores")

    @hookimpl
    def cohort_dsl_membership_layouts(self):
        return [self.LAYOUT]


def test_a_plugin_layout_gets_ids_checks_and_parents_from_the_core(cohort_project):
    spec = "axes:\n  model: [a]\n  seed: ['7', '8']\n  judge: [j]\noutput:\n  layout: sweep\n"
    records = cohort_project({"spec/config.yaml": spec}, plugins=[Sweep()]).membership("spec").records
    runs = [hand_id("r_", "1|a|7"), hand_id("r_", "1|a|8")]
    assert [(r.stage, r.gen_id, r.parent_gen_id) for r in records] == [
        ("run", runs[0], ""), ("run", runs[1], ""),
        ("score", hand_id("s_", f"{runs[0]}|j|1"), runs[0]), ("score", hand_id("s_", f"{runs[1]}|j|1"), runs[1]),
    ]


def test_a_declared_column_the_spec_lacks_is_m001_naming_it(cohort_project):
    spec = "axes:\n  seed: ['7']\n  judge: [j]\noutput:\n  layout: sweep\n"
    result = cohort_project({"spec/config.yaml": spec}, plugins=[Sweep()]).membership("spec")
    assert result.codes == ["M001"] and "needs column model" in result.diagnostics[0].message


@pytest.mark.parametrize("spec, code", [
    ("axes:\n  model: ['a|b']\noutput:\n  layout: single-stage\n", "M010"),
    ("axes:\n  model: [a, A]\noutput:\n  layout: single-stage\n", "M002"),
    ("axes:\n  replicate: ['01']\noutput:\n  layout: single-stage\n", "M004"),
    ("axes:\n  model: [a]\noutput:\n  layout: {name: single-stage, generation: {id: [modle]}}\n", "M012"),
])
def test_the_core_checks_run_for_any_layout(cohort_project, spec, code):
    assert code in cohort_project({"spec/config.yaml": spec}).membership("spec").codes
