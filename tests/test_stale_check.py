"""The stale-membership check (M003) short-circuits on manifest.json: when
everything the committed membership was computed from is unchanged, lint
computes no record (docs/cohorts.md, "Checking a committed membership").
A short-circuit can only miss, never lie: each input changed on its own
makes the check compare the records again, and say what changed."""

from __future__ import annotations

import pytest

from cohort_dsl.membership import Membership
from cohort_dsl.pluginmanager import build_engine
from gate_helpers import cli, engine, make_project, spec_path  # noqa: F401 - fixtures

SPEC = """axes:
  combo_id: [combo-001, combo-002]
  draft_template: [creative-synthesis-v7, creative-synthesis-v10]
  draft_llm: [sonnet-4, gemini_25_pro]
  essay_template: [essay-theme-v17]
  essay_llm: [sonnet-4]
  evaluation_template: [creativity-metrics-v2]
  evaluation_llm: [gpt-5, sonnet-4]
"""
CATALOGS = {"catalogs/draft_templates.csv": "template_id,generator\ncreative-synthesis-v7,llm\ncreative-synthesis-v10,llm\n"}
CATALOG_CONFIG = {"draft_template": "catalogs/draft_templates.csv:template_id"}


@pytest.fixture
def root(tmp_path, monkeypatch, cli):
    """A data repo whose cohort c1 is materialized."""
    root = make_project(tmp_path / "repo", {"c1": {"config.yaml": SPEC}}, catalogs=CATALOGS, catalog_config=CATALOG_CONFIG)
    monkeypatch.chdir(root)
    assert cli("materialize", "c1").rc == 0
    return root


@pytest.fixture
def computed(monkeypatch) -> list[str]:
    """The cohorts whose records were computed (each call of records())."""
    calls: list[str] = []
    records = Membership.records

    def counting(self):
        calls.append(self.cohort_id)
        return records(self)

    monkeypatch.setattr(Membership, "records", counting)
    return calls


def lint(cli, **kwargs):
    return cli("lint", "--all", "--no-cache", "--format", "json", **kwargs)


def cohort_file(root, name: str):
    return root / "data" / "cohorts" / "c1" / name


def test_nothing_changed_computes_no_record(root, cli, computed):
    result = lint(cli)
    assert result.rc == 0 and result.codes() == []
    assert computed == []


def test_an_edited_spec_value_is_compared_and_reported(root, cli, computed):
    path = spec_path(root, "c1")
    path.write_text(path.read_text().replace("[gpt-5, sonnet-4]", "[gpt-5, sonnet-4, gemini_25_pro]"))
    result = lint(cli)
    assert result.rc == 1 and "M003" in result.codes()
    assert computed == ["c1"]


def test_a_spec_edit_that_keeps_the_membership_is_compared(root, cli, computed):
    path = spec_path(root, "c1")
    path.write_text(path.read_text() + "# a comment changes the bytes, not the records\n")
    result = lint(cli)
    assert result.rc == 0 and result.codes() == []
    assert computed == ["c1"]


def test_an_edited_catalog_is_compared(root, cli, computed):
    catalog = root / "data" / "catalogs" / "draft_templates.csv"
    catalog.write_text(catalog.read_text() + "another-template,llm\n")
    assert lint(cli).rc == 0
    assert computed == ["c1"]


def test_an_edited_membership_csv_is_compared_and_reported(root, cli, computed):
    membership = cohort_file(root, "membership.csv")
    lines = membership.read_text().splitlines(keepends=True)
    membership.write_text("".join(lines[:-1]))  # one evaluation fewer
    result = lint(cli)
    assert result.rc == 1 and {"M003", "M013"} <= set(result.codes())
    assert computed == ["c1"]


@pytest.mark.parametrize("name", ["membership.csv", "membership_wide.csv"])
def test_a_membership_file_saved_with_other_line_ends_is_compared(root, cli, computed, name):
    path = cohort_file(root, name)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # the same records as data
    result = lint(cli)
    assert result.rc == 0 and result.codes() == []
    assert computed == ["c1"]


def test_an_edited_manifest_is_compared(root, cli, computed):
    manifest = cohort_file(root, "manifest.json")
    manifest.write_text(manifest.read_text().replace('"layout": "two-phase"', '"layout": "single-stage"'))
    assert lint(cli).rc == 0
    assert computed == ["c1"]


def test_another_plugin_version_is_compared(root, cli, computed):
    other = build_engine(entry_points=False)
    other.registry.plugins[0].version += ".post1"
    assert lint(cli, engine=other).rc == 0
    assert computed == ["c1"]


def test_another_cohort_dsl_version_is_compared(root, cli, computed, monkeypatch):
    monkeypatch.setattr("cohort_dsl.materialize.__version__", "0.0.0-other")
    assert lint(cli).rc == 0
    assert computed == ["c1"]


def test_another_severity_policy_is_compared(root, cli, computed):
    settings = root / "cohort-dsl.toml"
    settings.write_text(settings.read_text() + '\n[severity]\nR004 = "error"\n')
    assert lint(cli).rc == 0
    assert computed == ["c1"]


def test_a_rematerialized_cohort_hits_again(root, cli, computed):
    path = spec_path(root, "c1")
    path.write_text(path.read_text() + "# reviewed\n")
    assert cli("materialize", "c1").rc == 0
    computed.clear()
    assert lint(cli).rc == 0
    assert computed == []


def test_a_plugin_edited_in_place_is_compared(root, cli, computed, tmp_path, monkeypatch):
    """An editable install keeps its version when its code changes: the
    manifest records a digest of each plugin's source files too."""
    import importlib
    import sys

    from cohort_dsl import cache

    source = tmp_path / "plugin_src" / "stale_probe_plugin.py"
    source.parent.mkdir()
    source.write_text("from cohort_dsl import hookimpl\n\n@hookimpl\ndef cohort_dsl_report_formats():\n    return []\n")
    monkeypatch.syspath_prepend(str(source.parent))
    module = importlib.import_module("stale_probe_plugin")
    monkeypatch.setitem(sys.modules, "stale_probe_plugin", module)
    monkeypatch.setattr(cache, "_code_digests", {})
    assert cli("materialize", "c1", engine=build_engine([module], entry_points=False)).rc == 0
    computed.clear()
    assert lint(cli, engine=build_engine([module], entry_points=False)).rc == 0
    assert computed == [], "unchanged: nothing to recompute"
    source.write_text(source.read_text() + "# edited in place, same version\n")
    monkeypatch.setattr(cache, "_code_digests", {})  # a new process would digest it afresh
    assert lint(cli, engine=build_engine([module], entry_points=False)).rc == 0
    assert computed == ["c1"]
