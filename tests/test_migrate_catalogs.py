"""`cohort-dsl migrate-catalogs` (docs/cohorts.md, "Adopting cohort-dsl"): a
legacy `active` catalog column becomes one subset include per axis that reads
the catalog, and is dropped from the catalog; shown by default, done with
--write; a problem anywhere writes nothing."""

from __future__ import annotations

import pytest

from cohort_dsl.catalog_migration import MIGRATION_PROBLEM
from cohort_dsl.catalogs import LEGACY_ACTIVE
from gate_helpers import TWO_PHASE_CATALOG_CONFIG, cli, engine, make_project, snapshot  # noqa: F401

# A BOM and CRLF: the migrated catalog keeps both; only the column goes.
TEMPLATES = "\ufefftemplate_id,active,generator\r\nd1,1,llm\r\nd2,0,llm\r\nd3,yes,copy\r\n"
TEMPLATES_MIGRATED = "\ufefftemplate_id,generator\r\nd1,llm\r\nd2,llm\r\nd3,copy\r\n"
LLMS = 'id,note,active\nm1,"fast, cheap",TRUE\nm2,,\nm3,slow,true\n'
SPEC = """axes:
  combo_id: [c1]
  draft_template: [d1, d3]
  draft_llm: [m1]
  essay_template: [e1]
  essay_llm: [m1]
  evaluation_template: [v1]
  evaluation_llm: [m3]
"""


@pytest.fixture
def repo(tmp_path, monkeypatch):
    catalogs = {"1_raw/draft_templates.csv": TEMPLATES, "1_raw/llms.csv": LLMS,
                "1_raw/essay_templates.csv": "template_id\ne1\n", "1_raw/evaluation_templates.csv": "template_id\nv1\n"}
    make_project(tmp_path, {"c": {"config.yaml": SPEC}}, catalogs, TWO_PHASE_CATALOG_CONFIG, style="pyproject")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


def test_shown_then_written_then_lint_passes(cli, repo):
    lint = cli("lint", "--all")
    assert lint.rc == 1 and f" {LEGACY_ACTIVE.code} " in lint.err + lint.out
    assert "cohort-dsl migrate-catalogs" in lint.err + lint.out  # the hint names the fix
    before = snapshot(repo)
    shown = cli("migrate-catalogs")
    assert shown.rc == 0, shown
    assert "draft_template: 2 values -> data/selections/draft_template.csv (would write)" in shown.out
    assert "nothing was written" in shown.out
    assert snapshot(repo) == before

    written = cli("migrate-catalogs", "--write")
    assert written.rc == 0, written
    assert (repo / "1_raw" / "draft_templates.csv").read_bytes() == TEMPLATES_MIGRATED.encode("utf-8")
    assert (repo / "1_raw" / "llms.csv").read_text() == 'id,note\nm1,"fast, cheap"\nm2,\nm3,slow\n'
    assert (repo / "selections" / "draft_template.csv").read_text() == "draft_template\nd1\nd3\n"
    for axis in ("draft_llm", "essay_llm", "evaluation_llm"):  # one include per axis reading llms.csv
        assert (repo / "selections" / f"{axis}.csv").read_text() == f"{axis}\nm1\nm3\n"
    assert cli("lint", "--all").rc == 0
    assert "nothing to migrate" in cli("migrate-catalogs", "--write").out


def test_a_cohort_keeps_the_active_levels_with_the_include(cli, repo):
    assert cli("migrate-catalogs", "--write").rc == 0
    bundle = repo / "cohorts" / "c" / "spec"
    (bundle / "items").mkdir()
    (bundle / "items" / "draft_template.csv").write_bytes((repo / "selections" / "draft_template.csv").read_bytes())
    (bundle / "config.yaml").write_text(SPEC.replace("[d1, d3]", "[d1, d2, d3]")
                                        + "rules:\n  subsets:\n    draft_template: '@file:items/draft_template.csv'\n")
    compiled = cli("compile", bundle)
    assert compiled.rc == 0, compiled
    assert [line.split(",")[1] for line in compiled.out.splitlines()[1:]] == ["d1", "d3"]


def test_problems_write_nothing(cli, repo):
    templates = repo / "1_raw" / "draft_templates.csv"
    templates.write_text("template_id,active\nd1,1\nd2,maybe\n")
    before = snapshot(repo)
    result = cli("migrate-catalogs", "--write")
    assert result.rc == 1
    assert f"draft_templates.csv:3: {MIGRATION_PROBLEM.code} " in result.err and "'maybe'" in result.err
    assert snapshot(repo) == before  # llms.csv, which is fine, is not migrated either

    templates.write_text(TEMPLATES)
    (repo / "selections").mkdir()
    (repo / "selections" / "draft_template.csv").write_text("draft_template\nd2\n")
    before = snapshot(repo)
    result = cli("migrate-catalogs", "--write")
    assert result.rc == 1 and "holds other values" in result.err
    assert snapshot(repo) == before
