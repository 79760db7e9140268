"""cohort_membership, the <stage>_gens partitions and the sensor, against
real Dagster instances."""

from __future__ import annotations

import filecmp
import json
import shutil

import dagster as dg
import pytest
from conftest import ALPHA, materialize, partitions, set_spec, union_of_memberships, write_repo

from cohort_dsl.cli import main
from cohort_dsl_dagster import build_definitions

EXAMPLE_COHORTS = ["baseline-cartesian", "creative-alignment", "curated-essays", "dual-llm-tie", "paired-copy-mix",
                   "replicate-stability"]


def test_every_example_cohort_materializes_as_the_cli_does(examples_copy, tmp_path, instance, monkeypatch):
    # The reference: the same data repo materialized by `cohort-dsl materialize`.
    for cohort in EXAMPLE_COHORTS:  # the committed files are not used as the reference
        for name in ("membership.csv", "membership_wide.csv", "manifest.json"):
            (examples_copy / "cohorts" / cohort / name).unlink()
    reference = tmp_path / "reference"
    shutil.copytree(examples_copy.parent, reference)
    monkeypatch.chdir(reference)
    assert main(["materialize", "--all"]) == 0

    defs = build_definitions(examples_copy)
    assert sorted(defs.assets[0].partitions_def.get_partition_keys()) == EXAMPLE_COHORTS
    done = []
    for cohort in EXAMPLE_COHORTS:
        result = materialize(defs, cohort, instance)
        assert result.success
        done.append(cohort)
        assert partitions(instance) == union_of_memberships(examples_copy, done)
        for name in ("membership.csv", "membership_wide.csv", "manifest.json"):
            assert filecmp.cmp(examples_copy / "cohorts" / cohort / name,
                               reference / "data" / "cohorts" / cohort / name, shallow=False), (cohort, name)
        metadata = result.asset_materializations_for_node("cohort_membership")[0].metadata
        counts = metadata["counts"].value
        assert {f"{stage}_count": n for stage, n in counts.items()} == \
            {k: v.value for k, v in metadata.items() if k.endswith("_count")}
        assert sum(counts.values()) == sum(len(ids) for ids in union_of_memberships(examples_copy, [cohort]).values())
        assert metadata["membership_csv"].value == str(examples_copy / "cohorts" / cohort / "membership.csv")
        manifest = json.loads((examples_copy / "cohorts" / cohort / "manifest.json").read_text(encoding="utf-8"))
        assert metadata["spec_digest"].value == manifest["spec"]["digest"]  # the bytes compiled, as recorded
        assert metadata["catalog_digests"].value == manifest["catalogs"]
        assert len(metadata["catalog_digests"].value) == 5  # the five catalog files of pyproject.toml


def test_a_rerun_leaves_every_partition_list_unchanged(small_repo, instance):
    defs = build_definitions(small_repo)
    assert materialize(defs, "alpha", instance).success and materialize(defs, "beta", instance).success
    before = partitions(instance)
    assert before == union_of_memberships(small_repo, ["alpha", "beta"])
    assert materialize(defs, "beta", instance).success and materialize(defs, "alpha", instance).success
    assert partitions(instance) == before  # order included


def test_only_the_cohorts_ids_are_registered(small_repo, instance):
    defs = build_definitions(small_repo)
    assert materialize(defs, "beta", instance).success
    assert partitions(instance) == union_of_memberships(small_repo, ["beta"])
    assert len(partitions(instance)["draft_gens"]) == 2


def test_a_changed_spec_fails_without_force_and_applies_with_force(small_repo, instance):
    defs = build_definitions(small_repo)
    assert materialize(defs, "alpha", instance).success and materialize(defs, "beta", instance).success
    before = partitions(instance)
    membership = (small_repo / "cohorts" / "alpha" / "membership.csv").read_bytes()
    set_spec(small_repo, "alpha", ALPHA.replace("[c1, c2]", "[c2, c4]"))

    refused = materialize(defs, "alpha", instance)
    assert not refused.success
    failure = next(e for e in refused.all_events if e.event_type_value == "STEP_FAILURE")
    assert "force" in failure.event_specific_data.error.message
    logged = [e.message for e in instance.all_logs(refused.run_id) if e.level >= 40]  # logging.ERROR
    assert any("M003" in message and "config.yaml" in message for message in logged), logged
    assert (small_repo / "cohorts" / "alpha" / "membership.csv").read_bytes() == membership
    assert partitions(instance) == before

    assert materialize(defs, "alpha", instance, force=True).success
    after = partitions(instance)
    assert after == union_of_memberships(small_repo, ["beta", "alpha"]) and after != before
    # c1's ids were alpha's only: gone; c2's are still in both cohorts: kept, in place
    c1_draft, c2_draft = before["draft_gens"][:2]
    assert c1_draft not in after["draft_gens"] and after["draft_gens"][0] == c2_draft
    kept = [key for key in before["evaluation_gens"] if key in after["evaluation_gens"]]
    assert after["evaluation_gens"][:len(kept)] == kept  # survivors keep their order; new ids come after


def test_force_never_deletes_while_a_cohort_cannot_be_read(small_repo, instance):
    defs = build_definitions(small_repo)
    assert materialize(defs, "alpha", instance).success and materialize(defs, "beta", instance).success
    before = partitions(instance)
    (small_repo / "cohorts" / "beta" / "membership.csv").write_text("stage,gen_id\ndraft,x,extra\n")
    result = materialize(defs, "alpha", instance, force=True)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "beta" in failure.event_specific_data.error.message
    assert partitions(instance) == before


def test_a_lint_error_fails_the_run_with_its_diagnostics_in_the_log(small_repo, instance):
    defs = build_definitions(small_repo)
    set_spec(small_repo, "alpha", ALPHA + "bogus: 1\n")
    result = materialize(defs, "alpha", instance)
    assert not result.success
    logged = [e.message for e in instance.all_logs(result.run_id) if e.level >= 40]
    assert any("S002" in message for message in logged), logged
    assert not (small_repo / "cohorts" / "alpha" / "membership.csv").exists()
    assert partitions(instance) == {"draft_gens": [], "essay_gens": [], "evaluation_gens": []}


def test_force_is_validated_run_config(small_repo, instance):
    defs = build_definitions(small_repo)
    asset = defs.assets[0]
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.materialize([asset], partition_key="alpha", instance=instance,
                       run_config={"ops": {"cohort_membership": {"config": {"forse": True}}}})


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_chunk_size_is_validated(small_repo, bad):
    from cohort_dsl.diagnostics import UsageError

    with pytest.raises(UsageError, match="chunk_size"):
        build_definitions(small_repo, chunk_size=bad)


def test_a_folder_without_cohorts_is_refused(tmp_path):
    from cohort_dsl.diagnostics import UsageError

    with pytest.raises(UsageError, match="not a data root"):
        build_definitions(tmp_path)


def test_the_sensor_requests_exactly_the_changed_cohort(small_repo, instance):
    defs = build_definitions(small_repo)
    sensor = defs.sensors[0]

    def requested():
        data = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
        return [(r.partition_key, r.run_key) for r in data.run_requests]

    first = requested()  # nothing materialized yet: both cohorts
    assert [cohort for cohort, _ in first] == ["alpha", "beta"]
    assert requested() == first  # same digests, same run keys: the daemon never launches them twice
    assert materialize(defs, "alpha", instance).success and materialize(defs, "beta", instance).success
    assert requested() == []

    set_spec(small_repo, "beta", (small_repo / "cohorts" / "beta" / "spec" / "config.yaml").read_text() + "# edited\n")
    changed = requested()
    assert [cohort for cohort, _ in changed] == ["beta"]
    assert changed[0][1].startswith("beta:") and changed[0][1] != [k for c, k in first if c == "beta"][0]
    assert materialize(defs, "beta", instance).success  # same membership: no force needed
    assert requested() == []


def test_a_catalog_change_requests_every_cohort_checked_against_it(tmp_path, instance):
    data_root = write_repo(tmp_path / "repo", {"alpha": ALPHA, "beta": ALPHA.replace("[c1, c2]", "[c3]")})
    (data_root / "combos.csv").write_text("combo_id\nc1\nc2\nc3\n")
    (tmp_path / "repo" / "cohort-dsl.toml").write_text('data-root = "data"\n[catalogs]\ncombo_id = "combos.csv:combo_id"\n')
    defs = build_definitions(data_root)
    assert materialize(defs, "alpha", instance).success and materialize(defs, "beta", instance).success
    sensor = defs.sensors[0]
    context = dg.build_sensor_context(instance=instance, definitions=defs)
    assert sensor.evaluate_tick(context).run_requests == []
    (data_root / "combos.csv").write_text("combo_id\nc1\nc2\nc3\nc4\n")
    assert [r.partition_key for r in sensor.evaluate_tick(context).run_requests] == ["alpha", "beta"]


def test_an_id_that_is_not_a_partition_key_registers_nothing_of_its_stage(tmp_path, instance):
    from cohort_dsl.service import MembershipService
    from cohort_dsl_dagster.partitions import PartitionError, register

    cohort = tmp_path / "cohorts" / "old"
    cohort.mkdir(parents=True)
    (cohort / "membership.csv").write_text("stage,gen_id\ndraft,d_ok\ndraft,d_2024...2025\n")
    with pytest.raises(PartitionError, match=r"'d_2024\.\.\.2025'.*'\.\.\.'"):
        register(instance, MembershipService(tmp_path), "old", ["draft"], 10)
    assert instance.get_dynamic_partitions("draft_gens") == []
