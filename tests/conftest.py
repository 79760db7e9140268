"""Shared fixtures and helpers for the behaviour-level test suite.

Everything here builds bundles in pytest's ``tmp_path``: no test reads or
writes outside the repository and its temporary folders, and none needs the
network.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# The plugin-author kit is also a pytest plugin (test_plugins.py loads it):
# let pytest rewrite its asserts although this conftest imports it first.
pytest.register_assert_rewrite("cohort_dsl.testing")

from cohort_dsl.testing import write_files  # noqa: E402

from cohort_dsl.bundle import load_bundle, load_mapping
from cohort_dsl.compiler import compile_bundle
from cohort_dsl.diagnostics import SpecError

# The testing kit's plugin for every test (among other things it keeps the
# memo of checked plugin schemas in a temporary folder, not the user's cache).
pytest_plugins = ["cohort_dsl.testing"]

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
SCHEMA_DIR = REPO_DIR / "schemas"


def write_bundle(root: Path, files: dict) -> Path:
    """Write ``files`` (relative path -> text or bytes) under ``root`` and
    return ``root``. ``config.yaml`` is the entry; other paths are includes."""
    return write_files(root, files)


@pytest.fixture
def make_bundle(tmp_path):
    """``make_bundle(files)`` -> the path of a new bundle folder holding
    ``files`` (``{"config.yaml": "...", "items/x.csv": "..."}``). Each call
    makes a fresh folder."""
    counter = iter(range(10**6))

    def make(files: dict, name: str | None = None) -> Path:
        folder = tmp_path / (name or f"bundle{next(counter)}") / "spec"
        return write_bundle(folder, files)

    return make


def codes(exc) -> list[str]:
    """The diagnostic codes a SpecError (or pytest ExceptionInfo) carries."""
    exc = getattr(exc, "value", exc)
    return [d.code for d in exc.diagnostics]


def diag(exc, code: str):
    """The first diagnostic with ``code`` (fails the test if absent)."""
    exc = getattr(exc, "value", exc)
    for d in exc.diagnostics:
        if d.code == code:
            return d
    raise AssertionError(f"no {code} among {[(d.code, d.message) for d in exc.diagnostics]}")


def warning_codes(compiled) -> list[str]:
    return [d.code for d in compiled.diagnostics]


@pytest.fixture
def compile_files(make_bundle):
    """``compile_files(files, **kw)`` -> CompiledDesign of a new bundle."""

    def run(files: dict, limits=None, **kwargs):
        path = make_bundle(files)
        bundle = load_bundle(path, limits) if limits is not None else load_bundle(path)
        return compile_bundle(bundle, **kwargs)

    return run


def compile_mapping(data: dict, **kwargs):
    return compile_bundle(load_mapping(data), **kwargs)


def rows_of(compiled, **kwargs) -> list[tuple]:
    return list(compiled.rows(**kwargs))


def dict_rows(compiled, **kwargs) -> list[dict]:
    return list(compiled.dicts(**kwargs))


def loc_of(d) -> tuple:
    """``(file name, line, col)`` of a diagnostic (file name only)."""
    loc = d.location
    return (os.path.basename(loc.path) if loc.path else None, loc.line, loc.col)


def read_jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def in_tmp_cwd(tmp_path, monkeypatch):
    """Run with the working directory in a fresh temporary folder, so that no
    project configuration above the repository leaks into CLI runs."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


__all__ = [
    "SpecError", "codes", "diag", "warning_codes", "compile_mapping", "rows_of", "dict_rows", "loc_of",
    "read_jsonl", "write_bundle", "TESTS_DIR", "REPO_DIR", "SCHEMA_DIR",
]
