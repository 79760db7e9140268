"""docs/api.md is executed: its ```python blocks run in order, in one
namespace, from a copy of the bundled examples/ data repo."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "api.md"


def test_api_doc_snippets_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 8
    examples = shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(examples)
    monkeypatch.setenv("COHORT_DSL_DISABLE_PLUGIN_AUTOLOAD", "1")  # the built-ins only, as the doc shows
    monkeypatch.setattr("cohort_dsl.pluginmanager._default", None)
    namespace: dict = {}
    printed = io.StringIO()
    for number, block in enumerate(blocks, start=1):
        with contextlib.redirect_stdout(printed):
            try:
                exec(compile(block, f"docs/api.md block {number}", "exec"), namespace)
            except Exception as exc:  # pragma: no cover - the message names the block
                raise AssertionError(f"docs/api.md block {number} failed: {exc!r}\n{block}") from exc
    assert "R014" in printed.getvalue()
    assert "All checks passed" in printed.getvalue()
    assert os.path.isfile(examples / "data" / "cohorts" / "dual-llm-tie" / "membership.csv")
