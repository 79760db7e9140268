"""End to end: this checkout as a pre-commit hook repository (README.md,
"Pre-commit"; issue 4).

A temporary data repo (catalogs, one cohort with its committed membership)
uses ``cohort-dsl-lint`` from ``.pre-commit-hooks.yaml`` at ``rev: HEAD`` of
this checkout. pre-commit clones the checkout at that commit and
pip-installs it, so this tests the *committed* code: the module is skipped
when cohort_dsl/ (or the hook and packaging files) has uncommitted changes.
The hook environment is built once for the module (about a minute at most,
from the package index), under a temporary ``PRE_COMMIT_HOME``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
HOOK_FILES = ["cohort_dsl", ".pre-commit-hooks.yaml", "pyproject.toml"]

SPEC = """axes:
  combo_id: [c1]
  draft_template: [d1, d2]
  draft_llm: [m1]
  essay_template: [e1]
  essay_llm: [m1]
  evaluation_template: [v1]
  evaluation_llm: [m1]
"""
CATALOG = "template_id,generator\nd1,llm\nd2,llm\n"
PYPROJECT = """[tool.cohort-dsl]
data-root = "data"

[tool.cohort-dsl.catalogs]
draft_template = "catalogs/draft_templates.csv:template_id"
"""


def _pre_commit() -> str | None:
    beside = Path(sys.executable).parent / "pre-commit"
    return str(beside) if beside.is_file() else shutil.which("pre-commit")


def _clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update({
        "PRE_COMMIT_HOME": str(home),
        "PRE_COMMIT_COLOR": "never",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "COHORT_DSL_DISABLE_PLUGIN_AUTOLOAD": "1",
    })
    return env


class HookRepo:
    def __init__(self, path: Path, env: dict, pre_commit: str, rev: str):
        self.path, self.env, self.pre_commit, self.rev = path, env, pre_commit, rev

    def run(self, *args, timeout=120) -> subprocess.CompletedProcess:
        return subprocess.run([str(a) for a in args], cwd=self.path, env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def git(self, *args, **kwargs) -> subprocess.CompletedProcess:
        result = self.run("git", *args, **kwargs)
        return result

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()

    def commit(self, message: str) -> tuple[int, str]:
        self.git("add", "-A")
        result = self.git("commit", "-m", message, timeout=900)
        return result.returncode, result.stdout + result.stderr

    def write(self, rel: str, text: str) -> None:
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def read(self, rel: str) -> str:
        return (self.path / rel).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> HookRepo:
    pre_commit, git = _pre_commit(), shutil.which("git")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (pip install pre-commit)")
    if git is None:
        pytest.skip("git is not on PATH")
    home = tmp_path_factory.mktemp("pre-commit-home")
    env = _clean_env(home)

    def in_checkout(*args):
        return subprocess.run([git, *args], cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=60)

    head = in_checkout("rev-parse", "HEAD")
    if head.returncode != 0 or Path(in_checkout("rev-parse", "--show-toplevel").stdout.strip() or "/nonexistent").resolve() != CHECKOUT:
        pytest.skip(f"{CHECKOUT} is not a git checkout: the hook repository must be one")
    dirty = in_checkout("status", "--porcelain", "--", *HOOK_FILES).stdout.rstrip()
    if dirty:
        pytest.skip("the pre-commit end-to-end test installs the committed code (rev: HEAD) and needs a clean checkout; "
                    "uncommitted changes:\n" + dirty)
    rev = head.stdout.strip()

    path = tmp_path_factory.mktemp("data-repo")
    repo = HookRepo(path, env, pre_commit, rev)
    repo.write("pyproject.toml", PYPROJECT)
    repo.write("data/catalogs/draft_templates.csv", CATALOG)
    repo.write("data/cohorts/c1/spec/config.yaml", SPEC)
    repo.write(".pre-commit-config.yaml",
               f"repos:\n  - repo: {CHECKOUT}\n    rev: {rev}\n    hooks:\n      - id: cohort-dsl-lint\n")
    # the cohort already ran: its membership is committed
    materialized = repo.run(sys.executable, "-m", "cohort_dsl", "materialize", "c1")
    assert materialized.returncode == 0, materialized.stderr
    assert (path / "data/cohorts/c1/membership.csv").is_file()

    for args in (("init", "-q"), ("config", "user.name", "Test"), ("config", "user.email", "test@example.com"),
                 ("config", "commit.gpgsign", "false")):
        assert repo.git(*args).returncode == 0
    installed = repo.run(pre_commit, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # The first commit builds the hook environment and lints everything
    # (pyproject.toml changed: every bundle).
    rc, output = repo.commit("data repo with one cohort")
    assert rc == 0, output
    assert "cohort-dsl lint" in output and "Passed" in output
    return repo


@pytest.fixture
def repo(hook_repo):
    """The data repo, reset to its last commit after each test."""
    yield hook_repo
    hook_repo.git("reset", "-q", "--hard", "HEAD")
    hook_repo.git("clean", "-fdq")


def test_removing_a_catalog_value_a_cohort_uses_is_blocked(repo):
    before = repo.head()
    repo.write("data/catalogs/draft_templates.csv", "template_id,generator\nd1,llm\n")
    rc, output = repo.commit("drop d2")
    assert rc != 0, output
    assert "C001" in output and "'d2'" in output
    assert "data/cohorts/c1/spec/config.yaml:3:24" in output
    assert repo.head() == before


def test_a_legacy_active_column_is_blocked(repo):
    before = repo.head()
    repo.write("data/catalogs/draft_templates.csv", "template_id,generator,active\nd1,llm,true\nd2,llm,true\n")
    rc, output = repo.commit("add active")
    assert rc != 0, output
    assert "C002" in output and "active" in output
    assert "data/catalogs/draft_templates.csv:1:" in output
    assert repo.head() == before


def test_editing_the_spec_of_a_cohort_that_ran_is_blocked(repo):
    before = repo.head()
    repo.write("data/cohorts/c1/spec/config.yaml", SPEC.replace("[d1, d2]", "[d1]"))
    rc, output = repo.commit("shrink the cohort")
    assert rc != 0, output
    assert "M003" in output and "would be removed" in output
    assert repo.head() == before


def test_a_good_catalog_edit_passes(repo):
    before = repo.head()
    repo.write("data/catalogs/draft_templates.csv", CATALOG + "d3,llm\n")
    rc, output = repo.commit("add d3")
    assert rc == 0, output
    assert "Passed" in output
    assert repo.head() != before
    # the hook's cache never shows up as a change
    assert repo.git("status", "--porcelain").stdout == ""


def test_files_the_hook_ignores_are_skipped(repo):
    repo.write("README.md", "# data\n")
    rc, output = repo.commit("readme")
    assert rc == 0, output
    assert "no files to check" in output or "Skipped" in output


def test_try_repo(repo):
    ok = repo.run(repo.pre_commit, "try-repo", CHECKOUT, "cohort-dsl-lint", "--ref", repo.rev, "--all-files", timeout=900)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Passed" in ok.stdout
    repo.write("data/catalogs/draft_templates.csv", "template_id,generator\nd2,llm\n")
    repo.git("add", "-A")
    bad = repo.run(repo.pre_commit, "try-repo", CHECKOUT, "cohort-dsl-lint", "--ref", repo.rev, "--all-files", timeout=900)
    assert bad.returncode != 0
    assert "C001" in bad.stdout and "'d1'" in bad.stdout


# -- the hook lints what is being committed -----------------------------------
# (cohort_dsl/vcs.py: under PRE_COMMIT=1, `cohort-dsl lint` drops the bundles
# whose config.yaml git neither tracks nor has staged, and says so on stderr.)
BROKEN = "data/cohorts/broken/spec/config.yaml"
SKIPPED_NOTE = "not tracked by git"


def _verbose_hook(repo) -> str:
    """Commit a config that shows the hook's output when it passes (pre-commit
    prints a passing hook's output only for a verbose hook); return the
    commit to go back to."""
    before = repo.head()
    config = repo.read(".pre-commit-config.yaml")
    assert config.endswith("- id: cohort-dsl-lint\n"), config
    repo.write(".pre-commit-config.yaml", config + "        verbose: true\n")
    assert repo.git("add", "--", ".pre-commit-config.yaml").returncode == 0
    result = repo.git("commit", "-q", "-m", "verbose hook", timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return before


def _edit_catalog(repo) -> None:
    """A good catalog change (earlier tests may have committed d3)."""
    rel = "data/catalogs/draft_templates.csv"
    repo.write(rel, repo.read(rel) + "d9,llm\n")


def test_an_untracked_broken_cohort_does_not_block_a_catalog_commit(repo):
    before = _verbose_hook(repo)
    try:
        repo.write(BROKEN, "axes: [\n")  # never added
        _edit_catalog(repo)
        assert repo.git("add", "--", "data/catalogs/draft_templates.csv").returncode == 0
        assert repo.git("diff", "--cached", "--name-only").stdout == "data/catalogs/draft_templates.csv\n"
        head = repo.head()
        result = repo.git("commit", "-m", "add d9", timeout=900)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "cohort-dsl lint" in output and "Passed" in output
        assert SKIPPED_NOTE in output and "broken" in output, output
        assert repo.head() != head
        # still there, still untracked
        assert repo.git("status", "--porcelain", "--", BROKEN).stdout.startswith("??")
    finally:
        repo.git("reset", "-q", "--hard", before)


def test_a_staged_broken_cohort_left_out_of_a_partial_commit_does_not_block_it(repo):
    """`git commit PATH` commits a temporary index (git exports it to the hook
    as GIT_INDEX_FILE): a bundle staged in .git/index but not in that commit
    is not linted."""
    before = _verbose_hook(repo)
    try:
        repo.write(BROKEN, "axes: [\n")
        assert repo.git("add", "--", BROKEN).returncode == 0
        _edit_catalog(repo)
        head = repo.head()
        result = repo.git("commit", "-m", "add d9", "--", "data/catalogs/draft_templates.csv", timeout=900)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert SKIPPED_NOTE in output and "broken" in output, output
        assert repo.head() != head
        assert repo.git("show", "--name-only", "--format=", "HEAD").stdout == "data/catalogs/draft_templates.csv\n"
    finally:
        repo.git("reset", "-q", "--hard", before)


def test_a_staged_broken_cohort_still_blocks_the_commit(repo):
    before = repo.head()
    repo.write(BROKEN, "axes: [\n")
    _edit_catalog(repo)
    rc, output = repo.commit("add d9 and a broken cohort")  # git add -A: the cohort is part of the commit
    assert rc != 0, output
    assert "broken" in output
    assert SKIPPED_NOTE not in output
    assert repo.head() == before
