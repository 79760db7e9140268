"""`materialize --seed-metadata` against existing generations (docs/cohorts.md,
"3. Materialize", "Existing generations"): every existing metadata.json is
compared with the record that would be seeded before anything is written; a
different id-bearing field is M007 (an error: nothing is written, even with
--force), a different attribute is M008 (a warning: the file is kept)."""

from __future__ import annotations

import json
import re

import pytest

from cohort_dsl.cli import main
from cohort_dsl.materialize import MAX_REPORTED, METADATA_CONFLICT, METADATA_DIFFERS
from cohort_dsl.pluginmanager import build_engine
from gate_helpers import TWO_PHASE_CATALOG_CONFIG, full_spec, make_project, snapshot, spec_path, temp_files

M007, M008 = METADATA_CONFLICT.code, METADATA_DIFFERS.code

# Several templates, llms and replicates at every stage; the essay's llm is
# tied to the draft's (it is not part of the essay id).
REALISTIC = """axes:
  combo_id: [c1, c2]
  draft_template: [d1, d2]
  draft_llm: [m1, m2]
  draft_replicate: [1, 2]
  essay_template: [e1, e-copy]
  essay_llm: [m1, m2]
  essay_replicate: [1, 2]
  evaluation_template: [v1, v2]
  evaluation_llm: [j1, j2]
  evaluation_replicate: [1, 2]
rules:
  ties:
    same_writer: [draft_llm, essay_llm]
"""
# 2 combos x 2 templates x 2 llms x 2 replicates = 16 drafts; x 2 x 2 = 64
# essays; x 2 x 2 x 2 = 512 evaluations
REALISTIC_COUNT = 16 + 64 + 512

CATALOGS = {
    "1_raw/draft_templates.csv": "template_id,generator\nd1,llm\nd2,llm\nd3,llm\n",
    "1_raw/essay_templates.csv": "template_id,generator\ne1,llm\ne-copy,copy\n",
    "1_raw/evaluation_templates.csv": "template_id,generator\nv1,llm\nv2,llm\n",
    "1_raw/llms.csv": "id\nm1\nm2\nj1\nj2\n",
}
CATALOG_CONFIG = TWO_PHASE_CATALOG_CONFIG


class Run:
    def __init__(self, rc: int, out: str, err: str):
        self.rc, self.out, self.err = rc, out, err

    def lines(self, code: str) -> list[str]:
        return [line for line in self.err.splitlines() if re.search(rf": {code} ", line)]

    def __repr__(self) -> str:
        return f"Run(rc={self.rc}, out={self.out[:2000]!r}, err={self.err[:3000]!r})"


@pytest.fixture(scope="module")
def engine():
    return build_engine(entry_points=False)


@pytest.fixture
def cli(capsys, engine, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

    def run(*args) -> Run:
        capsys.readouterr()
        rc = main([str(a) for a in args], engine=engine)
        out, err = capsys.readouterr()
        assert "Traceback" not in err, err
        assert "internal error" not in err, err
        return Run(rc, out, err)

    return run


@pytest.fixture
def project(in_tmp_cwd):
    """Cohort ``alpha`` (one combo, two draft templates, one of everything
    else) and ``beta`` (alpha plus a third draft template)."""
    make_project(in_tmp_cwd, {"alpha": {"config.yaml": full_spec()},
                              "beta": {"config.yaml": full_spec("[d1, d2, d3]")}})
    return in_tmp_cwd


@pytest.fixture
def realistic(in_tmp_cwd):
    make_project(in_tmp_cwd, {"big": {"config.yaml": REALISTIC}}, CATALOGS, CATALOG_CONFIG)
    return in_tmp_cwd


def wide_records(root, cohort_id="alpha") -> list[dict]:
    text = (root / "data" / "cohorts" / cohort_id / "membership_wide.csv").read_text()
    header, *rows = text.splitlines()
    return [dict(zip(header.split(","), row.split(","))) for row in rows]


def metadata_path(root, stage: str, gen_id: str):
    return root / "data" / "gens" / stage / gen_id / "metadata.json"


def first(root, stage: str, cohort_id="alpha") -> dict:
    return next(r for r in wide_records(root, cohort_id) if r["stage"] == stage)


def edit_metadata(root, of_stage: str, /, **changes) -> tuple[dict, str]:
    """Change fields of the first ``of_stage`` generation's metadata.json;
    returns (its record, the file's path relative to the project)."""
    record = first(root, of_stage)
    path = metadata_path(root, of_stage, record["gen_id"])
    metadata = json.loads(path.read_text())
    metadata.update(changes)
    path.write_text(json.dumps(metadata, indent=2) + "\n")
    return record, path.relative_to(root).as_posix()


def seeded(cli, cohort_id="alpha") -> None:
    result = cli("materialize", cohort_id, "--seed-metadata")
    assert result.rc == 0, result
    assert result.err == "", result


class TestConflicts:
    @pytest.mark.parametrize("flags", [(), ("--force",)], ids=["plain", "force"])
    def test_a_changed_template_id_is_refused_and_nothing_changes(self, cli, project, flags):
        seeded(cli)
        record, shown = edit_metadata(project, "draft", template_id="draft-b")
        before = snapshot(project)

        result = cli("materialize", "alpha", "--seed-metadata", *flags)
        assert result.rc == 1, result
        (line,) = result.lines(M007)
        assert line.startswith(f"{shown}: {M007} ")  # located at the file
        assert f"template_id is 'draft-b' in gens/draft/{record['gen_id']}/metadata.json" in line
        assert f"the spec gives {record['template_id']!r}" in line
        assert "written" not in result.out
        assert snapshot(project) == before
        assert temp_files(project) == []

    def test_nothing_is_written_even_when_the_membership_would_change(self, cli, project):
        seeded(cli)
        _, shown = edit_metadata(project, "draft", template_id="draft-b")
        path = spec_path(project, "alpha")
        path.write_text(path.read_text().replace("[d1, d2]", "[d1, d2, d3]"))
        before = snapshot(project)
        result = cli("materialize", "alpha", "--seed-metadata", "--force")
        assert result.rc == 1, result
        assert result.lines(M007) and result.lines(M007)[0].startswith(shown)
        assert snapshot(project) == before  # no membership file, no new seed

    def test_a_new_cohort_is_not_created_when_a_shared_generation_conflicts(self, cli, project):
        seeded(cli)
        edit_metadata(project, "essay", template_id="e-other")
        before = snapshot(project)
        result = cli("materialize", "beta", "--seed-metadata")
        assert result.rc == 1, result
        assert len(result.lines(M007)) == 1
        assert snapshot(project) == before
        assert not (project / "data" / "cohorts" / "beta" / "membership.csv").exists()

    @pytest.mark.parametrize("stage, field, value", [
        ("draft", "stage", "essay"),
        ("draft", "gen_id", "d_other"),
        ("draft", "combo_id", "c9"),
        ("draft", "llm_model_id", "m9"),
        ("draft", "replicate", 2),
        ("essay", "parent_gen_id", "d_other"),
        ("essay", "template_id", "e9"),
        ("essay", "replicate", 3),
        ("evaluation", "parent_gen_id", "e_other"),
        ("evaluation", "llm_model_id", "j9"),
        ("evaluation", "replicate", 2),
        # values are compared as the file has them
        ("draft", "replicate", "1"),
        ("draft", "replicate", 1.0),
        ("draft", "replicate", True),
        ("draft", "template_id", None),
        ("draft", "template_id", "D1"),
    ])
    def test_every_id_bearing_field_is_an_error(self, cli, project, stage, field, value):
        seeded(cli)
        record, shown = edit_metadata(project, stage, **{field: value})
        before = snapshot(project)
        result = cli("materialize", "alpha", "--seed-metadata")
        assert result.rc == 1, result
        (line,) = result.lines(M007)
        assert line.startswith(f"{shown}: {M007} {field} is {value!r} in ")
        assert snapshot(project) == before

    def test_all_conflicts_are_reported_at_once(self, cli, project):
        seeded(cli)
        edit_metadata(project, "draft", template_id="x", combo_id="y", mode="z")
        edit_metadata(project, "evaluation", llm_model_id="j9")
        result = cli("materialize", "alpha", "--seed-metadata")
        assert result.rc == 1, result
        assert len(result.lines(M007)) == 3
        assert len(result.lines(M008)) == 1  # the warnings are shown too


class TestAttributes:
    def test_a_changed_mode_is_a_warning_and_the_file_is_kept(self, cli, project):
        seeded(cli)
        record, shown = edit_metadata(project, "draft", mode="hand-written")
        before = snapshot(project)
        result = cli("materialize", "alpha", "--seed-metadata")
        assert result.rc == 0, result
        (line,) = result.lines(M008)
        assert line.startswith(f"{shown}: {M008} warning: mode is 'hand-written' in gens/draft/{record['gen_id']}/")
        assert "the spec gives 'llm'" in line
        assert not result.lines(M007)
        assert "0 written, 6 already present" in result.out
        assert snapshot(project) == before

    def test_the_essays_llm_is_an_attribute(self, cli, project):
        seeded(cli)
        _, shown = edit_metadata(project, "essay", llm_model_id="m9")
        result = cli("materialize", "alpha", "--seed-metadata")
        assert result.rc == 0, result
        (line,) = result.lines(M008)
        assert line.startswith(f"{shown}: {M008} warning: llm_model_id is 'm9' in ")

    def test_keys_the_file_adds_or_lacks_are_warnings(self, cli, project):
        seeded(cli)
        record = first(project, "draft")
        path = metadata_path(project, "draft", record["gen_id"])
        metadata = json.loads(path.read_text())
        del metadata["replicate"]
        metadata["notes"] = "rerun by hand"
        path.write_text(json.dumps(metadata))
        before = snapshot(project)
        result = cli("materialize", "alpha", "--seed-metadata")
        assert result.rc == 0, result
        lines = result.lines(M008)
        assert len(lines) == 2, result
        assert any("has no replicate (the spec gives 1)" in line for line in lines)
        assert any("keys materialize does not write: 'notes'" in line for line in lines)
        assert snapshot(project) == before

    def test_a_shared_generation_keeps_its_origin(self, cli, project):
        seeded(cli, "alpha")
        alpha = {r["gen_id"] for r in wide_records(project, "alpha")}
        result = cli("materialize", "beta", "--seed-metadata")
        assert result.rc == 0, result
        assert not result.lines(M007)
        assert "3 written, 6 already present" in result.out
        origins = {}
        for record in wide_records(project, "beta"):
            metadata = json.loads(metadata_path(project, record["stage"], record["gen_id"]).read_text())
            origins[record["gen_id"]] = metadata["origin_cohort_id"]
        assert {g: o for g, o in origins.items() if g in alpha} == {g: "alpha" for g in alpha}
        assert {o for g, o in origins.items() if g not in alpha} == {"beta"}
        # the shared ones are reported as kept with another origin, nothing else
        lines = result.lines(M008)
        assert len(lines) == len(alpha)
        assert all("origin_cohort_id is 'alpha' in " in line and "the spec gives 'beta'" in line for line in lines)

    def test_many_differences_are_counted_not_listed(self, cli, realistic):
        seeded(cli, "big")
        for path in (realistic / "data" / "gens").glob("evaluation/*/metadata.json"):
            metadata = json.loads(path.read_text())
            metadata["mode"] = "manual"
            path.write_text(json.dumps(metadata))
        result = cli("materialize", "big", "--seed-metadata")
        assert result.rc == 0, result
        lines = result.lines(M008)
        assert len(lines) == MAX_REPORTED + 1
        assert f"{512 - MAX_REPORTED} more metadata differences" in result.err


class TestMalformed:
    @pytest.mark.parametrize("content, where, what", [
        (b"{nope", ":1:2", "is not valid JSON"),
        (b"", ":1:1", "is not valid JSON"),
        (b'{"stage": "draft",}', ":1:19", "is not valid JSON"),
        (b"\xff\xfe{}", "", "is not UTF-8"),
        (b"[1, 2]\n", "", "holds an array, not a JSON object"),
        (b'"draft"\n', "", "holds a string, not a JSON object"),
        (b"null\n", "", "holds null, not a JSON object"),
    ], ids=["syntax", "empty", "trailing-comma", "binary", "array", "string", "null"])
    def test_a_file_that_is_not_a_json_object_is_an_error_at_the_file(self, cli, project, content, where, what):
        seeded(cli)
        record = first(project, "evaluation")
        path = metadata_path(project, "evaluation", record["gen_id"])
        path.write_bytes(content)
        before = snapshot(project)
        result = cli("materialize", "alpha", "--seed-metadata", "--force")
        assert result.rc == 1, result
        (line,) = result.lines(M007)
        shown = path.relative_to(project).as_posix()
        assert line.startswith(f"{shown}{where}: {M007} gens/evaluation/{record['gen_id']}/metadata.json {what}"), line
        assert snapshot(project) == before

    def test_a_folder_in_place_of_the_file_is_an_error(self, cli, project):
        seeded(cli)
        record = first(project, "draft")
        path = metadata_path(project, "draft", record["gen_id"])
        path.unlink()
        path.mkdir()
        result = cli("materialize", "alpha", "--seed-metadata")
        assert result.rc == 1, result
        (line,) = result.lines(M007)
        assert "not a regular file" in line

    def test_without_seed_metadata_nothing_is_compared(self, cli, project):
        seeded(cli)
        edit_metadata(project, "draft", template_id="draft-b")
        result = cli("materialize", "alpha")
        assert result.rc == 0, result
        assert result.err == ""


class TestRoundTrip:
    def test_seed_then_rerun_keeps_everything_silently(self, cli, realistic):
        result = cli("materialize", "big", "--seed-metadata")
        assert result.rc == 0, result
        assert result.err == ""
        assert f"{REALISTIC_COUNT:,} written, 0 already present" in result.out
        modes = {json.loads(p.read_text())["mode"] for p in (realistic / "data" / "gens").glob("essay/*/metadata.json")}
        assert modes == {"llm", "copy"}
        first_run = snapshot(realistic)

        result = cli("materialize", "big", "--seed-metadata")
        assert result.rc == 0, result
        assert result.err == ""  # no diagnostics
        assert f"0 written, {REALISTIC_COUNT:,} already present (kept)" in result.out
        assert snapshot(realistic) == first_run
        result = cli("materialize", "big", "--seed-metadata", "--force")
        assert result.rc == 0 and result.err == "", result
        assert snapshot(realistic) == first_run

    def test_suffixed_folders_of_the_original_pipeline_are_left_alone(self, cli, project):
        seeded(cli)
        record = first(project, "draft")
        suffixed = metadata_path(project, "draft", record["gen_id"] + "-1")
        suffixed.parent.mkdir(parents=True)
        suffixed.write_text("not json, and not this spec's generation\n")
        before = snapshot(project)
        result = cli("materialize", "alpha", "--seed-metadata")
        assert result.rc == 0, result
        assert result.err == ""
        assert snapshot(project) == before
