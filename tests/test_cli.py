"""The command line (README.md, "Commands"): commands, formats, exit codes,
atomic output, and no traceback for bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import sys

import pytest

from cohort_dsl import __version__
from cohort_dsl.cli import main

SPEC = "axes:\n  a: [x, y]\n  b: [1, 2, 3]\n"
BAD_SPEC = "axes:\n  a: [x, y]\n  a: [z]\n"  # Y002 at 3:3
RULE_KINDS = {"subsets", "ties", "pairs", "tuples"}


@pytest.fixture(autouse=True)
def _cwd(in_tmp_cwd):
    """Every CLI run starts in a fresh folder (no project config leaks in)."""
    return in_tmp_cwd


@pytest.fixture
def cli(capsys):
    def run(*args):
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return rc, out, err

    return run


@pytest.fixture
def spec(make_bundle):
    return make_bundle({"config.yaml": SPEC})


# -- --version --------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(cli, flag):
    rc, out, err = cli(flag)
    assert rc == 0
    assert out.strip() == f"cohort-dsl {__version__}"


def test_version_through_a_real_process(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cohort_dsl", "--version"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip() == f"cohort-dsl {__version__}"


def test_start_up_pauses_the_cycle_collector_only_in_its_own_process(tmp_path, spec):
    """The console script loads with the collector off, freezes what it
    loaded and runs the command with the collector on at its command
    thresholds; any caller of main() keeps the collector as it was."""
    from cohort_dsl.cli import COMMAND_GC_THRESHOLDS

    probe = ("import gc, sys\n"
             "from cohort_dsl.cli import main\n"
             "sys.argv = ['cohort-dsl', 'compile', sys.argv[1]]\n"
             "rc = main()\n"
             "print(rc, gc.isenabled(), gc.get_freeze_count() > 0, gc.get_threshold())\n")
    result = subprocess.run([sys.executable, "-c", probe, str(spec)], capture_output=True, text=True, cwd=tmp_path,
                            timeout=60)
    assert result.stdout.splitlines()[-1] == f"0 True True {COMMAND_GC_THRESHOLDS}", result.stderr
    import gc

    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    assert main(["compile", str(spec)]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen and gc.get_threshold() == thresholds


# -- compile --------------------------------------------------------------------------------

class TestCompile:
    def test_csv_is_the_default_with_a_header(self, cli, spec):
        rc, out, err = cli("compile", spec)
        assert rc == 0, err
        assert out == "a,b\nx,1\nx,2\nx,3\ny,1\ny,2\ny,3\n"

    def test_spec_may_be_the_config_file(self, cli, spec):
        assert cli("compile", spec / "config.yaml")[1] == cli("compile", spec)[1]

    def test_jsonl(self, cli, spec):
        rc, out, _ = cli("compile", spec, "--format", "jsonl")
        assert rc == 0
        rows = [json.loads(line) for line in out.splitlines()]
        assert rows[0] == {"a": "x", "b": "1"}
        assert len(rows) == 6
        assert all(list(r) == ["a", "b"] for r in rows)

    def test_csv_quoting_round_trips(self, cli, make_bundle):
        path = make_bundle({"config.yaml": "axes:\n  a: ['x, y', 'say \"hi\"', 'plain']\n"})
        rc, out, _ = cli("compile", path)
        assert rc == 0
        assert list(csv.reader(io.StringIO(out))) == [["a"], ["x, y"], ['say "hi"'], ["plain"]]

    @pytest.mark.parametrize("limit, n", [(0, 0), (2, 2), (6, 6), (50, 6)])
    def test_limit(self, cli, spec, limit, n):
        rc, out, _ = cli("compile", spec, "--limit", limit)
        assert rc == 0
        lines = out.splitlines()
        assert lines[0] == "a,b"
        assert lines[1:] == ["x,1", "x,2", "x,3", "y,1", "y,2", "y,3"][:n]

    def test_limit_jsonl(self, cli, spec):
        rc, out, _ = cli("compile", spec, "--format", "jsonl", "--limit", 2)
        assert [json.loads(line) for line in out.splitlines()] == [{"a": "x", "b": "1"}, {"a": "x", "b": "2"}]

    def test_seed(self, cli, spec):
        _, plain, _ = cli("compile", spec)
        _, seeded, _ = cli("compile", spec, "--seed", 42)
        _, again, _ = cli("compile", spec, "--seed", 42)
        assert seeded == again
        assert seeded != plain
        assert seeded.splitlines()[0] == "a,b"
        assert sorted(seeded.splitlines()[1:]) == sorted(plain.splitlines()[1:])

    def test_max_rows(self, cli, spec):
        rc, out, err = cli("compile", spec, "--max-rows", 5)
        assert rc == 1
        assert out == ""
        assert "R014" in err
        assert cli("compile", spec, "--max-rows", 6)[0] == 0

    def test_warnings_go_to_stderr_and_exit_zero(self, cli, make_bundle):
        path = make_bundle({"config.yaml": "axes:\n  a: [x, y]\nrules:\n  subsets:\n    a: [x, nope]\n"})
        rc, out, err = cli("compile", path)
        assert rc == 0
        assert out == "a\nx\n"
        assert re.search(r"config\.yaml:5:12: R003 ", err)


class TestOut:
    def test_out_writes_the_file_atomically(self, cli, spec, tmp_path):
        target = tmp_path / "out" / "rows.csv"
        rc, out, err = cli("compile", spec, "--out", target)
        assert rc == 0, err
        assert out == ""
        assert target.read_text(encoding="utf-8") == "a,b\nx,1\nx,2\nx,3\ny,1\ny,2\ny,3\n"
        assert sorted(p.name for p in target.parent.iterdir()) == ["rows.csv"]  # no temp file left

    def test_out_jsonl(self, cli, spec, tmp_path):
        target = tmp_path / "rows.jsonl"
        assert cli("compile", spec, "--format", "jsonl", "--out", target)[0] == 0
        assert len(target.read_text(encoding="utf-8").splitlines()) == 6

    def test_out_replaces_an_existing_file(self, cli, spec, tmp_path):
        target = tmp_path / "rows.csv"
        target.write_text("old\n")
        assert cli("compile", spec, "--out", target)[0] == 0
        assert target.read_text().startswith("a,b\n")

    def test_an_error_leaves_no_file(self, cli, make_bundle, tmp_path):
        path = make_bundle({"config.yaml": BAD_SPEC})
        folder = tmp_path / "outdir"
        folder.mkdir()
        rc, out, err = cli("compile", path, "--out", folder / "rows.csv")
        assert rc == 1
        assert list(folder.iterdir()) == []

    def test_an_error_keeps_an_existing_file(self, cli, make_bundle, tmp_path):
        path = make_bundle({"config.yaml": BAD_SPEC})
        target = tmp_path / "rows.csv"
        target.write_text("previous\n")
        assert cli("compile", path, "--out", target)[0] == 1
        assert target.read_text() == "previous\n"
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".cohort-dsl-tmp")) == []

    def test_a_failure_while_writing_leaves_no_file(self, cli, spec, tmp_path, monkeypatch):
        from cohort_dsl import rows

        def boom(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(rows.RowPlan, "write", boom)
        target = tmp_path / "rows.csv"
        rc, _, err = cli("compile", spec, "--out", target)
        assert rc != 0
        assert not target.exists()
        assert list(tmp_path.glob(".cohort-dsl-tmp*")) == []

    @pytest.mark.parametrize("where", ["folder", "below-a-file"])
    def test_unwritable_out_is_a_plain_usage_error(self, cli, spec, tmp_path, where):
        if where == "folder":
            target = tmp_path / "somewhere"
            target.mkdir()
        else:
            (tmp_path / "plainfile").write_text("x")
            target = tmp_path / "plainfile" / "rows.csv"
        rc, out, err = cli("compile", spec, "--out", target)
        assert rc == 2
        assert list(tmp_path.glob(".cohort-dsl-tmp*")) == []
        assert "internal error" not in err
        assert target.name in err

    @pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
    def test_out_file_honours_the_umask(self, cli, spec, tmp_path):
        # mkstemp creates 0600 files; the output must get the permissions a
        # plain open() would give, or other readers cannot use it.
        umask = os.umask(0)
        os.umask(umask)
        target = tmp_path / "rows.csv"
        assert cli("compile", spec, "--out", target)[0] == 0
        assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


# -- explain ---------------------------------------------------------------------------------

class TestExplain:
    def test_text(self, cli, spec):
        rc, out, err = cli("explain", spec)
        assert rc == 0, err
        assert "rows: 6" in out
        assert "columns: a, b" in out
        assert "funnel" in out and "factors" in out

    def test_json(self, cli, make_bundle):
        path = make_bundle({"config.yaml": SPEC + "rules:\n  subsets:\n    b: [1, 3]\n"})
        rc, out, err = cli("explain", path, "--format", "json")
        assert rc == 0, err
        info = json.loads(out)
        assert info["rows"] == 4
        assert info["columns"] == ["a", "b"]
        assert [s["rows"] for s in info["funnel"]] == [6, 4]
        assert [f["axes"] for f in info["factors"]] == [["a"], ["b"]]

    def test_explain_does_not_generate_rows(self, cli, make_bundle):
        axes = "".join(f"  a{i}: [{', '.join(f'v{j}' for j in range(10))}]\n" for i in range(9))
        path = make_bundle({"config.yaml": "axes:\n" + axes})
        rc, out, _ = cli("explain", path, "--format", "json", "--max-rows", 10**9)
        assert rc == 0
        assert json.loads(out)["rows"] == 10**9

    def test_explain_of_a_spec_without_axes_is_not_an_internal_error(self, cli, make_bundle):
        rc, out, err = cli("explain", make_bundle({"config.yaml": "axes: {}\n"}))
        assert "internal error" not in err
        assert rc == 1

    def test_explain_error(self, cli, make_bundle):
        rc, out, err = cli("explain", make_bundle({"config.yaml": BAD_SPEC}))
        assert rc == 1
        assert out == ""
        assert "Y002" in err


# -- schema and plugins ---------------------------------------------------------------------

def test_schema(cli):
    rc, out, _ = cli("schema")
    assert rc == 0
    schema = json.loads(out)
    assert schema["$schema"].startswith("https://json-schema.org/draft/2020-12")
    assert RULE_KINDS <= set(schema["properties"]["rules"]["properties"])


def test_plugins_text(cli):
    rc, out, _ = cli("plugins")
    assert rc == 0
    for kind in RULE_KINDS:
        assert re.search(rf"rule kinds: .*\b{kind}\b", out), kind


def test_plugins_json(cli):
    rc, out, _ = cli("plugins", "--format", "json")
    assert rc == 0
    plugins = json.loads(out)
    kinds = {k for p in plugins for k in p["rule_kinds"]}
    assert RULE_KINDS <= kinds
    assert all(p["builtin"] for p in plugins if set(p["rule_kinds"]) & RULE_KINDS)


# -- exit codes --------------------------------------------------------------------------------

class TestUsageErrors:
    @pytest.mark.parametrize("args", [
        ["compile", "{spec}", "--bogus"],
        ["compile"],
        ["compile", "{missing}"],
        ["explain", "{missing}"],
        ["compile", "{empty_dir}"],
        ["compile", "{spec}", "--format", "xml"],
        ["compile", "{spec}", "--limit", "-1"],
        ["compile", "{spec}", "--limit", "many"],
        ["compile", "{spec}", "--max-rows", "0"],
        ["explain", "{spec}", "--format", "csv"],
        ["frobnicate"],
        [],
    ])
    def test_usage_error_exits_2(self, cli, spec, tmp_path, args):
        (tmp_path / "empty").mkdir()
        values = {"spec": spec, "missing": tmp_path / "does-not-exist", "empty_dir": tmp_path / "empty"}
        rc, out, err = cli(*[a.format(**values) for a in args])
        assert rc == 2
        assert err.strip()

    def test_nonexistent_path_names_the_path(self, cli, tmp_path):
        rc, _, err = cli("compile", tmp_path / "nope")
        assert rc == 2
        assert "nope" in err


class TestSpecErrors:
    def test_spec_error_exits_1_with_a_located_message(self, cli, make_bundle):
        path = make_bundle({"config.yaml": BAD_SPEC})
        rc, out, err = cli("compile", path)
        assert rc == 1
        assert out == ""
        first = err.splitlines()[0]
        assert re.match(r"^\S*config\.yaml:3:3: Y002 ", first), first

    @pytest.mark.parametrize("files, code, where", [
        ({"config.yaml": "axes:\n  a: [x, yes]\n"}, "Y003", "config.yaml:2:10"),
        ({"config.yaml": "axes:\n\ta: [x]\n"}, "Y001", "config.yaml:2:"),
        ({"config.yaml": "axes:\n  a: [x]\naxis: {}\n"}, "S002", "config.yaml:3:1"),
        ({"config.yaml": "axes:\n  a: '@file:a.csv'\n", "a.csv": "a\nx\n\n,\n"}, "I003", "a.csv:4"),
        ({"config.yaml": "axes:\n  a: '@file:a.csv'\n", "a.csv": "b,a\n1,\n"}, "I004", "a.csv:2"),
        ({"config.yaml": "axes:\n  a: '@file:../a.csv'\n"}, "I002", "config.yaml:2:6"),
        ({"config.yaml": "axes:\n  a: [x]\nrules:\n  subsets:\n    b: [x]\n"}, "R001", "config.yaml:5:5"),
        ({"config.yaml": ""}, "S003", "config.yaml"),
        ({"config.yaml": b"axes:\n  a: [\xff]\n"}, "Y001", "config.yaml:2:7"),
    ])
    def test_located_errors(self, cli, make_bundle, files, code, where):
        rc, out, err = cli("compile", make_bundle(files))
        assert rc == 1
        assert re.search(rf"{re.escape(where)}\S*:? {code} ", err) or f"{where}: {code} " in err, err

    def test_hint_line(self, cli, make_bundle):
        rc, _, err = cli("compile", make_bundle({"config.yaml": "axes:\n  a: [x, yes]\n"}))
        assert rc == 1
        assert "\n  hint: " in err

    def test_no_traceback_from_a_real_process(self, make_bundle, tmp_path):
        path = make_bundle({"config.yaml": "axes:\n  a: [x]\nrules:\n  pairs:\n    p: {left: a, right: a, allowed: [[x, x]]}\n"})
        result = subprocess.run([sys.executable, "-m", "cohort_dsl", "compile", str(path)], capture_output=True,
                                text=True, cwd=tmp_path, timeout=60)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "R012" in result.stderr


def test_broken_pipe_is_not_an_internal_error(spec, capsys, monkeypatch):
    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    rc = main(["compile", str(spec)])
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert rc == 0


@pytest.mark.skipif(os.name != "posix", reason="SIGPIPE semantics")
def test_broken_pipe_through_a_real_process(make_bundle, tmp_path):
    axes = "".join(f"  a{i}: [{', '.join(f'v{j}' for j in range(10))}]\n" for i in range(5))  # 100k rows
    path = make_bundle({"config.yaml": "axes:\n" + axes})
    proc = subprocess.Popen([sys.executable, "-m", "cohort_dsl", "compile", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout.readline() == b"a0,a1,a2,a3,a4\n"
    proc.stdout.close()  # the reader goes away, as with `| head -1`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err
    assert "internal error" not in err


def test_every_subpackage_is_shipped():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from conftest import REPO_DIR

    config = tomllib.loads((REPO_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config.get("tool", {}).get("setuptools", {})
    packages = setuptools.get("packages")
    if not isinstance(packages, list):
        return  # found automatically (packages.find)
    package_dir = REPO_DIR / "cohort_dsl"
    subpackages = {"cohort_dsl"} | {
        "cohort_dsl." + ".".join(p.parent.relative_to(package_dir).parts)
        for p in package_dir.rglob("__init__.py") if p.parent != package_dir
    }
    assert subpackages <= set(packages)
