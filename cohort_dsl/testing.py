"""A pytest plugin for plugin authors (opt in).

Activate it in a ``conftest.py``::

    pytest_plugins = ["cohort_dsl.testing"]

(or run ``pytest -p cohort_dsl.testing``). It provides the fixture
``cohort_project``: build a small data repo from a dict of files in a
temporary folder, then compile, explain, lint or compute membership in
process, on a fresh plugin manager holding the built-in plugins and the
plugins you pass (installed entry points are left out unless asked for)::

    def test_my_rule(cohort_project):
        project = cohort_project(
            {
                "spec/config.yaml": "axes:\\n  a: [x, y]\\nrules:\\n  excludes:\\n    e: [{a: x}]\\n",
                "catalogs/a.csv": "id\\nx\\ny\\n",
            },
            plugins=[my_plugin],
            catalogs={"a": "catalogs/a.csv"},
        )
        result = project.compile("spec")
        result.assert_success()
        assert result.rows == [{"a": "y"}]
        project.lint("spec").assert_codes()          # no findings

Every method returns an :class:`Outcome`; nothing raises for bad specs.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cohort_dsl.diagnostics import ERROR, Diagnostic, SpecError
from cohort_dsl.records import Record


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Outcome(Record):
    """What a run produced, and assertions about it. Every ``assert_*``
    method returns the Outcome itself, so assertions chain; read one
    diagnostic with :meth:`diagnostic`.

    Attributes: ``exit_code`` (0 clean or warnings only, 1 errors, 2 usage
    or plugin errors), ``diagnostics`` (each a
    :class:`cohort_dsl.diagnostics.Diagnostic`), ``codes``, ``errors``;
    after ``compile``: ``columns`` and ``rows`` (dicts); after ``explain``:
    ``explain`` (the dict ``cohort-dsl explain --format json`` prints);
    after ``membership``: ``records`` (each a
    :class:`cohort_dsl.membership.Record`); after ``run``: ``stdout`` and
    ``stderr``."""

    exit_code: int
    diagnostics: list[Diagnostic] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    records: list = field(default_factory=list)
    explain: dict | None = None
    stdout: str = ""
    stderr: str = ""

    def __init__(self, exit_code: int, diagnostics: list[Diagnostic] | None = None, columns: list[str] | None = None,
                 rows: list[dict] | None = None, records: list | None = None, explain: dict | None = None,
                 stdout: str = "", stderr: str = ""):
        self.exit_code = exit_code
        self.diagnostics = [] if diagnostics is None else diagnostics
        self.columns = [] if columns is None else columns
        self.rows = [] if rows is None else rows
        self.records = [] if records is None else records
        self.explain, self.stdout, self.stderr = explain, stdout, stderr

    @property
    def codes(self) -> list[str]:
        """Diagnostic codes, in report order."""
        return [d.code for d in self.diagnostics]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    def diagnostic(self, code: str, line: int | None = None) -> Diagnostic:
        """The first diagnostic with ``code`` (at ``line`` when given);
        fails the test if there is none."""
        for d in self.diagnostics:
            if d.code == code and (line is None or d.location.line == line):
                return d
        pytest.fail(f"no {code}{f' at line {line}' if line else ''} among: {self._listing()}")

    def assert_success(self) -> "Outcome":
        """Exit code 0 and no error (warnings allowed)."""
        if self.exit_code != 0 or self.errors:
            pytest.fail(f"expected success, got exit code {self.exit_code}: {self._listing()}")
        return self

    def assert_codes(self, *codes: str) -> "Outcome":
        """Exactly these codes were reported (order ignored, repeats count)."""
        if sorted(self.codes) != sorted(codes):
            pytest.fail(f"expected codes {sorted(codes)}, got {sorted(self.codes)}: {self._listing()}")
        return self

    def assert_error(self, code: str, line: int | None = None) -> "Outcome":
        """An error with ``code`` was reported (at ``line`` when given)."""
        if not any(d.code == code and d.severity == ERROR and (line is None or d.location.line == line)
                   for d in self.diagnostics):
            pytest.fail(f"no {code} error{f' at line {line}' if line else ''} among: {self._listing()}")
        return self

    def _listing(self) -> str:
        return "; ".join(d.render() for d in self.diagnostics) or "(no diagnostics)"


class CohortProject:
    """A temporary data repo: files written under ``root``, a fresh engine,
    and a :class:`cohort_dsl.project.Project` over both (``project``)."""

    def __init__(self, root: Path, files: dict, *, plugins=(), builtins: bool = True, entry_points: bool = False,
                 catalogs: dict | None = None, config: dict | None = None):
        from cohort_dsl.pluginmanager import build_engine

        self.root = write_files(root, files)
        table = {"data-root": ".", **(config or {})}
        if catalogs:
            table["catalogs"] = dict(catalogs)
        (root / "cohort-dsl.toml").write_text(_toml(table), encoding="utf-8")
        self.engine = build_engine(list(plugins), builtins=builtins, entry_points=entry_points)

    @property
    def registry(self):
        return self.engine.registry

    @property
    def project(self):
        """The :class:`cohort_dsl.project.Project` of this data repo (its
        settings are read afresh, so edits to the files are seen)."""
        from cohort_dsl.project import Project

        return Project.load(self.root / "cohort-dsl.toml", engine=self.engine)

    def path(self, name: str) -> Path:
        return self.root / name

    def settings(self):
        return self.project.settings

    def compile(self, spec: str = "spec", *, seed: int | None = None, limit: int | None = None,
                max_rows: int | None = None) -> Outcome:
        """Compile the bundle at ``spec`` (a folder or config.yaml under root)."""
        compiled, outcome = self._compile(spec, max_rows)
        if compiled is not None:
            outcome.columns = list(compiled.columns)
            outcome.rows = list(compiled.dicts(seed=seed, limit=limit))
        return outcome

    def explain(self, spec: str = "spec") -> Outcome:
        compiled, outcome = self._compile(spec, None)
        if compiled is not None:
            outcome.explain = compiled.explain()
            outcome.columns = list(compiled.columns)
        return outcome

    def membership(self, spec: str = "spec", cohort_id: str = "cohort", layout: str | None = None) -> Outcome:
        """Membership records (each a :class:`cohort_dsl.membership.Record`)."""
        try:
            membership = self.project.membership(self.root / spec, cohort_id, layout)
            records = list(membership.records())
        except SpecError as exc:
            return Outcome(1, exc.diagnostics)
        return Outcome(0, membership.diagnostics, records=records)

    def lint(self, *paths: str, select: list[str] | None = None, ignore: list[str] | None = None) -> Outcome:
        """Lint bundles (all of them when no path is given), as the lint
        command does, without the cache."""
        from cohort_dsl.lint import exit_code

        project = self.project.override(select=select or None, ignore=ignore or None)
        report = project.lint([self.root / p for p in paths], use_cache=False, jobs=1)
        return Outcome(exit_code(report.diagnostics), report.diagnostics)

    def run(self, *argv: str) -> Outcome:
        """Run the real CLI in process (``project.run("lint", "--format",
        "json")``), from the project root, with this project's engine."""
        import contextlib
        import os
        import sys

        from cohort_dsl.cli import main

        out, err = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        try:
            os.chdir(self.root)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(argv), engine=self.engine)
        finally:
            os.chdir(cwd)
            sys.stdout.flush()
        return Outcome(code, stdout=out.getvalue(), stderr=err.getvalue())

    def _compile(self, spec: str, max_rows: int | None):
        try:
            compiled = self.project.override(max_rows=max_rows).compile(self.root / spec)
        except SpecError as exc:
            return None, Outcome(1, exc.diagnostics)
        return compiled, Outcome(0, list(compiled.diagnostics))


def write_files(root: Path, files: dict) -> Path:
    """Write ``files`` (relative path -> text or bytes) under ``root``; text
    is written as given (CRLF stays CRLF). Returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(content)
    return root


def _toml(table: dict, prefix: str = "") -> str:
    """Just enough TOML for a settings table (strings, numbers, booleans,
    lists and nested tables, such as ``{"plugins": {"mine": {...}}}``)."""
    lines, tables = [], []
    for key, value in table.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{json.dumps(key)} = {json.dumps(value)}")
    text = "\n".join(lines) + "\n"
    for name, sub in tables:
        heading = f"{prefix}{json.dumps(name)}"
        text += f"\n[{heading}]\n" + _toml(sub, heading + ".")
    return text


#: the keys of one case in a YAML case file (see :func:`load_cases`)
CASE_KEYS = {"spec", "files", "catalogs", "config", "command", "select", "pass", "fail", "rows"}


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Case(Record):
    """One case of a YAML case file: a spec, what to run on it, and either
    ``pass: true`` (no diagnostics) or ``fail:`` (exactly these codes at
    these lines). :meth:`run` runs it in a :class:`CohortProject`."""

    name: str
    spec: str
    command: str = "lint"
    files: dict = field(default_factory=dict)
    catalogs: dict | None = None
    config: dict | None = None
    select: list | None = None
    expected: list[tuple[str, int | None]] = field(default_factory=list)
    rows: object = None

    def __init__(self, name: str, spec: str, command: str = "lint", files: dict | None = None,
                 catalogs: dict | None = None, config: dict | None = None, select: list | None = None,
                 expected: list[tuple[str, int | None]] | None = None, rows: object = None):
        self.name, self.spec, self.command = name, spec, command
        self.files = {} if files is None else files
        self.catalogs, self.config, self.select = catalogs, config, select
        self.expected = [] if expected is None else expected
        self.rows = rows

    def run(self, cohort_project, plugins=()) -> Outcome:
        """Run the case with the ``cohort_project`` fixture and ``plugins``;
        fails the test unless it comes out as the case says."""
        project = cohort_project({"spec/config.yaml": self.spec, **self.files}, plugins=plugins,
                                 catalogs=self.catalogs, config=self.config)
        if self.command == "lint":
            outcome = project.lint("spec", select=self.select)
        else:
            outcome = project.compile("spec")
        found = sorted((d.code, d.location.line) for d in outcome.diagnostics
                       if self.select is None or any(d.code.startswith(p) for p in self.select))
        unmatched = list(found)
        # exact (code, line) entries first, then the entries that give only a code
        missing = [pair for pair in sorted(self.expected, key=lambda p: p[1] is None)
                   if not _take(unmatched, pair)]
        if missing or unmatched:
            pytest.fail(f"case {self.name}: expected {_pairs(self.expected) or 'no diagnostics'}, got "
                        f"{_pairs(found) or 'none'}: {outcome._listing()}")
        if self.rows is not None:
            got = len(outcome.rows) if isinstance(self.rows, int) else outcome.rows
            if got != self.rows:
                pytest.fail(f"case {self.name}: expected rows {self.rows!r}, got {got!r}")
        return outcome


def _take(found: list, wanted: tuple) -> bool:
    """Remove the first finding ``wanted`` matches (an entry without a line
    matches its code at any line); False when none does."""
    code, line = wanted
    for i, (c, at) in enumerate(found):
        if c == code and (line is None or at == line):
            del found[i]
            return True
    return False


def _pairs(pairs) -> str:
    return ", ".join(f"{code}@{line}" if line is not None else code for code, line in pairs)


def load_cases(path) -> list:
    """The cases of a YAML case file, as ``pytest.param`` objects (one id
    per case) for ``@pytest.mark.parametrize("case", load_cases(PATH))``.

    The file maps case names to cases (as sqlfluff's rule test cases)::

        drops_matching_rows:
          spec: |
            axes: {a: [x, y]}
            rules: {excludes: {e: [{a: x}]}}
          command: compile        # compile or lint (default)
          pass: true              # no diagnostics at all
          rows: [{a: y}]          # optional: the rows (or their number)
        unmatched_exclusion:
          spec: ...
          select: [EX]            # only these codes count (lint)
          fail:                   # exactly these codes, at these lines
            - {code: EX001, line: 3}

    Optional ``files`` (more files of the data repo), ``catalogs`` and
    ``config`` are passed to ``cohort_project``. A malformed file fails at
    collection with a message naming the file and the case."""
    import yaml

    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: a case file maps case names to cases")
    params = []
    for name, raw in data.items():
        where = f"{path}: case {name!r}"
        if not isinstance(raw, dict) or not isinstance(raw.get("spec"), str):
            raise ValueError(f"{where}: a case is a mapping with a `spec:` text")
        unknown = sorted(set(raw) - CASE_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(sorted(CASE_KEYS))})")
        if ("pass" in raw) == ("fail" in raw) or raw.get("pass", True) is not True:
            raise ValueError(f"{where}: give exactly one of `pass: true` and `fail: [{{code: CODE, line: N}}, ...]`")
        if raw.get("command", "lint") not in ("lint", "compile"):
            raise ValueError(f"{where}: command is lint or compile")
        if "rows" in raw and raw.get("command") != "compile":
            raise ValueError(f"{where}: `rows` needs `command: compile`")
        expected = []
        for item in raw.get("fail") or ():
            if isinstance(item, str):
                item = {"code": item}
            if not (isinstance(item, dict) and isinstance(item.get("code"), str) and set(item) <= {"code", "line"}
                    and isinstance(item.get("line", 0), int)):
                raise ValueError(f"{where}: each `fail` entry is a code or {{code: CODE, line: N}}, got {item!r}")
            expected.append((item["code"], item.get("line")))
        if "fail" in raw and not expected:
            raise ValueError(f"{where}: `fail` lists no code; use `pass: true`")
        case = Case(str(name), raw["spec"], raw.get("command", "lint"), dict(raw.get("files") or {}),
                    raw.get("catalogs"), raw.get("config"), raw.get("select"), expected, raw.get("rows"))
        params.append(pytest.param(case, id=str(name)))
    return params


def pytest_configure(config) -> None:
    """The memo of checked plugin schemas (:func:`cohort_dsl.schema.metaschema_problem`)
    goes to a temporary folder during tests, never the user's cache."""
    import os
    import tempfile

    os.environ.setdefault("COHORT_DSL_CACHE_HOME", tempfile.mkdtemp(prefix="cohort-dsl-memo-"))


@pytest.fixture
def cohort_project(tmp_path):
    """``cohort_project(files, plugins=(), catalogs=None, config=None,
    builtins=True, entry_points=False) -> CohortProject``."""

    def make(files: dict, **options) -> CohortProject:
        root = tmp_path / f"project{make.count}"
        make.count += 1
        root.mkdir()
        return CohortProject(root, files, **options)

    make.count = 0
    return make
