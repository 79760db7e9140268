"""`cohort-dsl init` and `cohort-dsl new` (docs/cohorts.md, "Adopting
cohort-dsl"): a data repo scaffolded around the catalogs it already has (never
overwriting a file), and new cohorts from a starter spec or a copy of another
cohort's bundle (an existing id is refused)."""

from __future__ import annotations

import shutil

import pytest
import yaml

from cohort_dsl.importer import SPEC_EXISTS
from cohort_dsl.scaffold import HOOK_ID
from gate_helpers import REPO_DIR, cli, engine, snapshot  # noqa: F401

CATALOGS = REPO_DIR / "examples" / "data" / "1_raw"


@pytest.fixture
def repo(tmp_path):
    """A folder holding only the examples' catalogs (and a CSV that is not one)."""
    shutil.copytree(CATALOGS, tmp_path / "repo" / "data" / "1_raw")
    (tmp_path / "repo" / "data" / "notes.csv").write_text("topic,owner\nx,y\n")
    return tmp_path / "repo"


def test_init_detects_the_catalogs_and_writes_a_repo_that_lints(cli, repo, monkeypatch):
    result = cli("init", repo, "--yes")
    assert result.rc == 0, result
    assert "  draft_template = '1_raw/draft_templates.csv:template_id'" in result.out
    assert "  evaluation_llm = '1_raw/llm_models.csv:id'" in result.out
    monkeypatch.chdir(repo)
    from cohort_dsl.project import Project

    settings = Project.load().settings
    assert dict(settings.catalogs) == {
        "combo_id": "1_raw/combo_mappings.csv:combo_id",
        "draft_template": "1_raw/draft_templates.csv:template_id", "draft_llm": "1_raw/llm_models.csv:id",
        "essay_template": "1_raw/essay_templates.csv:template_id", "essay_llm": "1_raw/llm_models.csv:id",
        "evaluation_template": "1_raw/evaluation_templates.csv:template_id", "evaluation_llm": "1_raw/llm_models.csv:id"}
    hooks = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    published = yaml.safe_load((REPO_DIR / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == [HOOK_ID] and HOOK_ID in [h["id"] for h in published]
    assert ".cohort-dsl-cache/" in (repo / ".gitignore").read_text().splitlines()
    # The first cohort's levels come from the catalogs: it lints clean and materializes.
    assert cli("lint", "--all").rc == 0
    assert cli("materialize", "first-cohort").rc == 0


def test_init_never_overwrites_and_needs_confirmation(cli, repo):
    (repo / ".gitignore").write_text("mine\n")
    before = snapshot(repo)
    refused = cli("init", repo)  # stdin is not a terminal here
    assert refused.rc == 2 and "--yes" in refused.err
    assert snapshot(repo) == before
    assert cli("init", repo, "--yes").rc == 0
    assert (repo / ".gitignore").read_text() == "mine\n"
    once = snapshot(repo)
    again = cli("init", repo, "--yes")
    assert again.rc == 0
    assert "exists, left alone: " in again.out and "created" not in again.out
    assert snapshot(repo) == once


def test_init_asks_at_a_terminal(cli, repo, monkeypatch):
    answers = iter(["", "n"] + [""] * 5)  # all but draft_template
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert cli("init", repo).rc == 0
    text = (repo / "pyproject.toml").read_text()
    assert "combo_id = " in text and "draft_template" not in text and "evaluation_llm = " in text


def test_new_starter_and_copy(cli, repo, monkeypatch):
    assert cli("init", repo, "--yes").rc == 0
    monkeypatch.chdir(repo)
    cohorts = repo / "data" / "cohorts"
    assert cli("new", "second").rc == 0
    assert "axes:" in (cohorts / "second" / "spec" / "config.yaml").read_text()
    # A copy takes the whole bundle, includes and all.
    (cohorts / "second" / "spec" / "items").mkdir()
    (cohorts / "second" / "spec" / "items" / "combos.csv").write_text("combo_id\ncombo_v1_51af72e38c6a\n")
    assert cli("new", "third", "--from", "second").rc == 0
    assert snapshot(cohorts / "third" / "spec") == snapshot(cohorts / "second" / "spec")
    before = snapshot(repo)
    taken = cli("new", "third")
    assert taken.rc == 1 and f" {SPEC_EXISTS.code} " in taken.err
    assert cli("new", "fourth", "--from", "nope").rc == 2  # no such cohort: did-you-mean
    assert snapshot(repo) == before
