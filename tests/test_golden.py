"""Golden files: the worked examples of docs/spec_dsl.md and the original
system's own fixtures, compiled through the CLI (``--format jsonl``) and
compared byte for byte with ``expected.jsonl``.

Regenerate with ``UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`` and
review the diff: the semantic checks below must still pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TESTS_DIR, read_jsonl
from cohort_dsl.cli import main

GOLDEN_DIR = TESTS_DIR / "golden"
ORIGINAL_DIR = TESTS_DIR / "fixtures" / "original"
UPDATE = os.environ.get("UPDATE_GOLDEN", "").strip().lower() not in ("", "0", "false", "no")

WORKED = sorted(p.name for p in GOLDEN_DIR.iterdir() if (p / "config.yaml").is_file())
ORIGINAL = sorted(p.name for p in ORIGINAL_DIR.iterdir() if (p / "config.yaml").is_file())

ORIGINAL_COUNTS = {
    "baseline_cartesian": 12,
    "cohort_cartesian": 8,
    "creative_alignment_tuple": 528,
    "curated_essays": 2,
    "dual_llm_cartesian": 4,
    "full_two_phase_cartesian": 64,
    "paired_copy_mix": 2,
}


def compile_jsonl(bundle: Path, capsys, monkeypatch, tmp_path) -> str:
    monkeypatch.chdir(tmp_path)  # no project config from above the repo
    rc = main(["compile", str(bundle), "--format", "jsonl"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "Traceback" not in captured.err
    return captured.out


def check_golden(bundle: Path, out: str) -> None:
    expected = bundle / "expected.jsonl"
    data = out.encode("utf-8")
    if UPDATE:
        expected.write_bytes(data)
        return
    assert expected.is_file(), f"{expected} is missing: run with UPDATE_GOLDEN=1 to create it"
    assert data == expected.read_bytes()


def test_every_golden_is_known():
    assert WORKED == ["cartesian", "tie", "tie_pair", "tuple_pair"]
    assert sorted(ORIGINAL) == sorted(ORIGINAL_COUNTS)


# -- docs/spec_dsl.md worked examples --------------------------------------------------

WORKED_ROWS = {
    "cartesian": [
        {"a": "x", "b": "1"}, {"a": "x", "b": "2"}, {"a": "x", "b": "3"},
        {"a": "y", "b": "1"}, {"a": "y", "b": "2"}, {"a": "y", "b": "3"},
    ],
    "tie": [{"a": "d2", "b": "d2"}, {"a": "d3", "b": "d3"}],
    "tie_pair": [{"a": "d2", "b": "d2", "c": "e1"}, {"a": "d3", "b": "d3", "c": "e2"}],
    "tuple_pair": [
        {"draft_template": "d1", "essay_template": "e1", "essay_llm": "m1"},
        {"draft_template": "d2", "essay_template": "e2", "essay_llm": "m2"},
    ],
}


@pytest.mark.parametrize("name", WORKED)
def test_worked_example(name, capsys, monkeypatch, tmp_path):
    bundle = GOLDEN_DIR / name
    out = compile_jsonl(bundle, capsys, monkeypatch, tmp_path)
    rows = read_jsonl(out)
    # The semantics, independently of the golden file:
    assert rows == WORKED_ROWS[name]
    assert [list(r) for r in rows] == [list(WORKED_ROWS[name][0])] * len(rows)  # key order = columns
    check_golden(bundle, out)


def test_worked_example_tie_pair_keeps_b_equal_to_a(capsys, monkeypatch, tmp_path):
    rows = read_jsonl(compile_jsonl(GOLDEN_DIR / "tie_pair", capsys, monkeypatch, tmp_path))
    assert len(rows) == 2
    assert all(r["b"] == r["a"] for r in rows)
    assert all("t" not in r and "p" not in r for r in rows)


# -- the original system's fixtures --------------------------------------------------------

@pytest.mark.parametrize("name", ORIGINAL)
def test_original_fixture(name, capsys, monkeypatch, tmp_path):
    bundle = ORIGINAL_DIR / name
    out = compile_jsonl(bundle, capsys, monkeypatch, tmp_path)
    rows = read_jsonl(out)
    assert len(rows) == ORIGINAL_COUNTS[name]
    assert len({tuple(r.items()) for r in rows}) == len(rows)  # distinct
    check_golden(bundle, out)


def load_original(name, capsys, monkeypatch, tmp_path) -> list[dict]:
    return read_jsonl(compile_jsonl(ORIGINAL_DIR / name, capsys, monkeypatch, tmp_path))


def test_original_baseline_cartesian_semantics(capsys, monkeypatch, tmp_path):
    rows = load_original("baseline_cartesian", capsys, monkeypatch, tmp_path)
    assert list(rows[0]) == ["draft_template", "essay_template", "evaluation_template", "evaluation_llm"]
    # The evaluation pair varies fastest, in the order of evaluation_pairs.csv.
    assert [(r["evaluation_template"], r["evaluation_llm"]) for r in rows[:4]] == [
        ("creativity-metrics-v2", "sonnet-4"), ("creativity-metrics-v2", "gemini_25_pro"),
        ("daydreaming-verification-v3", "sonnet-4"), ("daydreaming-verification-v3", "gemini_25_pro"),
    ]
    assert [r["draft_template"] for r in rows[::4]] == [
        "creative-synthesis-v2", "application-implementation-v2", "gwern_original",
    ]


def test_original_cohort_cartesian_semantics(capsys, monkeypatch, tmp_path):
    rows = load_original("cohort_cartesian", capsys, monkeypatch, tmp_path)
    assert list(rows[0]) == [
        "combo_id", "draft_template", "draft_llm", "draft_template_replicate", "essay_template", "essay_llm",
        "essay_template_replicate", "evaluation_template", "evaluation_llm",
    ]
    # The tuple's axes are not declared, so its factor comes last and varies fastest.
    assert [(r["draft_template_replicate"], r["essay_template_replicate"], r["essay_template"]) for r in rows] == [
        ("1", "1", "essay-X"), ("1", "1", "essay-Y"), ("1", "2", "essay-X"), ("1", "2", "essay-Y"),
        ("2", "1", "essay-X"), ("2", "1", "essay-Y"), ("2", "2", "essay-X"), ("2", "2", "essay-Y"),
    ]
    assert {r["essay_llm"] for r in rows} == {"essay-llm"}


def test_original_creative_alignment_tuple_semantics(capsys, monkeypatch, tmp_path):
    rows = load_original("creative_alignment_tuple", capsys, monkeypatch, tmp_path)
    alignments = {(r["draft_template"], r["essay_template"]) for r in rows}
    assert alignments == {("creative-synthesis-v10", "creative-synthesis-v10"),
                          ("creative-synthesis-v7", "parsed-from-links-v1")}
    assert all(r["draft_llm"] == r["essay_llm"] for r in rows)
    assert [(r["draft_template"], r["draft_llm"]) for r in rows[:4]] == [
        ("creative-synthesis-v10", "gemini_25_pro"), ("creative-synthesis-v10", "deepseek_r1_p"),
        ("creative-synthesis-v7", "gemini_25_pro"), ("creative-synthesis-v7", "deepseek_r1_p"),
    ]


def test_original_curated_essays_semantics(capsys, monkeypatch, tmp_path):
    rows = load_original("curated_essays", capsys, monkeypatch, tmp_path)
    assert rows == [
        {"essay_template": "essay-copy-v1", "essay_llm": "sonnet-4",
         "evaluation_template": "verification-eval-v1", "evaluation_llm": "sonnet-4"},
        {"essay_template": "essay-llm-v1", "essay_llm": "sonnet-4",
         "evaluation_template": "verification-eval-v1", "evaluation_llm": "sonnet-4"},
    ]


def test_original_dual_llm_cartesian_semantics(capsys, monkeypatch, tmp_path):
    rows = load_original("dual_llm_cartesian", capsys, monkeypatch, tmp_path)
    pairs = [(r["draft_template"], r["essay_template"], r["draft_template_replicate"]) for r in rows]
    assert pairs == [
        ("creative-synthesis-v2", "essay-llm-v1", "1"), ("creative-synthesis-v2", "essay-llm-v1", "2"),
        ("application-implementation-v2", "essay-copy-v1", "1"), ("application-implementation-v2", "essay-copy-v1", "2"),
    ]


def test_original_full_two_phase_cartesian_semantics(capsys, monkeypatch, tmp_path):
    rows = load_original("full_two_phase_cartesian", capsys, monkeypatch, tmp_path)
    combos = {(r["draft_template"], r["draft_llm"], r["essay_template"], r["essay_llm"],
               r["evaluation_template"], r["evaluation_llm"]) for r in rows}
    assert len(combos) == 64 == 2 * 2 * 4 * 4
    assert list(rows[0]) == ["draft_template", "draft_llm", "essay_template", "essay_llm",
                             "evaluation_template", "evaluation_llm"]


def test_original_paired_copy_mix_semantics(capsys, monkeypatch, tmp_path):
    rows = load_original("paired_copy_mix", capsys, monkeypatch, tmp_path)
    assert [(r["draft_template"], r["essay_template"]) for r in rows] == [
        ("creative-synthesis-v2", "essay-llm-v1"), ("gwern_original", "essay-copy-v1"),
    ]


# -- the real process writes the same bytes --------------------------------------------------

@pytest.mark.skipif(UPDATE, reason="goldens are being rewritten")
@pytest.mark.parametrize("bundle", [GOLDEN_DIR / "tuple_pair", ORIGINAL_DIR / "cohort_cartesian"], ids=lambda p: p.name)
def test_golden_through_a_real_process(bundle, tmp_path):
    result = subprocess.run([sys.executable, "-m", "cohort_dsl", "compile", str(bundle), "--format", "jsonl"],
                            capture_output=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (bundle / "expected.jsonl").read_bytes()
