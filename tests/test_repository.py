"""The repository keeps its promises: the README's commands are the ones CI
runs, and the layout DESIGN §2 names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.*?)\n```", text, re.S)[:2]


def test_readme_opens_with_the_main_job_and_the_test_command():
    main_job, tests = readme_commands()
    assert "python3 -m venv" in main_job and "lint --all" in main_job and "materialize --all" in main_job
    assert "python3 -m venv" in tests and "pytest" in tests


def test_ci_runs_exactly_the_readme_test_command():
    _, tests = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines()
    assert "rm -rf .venv" in ci  # a fresh environment every time


def test_layout_of_design_section_2():
    for path in ("pyproject.toml", "cohort_dsl", "plugins", "schemas", "tests", "examples", "bench", "docs",
                 ".pre-commit-config.yaml", ".pre-commit-hooks.yaml", "README.md", ".ci/run"):
        assert (ROOT / path).exists(), path
    for doc in ("spec_dsl.md", "rules.md", "plugins.md", "cohorts.md", "performance.md", "ci.md"):
        assert (ROOT / "docs" / doc).is_file(), doc


def test_schema_folder_holds_the_base_and_one_fragment_per_builtin_rule_kind():
    names = {p.name for p in (ROOT / "schemas").glob("*.json")}
    assert {"base.schema.json", "subsets.schema.json", "ties.schema.json", "pairs.schema.json",
            "tuples.schema.json", "cohort-spec.schema.json"} <= names
