"""`cohort-dsl diff` and `materialize --dry-run` (docs/cohorts.md, "Reviewing
a change"): on a copy of examples/, the added and removed records equal the
difference of `membership --wide` before and after an edit, --rev agrees
with the materialized comparison, causes name the edited level, exit codes
follow `git diff`."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import shutil
import subprocess

import pytest

from gate_helpers import REPO_DIR, cli, engine  # noqa: F401

COHORT = "creative-alignment"
SPEC = f"data/cohorts/{COHORT}/spec/config.yaml"
ADD_LLM = ("draft_llm: [sonnet-4, gemini_25_pro]", "draft_llm: [sonnet-4, gemini_25_pro, gpt-5]")
DROP_REPLICATE = ("evaluation_template_replicate: [1, 2]", "evaluation_template_replicate: [1]")


@pytest.fixture
def examples(tmp_path, monkeypatch):
    shutil.copytree(REPO_DIR / "examples" / "data", tmp_path / "data")
    shutil.copy(REPO_DIR / "examples" / "pyproject.toml", tmp_path / "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit(root, *replacements) -> None:
    path = root / SPEC
    text = path.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def wide(cli) -> list[dict]:
    """`membership --wide` as the diff's records: (stage, fields)."""
    result = cli("membership", SPEC, "--cohort-id", COHORT, "--wide")
    assert result.rc == 0, result
    out = []
    for row in csv.DictReader(io.StringIO(result.out)):
        out.append((row["stage"], {"gen_id": row["gen_id"], "parent_gen_id": row["parent_gen_id"] or None,
                                   "combo_id": row["combo_id"], "template_id": row["template_id"],
                                   "llm_model_id": row["llm_model_id"], "replicate": int(row["replicate"])}))
    return out


def records(payload: dict, direction: str) -> list:
    return [(stage, r) for stage, s in payload["stages"].items() for r in s[direction]]


def git(root, *args) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True,
                   capture_output=True)


def test_an_edit_adds_and_removes_exactly_the_difference_of_the_wide_memberships(cli, examples):
    before = wide(cli)
    edit(examples, ADD_LLM, DROP_REPLICATE)
    after = wide(cli)
    result = cli("diff", COHORT, "--format", "json")
    assert result.rc == 0, result
    payload = json.loads(result.out)
    assert payload["cohort"] == COHORT
    assert list(payload["stages"]) == ["draft", "essay", "evaluation"]
    assert records(payload, "added") == [r for r in after if r not in before]  # in membership order
    assert records(payload, "removed") == [r for r in before if r not in after]
    kept = {r[1]["gen_id"] for r in after if r in before}
    assert sum(s["unchanged"] for s in payload["stages"].values()) == len(kept)
    causes = {(c["direction"], c["axis"], c["value"]): c for c in payload["causes"]}
    assert set(causes) == {("added", "draft_llm", "gpt-5"), ("removed", "evaluation_template_replicate", "2")}
    added = causes["added", "draft_llm", "gpt-5"]
    assert added["counts"] == {"draft": 12, "essay": 12, "evaluation": 24}
    assert (added["path"], added["line"]) == (SPEC, 24)  # where gpt-5 was written


def test_rev_agrees_with_the_materialized_comparison(cli, examples):
    git(examples, "init", "-q")
    git(examples, "add", "-A")
    git(examples, "commit", "-qm", "examples")
    edit(examples, ADD_LLM, DROP_REPLICATE)
    materialized = json.loads(cli("diff", COHORT, "--format", "json").out)
    at_head = cli("diff", COHORT, "--rev", "HEAD", "--format", "json")
    assert at_head.rc == 0, at_head
    at_head = json.loads(at_head.out)
    assert at_head["stages"] == materialized["stages"]
    assert at_head["base"] == "the spec at HEAD"
    removed = next(c for c in at_head["causes"] if c["direction"] == "removed")
    assert removed["path"] == SPEC  # the edited line of the current spec
    # the spec absent at a revision: everything is added
    git(examples, "rm", "-rq", "--cached", f"data/cohorts/{COHORT}")
    git(examples, "commit", "-qm", "drop")
    absent = json.loads(cli("diff", COHORT, "--rev", "HEAD", "--format", "json").out)
    assert all(not s["removed"] and s["unchanged"] == 0 for s in absent["stages"].values())
    assert [c["kind"] for c in absent["causes"]] == ["absent"]
    # a revision that is not one is a usage error; so is --rev outside git
    assert cli("diff", COHORT, "--rev", "no-such-rev").rc == 2
    assert cli("diff", COHORT, "--rev", "--help-me").rc == 2


def test_rev_outside_git_is_a_usage_error(cli, examples):
    result = cli("diff", COHORT, "--rev", "HEAD")
    assert result.rc == 2 and "git" in result.err


def test_exit_codes_follow_git_diff(cli, examples):
    assert cli("diff", COHORT).rc == 0
    same = cli("diff", COHORT, "--exit-code")
    assert same.rc == 0 and "no change" in same.out
    edit(examples, ADD_LLM)
    assert cli("diff", COHORT).rc == 0
    assert cli("diff", COHORT, "--exit-code").rc == 1
    edit(examples, ("draft_llm: [sonnet-4, gemini_25_pro, gpt-5]", "draft_llm: [sonnet-4, yes]"))
    broken = cli("diff", COHORT)
    assert broken.rc == 1 and f"{SPEC}:24:25: Y003" in broken.err
    assert cli("diff", COHORT, "--exit-code").rc == 2
    assert cli("diff", "no-such-cohort").rc == 2
    assert cli("diff", COHORT, "--limit", "-1").rc == 2


def test_text_groups_by_cause_with_values_and_a_limit(cli, examples):
    edit(examples, ADD_LLM, DROP_REPLICATE)
    text = cli("diff", COHORT, "--limit", "2").out
    summary, _, details = text.partition("\n\n")
    assert "evaluation" in summary and "48" in summary
    assert f"draft_llm 'gpt-5' is new ({SPEC}:24:40): 12 drafts, 12 essays, 24 evaluations" in text
    assert "evaluation_template_replicate '2' is gone" in text
    assert "creative-synthesis-v7" in details and "gpt-5" in details  # values, not only ids
    assert "… and 46 more" in text
    summaries_only = cli("diff", COHORT, "--limit", "0").out
    assert "d_" not in summaries_only and "'gpt-5' is new" in summaries_only
    markdown = cli("diff", COHORT, "--format", "markdown", "--limit", "1").out
    assert "| stage | added | removed | unchanged |" in markdown
    assert "| draft | 12 | 0 | 24 |" in markdown
    assert "<details><summary>draft_llm 'gpt-5' is new: 1 of 48 records</summary>" in markdown


def test_removed_records_come_from_wide_then_metadata_then_the_id(cli, examples):
    edit(examples, DROP_REPLICATE)
    cohort = examples / "data" / "cohorts" / COHORT
    full = json.loads(cli("diff", COHORT, "--format", "json").out)["stages"]["evaluation"]["removed"]
    assert len(full) == 48 and full[0]["template_id"] and full[0]["replicate"] == 2
    wide_lines = (cohort / "membership_wide.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (cohort / "membership_wide.csv").write_text("".join(wide_lines[:-1]), encoding="utf-8")  # not the same set
    stale_wide = json.loads(cli("diff", COHORT, "--format", "json").out)
    (cohort / "membership_wide.csv").unlink()
    only_ids = json.loads(cli("diff", COHORT, "--format", "json").out)
    assert stale_wide == only_ids  # a wide file that does not list membership.csv's records is not believed
    assert only_ids["stages"]["evaluation"]["removed"] == [{"gen_id": r["gen_id"]} for r in full]
    assert [c["kind"] for c in only_ids["causes"]] == ["unknown"]
    assert cli("materialize", COHORT, "--force", "--seed-metadata").rc == 0  # seeds metadata for the new set
    edit(examples, ("evaluation_template_replicate: [1]", "evaluation_template_replicate: [2]"))
    (cohort / "membership_wide.csv").unlink()
    from_metadata = json.loads(cli("diff", COHORT, "--format", "json").out)["stages"]["evaluation"]["removed"]
    assert from_metadata[0]["template_id"] and from_metadata[0]["replicate"] == 1


def test_a_cohort_never_materialized_is_all_added(cli, examples):
    (examples / "data" / "cohorts" / COHORT / "membership.csv").unlink()
    payload = json.loads(cli("diff", COHORT, "--format", "json").out)
    assert [len(s["added"]) for s in payload["stages"].values()] == [24, 24, 96]
    assert all(s["removed"] == [] and s["unchanged"] == 0 for s in payload["stages"].values())


def test_dry_run_prints_the_diff_and_writes_nothing(cli, examples):
    cohort = examples / "data" / "cohorts" / COHORT
    before = {p.name: p.read_bytes() for p in cohort.iterdir() if p.is_file()}
    edit(examples, ADD_LLM)
    result = cli("materialize", COHORT, "--dry-run")
    assert result.rc == 0, result
    assert "draft_llm 'gpt-5' is new" in result.out and "M003" not in result.err
    assert {p.name: p.read_bytes() for p in cohort.iterdir() if p.is_file()} == before


def test_the_stale_membership_refusal_says_what_and_where(cli, examples):
    edit(examples, ADD_LLM)
    result = cli("lint", SPEC, "--format", "json", "--no-cache")
    d = next(d for d in json.loads(result.out)["diagnostics"] if d["code"] == "M003")
    assert (d["path"], d["line"]) == (SPEC, 24)  # the edited line, not axes:
    assert "72 records would be added (12 drafts, 12 essays, 48 evaluations: draft_llm 'gpt-5' is new, e.g. d_" \
        in d["message"]
    refused = cli("materialize", COHORT)
    assert refused.rc == 1 and d["message"] in refused.err


# -- docs/cohorts.md: the console blocks marked <!-- executed: EDIT --> are real output --------------

DOC_EDITS = {
    "none": [],
    "add-gpt-5": [(SPEC, *ADD_LLM)],
    "swap-draft-template": [("data/cohorts/dual-llm-tie/spec/config.yaml",
                             "draft_template: [creative-synthesis-v10, problem-solving-v3]",
                             "draft_template: [creative-synthesis-v10, creative-synthesis-v7]")],
}
DOC_BLOCK = re.compile(r"<!-- executed: (?P<edit>[\w-]+) -->\s*```console\n\$ cohort-dsl (?P<argv>[^\n]*)\n(?P<out>.*?)```",
                       re.DOTALL)


def doc_blocks():
    text = (REPO_DIR / "docs" / "cohorts.md").read_text(encoding="utf-8")
    return [pytest.param(m["edit"], m["argv"], m["out"], id=f"{m['edit']}:{m['argv'][:30]}")
            for m in DOC_BLOCK.finditer(text)]


def test_the_docs_show_real_output_of_each_command():
    assert {argv.split()[0] for _, argv, _ in (p.values for p in doc_blocks())} >= {"diff", "explain", "materialize"}


@pytest.mark.parametrize("edit_name, argv, expected", doc_blocks())
def test_doc_console_block(cli, examples, edit_name, argv, expected):
    for path, old, new in DOC_EDITS[edit_name]:
        text = (examples / path).read_text(encoding="utf-8")
        assert old in text
        (examples / path).write_text(text.replace(old, new), encoding="utf-8")
    result = cli(*shlex.split(argv))
    shown = result.err + result.out
    if expected.startswith("…\n"):  # the block shows the end of the output
        assert shown.endswith(expected[2:]), shown
    else:
        assert shown == expected, shown


def test_rev_names_the_rule_entry_that_changed(cli, examples):
    git(examples, "init", "-q")
    git(examples, "add", "-A")
    git(examples, "commit", "-qm", "examples")
    path = examples / "data/cohorts/paired-copy-mix/spec/config.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("        - [links-v4, [essay-theme-v17, sonnet-4]]\n",
                                 "        - [links-v4, [essay-theme-v16, sonnet-4]]\n"), encoding="utf-8")
    payload = json.loads(cli("diff", "paired-copy-mix", "--rev", "HEAD", "--format", "json").out)
    causes = {c["direction"]: c for c in payload["causes"]}
    assert set(causes) == {"added", "removed"} and {c["kind"] for c in causes.values()} == {"combination"}
    for direction, essay in (("added", "essay-theme-v16"), ("removed", "essay-theme-v17")):
        [combination] = causes[direction]["combinations"]
        assert combination["rows"] == [["links-v4", essay, "sonnet-4"]]
        assert combination["rules"][-1] == "pairs draft_to_route" and combination["line"] == 41
        assert causes[direction]["counts"] == {"essay": 8, "evaluation": 16}
    text = cli("diff", "paired-copy-mix", "--rev", "HEAD").out
    assert "+ draft_template=links-v4, essay_template=essay-theme-v16, essay_llm=sonnet-4   by tuples essay_route, " \
           "pairs draft_to_route (line 41)" in text
    # against membership.csv the old spec is unknown: the cause says so
    assert "--rev names the coupling" in cli("diff", "paired-copy-mix").out


def test_the_same_records_in_another_order_are_a_difference(cli, examples):
    edit(examples, ("draft_llm: [sonnet-4, gemini_25_pro]", "draft_llm: [gemini_25_pro, sonnet-4]"))
    result = cli("diff", COHORT, "--exit-code")
    assert result.rc == 1 and "no record added or removed, but" in result.out
    assert "the same records in another order" in cli("lint", SPEC, "--no-cache").out


def test_layout_id_axes_are_record_fields_and_a_spec_error_at_rev_is_located_there(cli, examples):
    git(examples, "init", "-q")
    path = examples / SPEC
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("output:\n", "output:\n  layout: {name: two-phase, draft: {id: [qa]}}\n")
                    .replace("axes:\n", "axes:\n  qa: [q1]\n"), encoding="utf-8")
    git(examples, "add", "-A")
    git(examples, "commit", "-qm", "with qa")
    path.write_text(path.read_text(encoding="utf-8").replace("qa: [q1]", "qa: [q1, q2]"), encoding="utf-8")
    payload = json.loads(cli("diff", COHORT, "--rev", "HEAD", "--format", "json").out)
    [cause] = [c for c in payload["causes"]]
    assert (cause["axis"], cause["value"]) == ("qa", "q2")
    assert {r["qa"] for r in payload["stages"]["draft"]["added"]} == {"q2"}
    assert {r["qa"] for r in payload["stages"]["essay"]["added"]} == {"q2"}
    path.write_text(path.read_text(encoding="utf-8").replace("qa: [q1, q2]", "qa: [q1, yes]"), encoding="utf-8")
    git(examples, "commit", "-qam", "broken")
    path.write_text(path.read_text(encoding="utf-8").replace("qa: [q1, yes]", "qa: [q1]"), encoding="utf-8")
    broken = cli("diff", COHORT, "--rev", "HEAD")
    assert broken.rc == 1 and f"HEAD:{SPEC}:" in broken.err and "(at HEAD)" in broken.err


def test_a_removed_value_the_catalog_lost_says_so(cli, examples):
    catalog = examples / "data/1_raw/evaluation_templates.csv"
    catalog.write_text("".join(line for line in catalog.read_text(encoding="utf-8").splitlines(keepends=True)
                               if not line.startswith("novelty-v2,")), encoding="utf-8")
    edit(examples, ("evaluation_template: [creativity-metrics-v2, novelty-v2, ", "evaluation_template: [creativity-metrics-v2, "),
         ("        - [essay-theme-v16, novelty-v2]\n", ""))
    payload = json.loads(cli("diff", COHORT, "--format", "json").out)
    [cause] = payload["causes"]
    assert (cause["direction"], cause["axis"], cause["value"], cause["not_in_catalog"]) == \
        ("removed", "evaluation_template", "novelty-v2", True)
    assert cause["text"] == "evaluation_template 'novelty-v2' is gone (no longer in its catalog)"
    assert (cause["path"], cause["line"]) == (SPEC, 28)  # the axis it was edited out of
