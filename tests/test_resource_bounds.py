"""Resource bounds (docs/spec_dsl.md, "Limits"): every limit in the table is
enforced with its own code and a message that names it, and raising it in
the config lets the same input through.

Each case is run through the CLI in-process (``compile --config``) with a
``cohort-dsl.toml`` holding a small ``[limits]`` table, then again with the
limit raised; the API (``load_bundle(..., Limits(...))``) is checked too.
Bugs found here are strict xfails (their reason starts with ``BUG:``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cohort_dsl.bundle import load_bundle
from cohort_dsl.cli import main
from cohort_dsl.compiler import compile_bundle
from cohort_dsl.diagnostics import SpecError
from cohort_dsl.limits import DEFAULT_LIMITS, Limits
from conftest import REPO_DIR, write_bundle

DOC = REPO_DIR / "docs" / "spec_dsl.md"


@dataclass
class Case:
    id: str
    limit: str  # the config key, with dashes
    small: int
    large: int
    code: str
    files: dict
    #: (file relative to the bundle, line) of the diagnostic; line None = whole file
    where: tuple
    #: a strict-xfail reason when the limit is enforced but its message does not name it
    naming_bug: str | None = None
    enforce_bug: str | None = None
    extra: dict = field(default_factory=dict)


def _levels(n: int, prefix: str = "v") -> str:
    return "[" + ", ".join(f"{prefix}{i}" for i in range(n)) + "]"


CASES = [
    Case("max-rows", "max-rows", 5, 6, "R014",
         {"config.yaml": "axes:\n  a: [x, y]\n  b: [p, q, r]\n"}, ("config.yaml", 1)),
    Case("max-rows-single-factor", "max-rows", 5, 6, "R014",
         {"config.yaml": ("axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      axes: [b, c]\n"
                          "      items: [[p, 1], [p, 2], [q, 1], [q, 2], [r, 1], [r, 2]]\n")}, ("config.yaml", 5)),
    Case("max-document-bytes", "max-document-bytes", 64, 4096, "Y004",
         {"config.yaml": "# a comment long enough to be above sixty-four bytes in all\naxes:\n  a: [x]\n"},
         ("config.yaml", None)),
    Case("max-document-bytes-yaml-include", "max-document-bytes", 100, 4096, "Y004",
         {"config.yaml": "axes:\n  a: '@file:levels.yaml'\n",
          "levels.yaml": "".join(f"- level-{i:04d}\n" for i in range(20))}, ("levels.yaml", None)),
    Case("max-document-bytes-json-include", "max-document-bytes", 100, 4096, "Y004",
         {"config.yaml": "axes:\n  a: '@file:levels.json'\n",
          "levels.json": "[" + ", ".join(f'"level-{i:04d}"' for i in range(20)) + "]\n"}, ("levels.json", None)),
    Case("max-document-bytes-multibyte-include", "max-document-bytes", 100, 4096, "Y004",
         # 60 characters but 110 bytes: the limit is in bytes
         {"config.yaml": "axes:\n  a: '@file:levels.yaml'\n",
          "levels.yaml": "".join(f"- {'é' * 10}{i}\n" for i in range(5))}, ("levels.yaml", None)),
    Case("max-yaml-nodes", "max-yaml-nodes", 20, 1000, "Y004",
         {"config.yaml": f"axes:\n  a: {_levels(30)}\n"}, ("config.yaml", 1)),
    Case("max-yaml-nodes-aliases", "max-yaml-nodes", 50, 1000, "Y004",
         {"config.yaml": f"axes:\n  a: &l {_levels(10)}\n  b: *l\n  c: *l\n  d: *l\n  e: *l\n"}, ("config.yaml", 1)),
    Case("max-yaml-depth", "max-yaml-depth", 4, 64, "Y004",
         {"config.yaml": "axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      axes: [b]\n      items: [[p]]\n"},
         ("config.yaml", 6)),  # [b] holds the first node 5 levels deep
    Case("max-include-bytes", "max-include-bytes", 100, 10_000, "I005",
         {"config.yaml": "axes:\n  a: '@file:levels.txt'\n",
          "levels.txt": "".join(f"level-{i:04d}\n" for i in range(20))}, ("config.yaml", 2)),
    Case("max-rules", "max-rules", 2, 3, "R015",
         {"config.yaml": ("axes:\n  a: [x, y]\n  b: [x, y]\nrules:\n  subsets:\n    a: [x, y]\n    b: [x, y]\n"
                          "  ties:\n    t: [a, b]\n")}, ("config.yaml", 4)),
    Case("max-levels-axis", "max-levels", 3, 4, "R015",
         {"config.yaml": "axes:\n  a: [x]\n  b: [p, q, r, s]\n"}, ("config.yaml", 3)),
    Case("max-levels-include", "max-levels", 3, 4, "I005",
         {"config.yaml": "axes:\n  a: '@file:items/a.csv'\n", "items/a.csv": "a\nw\nx\ny\nz\n"}, ("config.yaml", 2)),
    Case("max-levels-tuple-include", "max-levels", 3, 4, "I005",
         {"config.yaml": "axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      items: '@file:t.csv'\n",
          "t.csv": "b,c\np,1\nq,2\nr,3\ns,4\n"}, ("config.yaml", 6)),
]


def _case_params(kind: str):
    for case in CASES:
        marks = []
        reason = (case.enforce_bug if kind != "raise" else None) or (case.naming_bug if kind == "naming" else None)
        if reason:
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        yield pytest.param(case, id=case.id, marks=marks)


def _project(tmp_path: Path, case: Case, value: int) -> tuple[Path, Path]:
    project = tmp_path / f"project-{value}"
    bundle = write_bundle(project / "bundle", case.files)
    (project / "cohort-dsl.toml").write_text(f"[limits]\n{case.limit} = {value}\n", encoding="utf-8")
    return project, bundle


def _cli(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


def _diagnostics(text: str) -> list[tuple[str, int | None, str, str]]:
    """(path, line, code, rest of the text up to the next diagnostic)."""
    found = []
    pattern = re.compile(r"^(?P<path>\S[^:\n]*?)(?::(?P<line>\d+)(?::\d+)?)?: (?P<code>[A-Z]\d{3}) ", re.MULTILINE)
    matches = list(pattern.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        found.append((m["path"], int(m["line"]) if m["line"] else None, m["code"], text[m.end():end]))
    return found


@pytest.fixture(autouse=True)
def _cwd(in_tmp_cwd):
    return in_tmp_cwd


@pytest.mark.parametrize("case", list(_case_params("enforce")))
def test_limit_is_enforced_with_its_code_and_location(case, tmp_path, capsys, monkeypatch):
    project, bundle = _project(tmp_path, case, case.small)
    monkeypatch.chdir(project)
    rc, out, err = _cli(capsys, "compile", "bundle", "--config", project / "cohort-dsl.toml")
    assert rc == 1, err
    assert out == ""
    found = [(Path(p).resolve(), line, code) for p, line, code, _ in _diagnostics(err)]
    file, line = case.where
    assert ((bundle / file).resolve(), line, case.code) in found, err


@pytest.mark.parametrize("case", list(_case_params("naming")))
def test_limit_message_names_the_limit(case, tmp_path, capsys, monkeypatch):
    project, _ = _project(tmp_path, case, case.small)
    monkeypatch.chdir(project)
    rc, _, err = _cli(capsys, "compile", "bundle", "--config", project / "cohort-dsl.toml")
    assert rc == 1
    texts = [rest for _, _, code, rest in _diagnostics(err) if code == case.code]
    assert texts, err
    assert any(case.limit in text for text in texts), f"no mention of {case.limit!r} in:\n{err}"


@pytest.mark.parametrize("case", list(_case_params("raise")))
def test_raising_the_limit_lets_the_input_through(case, tmp_path, capsys, monkeypatch):
    project, bundle = _project(tmp_path, case, case.large)
    monkeypatch.chdir(project)
    rc, out, err = _cli(capsys, "compile", "bundle", "--config", project / "cohort-dsl.toml")
    assert rc == 0, err
    assert out.count("\n") >= 2
    rc, out, err = _cli(capsys, "lint", "bundle", "--config", project / "cohort-dsl.toml", "--no-cache")
    assert rc == 0, out + err


@pytest.mark.parametrize("case", list(_case_params("api")))
def test_limits_through_the_api(case, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", case.files)
    name = case.limit.replace("-", "_")
    with pytest.raises(SpecError) as info:
        compile_bundle(load_bundle(bundle, DEFAULT_LIMITS.updated(**{name: case.small})))
    assert case.code in [d.code for d in info.value.diagnostics]
    compiled = compile_bundle(load_bundle(bundle, DEFAULT_LIMITS.updated(**{name: case.large})))
    assert compiled.count >= 1


def test_every_documented_limit_is_tested_and_matches_the_defaults():
    """The Limits table of docs/spec_dsl.md, Limits() and CASES agree."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Limits", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z-]+)` \| ([^|]+) \|", section, re.MULTILINE)
    documented = {name: value.strip() for name, value in rows}
    assert set(documented) == {n.replace("_", "-") for n in Limits.names()}
    assert set(documented) == {case.limit for case in CASES}
    mib = 1024 * 1024
    for name, value in documented.items():
        number = int(value.split()[0].replace(",", "")) * (mib if "MiB" in value else 1)
        assert getattr(DEFAULT_LIMITS, name.replace("-", "_")) == number, name


@pytest.mark.parametrize("spelling", ["max-rows", "max_rows"])
def test_limits_in_pyproject_with_dashes_or_underscores(spelling, tmp_path, capsys, monkeypatch):
    project = tmp_path / "project"
    write_bundle(project / "bundle", {"config.yaml": "axes:\n  a: [x, y]\n  b: [p, q, r]\n"})
    (project / "pyproject.toml").write_text(f"[tool.cohort-dsl.limits]\n{spelling} = 5\n", encoding="utf-8")
    monkeypatch.chdir(project)
    rc, _, err = _cli(capsys, "compile", "bundle")
    assert rc == 1 and "R014" in err
    rc, _, err = _cli(capsys, "compile", "bundle", "--max-rows", "6")
    assert rc == 0, err


def test_top_level_max_rows_and_the_flag(tmp_path, capsys, monkeypatch):
    project = tmp_path / "project"
    write_bundle(project / "bundle", {"config.yaml": "axes:\n  a: [x, y]\n  b: [p, q, r]\n"})
    (project / "cohort-dsl.toml").write_text("max-rows = 5\n", encoding="utf-8")
    monkeypatch.chdir(project)
    rc, _, err = _cli(capsys, "compile", "bundle")
    assert rc == 1 and "R014" in err and "max-rows" in err
    rc, _, err = _cli(capsys, "compile", "bundle", "--max-rows", "6")
    assert rc == 0, err
    rc, _, err = _cli(capsys, "explain", "bundle", "--format", "json")
    assert rc == 1 and "R014" in err


def test_a_bad_limit_value_is_a_usage_error(tmp_path, capsys, monkeypatch):
    project = tmp_path / "project"
    write_bundle(project / "bundle", {"config.yaml": "axes:\n  a: [x]\n"})
    monkeypatch.chdir(project)
    for table in ("[limits]\nmax-rows = 0\n", "[limits]\nmax-rows = 'many'\n", "[limits]\nmax-roes = 5\n"):
        (project / "cohort-dsl.toml").write_text(table, encoding="utf-8")
        rc, out, err = _cli(capsys, "compile", "bundle")
        assert rc == 2, (table, err)
        assert "cohort-dsl.toml" in err


# -- bounds the Limits table implies, found by the hardening work ----------------------

def _deep(n: int) -> str:
    return "[" * n + "x" + "]" * n


@pytest.mark.parametrize("where", ["config", "yaml-include"])
def test_deep_nesting_is_refused_not_a_crash(where, tmp_path):
    if where == "config":
        files = {"config.yaml": "axes:\n  a: " + _deep(100_000) + "\n"}
        expected = "config.yaml:2"
    else:
        files = {"config.yaml": "axes:\n  a: '@file:deep.yaml'\n", "deep.yaml": _deep(100_000) + "\n"}
        expected = "deep.yaml:1"
    write_bundle(tmp_path / "bundle", files)
    result = subprocess.run([sys.executable, "-m", "cohort_dsl", "compile", "bundle"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, f"exit {result.returncode}: {result.stderr[-500:]}"
    assert "Y004" in result.stderr and expected in result.stderr


@pytest.mark.parametrize("text", [
    "axes:\n  a: " + _deep(500) + "\n",                       # flow collections
    "axes:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200)) + "  " * 200 + "x\n",  # block mappings
    "axes:\n  a: [x, {b: c]\n",                              # a syntax error
])
def test_yaml_errors_mean_one_thing_whichever_reader_notices(text, monkeypatch):
    """libyaml refuses some documents with limits and wording of its own
    (PyYAML 6.0.4 stops deep nesting before our depth check runs). Whatever
    libyaml says, the diagnostic is the one the pure-Python reader gives:
    same code, same place."""
    import yaml

    from cohort_dsl.document import load_yaml

    def outcome():
        try:
            load_yaml(text, "config.yaml")
        except SpecError as exc:
            return [(d.code, d.location.line, d.location.col) for d in exc.diagnostics]
        return []

    with_libyaml = outcome()
    real_compose = yaml.compose

    def libyaml_refuses(stream, Loader=yaml.Loader):
        if Loader is getattr(yaml, "CSafeLoader", None):
            raise yaml.YAMLError("a limit of libyaml's own")
        return real_compose(stream, Loader=Loader)

    monkeypatch.setattr(yaml, "compose", libyaml_refuses)
    refused_by_libyaml = outcome()
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    pure_python = outcome()
    assert with_libyaml == refused_by_libyaml == pure_python
    assert pure_python and pure_python[0][0] in ("Y001", "Y004")
    if "{b: c]" not in text:
        assert pure_python[0][0] == "Y004" and pure_python[0][1] >= 2


def test_deep_json_include_is_refused(tmp_path):
    """JSON includes are parsed by ``json`` first, which turns deep nesting
    into a RecursionError, reported (I003) — the reference behaviour."""
    write_bundle(tmp_path / "bundle", {"config.yaml": "axes:\n  a: '@file:deep.json'\n", "deep.json": _deep(100_000)})
    result = subprocess.run([sys.executable, "-m", "cohort_dsl", "compile", "bundle"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr[-500:]
    assert "deep.json:1" in result.stderr


@pytest.mark.parametrize("where", ["level", "seed"])
def test_a_huge_integer_is_a_located_error(where, tmp_path, capsys, monkeypatch):
    digits = "9" * 5000
    text = (f"axes:\n  a: [{digits}]\n" if where == "level" else f"axes:\n  a: [x]\noutput:\n  seed: {digits}\n")
    line = 2 if where == "level" else 4
    bundle = write_bundle(tmp_path / "bundle", {"config.yaml": text})
    monkeypatch.chdir(tmp_path)
    rc, out, err = _cli(capsys, "compile", "bundle")
    assert "internal error" not in err
    assert rc in (0, 1), err
    if rc == 1:
        assert f"config.yaml:{line}" in err, err
    try:
        compile_bundle(load_bundle(bundle))
    except SpecError:
        pass


def test_a_large_pair_compiles_without_hanging(tmp_path):
    # A hang guard only (a quadratic pair check took minutes here): the speed
    # itself is measured by bench/bench.py against a floor, not by a timed test.
    n_left, n_right, n_allowed = 2000, 100, 5000
    write_bundle(tmp_path / "bundle", {
        "config.yaml": ("axes:\n  l: '@file:l.txt'\n  r: '@file:r.txt'\nrules:\n  pairs:\n    p:\n      left: l\n"
                        "      right: r\n      allowed: '@file:allowed.csv'\n"),
        "l.txt": "\n".join(f"l{i}" for i in range(n_left)) + "\n",
        "r.txt": "\n".join(f"r{i}" for i in range(n_right)) + "\n",
        "allowed.csv": "l,r\n" + "\n".join(f"l{i % n_left},r{(i // n_left) % n_right}" for i in range(n_allowed)) + "\n",
    })
    try:
        result = subprocess.run([sys.executable, "-m", "cohort_dsl", "explain", "bundle", "--format", "json"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"explain of a {n_allowed:,}-entry pair did not finish in 60 s")
    assert result.returncode == 0, result.stderr
    assert '"rows": 5000' in result.stdout
