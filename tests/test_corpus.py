"""The bad-input corpus: bad input of any kind gets a located, plain-language
error, exit code 1 (README.md, "Commands"), and nothing on disk is written.

Each folder under ``tests/corpus/`` is one spec bundle (``config.yaml`` plus
includes) and an ``expected.json``::

    {"code": "Y001", "line": 3, "file": "config.yaml"}

``file`` is the file the diagnostic must name, relative to the bundle;
``line`` is null when the problem has no line (an empty or oversized file).
``"code": null`` marks a bundle that must compile, with its ``rows`` (header
first). Optional keys:

- ``limits``: a ``[limits]`` table written to a ``cohort-dsl.toml`` in the
  temporary project the CLI runs in;
- ``generate``: files made at test time (``{"items/x.csv": {"header": "a",
  "rows": 500}}``, or ``{"config.yaml": {"text": "..."}}``) instead of
  committing large or hazardous ones (an alias bomb must not sit in the tree
  as a ``config.yaml``: other tools load every one they find);
- ``make_symlink`` / ``outside_files``: symlinks made at test time (git does
  not keep them portably), pointing at files written outside the bundle;
- ``max_seconds``: the refusal must take less than this (in-process);
- ``exit``: the expected exit code (default 1);
- ``xfail``: a known bug (the reason), as a strict xfail.

Every case is copied into ``tmp_path`` and run through real processes
(``python -m cohort_dsl``, started together): ``compile --out``, ``lint``
(text, with its cache) and ``lint --format json``; a bundle that must
compile also runs ``compile`` to stdout. The committed corpus is never
touched.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cohort_dsl.bundle import load_bundle
from cohort_dsl.compiler import compile_bundle
from cohort_dsl.diagnostics import SpecError
from cohort_dsl.settings import load_settings

CORPUS = Path(__file__).resolve().parent / "corpus"
CASE_NAMES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())
CACHE_DIR = ".cohort-dsl-cache"

#: ``path:line:col: CODE message`` (line and column optional)
DIAGNOSTIC = re.compile(
    r"^(?P<path>[^\s:][^:\n]*?)(?::(?P<line>\d+)(?::(?P<col>\d+))?)?: (?P<code>[A-Z]\d{3}) (?P<message>.*)$",
    re.MULTILINE,
)


def _expected(name: str) -> dict:
    return json.loads((CORPUS / name / "expected.json").read_text(encoding="utf-8"))


def _params():
    for name in CASE_NAMES:
        expected = _expected(name)
        marks = []
        if expected.get("xfail"):
            marks.append(pytest.mark.xfail(strict=True, reason=expected["xfail"]))
        if expected.get("make_symlink") and os.name == "nt":
            marks.append(pytest.mark.skip(reason="symlinks need POSIX"))
        yield pytest.param(name, id=name, marks=marks)


# -- preparing a case ------------------------------------------------------------------

def prepare(name: str, tmp_path: Path) -> tuple[Path, Path, dict]:
    """Copy the case into ``tmp_path/project/bundle``; write its limits,
    generated files and symlinks. Returns (project, bundle, expected)."""
    expected = _expected(name)
    project = tmp_path / "project"
    bundle = project / "bundle"
    shutil.copytree(CORPUS / name, bundle, symlinks=True)
    (bundle / "expected.json").unlink()
    if expected.get("limits"):
        lines = ["[limits]"] + [f"{key} = {int(value)}" for key, value in expected["limits"].items()]
        (project / "cohort-dsl.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for rel, spec in (expected.get("generate") or {}).items():
        path = bundle / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if "text" in spec:
            path.write_text(spec["text"], encoding="utf-8")
            continue
        values = [f"value-{i:06d}" for i in range(spec["rows"])]
        header = [spec["header"]] if spec.get("header") else []
        path.write_text("\n".join(header + values) + "\n", encoding="utf-8")
    for rel, text in (expected.get("outside_files") or {}).items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for link, target in (expected.get("make_symlink") or {}).items():
        path = bundle / link
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(tmp_path / target, path)
    return project, bundle, expected


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict:
    """Every entry below ``root`` (symlinks not followed): kind, size,
    mtime and a hash of the bytes."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                out[rel] = ("dir",)
            else:
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
                out[rel] = ("file", st.st_size, st.st_mtime_ns, digest)
    return out


# -- running the CLI --------------------------------------------------------------------

def _env() -> dict:
    env = dict(os.environ)
    for name in ("COHORT_DSL_DEBUG", "COHORT_DSL_NO_CACHE"):
        env.pop(name, None)
    return env


def run_all(commands: dict[str, list[str]], cwd: Path, timeout: float = 120) -> dict:
    """Start every command at once (they only read the bundle) and collect
    ``(exit code, stdout, stderr)`` by name."""
    procs = {
        name: subprocess.Popen([sys.executable, "-m", "cohort_dsl", *argv], cwd=cwd, env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name, argv in commands.items()
    }
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=timeout)
        results[name] = (proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    return results


def parse_text(text: str) -> list[dict]:
    return [m.groupdict() for m in DIAGNOSTIC.finditer(text)]


def bundle_relative(path: str | None, project: Path, bundle: Path) -> str | None:
    """A diagnostic's path as a path relative to the bundle (paths are shown
    relative to the working directory when below it)."""
    if path is None:
        return None
    full = os.path.normpath(os.path.join(project, path))
    rel = os.path.relpath(full, bundle)
    if rel.startswith(".."):
        rel = os.path.relpath(os.path.realpath(full), os.path.realpath(bundle))
    return rel.replace(os.sep, "/")


def _matches(found: list[dict], expected: dict, project: Path, bundle: Path) -> bool:
    for d in found:
        line = int(d["line"]) if d.get("line") not in (None, "") else None
        if (d["code"] == expected["code"] and line == expected["line"]
                and bundle_relative(d["path"], project, bundle) == expected["file"]):
            return True
    return False


def _describe(found: list[dict]) -> str:
    return "\n".join(f"  {d['path']}:{d.get('line')}: {d['code']} {d.get('message', '')}" for d in found) or "  (none)"


# -- the test ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(_params()))
def test_corpus_case(name, tmp_path):
    project, bundle, expected = prepare(name, tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out_file = out_dir / "out.csv"
    before = snapshot(project, skip=(CACHE_DIR,))
    outside_before = snapshot(tmp_path, skip=("project", "out"))

    ok = expected.get("code") is None
    commands = {
        "compile --out": ["compile", "bundle", "--out", str(out_file)],
        "lint": ["lint", "bundle"],
        "lint json": ["lint", "bundle", "--format", "json", "--no-cache"],
    }
    if ok:  # on bad input both compile forms stop before choosing where rows go
        commands["compile"] = ["compile", "bundle"]
    results = run_all(commands, cwd=project)

    for command, (rc, out, err) in results.items():
        assert "Traceback" not in out + err, f"{command}: traceback\n{err}"
        assert "internal error" not in err, f"{command}: {err}"

    assert snapshot(project, skip=(CACHE_DIR,)) == before, "the bundle (or project) changed"
    assert snapshot(tmp_path, skip=("project", "out")) == outside_before

    if ok:
        _check_success(results, expected, out_dir, out_file)
        return

    code = expected.get("exit", 1)
    assert os.listdir(out_dir) == [], "compile --out wrote a file (or left a temporary file) on bad input"
    rc, out, err = results["compile --out"]
    assert rc == code, f"compile: exit {rc}\n{err}"
    assert out == "", "compile: output on stdout despite the error"
    found = parse_text(err)
    assert _matches(found, expected, project, bundle), (
        f"compile: no {expected['code']} at {expected['file']}:{expected['line']}; stderr has\n{_describe(found)}\n{err}")

    rc, out, err = results["lint"]
    assert rc == code, f"lint: exit {rc}\n{out}{err}"
    found = parse_text(out)
    assert _matches(found, expected, project, bundle), (
        f"lint: no {expected['code']} at {expected['file']}:{expected['line']}; stdout has\n{_describe(found)}")

    rc, out, err = results["lint json"]
    assert rc == code, f"lint --format json: exit {rc}\n{err}"
    payload = json.loads(out)
    assert payload["summary"]["errors"] >= 1
    found = [{"code": d["code"], "line": d["line"], "path": d["path"], "message": d["message"]}
             for d in payload["diagnostics"]]
    assert _matches(found, expected, project, bundle), (
        f"lint --format json: no {expected['code']} at {expected['file']}:{expected['line']}; found\n{_describe(found)}")
    for d in payload["diagnostics"]:
        assert d["path"], f"a diagnostic without a file: {d}"
        assert d["message"]

    if expected.get("max_seconds"):
        _check_fast(project, bundle, expected)


def _check_success(results, expected, out_dir: Path, out_file: Path) -> None:
    rc, out, err = results["compile"]
    assert rc == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == expected["rows"]
    rc, _, err = results["compile --out"]
    assert rc == 0, err
    assert os.listdir(out_dir) == ["out.csv"]
    assert out_file.read_text(encoding="utf-8") == out
    for command in ("lint", "lint json"):
        rc, out, err = results[command]
        assert rc == 0, f"{command}: {out}{err}"


def _check_fast(project: Path, bundle: Path, expected: dict) -> None:
    """The refusal itself is quick: measured in-process (start-up excluded),
    and a real process stays within start-up plus the same budget."""
    settings = load_settings(start=project)
    compile_bundle(load_bundle(CORPUS / "yaml-anchors-aliases-ok"))  # warm imports
    started = time.perf_counter()
    with pytest.raises(SpecError) as info:
        compile_bundle(load_bundle(bundle, settings.limits))
    elapsed = time.perf_counter() - started
    assert expected["code"] in [d.code for d in info.value.diagnostics]
    assert elapsed < expected["max_seconds"], f"refused after {elapsed:.3f}s"

    started = time.perf_counter()
    rc = subprocess.run([sys.executable, "-m", "cohort_dsl", "compile", "bundle"], cwd=project, env=_env(),
                        capture_output=True).returncode
    elapsed = time.perf_counter() - started
    assert rc == 1
    assert elapsed < expected["max_seconds"] + 2.0, f"the process took {elapsed:.3f}s"


def test_corpus_is_not_empty():
    assert len(CASE_NAMES) >= 60
    for name in CASE_NAMES:
        expected = _expected(name)
        assert set(expected) >= {"code"}
        if expected["code"] is not None:
            assert {"line", "file"} <= set(expected), name
            assert (CORPUS / name / expected["file"]).exists() or expected.get("generate") or expected.get("make_symlink"), name
