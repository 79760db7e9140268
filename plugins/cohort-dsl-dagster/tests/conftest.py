"""Fixtures: data repos in temporary folders, Dagster instances (ephemeral,
and SQLite-backed in a temporary DAGSTER_HOME), and a runner for the
cohort_membership asset."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

# The testing kit that ships with cohort-dsl: the `cohort_project` fixture.
pytest_plugins = ["cohort_dsl.testing"]

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"

# Two small cohorts: beta shares combo c2 (the c2 draft, its essays and
# evaluations) with alpha.
ALPHA = """axes:
  combo_id: [c1, c2]
  draft_template: [d1]
  draft_llm: [m1]
  essay_template: [e1, e2]
  essay_llm: [m1]
  evaluation_template: [v1]
  evaluation_llm: [j1, j2]
"""
BETA = ALPHA.replace("[c1, c2]", "[c2, c3]")


def write_repo(root: Path, specs: dict[str, str]) -> Path:
    """A data repo without catalogs: ``root/cohort-dsl.toml`` and one spec
    bundle per cohort under ``root/data/cohorts``; returns the data root."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "cohort-dsl.toml").write_text('data-root = "data"\n', encoding="utf-8")
    for cohort, text in specs.items():
        spec = root / "data" / "cohorts" / cohort / "spec"
        spec.mkdir(parents=True)
        (spec / "config.yaml").write_text(text, encoding="utf-8")
    return root / "data"


def set_spec(data_root: Path, cohort: str, text: str) -> None:
    (data_root / "cohorts" / cohort / "spec" / "config.yaml").write_text(text, encoding="utf-8")


@pytest.fixture
def examples_copy(tmp_path) -> Path:
    """A copy of the examples data repo; returns its data root."""
    shutil.copy(EXAMPLES / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture
def small_repo(tmp_path) -> Path:
    return write_repo(tmp_path / "repo", {"alpha": ALPHA, "beta": BETA})


@pytest.fixture
def instance():
    """An ephemeral instance (in-memory storage)."""
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


@pytest.fixture
def sqlite_instance(tmp_path, monkeypatch):
    """A SQLite-backed instance in a temporary DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("", encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as sqlite:
        yield sqlite


def materialize(defs: dg.Definitions, cohort: str, instance, *, force: bool = False):
    """Run cohort_membership for one partition, as the CLI/UI would."""
    asset = next(a for a in defs.assets if a.key == dg.AssetKey("cohort_membership"))
    run_config = {"ops": {"cohort_membership": {"config": {"force": True}}}} if force else None
    return dg.materialize([asset], partition_key=cohort, instance=instance, run_config=run_config,
                          raise_on_error=False)


def partitions(instance) -> dict[str, list[str]]:
    return {name: list(instance.get_dynamic_partitions(name)) for name in ("draft_gens", "essay_gens", "evaluation_gens")}


def union_of_memberships(data_root: Path, cohorts: list[str]) -> dict[str, list[str]]:
    """Each stage's ids over the cohorts' membership.csv files, first seen
    first (read with the csv module, not the service under test)."""
    import csv

    out: dict[str, dict[str, None]] = {"draft_gens": {}, "essay_gens": {}, "evaluation_gens": {}}
    for cohort in cohorts:
        with open(data_root / "cohorts" / cohort / "membership.csv", newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                out[row["stage"] + "_gens"][row["gen_id"]] = None
    return {name: list(ids) for name, ids in out.items()}
