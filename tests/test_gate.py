"""The gate cannot be fooled (docs/ci.md): a mistyped selector is a usage
error, one bad bundle never hides another's findings, a rule error does not
hide independent catalog misses, and the terminal conventions hold.
"""

from __future__ import annotations

import json

import pytest

from cohort_dsl.cli import main
from cohort_dsl.pluginmanager import build_engine
from cohort_dsl.testing import write_files

CATALOG = "template_id,generator\nd1,llm\nd2,llm\n"


def spec(templates: str, extra: str = "") -> str:
    return ("axes:\n  combo_id: [c1]\n  draft_template: " + templates + "\n  draft_llm: [m1]\n  essay_template: [e1]\n"
            "  essay_llm: [m1]\n  evaluation_template: [v1]\n  evaluation_llm: [m1]\n" + extra)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """Five errors in four bundles, one of them a YAML syntax error."""
    write_files(tmp_path, {
        "pyproject.toml": '[tool.cohort-dsl]\ndata-root = "data"\n[tool.cohort-dsl.catalogs]\n'
                          'draft_template = "catalogs/dt.csv:template_id"\n',
        "data/catalogs/dt.csv": CATALOG,
        "data/cohorts/a/spec/config.yaml": spec("[d1, dx]"),
        "data/cohorts/b/spec/config.yaml": spec("[d1, dy, dz]"),
        "data/cohorts/c/spec/config.yaml": "axes: [\n",
        "data/cohorts/d/spec/config.yaml": spec("[d1, dq]"),
    })
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    return tmp_path


def run(capsys, *args):
    capsys.readouterr()
    rc = main(list(args), engine=build_engine(entry_points=False))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


@pytest.mark.parametrize("selector", ["c001", "E", "C01", "Q9", "catalog_miss"])
def test_a_selector_that_selects_nothing_is_a_usage_error(repo, capsys, selector):
    rc, out, err = run(capsys, "lint", "--all", "--no-cache", "--select", selector)
    assert rc == 2, out
    assert repr(selector) in err and "All checks passed" not in out


def test_a_selector_in_pyproject_is_checked_too(repo, capsys):
    text = (repo / "pyproject.toml").read_text(encoding="utf-8")
    (repo / "pyproject.toml").write_text(text.replace('data-root = "data"\n', 'data-root = "data"\nselect = ["Q9"]\n'),
                                         encoding="utf-8")
    rc, out, err = run(capsys, "lint", "--all", "--no-cache")
    assert rc == 2 and "'Q9'" in err


@pytest.mark.parametrize("selector, codes", [("C001", {"C001"}), ("C", {"C001"}), ("catalog-miss", {"C001"}),
                                             ("Y", {"Y001"})])
def test_good_selectors_select(repo, capsys, selector, codes):
    rc, out, _ = run(capsys, "lint", "--all", "--no-cache", "--format", "json", "--select", selector)
    assert rc == 1
    assert {d["code"] for d in json.loads(out)["diagnostics"]} == codes


def test_one_bad_bundle_does_not_hide_another(repo, capsys):
    (repo / "data/cohorts/c/spec/config.yaml").write_text("axes:\n  a: !!bool maybe\n", encoding="utf-8")
    rc, out, _ = run(capsys, "lint", "--all", "--no-cache", "--format", "json")
    found = json.loads(out)["diagnostics"]
    assert rc == 1
    assert sum(d["code"] == "C001" for d in found) == 4  # a: dx; b: dy, dz; d: dq
    assert any(d["code"] == "Y005" and d["path"].endswith("c/spec/config.yaml") for d in found)


def test_an_internal_error_is_a_diagnostic_of_its_bundle_and_exit_2_at_the_end(repo, capsys, monkeypatch):
    import cohort_dsl.compiler as compiler

    real = compiler.compile_bundle

    def broken(bundle, *args, **kwargs):
        if "/b/spec" in str(bundle.directory):
            raise RuntimeError("a bug")
        return real(bundle, *args, **kwargs)

    monkeypatch.setattr(compiler, "compile_bundle", broken)
    rc, out, _ = run(capsys, "lint", "--all", "--no-cache", "--format", "json")
    found = json.loads(out)["diagnostics"]
    assert rc == 2
    assert [d["path"].split("/")[-3] for d in found if d["code"] == "L003"] == ["b"]
    # the other bundles are linted; b's declared levels are still checked against the catalog
    assert {d["path"].split("/")[-3] for d in found if d["code"] == "C001"} == {"a", "b", "d"}


def test_a_rule_error_and_catalog_misses_are_reported_together(repo, capsys):
    (repo / "data/cohorts/a/spec/config.yaml").write_text(spec("[d1, dx, dy]", """rules:
  pairs:
    p:
      left: draft_template
      right: draft_llm
      allowed: [[d1, m1], [d9, m1]]
"""), encoding="utf-8")
    rc, out, _ = run(capsys, "lint", "data/cohorts/a", "--no-cache", "--format", "json")
    codes = sorted(d["code"] for d in json.loads(out)["diagnostics"])
    assert rc == 1
    assert codes == ["C001", "C001", "R006"]


def test_statistics_exit_zero_and_quiet(repo, capsys):
    rc, out, _ = run(capsys, "lint", "--all", "--no-cache", "--statistics")
    assert rc == 1
    assert out.splitlines()[0].split() == ["4", "C001", "catalog-miss"]
    rc, out, _ = run(capsys, "lint", "--all", "--no-cache", "--exit-zero", "-q")
    assert rc == 0 and "Found" not in out and "C001" in out
    rc, _, err = run(capsys, "lint", "--all", "--no-cache", "--statistics", "--format", "json")
    assert rc == 2 and "--statistics" in err


def test_colour_follows_the_terminal_conventions(repo, capsys, monkeypatch, tmp_path):
    rc, out, _ = run(capsys, "lint", "--all", "--no-cache", "--color", "always")
    assert "\x1b[" in out
    rc, out, _ = run(capsys, "lint", "--all", "--no-cache")  # auto: captured output is not a terminal
    assert "\x1b[" not in out
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in run(capsys, "lint", "--all", "--no-cache")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run(capsys, "lint", "--all", "--no-cache")[1]
    run(capsys, "lint", "--all", "--no-cache", "--output-file", str(tmp_path / "report.txt"))
    assert "\x1b[" not in (tmp_path / "report.txt").read_text(encoding="utf-8")
