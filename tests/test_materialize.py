"""`cohort-dsl materialize` (docs/cohorts.md, "3. Materialize"; issue 3): the
membership files, the manifest, metadata seeds, atomic and reproducible
writes, and the refusal to change a cohort that already ran."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil

import pytest

from gate_helpers import TWO_PHASE_CATALOG_CONFIG, REPO_DIR, cli, engine, make_project, snapshot, spec_path, temp_files  # noqa: F401
from cohort_dsl import __version__
from cohort_dsl.diagnostics import SpecError

WIDE = "stage,gen_id,origin_cohort_id,parent_gen_id,combo_id,template_id,llm_model_id,replicate"

ALPHA = """# alpha: 2 combos x 2 draft templates; 2 essay templates; 2 judges x 2 replicates
axes:
  combo_id: [c1, c2]
  draft_template: [d1, d2]
  draft_llm: [m1]
  essay_template: [e1, e-copy]
  essay_llm: [m1]
  evaluation_template: [v1]
  evaluation_llm: [j1, j2]
  evaluation_replicate: [1, 2]
"""
CATALOGS = {
    "1_raw/draft_templates.csv": "template_id,generator\nd1,llm\nd2,llm\nd3,llm\n",
    "1_raw/essay_templates.csv": "template_id,generator\ne1,llm\ne-copy, Copy \n",
    # no generator column: the mode defaults to llm
    "1_raw/evaluation_templates.csv": "template_id,description\nv1,a rubric\n",
    "1_raw/llms.csv": "id\nm1\nj1\nj2\nj3\n",
}
CATALOG_CONFIG = TWO_PHASE_CATALOG_CONFIG


@pytest.fixture
def project(in_tmp_cwd):
    make_project(in_tmp_cwd, {"alpha": {"config.yaml": ALPHA}, "beta": {"config.yaml": ALPHA.replace("[c1, c2]", "[c2]")}},
                 CATALOGS, CATALOG_CONFIG)
    return in_tmp_cwd


def cohort_dir(root, cohort_id="alpha"):
    return root / "data" / "cohorts" / cohort_id


def edit_spec(root, old: str, new: str, cohort_id="alpha") -> None:
    path = spec_path(root, cohort_id)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def outputs(root, cohort_id="alpha") -> dict[str, bytes]:
    folder = cohort_dir(root, cohort_id)
    return {name: (folder / name).read_bytes() for name in ("membership.csv", "membership_wide.csv", "manifest.json")}


def mtimes(folder) -> dict:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


class TestFiles:
    def test_writes_the_three_files(self, cli, project):
        result = cli("materialize", "alpha")
        assert result.rc == 0, result
        files = outputs(project)
        slim = files["membership.csv"].decode()
        assert slim.startswith("stage,gen_id\n")
        assert all(len(line.split(",")) == 2 for line in slim.splitlines())
        assert files["membership_wide.csv"].decode().startswith(WIDE + "\n")
        assert "4 drafts" in result.out and "8 essays" in result.out and "32 evaluations" in result.out

    def test_files_equal_the_membership_command(self, cli, project):
        assert cli("materialize", "alpha").rc == 0
        spec = project / "data" / "cohorts" / "alpha" / "spec"
        slim = cli("membership", spec, "--cohort-id", "alpha").out
        wide = cli("membership", spec, "--cohort-id", "alpha", "--wide").out
        files = outputs(project)
        assert files["membership.csv"].decode() == slim
        assert files["membership_wide.csv"].decode() == wide

    def test_manifest_is_a_derived_view(self, cli, project):
        assert cli("materialize", "alpha").rc == 0
        files = outputs(project)
        manifest = json.loads(files["manifest.json"])
        assert manifest["cohort_id"] == "alpha"
        assert manifest["combos"] == ["c1", "c2"]
        stages = manifest["stages"]
        assert list(stages) == ["draft", "essay", "evaluation"]
        assert stages["draft"]["templates"] == ["d1", "d2"]
        assert stages["draft"]["llms"] == ["m1"]
        assert stages["essay"]["templates"] == ["e-copy", "e1"]
        assert stages["essay"]["llms"] == ["m1"]
        assert stages["evaluation"]["templates"] == ["v1"]
        assert stages["evaluation"]["llms"] == ["j1", "j2"]
        assert stages["draft"]["replicates"] == {"1": 4}
        assert stages["essay"]["replicates"] == {"1": 8}
        assert stages["evaluation"]["replicates"] == {"1": 16, "2": 16}
        assert [stages[s]["count"] for s in ("draft", "essay", "evaluation")] == [4, 8, 32]
        # the membership it describes, by hash
        assert manifest["membership"]["sha256"] == hashlib.sha256(files["membership.csv"]).hexdigest()
        assert manifest["membership"]["rows"] == 44
        assert re.fullmatch(r"[0-9a-f]{32}", manifest["spec"]["digest"])
        assert list(manifest["spec"]["files"]) == ["config.yaml"]
        # the catalogs it was checked against, by their path from the data root
        assert sorted(manifest["catalogs"]) == sorted(CATALOGS)
        assert manifest["tool"]["version"] == __version__

    def test_manifest_records_the_bytes_compiled(self, cli, project):
        assert cli("materialize", "alpha").rc == 0
        before = json.loads(outputs(project)["manifest.json"])
        membership = outputs(project)["membership.csv"]
        # a comment changes the bundle but not the membership: no refusal
        edit_spec(project, "# alpha:", "# alpha (reviewed):")
        result = cli("materialize", "alpha")
        assert result.rc == 0, result
        after = json.loads(outputs(project)["manifest.json"])
        assert after["spec"]["digest"] != before["spec"]["digest"]
        assert outputs(project)["membership.csv"] == membership
        # a file the spec does not read is not part of what it was computed from
        (spec_path(project, "alpha").parent / "notes.txt").write_text("x\n")
        assert cli("materialize", "alpha").rc == 0
        assert json.loads(outputs(project)["manifest.json"])["spec"] == after["spec"]
        # an include it reads is
        (spec_path(project, "alpha").parent / "judges.txt").write_text("j1\nj2\n")
        edit_spec(project, "evaluation_llm: [j1, j2]", "evaluation_llm: '@file:judges.txt'")
        assert cli("materialize", "alpha").rc == 0
        spec = json.loads(outputs(project)["manifest.json"])["spec"]
        assert sorted(spec["files"]) == ["config.yaml", "judges.txt"]
        assert outputs(project)["membership.csv"] == membership

    def test_an_input_edited_during_the_run_is_refused(self, project, monkeypatch):
        """The spec is read by the check and again by the compile: an edit
        in between would record (and write) a membership of neither version."""
        from cohort_dsl.project import Project

        project_ = Project.load(start=project)
        real_compile = Project.compile

        def compile_after_an_edit(self, spec):
            edit_spec(project, "# alpha:", "# alpha (edited meanwhile):")
            return real_compile(self, spec)

        monkeypatch.setattr(Project, "compile", compile_after_an_edit)
        with pytest.raises(SpecError) as caught:
            project_.materialize("alpha")
        assert [d.code for d in caught.value.diagnostics] == ["M014"]
        assert caught.value.diagnostics[0].location.path.endswith("config.yaml")
        assert not cohort_dir(project).joinpath("membership.csv").exists()

    def test_twice_gives_byte_identical_files(self, cli, project):
        assert cli("materialize", "alpha", "--seed-metadata").rc == 0
        first = snapshot(project / "data")
        result = cli("materialize", "alpha", "--seed-metadata")
        assert result.rc == 0, result
        assert snapshot(project / "data") == first
        assert "unchanged" in result.out

    def test_another_checkout_gives_byte_identical_files(self, cli, project, tmp_path_factory, monkeypatch):
        assert cli("materialize", "alpha").rc == 0
        other = tmp_path_factory.mktemp("other")
        make_project(other, {"alpha": {"config.yaml": ALPHA}}, CATALOGS, CATALOG_CONFIG)
        monkeypatch.chdir(other)
        assert cli("materialize", "alpha").rc == 0
        assert outputs(other) == outputs(project)

    def test_data_root_flag(self, cli, project, tmp_path_factory, monkeypatch):
        monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
        result = cli("materialize", "alpha", "--data-root", project / "data")
        assert result.rc == 0, result
        assert (cohort_dir(project) / "membership.csv").is_file()

    def test_no_temporary_files_are_left(self, cli, project):
        assert cli("materialize", "alpha", "--seed-metadata").rc == 0
        assert temp_files(project) == []

    def test_temporary_files_of_a_killed_run_are_cleared(self, cli, project):
        folder = cohort_dir(project)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".cohort-dsl-tmp-membership.csv.abc123").write_text("stage,gen_id\ndraft,d_half")
        assert cli("materialize", "alpha").rc == 0
        assert temp_files(project) == []


class TestRefusal:
    def test_a_changed_spec_is_refused_with_a_summary(self, cli, project):
        assert cli("materialize", "alpha", "--seed-metadata").rc == 0
        before = snapshot(project / "data" / "cohorts" / "alpha")
        gens_before = snapshot(project / "data" / "gens")
        times = mtimes(project / "data")
        old_ids = [line.split(",")[1] for line in outputs(project)["membership.csv"].decode().splitlines()[1:]]
        edit_spec(project, "evaluation_llm: [j1, j2]", "evaluation_llm: [j1, j2, j3]")
        spec = project / "data" / "cohorts" / "alpha" / "spec"
        new_ids = [line.split(",")[1] for line in cli("membership", spec, "--cohort-id", "alpha").out.splitlines()[1:]]
        added = [g for g in new_ids if g not in set(old_ids)]
        assert len(added) == 16  # 8 essays x j3 x 2 replicates

        result = cli("materialize", "alpha", "--seed-metadata")
        assert result.rc == 1
        assert "M003" in result.err
        assert "16 records would be added (16 evaluations: evaluation_llm 'j3' is new" in result.err
        assert "removed" not in result.err.split("hint")[0]
        assert any(example in result.err for example in added)
        # every file is untouched (the spec edit aside)
        after = snapshot(project / "data" / "cohorts" / "alpha")
        assert {k: v for k, v in after.items() if not k.startswith("spec/")} == \
            {k: v for k, v in before.items() if not k.startswith("spec/")}
        assert snapshot(project / "data" / "gens") == gens_before
        assert {p: t for p, t in mtimes(project / "data").items() if "spec" not in p.parts} == \
            {p: t for p, t in times.items() if "spec" not in p.parts}
        assert temp_files(project) == []

    def test_summary_counts_added_and_removed_with_examples(self, cli, project):
        assert cli("materialize", "alpha").rc == 0
        old = outputs(project)["membership.csv"].decode().splitlines()[1:]
        edit_spec(project, "draft_template: [d1, d2]", "draft_template: [d1, d3]")
        result = cli("materialize", "alpha")
        assert result.rc == 1
        # d2 drafts (2), their essays (4) and evaluations (16) go; as many come with d3
        assert "22 records would be added (2 drafts, 4 essays, 16 evaluations: draft_template 'd3' is new" in result.err
        assert "22 would be removed (2 drafts, 4 essays, 16 evaluations: draft_template 'd2' is gone" in result.err
        removed_examples = re.findall(r"is gone, e\.g\. ([a-z]_[0-9a-z]+)", result.err)
        assert len(removed_examples) == 1
        old_ids = {line.split(",")[1] for line in old}
        assert all(example in old_ids for example in removed_examples)
        assert outputs(project)["membership.csv"].decode().splitlines()[1:] == old

    def test_force_replaces(self, cli, project):
        assert cli("materialize", "alpha").rc == 0
        edit_spec(project, "draft_template: [d1, d2]", "draft_template: [d1, d3]")
        result = cli("materialize", "alpha", "--force")
        assert result.rc == 0, result
        spec = project / "data" / "cohorts" / "alpha" / "spec"
        assert outputs(project)["membership.csv"].decode() == cli("membership", spec, "--cohort-id", "alpha").out
        manifest = json.loads(outputs(project)["manifest.json"])
        assert manifest["stages"]["draft"]["templates"] == ["d1", "d3"]
        assert manifest["membership"]["sha256"] == hashlib.sha256(outputs(project)["membership.csv"]).hexdigest()
        assert temp_files(project) == []

    def test_unchanged_membership_after_an_equivalent_edit_is_not_refused(self, cli, project):
        assert cli("materialize", "alpha").rc == 0
        before = outputs(project)["membership.csv"]
        # the same rows written differently (a subset that keeps everything)
        edit_spec(project, "  evaluation_replicate: [1, 2]\n",
                  "  evaluation_replicate: [1, 2]\nrules:\n  subsets:\n    draft_template: [d1, d2]\n")
        result = cli("materialize", "alpha")
        assert result.rc == 0, result
        assert outputs(project)["membership.csv"] == before


class TestSeedMetadata:
    def test_seeds_every_generation(self, cli, project):
        result = cli("materialize", "alpha", "--seed-metadata")
        assert result.rc == 0, result
        wide = list(csv.DictReader(io.StringIO(outputs(project)["membership_wide.csv"].decode())))
        gens = project / "data" / "gens"
        for record in wide:
            path = gens / record["stage"] / record["gen_id"] / "metadata.json"
            metadata = json.loads(path.read_text())
            assert metadata["stage"] == record["stage"]
            assert metadata["gen_id"] == record["gen_id"]
            assert metadata["origin_cohort_id"] == "alpha"
            assert metadata["template_id"] == record["template_id"]
            assert metadata["llm_model_id"] == record["llm_model_id"]
            assert metadata["replicate"] == int(record["replicate"])
            if record["stage"] == "draft":
                assert metadata["combo_id"] == record["combo_id"]
                assert "parent_gen_id" not in metadata
            else:
                assert metadata["parent_gen_id"] == record["parent_gen_id"]
        assert len(list(gens.glob("*/*/metadata.json"))) == len(wide) == 44

    def test_mode_comes_from_the_catalog_generator_column(self, cli, project):
        assert cli("materialize", "alpha", "--seed-metadata").rc == 0
        modes = {}
        for path in (project / "data" / "gens").glob("*/*/metadata.json"):
            metadata = json.loads(path.read_text())
            modes.setdefault((metadata["stage"], metadata["template_id"]), set()).add(metadata["mode"])
        assert modes == {
            ("draft", "d1"): {"llm"}, ("draft", "d2"): {"llm"},
            ("essay", "e1"): {"llm"},
            ("essay", "e-copy"): {"copy"},  # written " Copy " in the catalog
            ("evaluation", "v1"): {"llm"},  # the catalog has no generator column
        }

    def test_mode_defaults_to_llm_without_catalogs(self, cli, project):
        (project / "cohort-dsl.toml").write_text('data-root = "data"\n')
        assert cli("materialize", "alpha", "--seed-metadata").rc == 0
        modes = {json.loads(p.read_text())["mode"] for p in (project / "data" / "gens").glob("*/*/metadata.json")}
        assert modes == {"llm"}

    def test_never_overwrites(self, cli, project):
        assert cli("materialize", "alpha").rc == 0
        first = outputs(project)["membership.csv"].decode().splitlines()[1].split(",")[1]
        mine = project / "data" / "gens" / "draft" / first / "metadata.json"
        mine.parent.mkdir(parents=True)
        mine.write_text('{"mode": "hand-written", "stage": "draft"}\n')
        result = cli("materialize", "alpha", "--seed-metadata")
        assert result.rc == 0, result
        assert mine.read_text() == '{"mode": "hand-written", "stage": "draft"}\n'
        assert "43 written" in result.out and "1 already present" in result.out
        seeded = snapshot(project / "data" / "gens")
        result = cli("materialize", "alpha", "--seed-metadata")
        assert "0 written" in result.out and "44 already present" in result.out
        assert snapshot(project / "data" / "gens") == seeded

    def test_shared_generations_are_seeded_once(self, cli, project):
        assert cli("materialize", "alpha", "--seed-metadata").rc == 0
        seeded = snapshot(project / "data" / "gens")
        # beta's generations are all alpha's (combo c2 only): nothing new, nothing rewritten
        result = cli("materialize", "beta", "--seed-metadata")
        assert result.rc == 0, result
        assert "0 written" in result.out
        assert snapshot(project / "data" / "gens") == seeded
        origins = {json.loads(p.read_text())["origin_cohort_id"] for p in (project / "data" / "gens").glob("*/*/metadata.json")}
        assert origins == {"alpha"}


class TestCohortIds:
    def test_unknown_cohort_is_a_usage_error_with_did_you_mean(self, cli, project):
        result = cli("materialize", "alpah")
        assert result.rc == 2
        assert "did you mean 'alpha'" in result.err
        assert not (project / "data" / "cohorts" / "alpah").exists()

    def test_unknown_cohort_lists_the_cohorts(self, cli, project):
        result = cli("materialize", "zzz")
        assert result.rc == 2
        assert "alpha" in result.err and "beta" in result.err

    @pytest.mark.parametrize("bad", ["../alpha", "a/b", ".."])
    def test_paths_are_not_cohort_ids(self, cli, project, bad):
        result = cli("materialize", bad)
        assert result.rc == 2
        assert "cohort id" in result.err

    def test_a_cohort_id_or_all_is_required(self, cli, project):
        result = cli("materialize")
        assert result.rc == 2
        assert "--all" in result.err

    def test_a_bad_spec_is_exit_1_and_writes_nothing(self, cli, project):
        spec_path(project, "alpha").write_text("axes:\n  combo_id: [c1\n")
        result = cli("materialize", "alpha")
        assert result.rc == 1
        assert "Y001" in result.err
        assert not (cohort_dir(project) / "membership.csv").exists()
        assert temp_files(project) == []


class TestAll:
    def test_all_materializes_every_cohort(self, cli, project):
        result = cli("materialize", "--all")
        assert result.rc == 0, result
        for cohort in ("alpha", "beta"):
            assert (cohort_dir(project, cohort) / "membership.csv").is_file()
        # beta is alpha restricted to c2: its ids are a subset of alpha's
        alpha = set(outputs(project, "alpha")["membership.csv"].decode().splitlines()[1:])
        beta = set(outputs(project, "beta")["membership.csv"].decode().splitlines()[1:])
        assert beta < alpha

    def test_all_reports_the_refused_cohort_and_does_the_others(self, cli, project):
        assert cli("materialize", "--all").rc == 0
        edit_spec(project, "draft_template: [d1, d2]", "draft_template: [d1]", cohort_id="beta")
        edit_spec(project, "# alpha:", "# alpha, edited:", cohort_id="alpha")
        beta_before = outputs(project, "beta")
        result = cli("materialize", "--all")
        assert result.rc == 1
        assert "M003" in result.err
        assert "beta" in result.err.splitlines()[-1]
        assert outputs(project, "beta") == beta_before

    def test_examples_are_current(self, cli, tmp_path, monkeypatch):
        """The examples' committed membership files are what materialize
        writes today (the same spec and catalogs, byte for byte)."""
        examples = REPO_DIR / "examples"
        shutil.copytree(examples / "data", tmp_path / "data")
        shutil.copy(examples / "pyproject.toml", tmp_path / "pyproject.toml")
        monkeypatch.chdir(tmp_path)
        committed = {p: p.read_bytes() for p in (tmp_path / "data" / "cohorts").glob("*/membership*.csv")}
        assert len(committed) == 2 * len(list((tmp_path / "data" / "cohorts").glob("*/spec/config.yaml")))
        result = cli("materialize", "--all")
        assert result.rc == 0, result
        assert "written" not in result.out.replace("(unchanged)", "")
        assert {p: p.read_bytes() for p in committed} == committed


def test_a_membership_changed_after_the_check_is_still_refused(project, monkeypatch):
    """Another run may publish between the check and this run's write: the
    write itself compares again and refuses (M003, worded as lint words it)."""
    from cohort_dsl.project import Project

    project_ = Project.load(start=project)
    project_.materialize("alpha")
    before = outputs(project)
    edit_spec(project, "evaluation_llm: [j1, j2]", "evaluation_llm: [j1]")
    monkeypatch.setattr(Project, "_checked_for_writing", lambda self, *a, **k: [])  # the check saw the old one
    with pytest.raises(SpecError) as caught:
        project_.materialize("alpha")
    (refusal,) = caught.value.diagnostics
    assert refusal.code == "M003" and "nothing was written" in refusal.message
    assert "'j2'" in refusal.message  # values, not only ids
    assert outputs(project) == before


def test_project_inputs_are_what_the_manifest_records(project):
    """What a materialize would be computed from now equals what the last
    one recorded until a file it reads changes (the Dagster sensor compares them)."""
    from cohort_dsl.project import Project

    project_ = Project.load(start=project)
    outcome = project_.materialize("alpha")
    manifest = json.loads(outputs(project)["manifest.json"])
    assert project_.inputs("alpha") == outcome.inputs == {"spec": manifest["spec"], "catalogs": manifest["catalogs"]}
    edit_spec(project, "# alpha:", "# alpha (reviewed):")
    assert project_.inputs("alpha")["spec"] != manifest["spec"]
    assert project_.inputs("alpha")["catalogs"] == manifest["catalogs"]
