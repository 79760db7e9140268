"""docs/api.md is executed: its ```python blocks run in order, in one
namespace, from a copy of the bundled examples/ data repo. docs/plugins.md
is too: its guide's plugin (the ```python blocks of sections 1-7) is
assembled and exercised, its YAML cases run, and its generated Reference
must match the code."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "api.md"

pytest_plugins = ["cohort_dsl.testing"]


def test_api_doc_snippets_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 8
    examples = shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(examples)
    monkeypatch.setenv("COHORT_DSL_DISABLE_PLUGIN_AUTOLOAD", "1")  # the built-ins only, as the doc shows
    monkeypatch.setattr("cohort_dsl.pluginmanager._default", None)
    namespace: dict = {}
    printed = io.StringIO()
    for number, block in enumerate(blocks, start=1):
        with contextlib.redirect_stdout(printed):
            try:
                exec(compile(block, f"docs/api.md block {number}", "exec"), namespace)
            except Exception as exc:  # pragma: no cover - the message names the block
                raise AssertionError(f"docs/api.md block {number} failed: {exc!r}\n{block}") from exc
    assert "R014" in printed.getvalue()
    assert "All checks passed" in printed.getvalue()
    assert os.path.isfile(examples / "data" / "cohorts" / "dual-llm-tie" / "membership.csv")


# -- docs/plugins.md: the guide's plugin, its reference, its public names -------------------------

PLUGINS_DOC = ROOT / "docs" / "plugins.md"


def test_the_plugin_reference_is_current():
    from cohort_dsl.api_reference import replace_section

    text = PLUGINS_DOC.read_text(encoding="utf-8")
    assert replace_section(text) == text, (
        "docs/plugins.md's Reference is stale: run `python -m cohort_dsl.api_reference docs/plugins.md`")


def test_every_public_name_is_exported_importable_and_referenced():
    import cohort_dsl
    from cohort_dsl.api_reference import GROUPS, LIBRARY

    referenced = {name for names in GROUPS.values() for name in names}
    assert set(cohort_dsl.__all__) == referenced | LIBRARY
    for name in cohort_dsl.__all__:
        assert getattr(cohort_dsl, name) is not None
    text = PLUGINS_DOC.read_text(encoding="utf-8")
    assert all(f"#### `{name}" in text for name in referenced)


def _guide():
    """The guide's plugin: the ```python blocks of sections 1-7, as one module."""
    import types

    text = PLUGINS_DOC.read_text(encoding="utf-8")
    guide = text[: text.index("## 8. Editor schema")]
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert blocks[0].startswith("# cohort_dsl_plugin_mine/__init__.py")
    source = "\n".join(blocks)
    every_block = "\n".join(re.findall(r"```python\n(.*?)```", text, re.S))
    imports = set(re.findall(r"^\s*(?:from|import) (cohort_dsl\b[\w.]*)", every_block, re.M))
    assert imports <= {"cohort_dsl", "cohort_dsl.testing"}, imports  # the guide uses public names only
    module = types.ModuleType("mine")
    exec(compile(source, "docs/plugins.md (the mine plugin)", "exec"), module.__dict__)
    return module, text


def test_the_guides_plugin_adds_each_extension_kind(cohort_project):
    import sqlite3

    mine, text = _guide()
    cases_yaml = re.search(r"```yaml\n# tests/cases.yaml\n(.*?)```", text, re.S).group(1)
    spec = ("axes:\n  model: [gpt-5, sonnet-4]\n  temperature: ['0.2', '0.7']\n  judge: [j1]\n"
            "rules:\n  zips:\n    mt: {axes: [model, temperature]}\noutput:\n  layout: sweep\n")
    big = "axes:\n  model: [gpt-5]\n  temperature: ['0', '1', '2']\n  judge: [j1]\noutput:\n  layout: sweep\n"
    project = cohort_project({"cohorts/small/spec/config.yaml": spec, "cohorts/big/spec/config.yaml": big,
                              "tests/cases.yaml": cases_yaml},
                             plugins=[mine], catalogs={"model": "models.sqlite:model"},
                             config={"plugins": {"mine": {"max-rows": 2}}})
    with sqlite3.connect(project.path("models.sqlite")) as db:
        db.execute("CREATE TABLE catalog (model TEXT)")
        db.executemany("INSERT INTO catalog VALUES (?)", [("gpt-5",), ("sonnet-4",)])
    # rule kind + layout: zipped rows, one run per row, scored by the judge
    assert project.compile("cohorts/small/spec").assert_success().rows == [
        {"model": "gpt-5", "temperature": "0.2", "judge": "j1"}, {"model": "sonnet-4", "temperature": "0.7", "judge": "j1"}]
    records = project.membership("cohorts/small/spec").assert_success().records
    assert [r.stage for r in records] == ["run", "run", "score", "score"]
    # lint rule from the settings (max-rows 2), then from the option; report format; catalog source
    result = project.run("lint", "--no-cache", "--format", "junit")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert 'tests="2" failures="1"' in result.stdout and 'failure message="MINE100"' in result.stdout
    assert "3 rows, above the budget of 2" in result.stdout
    assert project.run("lint", "--no-cache", "--mine-max-rows", "3").exit_code == 0
    with sqlite3.connect(project.path("models.sqlite")) as db:
        db.execute("DELETE FROM catalog WHERE model = 'sonnet-4'")
    assert "C001" in project.run("lint", "--no-cache", "--mine-max-rows", "3").stdout
    # the guide's YAML cases
    from cohort_dsl.testing import load_cases

    for param in load_cases(project.path("tests/cases.yaml")):
        (case,) = param.values
        case.run(lambda files, **options: cohort_project(files, **options), plugins=[mine])
