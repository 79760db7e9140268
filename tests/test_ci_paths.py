"""Paths in CI reports (docs/ci.md, "GitHub Actions"): SARIF and GitHub
locations relative to the repository root whatever the working directory,
RFC 3986 URIs valid against the official SARIF 2.1.0 schema, control
characters that cannot inject lines, a ``helpUri`` per rule, and colour in
the text format only when asked for."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest

from cohort_dsl.builtin.ci_reporters import render_github, render_sarif
from cohort_dsl.builtin.reporters import render_text
from cohort_dsl.cli import main
from cohort_dsl.diagnostics import ERROR, WARNING, Diagnostic, Location
from cohort_dsl.paths import (escape_control, relative_uri, report_root, repository_root, rule_anchor,
                              want_color)
from cohort_dsl.pluginmanager import build_engine
from cohort_dsl.report import Report
from cohort_dsl.rules_reference import markdown
from gate_helpers import full_spec, make_project

TESTS_DIR = Path(__file__).resolve().parent
RULES_DOC = TESTS_DIR.parent / "docs" / "rules.md"
SARIF_SCHEMA = json.loads((TESTS_DIR / "schemas" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

# RFC 3986 relative-ref without query or fragment: path-noscheme (no ':' in
# the first segment, no leading '/'), each character unreserved, a
# sub-delim, ':' or '@' (not in the first segment), or %XX.
_UNRESERVED = r"[A-Za-z0-9\-._~]"
_PCT = r"%[0-9A-F]{2}"
_SUB_DELIMS = r"[!$&'()*+,;=]"
_NC = rf"(?:{_UNRESERVED}|{_PCT}|{_SUB_DELIMS}|@)"
_PCHAR = rf"(?:{_NC}|:)"
RELATIVE_REF = re.compile(rf"{_NC}+(?:/{_PCHAR}*)*")

# Folder names CI runs meet: URI delimiters, a percent sign, spaces,
# non-ASCII, and a newline (which must not become a new output line).
ODD_COHORTS = ["ablation:temp,50%", "odd name, with comma", "café é", "new\nline"]
ANALYSIS = "analysis"  # the config file's folder, below the repository root


@pytest.fixture(scope="module")
def engine():
    return build_engine(entry_points=False)


@pytest.fixture
def lint(capsys, engine, monkeypatch):
    """``lint(fmt, *args)`` runs ``cohort-dsl lint --all --no-cache`` in
    process: (exit code, stdout)."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)

    def run(fmt, *args):
        capsys.readouterr()
        rc = main(["lint", "--all", "--no-cache", "--format", fmt, *args], engine=engine)
        out, err = capsys.readouterr()
        assert "Traceback" not in err, err
        return rc, out

    return run


def _no_git_above(path: Path) -> bool:
    return not any(os.path.lexists(folder / ".git") for folder in (path, *path.parents))


@pytest.fixture
def repo(tmp_path):
    """A git-like repository (a ``.git`` folder) whose data repo lives in
    ``analysis/``: the config file's folder is not the repository root. One
    C001 error (``dx2`` at 3:24) in each oddly named cohort."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    make_project(root / ANALYSIS, {name: {"config.yaml": full_spec("[d1, dx2]")} for name in ODD_COHORTS})
    return root


def config_of(cohort: str) -> str:
    """The repository-relative path of a cohort's config.yaml."""
    return f"{ANALYSIS}/data/cohorts/{cohort}/spec/config.yaml"


def sarif_uris(sarif: dict) -> list[str]:
    return [loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in sarif["runs"][0]["results"] for loc in result["locations"]]


def validate_sarif(sarif: dict) -> None:
    jsonschema.Draft4Validator.check_schema(SARIF_SCHEMA)
    errors = sorted(jsonschema.Draft4Validator(SARIF_SCHEMA).iter_errors(sarif), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


# =============================================================================
# cohort_dsl.paths
# =============================================================================

class TestRepositoryRoot:
    def test_a_git_folder(self, tmp_path):
        (tmp_path / ".git").mkdir()
        deep = tmp_path / "a" / "b"
        deep.mkdir(parents=True)
        assert repository_root(deep) == tmp_path
        assert repository_root(tmp_path) == tmp_path

    def test_a_git_file_of_a_worktree_or_submodule(self, tmp_path):
        (tmp_path / ".git").mkdir()
        sub = tmp_path / "vendor" / "sub"
        sub.mkdir(parents=True)
        (sub / ".git").write_text("gitdir: ../../.git/modules/sub\n")
        assert repository_root(sub / "x") == sub  # the nearest top level, even below a missing folder

    def test_no_repository(self, tmp_path):
        if not _no_git_above(tmp_path):
            pytest.skip("the temporary folder is inside a git repository")
        assert repository_root(tmp_path) is None

    def test_report_root_prefers_the_repository_then_the_config_then_cwd(self, tmp_path):
        if not _no_git_above(tmp_path):
            pytest.skip("the temporary folder is inside a git repository")
        config = tmp_path / "proj" / "cohort-dsl.toml"
        cwd = tmp_path / "proj" / "data"
        cwd.mkdir(parents=True)
        assert report_root(config, cwd) == tmp_path / "proj"
        assert report_root(None, cwd) == cwd
        (tmp_path / ".git").mkdir()
        assert report_root(config, cwd) == tmp_path


class TestRelativeUri:
    @pytest.mark.parametrize("rel, uri", [
        ("data/cohorts/c1/spec/config.yaml", "data/cohorts/c1/spec/config.yaml"),
        ("ablation:temp,50%/config.yaml", "ablation%3Atemp%2C50%25/config.yaml"),
        ("odd name, with comma/x.csv", "odd%20name%2C%20with%20comma/x.csv"),
        ("café/é.yaml", "caf%C3%A9/%C3%A9.yaml"),
        ("new\nline/a#b?c[d]", "new%0Aline/a%23b%3Fc%5Bd%5D"),
        ("keep-._~/A9", "keep-._~/A9"),
    ])
    def test_percent_encoded_posix_path(self, tmp_path, rel, uri):
        assert relative_uri(str(tmp_path / rel), tmp_path) == uri
        assert RELATIVE_REF.fullmatch(uri)
        assert unquote(uri) == rel

    def test_relative_to_the_working_directory(self, tmp_path, monkeypatch):
        (tmp_path / "sub").mkdir()
        monkeypatch.chdir(tmp_path / "sub")
        assert relative_uri("x y.yaml", tmp_path) == "sub/x%20y.yaml"

    def test_outside_the_root_an_absolute_file_uri(self, tmp_path):
        root = tmp_path / "repo"
        other = tmp_path / "other dir" / "c,1.yaml"
        uri = relative_uri(str(other), root)
        assert uri == other.as_uri() == "file://" + str(tmp_path).replace(" ", "%20") + "/other%20dir/c%2C1.yaml"


class TestEscapeControl:
    @pytest.mark.parametrize("text, shown", [
        ("a\nb", "a\\nb"), ("a\r\nb", "a\\r\\nb"), ("tab\there", "tab\\there"),
        ("\x1b[31mred", "\\x1b[31mred"), ("\x00\x7f", "\\x00\\x7f"), ("c1\x85\x9b", "c1\\x85\\x9b"),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ])
    def test_control_characters_become_escapes(self, text, shown):
        assert escape_control(text) == shown

    def test_printable_text_is_unchanged(self):
        text = "ablation:temp,50% odd name, café é 漢字 🙂 \\n ~!@#$^&*()[]{}|;'\"<>?/"
        assert escape_control(text) == text


class TestWantColor:
    class Stream:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    @pytest.mark.parametrize("choice, tty, environ, expected", [
        ("always", False, {"NO_COLOR": "1"}, True),
        ("never", True, {"FORCE_COLOR": "1"}, False),
        ("auto", True, {}, True),
        ("auto", False, {}, False),
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", True, {"NO_COLOR": ""}, True),  # empty: unset
        ("auto", False, {"FORCE_COLOR": "1"}, True),
        ("auto", False, {"FORCE_COLOR": "0"}, False),
        ("auto", False, {"FORCE_COLOR": ""}, False),
        ("auto", False, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # NO_COLOR wins
    ])
    def test_choices(self, choice, tty, environ, expected):
        assert want_color(choice, self.Stream(tty), environ) is expected

    def test_a_stream_without_a_terminal(self):
        assert want_color("auto", object(), {}) is False
        closed = io.StringIO()
        closed.close()
        assert want_color("auto", closed, {}) is False

    def test_an_unknown_choice(self):
        with pytest.raises(ValueError):
            want_color("sometimes", io.StringIO(), {})


def _github_slug(heading: str) -> str:
    """GitHub's heading anchors, as documented: lowercase, drop everything
    but letters, digits, spaces, '-' and '_', spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


class TestRuleAnchor:
    def test_the_documented_example(self, engine):
        assert rule_anchor(engine.registry.lint_rules["C001"]) == "c001-catalog-miss-error"

    def test_every_builtin_code_has_its_heading_in_docs_rules_md(self, engine):
        headings = re.findall(r"^#{1,6} +(.+?) *#* *$", RULES_DOC.read_text(encoding="utf-8"), re.MULTILINE)
        anchors = {_github_slug(h) for h in headings}
        builtin = [r for r in engine.registry.lint_rules.values() if r.plugin and r.plugin.builtin]
        assert builtin
        missing = sorted(f"{r.code} #{rule_anchor(r)}" for r in builtin if rule_anchor(r) not in anchors)
        assert not missing, f"helpUri anchors with no heading in docs/rules.md (regenerate it?): {missing}"

    def test_the_anchor_follows_the_generated_heading(self, engine):
        """Whatever docs/rules.md holds now, the anchor is the slug of the
        heading :func:`markdown` writes for the rule."""
        generated = markdown(engine.registry)
        for rule in engine.registry.lint_rules.values():
            heading = f"### {rule.code} `{rule.name}` ({rule.severity})"
            assert heading in generated.splitlines()
            assert rule_anchor(rule) == _github_slug(heading[4:])


# =============================================================================
# the CLI, run from a subfolder (GitHub Actions' `working-directory:`)
# =============================================================================

class TestSarifPaths:
    @pytest.mark.parametrize("where", ["", ANALYSIS, f"{ANALYSIS}/data/cohorts"])
    def test_uris_are_relative_to_the_repository_root(self, lint, repo, monkeypatch, where):
        monkeypatch.chdir(repo / where)
        # at the repository root the config (in analysis/) is not found by walking up
        rc, out = lint("sarif", *(["--config", f"{ANALYSIS}/cohort-dsl.toml"] if not where else []))
        assert rc == 1
        sarif = json.loads(out)
        validate_sarif(sarif)
        run = sarif["runs"][0]
        assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": repo.as_uri() + "/"}}
        assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")
        uris = sarif_uris(sarif)
        assert sorted(unquote(u) for u in uris) == sorted(config_of(c) for c in ODD_COHORTS)
        for result in run["results"]:
            artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
            assert artifact["uriBaseId"] == "%SRCROOT%"
            assert RELATIVE_REF.fullmatch(artifact["uri"]), artifact["uri"]

    def test_the_odd_names_are_percent_encoded(self, lint, repo, monkeypatch):
        monkeypatch.chdir(repo / ANALYSIS / "data")
        uris = set(sarif_uris(json.loads(lint("sarif")[1])))
        prefix = f"{ANALYSIS}/data/cohorts/"
        assert uris == {prefix + name + "/spec/config.yaml" for name in (
            "ablation%3Atemp%2C50%25", "odd%20name%2C%20with%20comma", "caf%C3%A9%20%C3%A9", "new%0Aline")}

    def test_fingerprints_do_not_depend_on_the_working_directory(self, engine, repo, monkeypatch):
        # (built directly: a C001 message names its catalog relative to the working directory)
        diagnostics = [Diagnostic("C001", "same message", Location(str(repo / config_of(c)), 3, 24), ERROR)
                       for c in ODD_COHORTS]

        def fingerprints():
            out = io.StringIO()
            render_sarif(Report(diagnostics, engine.registry), out)
            return [r["partialFingerprints"] for r in json.loads(out.getvalue())["runs"][0]["results"]]

        monkeypatch.chdir(repo)
        at_root = fingerprints()
        monkeypatch.chdir(repo / ANALYSIS / "data" / "cohorts")
        assert fingerprints() == at_root
        assert len({json.dumps(f) for f in at_root}) == len(ODD_COHORTS)

    def test_every_rule_has_a_help_uri_into_the_rules_reference(self, lint, repo, monkeypatch, engine):
        monkeypatch.chdir(repo / ANALYSIS)
        rules = json.loads(lint("sarif")[1])["runs"][0]["tool"]["driver"]["rules"]
        assert {r["id"] for r in rules} == set(engine.registry.lint_rules)
        for rule in rules:
            expected = engine.registry.lint_rules[rule["id"]]
            assert rule["helpUri"] == ("https://github.com/cohort-dsl/cohort-dsl/blob/main/docs/rules.md#"
                                       + rule_anchor(expected))
        c001 = next(r for r in rules if r["id"] == "C001")
        assert c001["helpUri"].endswith("/docs/rules.md#c001-catalog-miss-error")

    def test_a_plugin_rule_has_no_help_uri_into_the_builtin_reference(self, tmp_path, monkeypatch):
        from cohort_dsl.hookspecs import hookimpl
        from cohort_dsl.registry import LintRule

        class Plugin:
            @hookimpl
            def cohort_dsl_lint_rules(self):
                return [LintRule("ZZ901", "plugin-rule", "A plugin's rule.", severity=WARNING)]

        registry = build_engine(plugins=[Plugin()], entry_points=False).registry
        monkeypatch.chdir(tmp_path)
        out = io.StringIO()
        render_sarif(Report([Diagnostic("ZZ901", "m", Location(str(tmp_path / "a.yaml"), 1), WARNING)], registry), out)
        sarif = json.loads(out.getvalue())
        validate_sarif(sarif)
        rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
        assert "helpUri" not in rules["ZZ901"]
        assert rules["C001"]["helpUri"].endswith("#c001-catalog-miss-error")

    def test_without_a_repository_the_config_folder_is_the_root(self, lint, tmp_path, monkeypatch):
        if not _no_git_above(tmp_path):
            pytest.skip("the temporary folder is inside a git repository")
        project = make_project(tmp_path / "proj", {"c 1": {"config.yaml": full_spec("[d1, dx2]")}})
        monkeypatch.chdir(project / "data" / "cohorts")
        sarif = json.loads(lint("sarif")[1])
        validate_sarif(sarif)
        assert sarif_uris(sarif) == ["data/cohorts/c%201/spec/config.yaml"]
        assert sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.as_uri() + "/"
        rc, out = lint("github")
        assert out.startswith("::error file=data/cohorts/c 1/spec/config.yaml,line=3,col=24,")

    def test_json_paths_stay_relative_to_the_working_directory(self, lint, repo, monkeypatch):
        monkeypatch.chdir(repo / ANALYSIS / "data")
        paths = sorted(d["path"] for d in json.loads(lint("json")[1])["diagnostics"])
        assert paths == sorted(f"cohorts/{c}/spec/config.yaml" for c in ODD_COHORTS)


class TestGithubPaths:
    def test_files_are_repository_relative_and_escaped(self, lint, repo, monkeypatch):
        monkeypatch.chdir(repo / ANALYSIS / "data")
        rc, out = lint("github")
        assert rc == 1
        annotations = [line for line in out.splitlines() if line.startswith("::")]
        files = sorted(re.match(r"::error file=([^,]*),line=3,col=24,title=C001 catalog-miss::", a).group(1)
                       for a in annotations)
        prefix = f"{ANALYSIS}/data/cohorts/"
        assert files == sorted(prefix + name + "/spec/config.yaml" for name in (
            "ablation%3Atemp%2C50%25", "odd name%2C with comma", "café é", "new%0Aline"))

    def test_a_newline_in_a_path_injects_no_line(self, lint, repo, monkeypatch):
        monkeypatch.chdir(repo / ANALYSIS)
        rc, out = lint("github")
        lines = out.splitlines()
        assert sum(line.startswith("::") for line in lines) == len(ODD_COHORTS)
        # no line starts with the part of the folder name after its newline
        assert not [line for line in lines if line.startswith("line/")]
        text = [line for line in lines if not line.startswith("::")]
        assert "data/cohorts/new\\nline/spec/config.yaml:3:24: C001 'dx2' is not in" in "\n".join(text)
        assert len(text) == 2 * len(ODD_COHORTS) + 1  # a line and a hint line each, and the summary
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f]", out)

    def test_control_characters_in_a_message(self, engine, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        d = Diagnostic("C001", "bad\x1b[2J value\nhere", Location(str(tmp_path / "a\tb" / "config.yaml"), 1, 2),
                       ERROR, "hint\u2028two")
        out = io.StringIO()
        render_github(Report([d], engine.registry), out)
        annotation, location_line, hint_line, summary = out.getvalue().splitlines()
        assert annotation == ("::error file=a\tb/config.yaml,line=1,col=2,title=C001 catalog-miss::"
                              "bad\\x1b[2J value%0Ahere%0Ahint\\u2028two")
        assert location_line == "a\\tb/config.yaml:1:2: C001 bad\\x1b[2J value\\nhere"
        assert hint_line == "  hint: hint\\u2028two"


class TestTextEscaping:
    def test_a_newline_in_a_path(self, lint, repo, monkeypatch):
        monkeypatch.chdir(repo / ANALYSIS)
        rc, out = lint("text")
        assert "data/cohorts/new\\nline/spec/config.yaml:3:24: C001 " in out
        assert len(out.splitlines()) == 2 * len(ODD_COHORTS) + 1
        assert "\x1b" not in out  # captured output: no colour

    def test_the_sarif_texts_are_escaped(self, engine, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        d = Diagnostic("C001", "x\x1by\rz", Location(str(tmp_path / "c.yaml"), 1), ERROR, "h\x00")
        out = io.StringIO()
        render_sarif(Report([d], engine.registry), out)
        sarif = json.loads(out.getvalue())
        validate_sarif(sarif)
        assert sarif["runs"][0]["results"][0]["message"]["text"] == "x\\x1by\\rz\nhint: h\\x00"


class TestSarifSchema:
    def test_a_report_with_every_odd_path_is_valid_sarif(self, engine, tmp_path, monkeypatch):
        root = tmp_path / "repo"
        (root / ".git").mkdir(parents=True)
        monkeypatch.chdir(root)
        names = ["ablation:temp,50%", "odd name, with comma", "with space", "é", "new\nline"]
        diagnostics = [Diagnostic("C001", f"in {name}", Location(str(root / name / "config.yaml"), 2, 5), ERROR,
                                  "a hint") for name in names]
        diagnostics.append(Diagnostic("R008", "no line", Location(str(root / "x.csv")), WARNING))
        diagnostics.append(Diagnostic("C003", "nowhere", Location(), ERROR))
        outside = tmp_path / "elsewhere" / "cat,alog.csv"
        diagnostics.append(Diagnostic("C003", "outside", Location(str(outside), 1, 1), ERROR))
        out = io.StringIO()
        render_sarif(Report(diagnostics, engine.registry, ["b"]), out)
        sarif = json.loads(out.getvalue())
        validate_sarif(sarif)
        by_message = {r["message"]["text"].split("\n")[0]: r for r in sarif["runs"][0]["results"]}
        for name in names:
            artifact = by_message[f"in {escape_control(name)}"]["locations"][0]["physicalLocation"]["artifactLocation"]
            assert RELATIVE_REF.fullmatch(artifact["uri"]), artifact["uri"]
            assert unquote(artifact["uri"]) == f"{name}/config.yaml"
            assert artifact["uriBaseId"] == "%SRCROOT%"
        assert "locations" not in by_message["nowhere"]
        far = by_message["outside"]["locations"][0]["physicalLocation"]["artifactLocation"]
        assert far == {"uri": outside.as_uri()}  # absolute: no base
        assert unquote(far["uri"]) == "file://" + outside.as_posix()

    def test_a_clean_run_is_valid_sarif(self, lint, tmp_path, monkeypatch):
        (tmp_path / ".git").mkdir()
        make_project(tmp_path, {"c1": {"config.yaml": full_spec("[d1, d2]")}})
        monkeypatch.chdir(tmp_path / "data")
        rc, out = lint("sarif")
        assert rc == 0
        sarif = json.loads(out)
        validate_sarif(sarif)
        assert sarif["runs"][0]["results"] == []


# =============================================================================
# colour
# =============================================================================

class TestColour:
    def report(self, engine, color):
        diagnostics = [
            Diagnostic("C001", "an error", Location("a.yaml", 1, 2), ERROR, "did you mean 'd1'?"),
            Diagnostic("R008", "a warning", Location("a.yaml", 3, 4), WARNING),
        ]
        report = Report(diagnostics, engine.registry, ["a.yaml"])
        report.color = color
        return report

    def text(self, report) -> str:
        out = io.StringIO()
        render_text(report, out)
        return out.getvalue()

    def test_off_by_default_and_when_false(self, engine):
        assert Report([]).color is False
        plain = self.text(self.report(engine, False))
        assert "\x1b" not in plain
        assert plain == ("a.yaml:1:2: C001 an error\n  hint: did you mean 'd1'?\n"
                         "a.yaml:3:4: R008 warning: a warning\nFound 1 error and 1 warning in 1 bundle.\n")

    def test_on(self, engine):
        coloured = self.text(self.report(engine, True))
        assert "\x1b[" in coloured
        assert coloured == (
            "\x1b[1ma.yaml:1:2\x1b[0m: \x1b[1;31mC001\x1b[0m an error\n"
            "  \x1b[36mhint:\x1b[0m did you mean 'd1'?\n"
            "\x1b[1ma.yaml:3:4\x1b[0m: \x1b[33mR008\x1b[0m warning: a warning\n"
            "\x1b[1mFound 1 error and 1 warning in 1 bundle.\x1b[0m\n")
        # only SGR sequences, each span reset
        assert set(re.findall(r"\x1b\[[0-9;]*m", coloured)) == {"\x1b[1m", "\x1b[1;31m", "\x1b[33m", "\x1b[36m",
                                                                  "\x1b[0m"}
        assert not re.search(r"\x1b(?!\[[0-9;]*m)", coloured)
        assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == self.text(self.report(engine, False))

    def test_escape_sequences_in_a_message_are_not_passed_through(self, engine):
        report = Report([Diagnostic("C001", "\x1b[31mfake", Location("a\x1b]0;t\x07.yaml", 1), ERROR)],
                        engine.registry)
        report.color = True
        coloured = self.text(report)
        assert "\\x1b[31mfake" in coloured and "a\\x1b]0;t\\x07.yaml:1" in coloured
        assert not re.search(r"\x1b(?!\[[0-9;]*m)", coloured)
