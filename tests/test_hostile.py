"""Hostile files and faults: writes go through what is there instead of
replacing it, configuration files are read defensively, and the CLI's own
edges (debug switch, a closed stdout) never show a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cohort_dsl.cli import main
from cohort_dsl.pluginmanager import build_engine
from cohort_dsl.testing import write_files

SPEC = "axes:\n  a: [x, y]\n"


@pytest.fixture
def bundle(tmp_path, monkeypatch):
    write_files(tmp_path, {"spec/config.yaml": SPEC})
    monkeypatch.chdir(tmp_path)
    return tmp_path / "spec"


def run(capsys, *args):
    capsys.readouterr()
    rc = main([str(a) for a in args], engine=build_engine(entry_points=False))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err
    return rc, out, err


# -- writes go through, never replace ----------------------------------------------

@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
def test_a_device_is_written_through_not_replaced(bundle, capsys):
    before = os.stat("/dev/null")
    rc, _, err = run(capsys, "compile", bundle, "--out", "/dev/null")
    assert rc == 0, err
    after = os.stat("/dev/null")
    assert (after.st_mode, after.st_rdev) == (before.st_mode, before.st_rdev)  # still the device


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_device_names_the_users_path(bundle, capsys):
    rc, _, err = run(capsys, "compile", bundle, "--out", "/dev/full")
    assert rc == 2 and "/dev/full" in err and ".cohort-dsl-tmp" not in err
    assert Path("/dev/full").is_char_device()


def test_a_symlink_keeps_pointing_where_it_did(bundle, capsys, tmp_path):
    target = tmp_path / "elsewhere" / "rows.csv"
    target.parent.mkdir()
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "rows.csv"
    link.symlink_to(target)
    rc, _, err = run(capsys, "compile", bundle, "--out", link)
    assert rc == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8") == "a\nx\ny\n"


def test_a_folder_as_out_names_the_users_path(bundle, capsys, tmp_path):
    rc, _, err = run(capsys, "compile", bundle, "--out", tmp_path)
    assert rc == 2 and str(tmp_path) in err and ".cohort-dsl-tmp" not in err
    assert not list(tmp_path.glob(".cohort-dsl-tmp-*"))


# -- configuration files --------------------------------------------------------------

@pytest.mark.parametrize("name, content, expected", [
    ("pyproject.toml", b"tool = 3\n", "pyproject.toml:1:1: `tool` must be a table"),
    ("pyproject.toml", b"[tool]\ncohort-dsl = 3\n", "pyproject.toml:2:1: [tool.cohort-dsl] must be a table of settings"),
    ("cohort-dsl.toml", b"\xff\xfe", "not valid UTF-8"),
    ("cohort-dsl.toml", b"data-root = \"data\"\nmax-rows = \n", "cohort-dsl.toml:2:"),
    ("cohort-dsl.toml", b"data-root = \"data\"\nmax-rows = \"many\"\n", "cohort-dsl.toml:2:1: max-rows must be a positive"),
    ("cohort-dsl.toml", b"\n  cache = \"yes\"\n", "cohort-dsl.toml:2:3: cache must be bool"),
    ("cohort-dsl.toml", b"catalogs = 3\n", "cohort-dsl.toml:1:1: catalogs must be a table"),
    ("pyproject.toml", b"[project]\nname = 'x'\n[tool.cohort-dsl]\njobs = 1\n[tool.'cohort-dsl'.limits]\nmax-rows = 0\n",
     "pyproject.toml:6:1: limits.max-rows must be a positive integer"),
    ("pyproject.toml", b"[tool.cohort-dsl.severity]\nR004 = 'fatal'\n", "pyproject.toml:2:1: severity of R004"),
    ("pyproject.toml", b"[tool.cohort-dsl]\ncatalogs = { axis = 1 }\n", "pyproject.toml:2:1: the catalog of axis"),
    ("pyproject.toml", b"[tool.cohort-dsl]\ndata-root = 'd'\nselct = ['R']\n", "pyproject.toml:3:1: unknown key 'selct'"),
])
def test_a_bad_config_is_a_usage_error_naming_it(bundle, capsys, tmp_path, name, content, expected):
    (tmp_path / name).write_bytes(content)
    rc, _, err = run(capsys, "lint", "--config", tmp_path / name, bundle)
    assert rc == 2
    assert expected in err and name in err


def test_a_pyproject_that_merely_mentions_cohort_dsl_is_not_its_config(bundle, capsys, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["cohort-dsl"]\n', encoding="utf-8")
    (tmp_path / "data").mkdir()
    from cohort_dsl.settings import find_config

    assert find_config(tmp_path) is None


# -- the CLI's own edges -----------------------------------------------------------------

def test_debug_zero_means_off(bundle, capsys, monkeypatch):
    import cohort_dsl.commands.compile as compile_command

    def boom(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(compile_command, "run", boom)
    monkeypatch.setenv("COHORT_DSL_DEBUG", "0")
    capsys.readouterr()
    rc = main(["compile", str(bundle)], engine=build_engine(entry_points=False))
    err = capsys.readouterr().err
    assert rc == 2 and "internal error" in err and "Traceback" not in err


def test_version_with_stdout_closed_is_quiet(tmp_path):
    result = subprocess.run(f"{sys.executable} -m cohort_dsl --version >&-", shell=True, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 2)


# -- membership files are compared as data ---------------------------------------------

@pytest.mark.parametrize("encode", [lambda t: t.replace("\n", "\r\n").encode(), lambda t: b"\xef\xbb\xbf" + t.encode()],
                         ids=["crlf", "bom"])
def test_a_membership_saved_with_crlf_or_a_bom_is_the_same_membership(tmp_path, capsys, monkeypatch, encode):
    from gate_helpers import full_spec, make_project

    root = make_project(tmp_path / "repo", {"c1": {"config.yaml": full_spec()}})
    monkeypatch.chdir(root)
    assert run(capsys, "materialize", "c1")[0] == 0
    membership = root / "data/cohorts/c1/membership.csv"
    original = membership.read_text(encoding="utf-8")
    membership.write_bytes(encode(original))
    rc, out, err = run(capsys, "lint", "--all", "--no-cache")
    assert rc == 0, out
    rc, out, err = run(capsys, "materialize", "c1")
    assert rc == 0, err
    assert membership.read_text(encoding="utf-8") == original  # normalized on write


def test_did_you_mean_against_a_large_pool_compares_only_neighbours_and_still_finds_the_name():
    from cohort_dsl.diagnostics import DID_YOU_MEAN_POOL, Candidates, did_you_mean

    names = Candidates([f"template-{i:06d}" for i in range(200_000)])
    assert len(names.near("template-012345x")) <= DID_YOU_MEAN_POOL  # bounded: never the whole catalog
    assert "template-012345" in (did_you_mean("template-012345x", names) or "")  # shares the beginning
    assert "template-199999" in (did_you_mean("tmplate-199999", names) or "")  # shares the end


def test_a_half_published_set_is_detected_and_repaired(tmp_path, capsys, monkeypatch):
    """A kill between two renames leaves files of two versions: manifest.json
    records the digests of the files it belongs with, so lint and the
    membership service say so (M013), and materialize publishes a whole set."""
    from cohort_dsl.service import MembershipService
    from gate_helpers import full_spec, make_project

    root = make_project(tmp_path / "repo", {"c1": {"config.yaml": full_spec()}})
    monkeypatch.chdir(root)
    assert run(capsys, "materialize", "c1")[0] == 0
    wide = root / "data/cohorts/c1/membership_wide.csv"
    whole = wide.read_bytes()
    wide.write_bytes(whole.replace(b"d1", b"dX", 1))  # another version's wide file
    assert [d.code for d in MembershipService(root / "data").check("c1")] == ["M013"]
    rc, out, _ = run(capsys, "lint", "--all", "--no-cache")
    assert rc == 1 and "M013" in out
    assert run(capsys, "materialize", "c1")[0] == 0
    assert wide.read_bytes() == whole
    assert MembershipService(root / "data").check("c1") == []


def test_a_reader_waits_for_a_set_being_published(tmp_path, capsys, monkeypatch):
    """Mid-publish (the writer holds the cohort's lock, one file renamed):
    the reader sees the mismatch, waits on the lock, and finds the whole
    new set once the writer is done — never reporting M013."""
    import fcntl
    import threading

    from cohort_dsl.service import set_problems
    from cohort_dsl.dataroot import DataRoot
    from gate_helpers import full_spec, make_project

    root = make_project(tmp_path / "repo", {"c1": {"config.yaml": full_spec()}})
    monkeypatch.chdir(root)
    assert run(capsys, "materialize", "c1")[0] == 0
    folder = root / "data/cohorts/c1"
    wide = folder / "membership_wide.csv"
    whole = wide.read_bytes()
    lock = os.open(folder, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)  # a writer, publishing
    wide.write_bytes(whole.replace(b"d1", b"dX", 1))  # its first rename is done
    timer = threading.Timer(0.3, lambda: (wide.write_bytes(whole), os.close(lock)))  # ...and the rest
    timer.start()
    try:
        assert set_problems(DataRoot(root / "data"), "c1") == []
    finally:
        timer.join()


# -- catalogs stay inside the data root ----------------------------------------------------

@pytest.mark.parametrize("how", ["symlink", "dotdot"])
def test_a_catalog_outside_the_data_root_is_never_read_or_echoed(tmp_path, capsys, monkeypatch, how):
    from gate_helpers import full_spec, make_project

    secret = tmp_path / "outside" / "env.csv"
    secret.parent.mkdir()
    secret.write_text("CI_TOKEN=hunter2-secret\n", encoding="utf-8")
    config = {"draft_template": "1_raw/env.csv:template_id" if how == "symlink" else "../outside/env.csv:template_id"}
    root = make_project(tmp_path / "repo", {"c1": {"config.yaml": full_spec()}}, catalogs={}, catalog_config=config)
    if how == "symlink":
        (root / "data/1_raw").mkdir(parents=True)
        (root / "data/1_raw/env.csv").symlink_to(secret)  # a committed symlink, as git can store
    monkeypatch.chdir(root)
    rc, out, err = run(capsys, "lint", "--all", "--no-cache", "--format", "json")
    assert rc == 1
    assert "hunter2" not in out + err
    assert "outside the data root" in out and "C003" in out


# -- text as editors show it; JSON as json.dump writes it -----------------------------------

@pytest.mark.parametrize("odd_break", ["\x85", "\u2028", "\u2029"])
def test_positions_count_lines_as_editors_do(tmp_path, capsys, monkeypatch, odd_break):
    """YAML ends lines at NEL, U+2028 and U+2029 too; editors do not, so a
    diagnostic after one would point a line too far."""
    write_files(tmp_path, {"spec/config.yaml": f'axes:\n  a: ["x{odd_break}y", z]\n  b: [q]\n  c:\n'})
    monkeypatch.chdir(tmp_path)
    rc, _, err = run(capsys, "compile", "spec")
    assert rc == 1 and "config.yaml:4:3: R009" in err, err


def test_a_txt_include_keeps_a_value_with_a_line_separator_whole(tmp_path, capsys, monkeypatch):
    write_files(tmp_path, {"spec/config.yaml": "axes:\n  a: '@file:a.txt'\n", "spec/a.txt": "x\u2028y\nz\n"})
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(capsys, "compile", "spec")
    assert rc == 0, err
    assert out == "a\nx\u2028y\nz\n"


@pytest.mark.parametrize("where", ["include", "catalog"])
def test_json_surrogate_pairs_are_the_character_they_encode(tmp_path, capsys, monkeypatch, where):
    import json

    rocket = json.dumps(["launch-\U0001F680"])  # ["launch-\ud83d\ude80"]: what json.dump writes
    assert "\\ud83d\\ude80" in rocket
    files = {"spec/config.yaml": "axes:\n  a: '@file:a.json'\n" if where == "include" else "axes:\n  a: [launch-\U0001F680]\n",
             "spec/a.json": rocket, "a.json": json.dumps({"a": ["launch-\U0001F680"]})}
    write_files(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    if where == "include":
        rc, out, err = run(capsys, "compile", "spec")
        assert rc == 0 and out.split("\n")[1] == "launch-\U0001F680", err
    else:
        rc, out, err = run(capsys, "lint", "spec", "--catalog", "a.json", "--no-cache")
        assert rc == 0, out + err


def test_a_lone_surrogate_is_located(tmp_path, capsys, monkeypatch):
    write_files(tmp_path, {"spec/config.yaml": "axes:\n  a: '@file:a.json'\n", "spec/a.json": '[\n  "ok",\n  "half-\\ud83d"\n]'})
    monkeypatch.chdir(tmp_path)
    rc, _, err = run(capsys, "compile", "spec")
    assert rc == 1 and "a.json:3:3: I003" in err and "surrogate" in err, err


def test_a_deep_json_catalog_is_a_catalog_error(tmp_path, capsys, monkeypatch):
    write_files(tmp_path, {"spec/config.yaml": "axes:\n  a: [x]\n", "deep.json": "[" * 100_000 + "]" * 100_000})
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(capsys, "lint", "spec", "--catalog", "deep.json", "--no-cache")
    assert rc == 1 and "C003" in out + err, out + err


def test_a_catalog_root_lets_a_shared_folder_in(tmp_path, capsys, monkeypatch):
    from gate_helpers import full_spec, make_project

    shared = tmp_path / "shared"
    shared.mkdir()
    root = make_project(tmp_path / "repo", {"c1": {"config.yaml": full_spec()}}, catalogs={},
                        catalog_config={"draft_template": "../../shared/templates.csv:template_id"},
                        extra='catalog-roots = ["../shared"]\n')
    (shared / "templates.csv").write_text("template_id\nnot-the-one\n", encoding="utf-8")
    monkeypatch.chdir(root)
    rc, out, _ = run(capsys, "lint", "--all", "--no-cache")
    assert "outside the data root" not in out
    assert rc == 1 and "C001" in out  # read and checked: the spec's draft templates are not in it
