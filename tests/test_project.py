"""The Project layer: one sequence, one data-root layout, one severity
policy, settings resolved once, essential plugins (docs/api.md).

Behaviour this layer changed is tested through the real CLI: an error
diagnostic stops every command that writes, whatever the command, and
`lint` and `materialize` agree on every spec.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from cohort_dsl import DataRoot, Project, UsageError
from cohort_dsl.diagnostics import SpecError
from cohort_dsl.settings import load_settings
from gate_helpers import cli, engine, full_spec, make_project, snapshot, spec_path  # noqa: F401 - fixtures

PACKAGE = Path(__file__).resolve().parents[1] / "cohort_dsl"

# Two draft templates that differ only in case: the same generation ids (M002).
COLLIDING = full_spec("[Draft-A, draft-a]")
CATALOGS = {"catalogs/draft_templates.csv": "template_id,generator\nDraft-A,llm\ndraft-a,llm\nd1,llm\nd2,llm\n"}


@pytest.fixture
def repo(tmp_path, monkeypatch):
    def make(cohorts: dict, extra: str = "") -> Path:
        root = make_project(tmp_path / "repo", cohorts, catalogs=CATALOGS, extra=extra)
        monkeypatch.chdir(root)
        return root

    return make


# -- one severity policy ---------------------------------------------------------

def test_an_id_collision_fails_lint_and_refuses_materialize_and_membership(repo, cli):
    root = repo({"c1": {"config.yaml": COLLIDING}})
    before = snapshot(root)

    lint = cli("lint", "--all", "--no-cache")
    assert lint.rc == 1 and "M002" in lint.out

    materialize = cli("materialize", "c1")
    assert materialize.rc == 1, materialize
    assert "M002" in materialize.err and materialize.out == ""
    membership = cli("membership", spec_path(root, "c1").parent, "--cohort-id", "c1")
    assert membership.rc == 1 and membership.out == "" and "M002" in membership.err
    assert snapshot(root) == before, "nothing may be written after an error"


def test_a_severity_override_applies_to_every_command(repo, cli, tmp_path):
    # A duplicated level is a warning (R008) by default ...
    root = repo({"c1": {"config.yaml": full_spec("[d1, d2, d1]")}})
    assert cli("lint", "--all", "--no-cache").rc == 0
    assert cli("compile", spec_path(root, "c1"), "--out", tmp_path / "rows.csv").rc == 0
    (tmp_path / "rows.csv").unlink()
    # ... and an error everywhere once the settings say so.
    config = root / "cohort-dsl.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("\n[catalogs]", '\n[severity]\nR008 = "error"\n\n[catalogs]'),
                      encoding="utf-8")
    before = snapshot(root)
    lint = cli("lint", "--all", "--no-cache")
    assert lint.rc == 1 and "R008" in lint.out
    compiled = cli("compile", spec_path(root, "c1"), "--out", tmp_path / "rows.csv")
    assert compiled.rc == 1 and "R008" in compiled.err
    assert not (tmp_path / "rows.csv").exists()
    assert cli("materialize", "c1").rc == 1
    assert cli("membership", spec_path(root, "c1"), "--cohort-id", "c1").rc == 1
    assert snapshot(root) == before


def test_an_unknown_code_in_the_severity_table_is_a_configuration_error(repo, cli):
    repo({"c1": {"config.yaml": full_spec()}}, extra='[severity]\nR04 = "error"\n')
    result = cli("lint", "--all")
    assert result.rc == 2
    assert "R04" in result.err and "did you mean" in result.err


@pytest.mark.parametrize("spec", [
    full_spec(),                                   # clean
    full_spec("[d1, d2, d1]"),                     # a warning
    COLLIDING,                                     # an error of the membership layout
    full_spec("[d1, nope]"),                       # a catalog miss
    full_spec("[d1]", "rules:\n  subsets:\n    draft_template: [d1]\n"),   # a dead rule (warning)
    "axes:\n  a: [x]\n",                           # not a two-phase cohort
    "axes: [",                                     # not YAML
])
def test_lint_and_materialize_agree(repo, cli, spec):
    root = repo({"c1": {"config.yaml": spec}})
    lint = cli("lint", "--all", "--no-cache", "--format", "json")
    materialize = cli("materialize", "c1")
    assert (lint.rc == 1) == (materialize.rc == 1), (lint, materialize)
    written = (root / "data" / "cohorts" / "c1" / "membership.csv").exists()
    assert written == (materialize.rc == 0)
    errors = {d["code"] for d in lint.diagnostics if d["severity"] == "error"}
    for code in errors:
        assert code in materialize.err


# -- the data root ---------------------------------------------------------------

@pytest.mark.parametrize("bad", ["../outside", "a/b", "", ".", "-leading-dash", "x" * 129, "semi;colon"])
def test_an_invalid_cohort_id_is_a_usage_error_naming_it(repo, cli, bad):
    repo({"c1": {"config.yaml": full_spec()}})
    result = cli("materialize", "--", bad)
    assert result.rc == 2
    assert repr(bad) in result.err


def test_the_data_root_knows_the_layout(tmp_path):
    root = DataRoot(tmp_path)
    assert root.config("c1") == tmp_path / "cohorts" / "c1" / "spec" / "config.yaml"
    assert root.membership_file("c1").name == "membership.csv"
    assert root.metadata_file("draft", "d_1") == tmp_path / "gens" / "draft" / "d_1" / "metadata.json"
    assert DataRoot.of_bundle(root.spec_dir("c1")) == (root, "c1")
    assert DataRoot.of_bundle(tmp_path / "elsewhere") is None
    with pytest.raises(UsageError, match="did you mean|cohorts here|data-root"):
        root.require_cohort("c2")


def test_only_the_data_root_module_spells_the_cohorts_folder():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "dataroot.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                # a path or glob (help texts and messages, which have spaces, may describe the layout)
                if re.search(r"(^|/)cohorts($|/)", node.value) and not re.search(r"\s", node.value):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert offenders == []


# -- settings resolved once ----------------------------------------------------------

def test_settings_are_immutable_and_flags_make_a_new_object(tmp_path):
    (tmp_path / "cohort-dsl.toml").write_text('max-rows = 50\n[limits]\nmax-levels = 7\n', encoding="utf-8")
    settings = load_settings(tmp_path / "cohort-dsl.toml")
    assert settings.max_rows == settings.limits.max_rows == 50
    assert settings.limits.max_levels == 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.max_rows = 3
    raised = settings.override(max_rows=99)
    assert (raised.max_rows, raised.limits.max_rows, settings.max_rows) == (99, 99, 50)
    assert raised.limits.max_levels == 7


def test_compile_does_not_mutate_the_bundle(engine, tmp_path):
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "config.yaml").write_text("axes:\n  a: [x, y]\n", encoding="utf-8")
    project = Project(load_settings(start=tmp_path), engine)
    bundle = project.load_bundle(tmp_path / "spec")
    limits = bundle.limits
    with pytest.raises(SpecError):
        project.override(max_rows=1).compile(bundle)
    assert bundle.limits is limits
    assert project.compile(bundle).count == 2


# -- essential plugins ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["cohort_dsl.builtin.reporters", "cohort_dsl.builtin.core", "cohort_dsl.builtin.ties"])
def test_an_essential_plugin_cannot_be_disabled(cli, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("rules", "--disable-plugin", name, engine=None)
    assert result.rc == 2
    assert "essential" in result.err and name in result.err


def test_disabling_the_builtins_distribution_is_refused(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("rules", "--disable-plugin", "cohort-dsl", engine=None)
    assert result.rc == 2
    assert "every built-in" in result.err and "cohort_dsl.builtin.checks" in result.err


@pytest.mark.parametrize("flag", [["--disable-plugin", "cohort_dsl.builtin.checks"],
                                  ["--disable-plugin=cohort_dsl.builtin.checks"],
                                  ["--disable", "cohort_dsl.builtin.checks"]])  # argparse takes abbreviations
def test_an_optional_builtin_can_be_disabled(cli, repo, monkeypatch, flag):
    monkeypatch.setenv("COHORT_DSL_DISABLE_PLUGIN_AUTOLOAD", "1")  # installed plugins would add their findings
    repo({"c1": {"config.yaml": full_spec("[d1, nope]")}})
    result = cli("lint", "--all", "--no-cache", *flag, engine=None)
    assert result.rc == 0, result  # the catalog check (C001) is gone with its plugin
    assert "All checks passed" in result.out


# -- thin adapters, no circles ---------------------------------------------------------

def test_each_command_module_is_a_thin_adapter():
    for path in sorted((PACKAGE / "commands").glob("*.py")):
        if path.name == "__init__.py":
            continue
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines <= 60, f"{path.name}: {lines} lines"


def _module_imports() -> dict[str, set[str]]:
    """cohort_dsl module -> the cohort_dsl modules it imports at module level."""
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = "cohort_dsl." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        found = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cohort_dsl"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("cohort_dsl"))
        graph[name] = found
    return {k: {m for m in v if m in graph and m != k} for k, v in graph.items()}


def test_module_level_imports_have_no_circle():
    graph = _module_imports()
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError(" -> ".join(trail + [node, nxt]))
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


def test_nothing_but_the_entry_points_imports_the_cli():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ("cli.py", "__main__.py", "testing.py"):  # testing.py: `project.run(...)` runs the CLI
            continue
        assert "cohort_dsl.cli" not in path.read_text(encoding="utf-8"), path


def test_materialize_reports_progress_per_record(repo, engine):
    """The progress line of a long materialize advances as records are
    written, up to the count known beforehand (arithmetic, no record made)."""
    root = repo({"c1": {"config.yaml": full_spec("[d1, d2]", "  draft_replicate: " + str([str(i) for i in range(1, 3001)]).replace("'", '"') + "\n")}})
    seen = {}

    class Recorder:
        def __init__(self, total):
            seen["total"], seen["done"], seen["closed"] = total, 0, False

        def advance(self, n=1):
            seen["done"] += n

        def close(self):
            seen["closed"] = True

    project = Project.load(root / "cohort-dsl.toml", engine=engine)
    outcome = project.materialize("c1", progress=Recorder)
    total = sum(outcome.counts.values())
    assert seen["total"] == total == 18_000
    assert seen["closed"] and 0 < seen["done"] <= total and total - seen["done"] < 4096
