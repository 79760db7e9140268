"""The lint gate (docs/cohorts.md "2. Lint", docs/rules.md, docs/ci.md;
issue 4) through `cohort-dsl lint`: every code at its line, exit codes,
selection, suppression, targets, the stale membership check, the cache,
parallel runs, and catalogs from the command line."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from gate_helpers import (DEFAULT_CATALOGS, cli, engine, full_spec, make_project, spec_path,  # noqa: F401
                          write_files)
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.pluginmanager import build_engine
from cohort_dsl.registry import LintRule

CONFIG = "specs/b/config.yaml"  # a bundle outside cohorts/: no membership checks


@pytest.fixture
def root(in_tmp_cwd):
    """A data repo with the default catalog (draft_template: d1, d2, d3) and
    no cohorts yet; the working directory is its root."""
    make_project(in_tmp_cwd, {})
    return in_tmp_cwd


@pytest.fixture
def lint(cli):
    """``lint(*args)``: `cohort-dsl lint --format json --no-cache ARGS`."""

    def run(*args, cache=False, fmt="json", engine=None):
        extra = [] if cache else ["--no-cache"]
        kwargs = {"engine": engine} if engine is not None else {}
        return cli("lint", "--format", fmt, *extra, *args, **kwargs)

    return run


def where(d: dict) -> tuple:
    """(path relative to the project, line, column) of a JSON diagnostic."""
    return (d["path"], d["line"], d["column"])


# =============================================================================
# every code, at its line
# =============================================================================

LIMITS = "[limits]\n"

# code -> (files of a bundle at specs/b/, extra args, config extra, expected (file in bundle, line, col), severity)
CASES = {
    "Y001": ({"config.yaml": "axes:\n\ta: [x]\n"}, (), "", ("config.yaml", 2, 1)),
    "Y002": ({"config.yaml": "axes:\n  a: [x]\n  a: [y]\n"}, (), "", ("config.yaml", 3, 3)),
    "Y003": ({"config.yaml": "axes:\n  a: [x, yes]\n"}, (), "", ("config.yaml", 2, 10)),
    "Y004": ({"config.yaml": "axes:\n  a: " + "[" * 70 + "x" + "]" * 70 + "\n"}, (), "", ("config.yaml", 2, 69)),
    "Y005": ({"config.yaml": "axes:\n  a: !!python/tuple [x]\n"}, (), "", ("config.yaml", 2, 6)),
    "S001": ({"config.yaml": "axes:\n  a: [x]\noutput:\n  seed: abc\n"}, (), "", ("config.yaml", 4, 9)),
    "S002": ({"config.yaml": "axes:\n  a: [x]\naxis:\n  b: [y]\n"}, (), "", ("config.yaml", 3, 1)),
    "S003": ({"config.yaml": "- a\n- b\n"}, (), "", ("config.yaml", 1, 1)),
    "I001": ({"config.yaml": "axes:\n  a: '@file:items/levls.csv'\n", "items/levels.csv": "a\nx\n"}, (), "",
             ("config.yaml", 2, 6)),
    "I002": ({"config.yaml": "axes:\n  a: '@file:../x.csv'\n"}, (), "", ("config.yaml", 2, 6)),
    "I003": ({"config.yaml": "axes:\n  a: '@file:items/l.csv'\n", "items/l.csv": "a,b\nx,y\nz\n"}, (), "",
             ("items/l.csv", 3, None)),
    "I004": ({"config.yaml": "axes:\n  a: '@file:items/l.csv'\n", "items/l.csv": 'a\nx\n""\n'}, (), "",
             ("items/l.csv", 3, None)),
    "I005": ({"config.yaml": "axes:\n  a: '@file:items/l.txt'\n", "items/l.txt": "x\n" * 20}, (),
             "max-include-bytes = 10\n", ("config.yaml", 2, 6)),
    "I006": ({"config.yaml": "axes:\n  a: [x]\n  b: [y]\nrules:\n  tuples:\n    t:\n      axes: [a, b]\n"
                             "      items: '@file:items/t.csv'\n", "items/t.csv": "a,c\nx,y\n"}, (), "",
             ("items/t.csv", 1, None)),
    "R001": ({"config.yaml": "axes:\n  a: [x, y]\nrules:\n  subsets:\n    aa: [x]\n"}, (), "", ("config.yaml", 5, 5)),
    "R002": ({"config.yaml": "axes:\n  a: [x, y]\n  b: [x, y]\n  c: ['1']\nrules:\n  pairs:\n    p:\n      left: t\n"
                             "      right: c\n      allowed: [[x, '1']]\n  ties:\n    t: [a, b]\n"}, (), "",
             ("config.yaml", 8, 13)),
    "R003": ({"config.yaml": "axes:\n  a: [x, y]\nrules:\n  subsets:\n    a: [x, q]\n"}, (), "", ("config.yaml", 5, 12)),
    "R004": ({"config.yaml": "axes:\n  a: [x, y]\nrules:\n  subsets:\n    a: [x, y]\n"}, (), "", ("config.yaml", 5, 5)),
    "R005": ({"config.yaml": "axes:\n  a: [x, y]\n  b: [z]\nrules:\n  ties:\n    t: [a, b]\n"}, (), "",
             ("config.yaml", 6, 5)),
    "R006": ({"config.yaml": "axes:\n  a: [x, y]\n  b: [z]\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
                             "      allowed: [[x, z], [q, z]]\n"}, (), "", ("config.yaml", 9, 25)),
    "R007": ({"config.yaml": "axes:\n  a: [x, y]\n  b: [z, w]\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
                             "      balance: left\n      allowed: [[x, z], [x, w], [y, z]]\n"}, (), "",
             ("config.yaml", 9, 16)),
    "R008": ({"config.yaml": "axes:\n  a: [x, y, x]\n"}, (), "", ("config.yaml", 2, 13)),
    "R009": ({"config.yaml": "axes:\n  a: null\n  b: [x]\n"}, (), "", ("config.yaml", 2, 3)),
    "R010": ({"config.yaml": "axes:\n  a: [x]\n  b: [y]\nrules:\n  tuples:\n    t:\n      axes: [a, b]\n"
                             "      items: [[x, y, z]]\n"}, (), "", ("config.yaml", 8, 15)),
    "R011": ({"config.yaml": "axes:\n  a: [x]\n  b: [x]\n  c: [y]\nrules:\n  ties:\n    c: [a, b]\n"}, (), "",
             ("config.yaml", 7, 5)),
    "R012": ({"config.yaml": "axes:\n  a: [x]\n  b: [y]\nrules:\n  pairs:\n    p:\n      left: a\n      right: a\n"
                             "      allowed: [[x, x]]\n"}, (), "", ("config.yaml", 8, 14)),
    "R013": ({"config.yaml": "axes:\n  a: [x]\noutput:\n  field_order: [a, zz]\n"}, (), "", ("config.yaml", 4, 20)),
    "R014": ({"config.yaml": "axes:\n  a: [x, y, z]\n  b: [x, y]\n"}, ("--max-rows", "5"), "", ("config.yaml", 1, 1)),
    "R015": ({"config.yaml": "axes:\n  a: [x, y, z]\n"}, (), "max-levels = 2\n", ("config.yaml", 2, 3)),
}
WARNINGS = {"R003", "R004", "R008", "L001"}


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_code_at_its_line(lint, in_tmp_cwd, code):
    files, args, limits, (file, line, col) = CASES[code]
    make_project(in_tmp_cwd, {}, extra="", catalogs={}, catalog_config={})
    if limits:
        (in_tmp_cwd / "cohort-dsl.toml").write_text('data-root = "data"\n' + LIMITS + limits)
    write_files(in_tmp_cwd / "specs" / "b", files)
    result = lint(*args, CONFIG)
    assert result.codes() == [code], result
    d = result.only(code)
    assert where(d) == (f"specs/b/{file}", line, col), d
    assert d["severity"] == ("warning" if code in WARNINGS else "error")
    assert result.rc == (0 if code in WARNINGS else 1)


def test_hints_suggest_close_matches(lint, root):
    write_files(root / "specs" / "b", {"config.yaml": "axes:\n  a: '@file:items/levls.csv'\n", "items/levels.csv": "a\nx\n"})
    assert "did you mean 'levels.csv'" in lint(CONFIG).only("I001")["hint"]
    write_files(root / "specs" / "b", {"config.yaml": "axes:\n  a: [x, y]\nrules:\n  subsets:\n    aa: [x]\n"})
    assert "did you mean 'a'" in lint(CONFIG).only("R001")["hint"]
    write_files(root / "specs" / "b", {"config.yaml": "axes:\n  a: [x]\naxis:\n  b: [y]\n"})
    assert "did you mean 'axes'" in lint(CONFIG).only("S002")["hint"]


def test_text_format_is_path_line_col_code_message(lint, root):
    write_files(root / "specs" / "b", {"config.yaml": "axes:\n  a: [x]\n  a: [y]\n"})
    result = lint(CONFIG, fmt="text")
    assert result.rc == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("specs/b/config.yaml:3:3: Y002 duplicate key 'a'")
    assert lines[1].startswith("  hint: ")
    assert lines[-1] == "Found 1 error and 0 warnings in 1 bundle."


# =============================================================================
# catalogs
# =============================================================================

class TestCatalogs:
    def test_c001_points_at_the_config_line_with_did_you_mean(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1, dx2]")}})
        d = lint("--all").only("C001")
        assert where(d) == ("data/cohorts/c1/spec/config.yaml", 3, 24)
        assert "'dx2'" in d["message"] and "draft_template" in d["message"]
        assert "did you mean 'd2'" in d["hint"]

    def test_c001_points_at_the_row_of_the_included_csv(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("'@file:items/dt.csv'"),
                                   "items/dt.csv": "draft_template\nd1\nd22\nd3\n"}})
        result = lint("--all")
        assert result.rc == 1
        d = result.only("C001")
        assert where(d) == ("data/cohorts/c1/spec/items/dt.csv", 3, None)
        assert "'d22'" in d["message"]
        assert "did you mean 'd2'" in d["hint"]

    def test_c001_in_a_tuple_csv_points_at_its_row(self, lint, root):
        spec = full_spec("X").replace("  draft_template: X\n", "").replace("  essay_template: [e1]\n", "") + \
            "rules:\n  tuples:\n    t:\n      axes: [draft_template, essay_template]\n      items: '@file:items/t.csv'\n"
        make_project(root, {"c1": {"config.yaml": spec, "items/t.csv": "essay_template,draft_template\ne1,d1\ne1,d7\n"}})
        d = lint("--all").only("C001")
        assert where(d) == ("data/cohorts/c1/spec/items/t.csv", 3, None)
        assert "'d7'" in d["message"]

    def test_c001_in_a_pair_entry(self, lint, root):
        spec = full_spec("[d1, d2, d9]") + ("rules:\n  pairs:\n    p:\n      left: draft_template\n      right: essay_template\n"
                                           "      allowed: [[d1, e1], [d9, e1]]\n")
        make_project(root, {"c1": {"config.yaml": spec}})
        result = lint("--all")
        misses = [d for d in result.diagnostics if d["code"] == "C001"]
        assert [d["message"].split()[0] for d in misses] == ["'d9'"]
        # the value is written first in the axis (line 3)
        assert where(misses[0])[:2] == ("data/cohorts/c1/spec/config.yaml", 3)

    def test_values_a_rule_removed_are_not_checked(self, lint, root):
        spec = full_spec("[d1, d9]") + "rules:\n  subsets:\n    draft_template: [d1]\n"
        make_project(root, {"c1": {"config.yaml": spec}})
        assert "C001" not in lint("--all").codes()

    def test_c002_legacy_active_column_in_the_catalog_file(self, lint, root):
        catalogs = {"catalogs/draft_templates.csv": "template_id,generator,active\nd1,llm,true\nd2,llm,false\n"}
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]")}}, catalogs=catalogs)
        result = lint("--all")
        assert result.rc == 1
        d = result.only("C002")
        assert where(d) == ("data/catalogs/draft_templates.csv", 1, 23)
        assert "active" in d["message"]

    def test_c003_catalog_without_the_configured_column(self, lint, root):
        catalogs = {"catalogs/draft_templates.csv": "id,generator\nd1,llm\n"}
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]")}}, catalogs=catalogs)
        result = lint("--all")
        assert result.rc == 1
        d = result.only("C003")
        assert where(d) == ("data/catalogs/draft_templates.csv", 1, None)
        assert "template_id" in d["message"]

    def test_c003_missing_catalog_file(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]")}},
                     catalog_config={"draft_template": "catalogs/draft_template.csv:template_id"})
        result = lint("--all")
        assert result.rc == 1
        d = result.only("C003")
        assert d["path"] == "data/catalogs/draft_template.csv"
        assert "did you mean 'draft_templates.csv'" in d["hint"]

    def test_c003_invalid_json_catalog(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]")}}, catalogs={"catalogs/all.json": '{\n  "draft_template": [d1]\n}\n'},
                     catalog_config={"draft_template": "catalogs/all.json"})
        d = lint("--all").only("C003")
        assert where(d)[:2] == ("data/catalogs/all.json", 2)

    def test_cli_catalog_json(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]")}}, catalogs={}, catalog_config={})
        (root / "cat.json").write_text(json.dumps({"draft_llm": ["m2"], "essay_llm": {"m1": {"generator": "llm"}}}))
        result = lint("--catalog", "cat.json", "--all")
        assert result.rc == 1
        d = result.only("C001")
        assert "'m1'" in d["message"] and "draft_llm" in d["message"]
        assert where(d) == ("data/cohorts/c1/spec/config.yaml", 4, 15)

    def test_cli_catalog_json_must_be_keyed_by_axis(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]")}}, catalogs={}, catalog_config={})
        (root / "cat.json").write_text(json.dumps(["m1"]))
        assert "C003" in lint("--catalog", "cat.json", "--all").codes()

    def test_cli_catalog_csv_with_and_without_column(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]")}}, catalogs={}, catalog_config={})
        (root / "llms.csv").write_text("name,provider\nm2,x\n")
        result = lint("--catalog-csv", "evaluation_llm=llms.csv:name", "--all")
        d = result.only("C001")
        assert "evaluation_llm" in d["message"] and where(d)[:2] == ("data/cohorts/c1/spec/config.yaml", 8)
        (root / "ids.csv").write_text("id\nm1\n")
        assert lint("--catalog-csv", "evaluation_llm=ids.csv", "--all").rc == 0
        # the column defaults to id
        assert "C003" in lint("--catalog-csv", "evaluation_llm=llms.csv", "--all").codes()

    def test_cli_catalog_csv_needs_axis_and_path(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]")}})
        result = lint("--catalog-csv", "llms.csv", "--all")
        assert result.rc == 2
        assert "AXIS=PATH" in result.err


# =============================================================================
# membership checks (cohorts)
# =============================================================================

class TestMembershipChecks:
    def test_clean_cohort(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1, d2]")}})
        result = lint("--all")
        assert result.rc == 0, result
        assert result.diagnostics == []
        assert result.json["summary"] == {"errors": 0, "warnings": 0, "bundles": 1}

    def test_m001_names_the_missing_columns(self, lint, root):
        make_project(root, {"c1": {"config.yaml": "axes:\n  combo_id: [c1]\n  draft_template: [d1]\n"}})
        d = lint("--all").only("M001")
        assert where(d) == ("data/cohorts/c1/spec/config.yaml", 1, 1)
        for column in ("draft_llm", "essay_template", "essay_llm", "evaluation_template", "evaluation_llm"):
            assert column in d["message"]

    def test_m001_not_for_bundles_outside_cohorts(self, lint, root):
        write_files(root / "specs" / "b", {"config.yaml": "axes:\n  combo_id: [c1]\n"})
        assert lint(CONFIG).codes() == []

    def test_m002_case_collision_with_both_sources(self, lint, root):
        catalogs = {"catalogs/draft_templates.csv": "template_id\nd1\nD1\n"}
        make_project(root, {"c1": {"config.yaml": full_spec("[d1, D1]")}}, catalogs=catalogs)
        result = lint("--all")
        assert result.rc == 1
        d = result.only("M002")
        assert where(d) == ("data/cohorts/c1/spec/config.yaml", 3, 24)
        assert "'d1'" in d["message"] and "'D1'" in d["message"]
        assert "config.yaml:3:20" in d["message"]

    def test_m002_essays_differing_only_in_essay_llm(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]").replace("essay_llm: [m1]", "essay_llm: [m1, m2]")}})
        d = lint("--all").only("M002")
        assert where(d) == ("data/cohorts/c1/spec/config.yaml", 6, 19)
        assert "essay_llm" in d["message"] and "'m1'" in d["message"] and "'m2'" in d["message"]

    def test_m002_from_an_included_csv(self, lint, root):
        spec = full_spec("[d1]").replace("essay_llm: [m1]", "essay_llm: '@file:items/llms.csv'")
        make_project(root, {"c1": {"config.yaml": spec, "items/llms.csv": "essay_llm\nm1\nm2\n"}})
        d = lint("--all").only("M002")
        assert where(d) == ("data/cohorts/c1/spec/items/llms.csv", 3, None)

    def test_m004_bad_replicate(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]", "  essay_replicate: ['1', x]\n")}})
        d = lint("--all").only("M004")
        assert where(d) == ("data/cohorts/c1/spec/config.yaml", 9, 26)

    def test_m004_unicode_digit_replicate(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]", "  essay_replicate: ['²']\n")}})
        result = lint("--all")
        assert result.codes() == ["M004"]
        assert where(result.only("M004")) == ("data/cohorts/c1/spec/config.yaml", 9, 21)

    def test_m005_unknown_layout(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]", "output:\n  layout: two-phaze\n")}})
        d = lint("--all").only("M005")
        assert where(d) == ("data/cohorts/c1/spec/config.yaml", 10, 11)
        assert "did you mean 'two-phase'" in d["hint"]

    def test_m005_applies_to_any_bundle_that_names_a_layout(self, lint, root):
        write_files(root / "specs" / "b", {"config.yaml": "axes:\n  a: [x]\noutput:\n  layout: nope\n"})
        assert lint(CONFIG).codes() == ["M005"]

    def test_m006_malformed_committed_membership(self, lint, root, cli):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1]")}})
        assert cli("materialize", "c1").rc == 0
        path = root / "data" / "cohorts" / "c1" / "membership.csv"
        path.write_text(path.read_text() + "draft,d_x,extra\n")
        result = lint("--all")
        assert result.rc == 1
        d = result.only("M006")
        assert where(d) == ("data/cohorts/c1/membership.csv", 5, None)

    def test_m003_stale_membership_with_counts(self, lint, root, cli):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1, d2]")}})
        assert cli("materialize", "c1").rc == 0
        assert lint("--all").rc == 0
        spec = spec_path(root, "c1")
        spec.write_text(spec.read_text().replace("[d1, d2]", "[d1, d3]"))
        result = lint("--all")
        assert result.rc == 1
        d = result.only("M003")
        assert d["path"] == "data/cohorts/c1/spec/config.yaml"
        assert "3 records would be added (1 draft, 1 essay, 1 evaluation: draft_template 'd3' is new" in d["message"]
        assert "3 would be removed (1 draft, 1 essay, 1 evaluation: draft_template 'd2' is gone" in d["message"]
        assert "e.g. d_" in d["message"]
        assert "--force" in d["hint"]
        # materializing with --force brings the gate back to green
        assert cli("materialize", "c1", "--force").rc == 0
        assert lint("--all").rc == 0

    def test_m003_by_linting_the_membership_file(self, lint, root, cli):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1, d2]")}})
        assert cli("materialize", "c1").rc == 0
        path = root / "data" / "cohorts" / "c1" / "membership.csv"
        lines = path.read_text().splitlines()
        path.write_text("\n".join(lines[:-1]) + "\n")  # one evaluation lost
        result = lint("data/cohorts/c1/membership.csv")
        d = result.only("M003")
        assert "1 record would be added (1 evaluation: " in d["message"]


# =============================================================================
# lint-level codes: L001, P001
# =============================================================================

class TestSuppression:
    def bundle(self, root, line3: str):
        make_project(root, {"c1": {"config.yaml": full_spec("X").replace("  draft_template: X\n", line3 + "\n")}})

    def test_noqa_code_suppresses_on_its_line(self, lint, root):
        self.bundle(root, "  draft_template: [d1, dx2]  # noqa: C001")
        result = lint("--all")
        assert result.rc == 0, result
        assert result.codes() == []

    def test_bare_noqa_suppresses_everything_on_its_line(self, lint, root):
        self.bundle(root, "  draft_template: [d1, dx2, d1]  # noqa")
        result = lint("--all")
        assert result.rc == 0, result
        assert result.codes() == []

    def test_noqa_takes_prefixes_and_lists_in_any_case_of_the_word(self, lint, root):
        self.bundle(root, "  draft_template: [d1, dx2, d1]  # NOQA:C, R008")
        assert lint("--all").codes() == []

    def test_noqa_codes_are_case_sensitive_and_an_unknown_one_is_an_error(self, lint, root):
        self.bundle(root, "  draft_template: [d1, dx2, d1]  # noqa: c001, R008")
        result = lint("--all")
        assert result.rc == 1
        unknown = result.only("L002")
        assert unknown["severity"] == "error" and "'c001'" in unknown["message"] and "'C001'" in unknown["message"]
        assert "C001" in result.codes()  # a misspelt code suppresses nothing

    def test_noqa_for_another_code_does_not_suppress_and_is_reported(self, lint, root):
        self.bundle(root, "  draft_template: [d1, dx2]  # noqa: R008")
        result = lint("--all")
        assert result.rc == 1
        assert sorted(result.codes()) == ["C001", "L001"]
        d = result.only("L001")
        assert d["severity"] == "warning"
        assert where(d)[:2] == ("data/cohorts/c1/spec/config.yaml", 3)
        assert "R008" in d["message"]

    def test_noqa_on_another_line_does_not_suppress(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1, dx2]").replace("[c1]", "[c1]  # noqa: C001")}})
        result = lint("--all")
        assert sorted(result.codes()) == ["C001", "L001"]
        assert where(result.only("L001"))[1] == 2

    def test_l001_can_be_ignored(self, lint, root):
        self.bundle(root, "  draft_template: [d1, dx2]  # noqa: R008")
        assert lint("--all", "--ignore", "L001").codes() == ["C001"]

    def test_l001_unused_suppression_in_a_clean_spec(self, lint, root):
        self.bundle(root, "  draft_template: [d1, d2]  # noqa: R008")
        result = lint("--all")
        assert result.rc == 0
        d = result.only("L001")
        assert where(d)[:2] == ("data/cohorts/c1/spec/config.yaml", 3)


class _CrashingPlugin:
    @hookimpl
    def cohort_dsl_lint_rules(self):
        def check(context):
            raise RuntimeError("boom")

        return [LintRule("ZZ001", "crashes", "A check that raises.", check=check)]


class _FindingPlugin:
    @hookimpl
    def cohort_dsl_lint_rules(self):
        def check(context):
            from cohort_dsl.diagnostics import Diagnostic, Location

            yield Diagnostic("ZZ002", "found something", Location(str(context.bundle.document.path), 2, 3))

        return [LintRule("ZZ002", "finds", "A check that reports.", severity="warning", check=check)]


def test_p001_a_crashing_plugin_check_is_a_diagnostic(lint, root):
    make_project(root, {"c1": {"config.yaml": full_spec("[d1, dx2]")}})
    crashing = build_engine(plugins=[_CrashingPlugin(), _FindingPlugin()], entry_points=False)
    result = lint("--all", engine=crashing)
    assert result.rc == 1
    d = result.only("P001")
    assert d["path"] == "data/cohorts/c1/spec/config.yaml"
    assert "ZZ001" in d["message"] and "RuntimeError" in d["message"] and "boom" in d["message"]
    assert d["severity"] == "error"
    # the other checks still ran
    assert "C001" in result.codes()
    assert where(result.only("ZZ002")) == ("data/cohorts/c1/spec/config.yaml", 2, 3)


def test_plugin_codes_are_selectable(lint, root):
    make_project(root, {"c1": {"config.yaml": full_spec("[d1, dx2]")}})
    finding = build_engine(plugins=[_FindingPlugin()], entry_points=False)
    assert lint("--all", "--select", "ZZ", engine=finding).codes() == ["ZZ002"]
    assert lint("--all", "--ignore", "finds", engine=finding).codes() == ["C001"]


# =============================================================================
# exit codes
# =============================================================================

class TestExitCodes:
    def test_clean_is_0(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec()}})
        assert lint("--all").rc == 0

    def test_warnings_only_is_0(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1, d2, d1]")}})
        result = lint("--all")
        assert result.rc == 0
        assert result.codes() == ["R008"]

    def test_errors_are_1(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1, dx2]")}})
        assert lint("--all").rc == 1

    def test_unknown_format_is_2(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec()}})
        result = lint("--all", fmt="xml")
        assert result.rc == 2
        assert "unknown format 'xml'" in result.err and "sarif" in result.err

    def test_nonexistent_path_is_2(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec()}})
        result = lint("data/cohorts/c1/spec/nope.yaml")
        assert result.rc == 2
        assert "nope.yaml" in result.err

    def test_bad_config_key_is_2_with_did_you_mean(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec()}}, extra='slect = ["R"]\n')
        result = lint("--all")
        assert result.rc == 2
        assert "slect" in result.err and "did you mean 'select'" in result.err

    def test_bad_config_value_is_2(self, lint, root):
        make_project(root, {"c1": {"config.yaml": full_spec()}}, extra='select = "R"\n')
        assert lint("--all").rc == 2

    def test_unparsable_config_is_2(self, lint, root):
        (root / "cohort-dsl.toml").write_text("data-root = \n")
        assert lint("--all").rc == 2

    def test_no_bundles_is_2(self, lint, root):
        result = lint()
        assert result.rc == 2
        assert "no spec bundles" in result.err

    def test_explicit_config_file(self, lint, root, tmp_path_factory, monkeypatch):
        make_project(root, {"c1": {"config.yaml": full_spec("[d1, dx2]")}})
        monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
        result = lint("--config", str(root / "cohort-dsl.toml"), "--all")
        assert result.rc == 1 and result.codes() == ["C001"]
        assert lint("--config", str(root / "missing.toml"), "--all").rc == 2


# =============================================================================
# selection
# =============================================================================

class TestSelection:
    SPEC = full_spec("[d1, dx2, d1]", "rules:\n  subsets:\n    combo_id: [c1, zz]\n")  # C001, R008, R003, R004

    def codes(self, result):
        return sorted(result.codes())

    def test_all_by_default(self, lint, root):
        make_project(root, {"c1": {"config.yaml": self.SPEC}})
        assert self.codes(lint("--all")) == ["C001", "R003", "R004", "R008"]

    def test_select_codes_and_prefixes(self, lint, root):
        make_project(root, {"c1": {"config.yaml": self.SPEC}})
        assert self.codes(lint("--all", "--select", "R008")) == ["R008"]
        assert self.codes(lint("--all", "--select", "R")) == ["R003", "R004", "R008"]
        assert self.codes(lint("--all", "--select", "C001,R004")) == ["C001", "R004"]
        # errors not selected do not fail the run
        assert lint("--all", "--select", "R").rc == 0

    def test_ignore_codes_and_prefixes(self, lint, root):
        make_project(root, {"c1": {"config.yaml": self.SPEC}})
        assert self.codes(lint("--all", "--ignore", "R008")) == ["C001", "R003", "R004"]
        assert self.codes(lint("--all", "--ignore", "R")) == ["C001"]
        assert lint("--all", "--ignore", "C").rc == 0

    def test_select_by_rule_name(self, lint, root):
        make_project(root, {"c1": {"config.yaml": self.SPEC}})
        assert self.codes(lint("--all", "--select", "catalog-miss")) == ["C001"]

    def test_config_select_and_ignore(self, lint, root):
        make_project(root, {"c1": {"config.yaml": self.SPEC}}, extra='select = ["R", "C"]\nignore = ["R004"]\n')
        assert self.codes(lint("--all")) == ["C001", "R003", "R008"]

    def test_command_line_overrides_config(self, lint, root):
        make_project(root, {"c1": {"config.yaml": self.SPEC}}, extra='select = ["R008"]\n')
        assert self.codes(lint("--all")) == ["R008"]
        assert self.codes(lint("--all", "--select", "C")) == ["C001"]

    def test_pyproject_config(self, lint, root):
        os.remove(root / "cohort-dsl.toml")
        make_project(root, {"c1": {"config.yaml": self.SPEC}}, style="pyproject", extra='ignore = ["R"]\n')
        assert not (root / "cohort-dsl.toml").exists()
        assert self.codes(lint("--all")) == ["C001"]


# =============================================================================
# targets: which bundles a path lints
# =============================================================================

class TestTargets:
    @pytest.fixture
    def repo(self, root):
        """a: C001 in an include; b: C001 in config.yaml; c: clean; d: clean."""
        make_project(root, {
            "a": {"config.yaml": full_spec("'@file:items/dt.csv'"), "items/dt.csv": "draft_template\nd1\nd9\n"},
            "b": {"config.yaml": full_spec("[d1, d8]")},
            "c": {"config.yaml": full_spec("[d1]")},
            "d": {"config.yaml": full_spec("'@file:items/sub/dt.txt'"), "items/sub/dt.txt": "d2\n"},
        })
        return root

    def linted(self, result) -> int:
        assert result.rc in (0, 1), result
        return result.json["summary"]["bundles"]

    def paths(self, result) -> list[str]:
        return sorted(d["path"] for d in result.diagnostics)

    def test_the_config_lints_its_bundle(self, lint, repo):
        result = lint("data/cohorts/b/spec/config.yaml")
        assert self.linted(result) == 1
        assert self.paths(result) == ["data/cohorts/b/spec/config.yaml"]

    def test_the_bundle_folder_lints_it(self, lint, repo):
        assert self.linted(lint("data/cohorts/b/spec")) == 1
        assert self.linted(lint("data/cohorts/b")) == 1

    def test_a_changed_include_lints_the_bundle_including_it(self, lint, repo):
        result = lint("data/cohorts/a/spec/items/dt.csv")
        assert self.linted(result) == 1
        assert self.paths(result) == ["data/cohorts/a/spec/items/dt.csv"]
        assert self.linted(lint("data/cohorts/d/spec/items/sub/dt.txt")) == 1

    def test_a_catalog_file_lints_every_bundle(self, lint, repo):
        result = lint("data/catalogs/draft_templates.csv")
        assert self.linted(result) == 4
        assert self.paths(result) == ["data/cohorts/a/spec/items/dt.csv", "data/cohorts/b/spec/config.yaml"]

    def test_a_catalog_given_on_the_command_line_lints_every_bundle(self, lint, repo):
        (repo / "cat.json").write_text('{"draft_llm": ["m1"]}')
        assert self.linted(lint("--catalog", "cat.json", "cat.json")) == 4

    def test_a_membership_file_lints_its_cohort(self, lint, repo, cli):
        assert cli("materialize", "c").rc == 0
        result = lint("data/cohorts/c/membership.csv")
        assert self.linted(result) == 1
        assert result.rc == 0

    def test_the_settings_file_lints_every_bundle(self, lint, repo):
        assert self.linted(lint("cohort-dsl.toml")) == 4

    def test_all_and_no_path_lint_every_bundle(self, lint, repo):
        assert self.linted(lint("--all")) == 4
        assert self.linted(lint()) == 4
        assert self.paths(lint("--all")) == self.paths(lint("data/catalogs/draft_templates.csv"))

    def test_all_ignores_folders_without_a_spec(self, lint, repo):
        (repo / "data" / "cohorts" / "notes").mkdir()
        (repo / "data" / "cohorts" / "notes" / "README.md").write_text("x")
        assert self.linted(lint("--all")) == 4

    def test_several_paths_lint_each_bundle_once(self, lint, repo):
        result = lint("data/cohorts/a/spec/items/dt.csv", "data/cohorts/a/spec/config.yaml", "data/cohorts/b/spec")
        assert self.linted(result) == 2
        assert len(result.diagnostics) == 2

    def test_a_file_that_no_bundle_owns_lints_nothing(self, lint, repo):
        (repo / "data" / "cohorts" / "a" / "notes.txt").write_text("x\n")
        result = lint("data/cohorts/a/notes.txt")
        assert result.rc == 0
        assert self.linted(result) == 0

    def test_data_root_flag(self, lint, repo, tmp_path_factory, monkeypatch):
        monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
        result = lint("--data-root", str(repo / "data"), "--all")
        assert self.linted(result) == 4


# =============================================================================
# output, cache, parallel runs
# =============================================================================

def test_output_file(lint, root):
    make_project(root, {"c1": {"config.yaml": full_spec("[d1, dx2]")}})
    result = lint("--all", "--output", "report.json")
    assert result.rc == 1
    assert result.out == ""
    report = json.loads((root / "report.json").read_text())
    assert [d["code"] for d in report["diagnostics"]] == ["C001"]
    assert not list(root.glob(".cohort-dsl-tmp-*"))
    text = lint("--all", "--output", "report.txt", fmt="text")
    assert text.out == ""
    assert "C001" in (root / "report.txt").read_text()


class TestCache:
    @pytest.fixture
    def repo(self, root):
        make_project(root, {
            "a": {"config.yaml": full_spec("'@file:items/dt.csv'"), "items/dt.csv": "draft_template\nd1\nd9\n"},
            "b": {"config.yaml": full_spec("[d1, d2]")},
        })
        return root

    def test_second_run_is_identical_and_the_cache_ignores_itself(self, lint, repo):
        first = lint("--all", cache=True, fmt="text")
        cache = repo / ".cohort-dsl-cache"
        assert cache.is_dir()
        assert (cache / ".gitignore").read_text().strip().endswith("*")
        second = lint("--all", cache=True, fmt="text")
        assert (second.rc, second.out) == (first.rc, first.out)
        assert first.out == lint("--all", fmt="text").out

    def test_a_changed_include_invalidates(self, lint, repo):
        assert lint("--all", cache=True).codes() == ["C001"]
        (repo / "data/cohorts/a/spec/items/dt.csv").write_text("draft_template\nd1\nd2\n")
        assert lint("--all", cache=True).codes() == []

    def test_a_changed_catalog_invalidates(self, lint, repo):
        assert lint("--all", cache=True).codes() == ["C001"]
        (repo / "data/catalogs/draft_templates.csv").write_text("template_id\nd1\nd9\n")
        assert sorted(lint("--all", cache=True).codes()) == ["C001"]
        assert lint("--all", cache=True).only("C001")["message"].startswith("'d2'")

    def test_a_changed_membership_invalidates(self, lint, repo, cli):
        assert cli("materialize", "b").rc == 0
        assert lint("--all", cache=True).codes() == ["C001"]
        path = repo / "data/cohorts/b/membership.csv"
        path.write_text(path.read_text().rsplit("\n", 2)[0] + "\n")
        # a hand edit: the spec gives other ids (M003), and the files no longer belong together (M013)
        assert sorted(lint("--all", cache=True).codes()) == ["C001", "M003", "M013"]

    def test_changed_selection_is_not_served_from_the_cache(self, lint, repo):
        assert lint("--all", cache=True).codes() == ["C001"]
        assert lint("--all", "--ignore", "C001", cache=True).codes() == []

    def test_no_cache_writes_nothing(self, lint, repo):
        lint("--all")
        assert not (repo / ".cohort-dsl-cache").exists()

    def test_cache_can_be_turned_off_in_the_config(self, lint, repo):
        (repo / "cohort-dsl.toml").write_text((repo / "cohort-dsl.toml").read_text().replace(
            'data-root = "data"\n', 'data-root = "data"\ncache = false\n'))
        lint("--all", cache=True)
        assert not (repo / ".cohort-dsl-cache").exists()


def test_many_bundles_in_parallel_match_one_job(lint, root):
    cohorts = {}
    for i in range(12):
        if i % 3 == 0:
            cohorts[f"k{i:02d}"] = {"config.yaml": full_spec(f"[d1, d{i}]")}
        elif i % 3 == 1:
            cohorts[f"k{i:02d}"] = {"config.yaml": full_spec("'@file:items/dt.csv'"), "items/dt.csv": f"draft_template\nd{i}\nd2\n"}
        else:
            cohorts[f"k{i:02d}"] = {"config.yaml": full_spec("[d1, d2, d1]")}
    make_project(root, cohorts)
    one = lint("--all", "--jobs", "1", fmt="text")
    many = lint("--all", "--jobs", "4", fmt="text")
    assert one.rc == many.rc == 1
    assert many.out == one.out
    assert "in 12 bundles" in one.out
    json_one = lint("--all", "--jobs", "1")
    assert json_one.json["summary"]["bundles"] == 12
    assert json_one.json == lint("--all", "--jobs", "3").json
    cached = lint("--all", "--jobs", "4", cache=True, fmt="text")
    assert cached.out == one.out
    assert lint("--all", "--jobs", "4", cache=True, fmt="text").out == one.out


def test_examples_lint_clean(lint, tmp_path, monkeypatch):
    """The examples data repo passes its own gate (warnings allowed)."""
    from gate_helpers import REPO_DIR

    shutil.copytree(REPO_DIR / "examples" / "data", tmp_path / "data")
    shutil.copy(REPO_DIR / "examples" / "pyproject.toml", tmp_path / "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    result = lint("--all")
    assert result.rc == 0, result
    assert result.json["summary"]["errors"] == 0
    assert result.json["summary"]["bundles"] == 6
