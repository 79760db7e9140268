"""Nothing silently lost: every varied value reaches an id or is refused,
ids cannot collide, and what lint refuses materialize refuses too
(docs/cohorts.md, "Generation ids").

Each case is a realistic two-phase cohort in a small data repo, run through
the real CLI: `lint` reports a located error and `materialize` exits 1
with nothing written.
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort_dsl.diagnostics import SpecError
from gate_helpers import cli, engine, make_project, snapshot, spec_path  # noqa: F401 - fixtures

REALISTIC = """axes:
  combo_id: [combo-001, combo-002]
  draft_template: [creative-synthesis-v7, creative-synthesis-v10]
  draft_llm: [sonnet-4, gemini_25_pro]
  essay_template: [essay-theme-v17]
  essay_llm: [sonnet-4, gemini_25_pro]
  evaluation_template: [creativity-metrics-v2]
  evaluation_llm: [gpt-5, sonnet-4]
{extra}rules:
  ties:
    same_writer: [draft_llm, essay_llm]
{output}"""

CATALOGS = {"catalogs/draft_templates.csv": "template_id,generator\ncreative-synthesis-v7,llm\ncreative-synthesis-v10,llm\n"
                                            "c,llm\nb|c,llm\n"}
CATALOG_CONFIG = {"draft_template": "catalogs/draft_templates.csv:template_id"}


def realistic(extra: str = "", output: str = "") -> str:
    return REALISTIC.format(extra=extra, output=output)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    def make(files: dict) -> object:
        root = make_project(tmp_path / "repo", {"c1": files}, catalogs=CATALOGS, catalog_config=CATALOG_CONFIG)
        monkeypatch.chdir(root)
        return root

    return make


def refused_everywhere(cli, root, code: str) -> list[dict]:
    """lint exits 1 with ``code``; materialize and membership exit 1 and
    nothing on disk changes. Returns lint's diagnostics of that code."""
    before = snapshot(root)
    lint = cli("lint", "--all", "--no-cache", "--format", "json")
    assert lint.rc == 1, lint
    found = [d for d in lint.diagnostics if d["code"] == code]
    assert found and all(d["severity"] == "error" for d in found), lint.diagnostics
    materialize = cli("materialize", "c1")
    assert materialize.rc == 1 and code in materialize.err, materialize
    membership = cli("membership", spec_path(root, "c1"), "--cohort-id", "c1")
    assert membership.rc == 1 and membership.out == "" and code in membership.err
    assert snapshot(root) == before
    return found


# -- 1. an axis no id reads ------------------------------------------------------

def test_an_axis_no_id_reads_is_an_error_at_the_axis(repo, cli):
    root = repo({"config.yaml": realistic("  prompt_language: [en, de, fr]\n")})
    (found,) = refused_everywhere(cli, root, "M009")
    assert (found["line"], found["column"]) == (9, 3)
    assert "prompt_language" in found["message"] and "3 levels" in found["message"]
    assert "48 rows collapse into 16 evaluation generations" in found["message"]
    assert "output.layout" in found["hint"]


def test_an_axis_added_to_a_stage_id_reaches_every_id_below(repo, cli):
    root = repo({"config.yaml": realistic("  prompt_language: [en, de, fr]\n",
                                          "output:\n  layout: {name: two-phase, draft: {id: [prompt_language]}}\n")})
    assert cli("lint", "--all", "--no-cache").rc == 0
    result = cli("materialize", "c1")
    assert result.rc == 0, result
    assert "24 drafts, 24 essays, 48 evaluations" in result.out
    wide = list(csv.DictReader(io.StringIO((root / "data/cohorts/c1/membership_wide.csv").read_text(encoding="utf-8"))))
    assert list(wide[0])[-1] == "prompt_language"
    assert {r["prompt_language"] for r in wide} == {"en", "de", "fr"}
    assert len({r["gen_id"] for r in wide}) == len(wide) == 96


def test_ids_of_specs_without_extra_id_axes_are_unchanged(repo, cli):
    """Compatibility with existing generations: the same spec gives the
    same ids whether or not the layout option exists (an empty layout
    table is the plain layout)."""
    plain = repo({"config.yaml": realistic()})
    first = cli("membership", spec_path(plain, "c1"), "--cohort-id", "c1").out
    spec_path(plain, "c1").write_text(realistic(output="output:\n  layout: {name: two-phase}\n"), encoding="utf-8")
    assert cli("membership", spec_path(plain, "c1"), "--cohort-id", "c1").out == first


@pytest.mark.parametrize("layout, message", [
    ("{name: two-phase, drafts: {id: [prompt_language]}}", "no stage 'drafts'"),
    ("{name: two-phase, draft: {id: [prompt_lang]}}", "not an axis"),
    ("{name: two-phase, essay: {id: [draft_llm]}}", "already reads draft_llm"),
])
def test_layout_options_are_checked(repo, cli, layout, message):
    root = repo({"config.yaml": realistic("  prompt_language: [en, de]\n", f"output:\n  layout: {layout}\n")})
    found = refused_everywhere(cli, root, "M012")
    assert message in found[0]["message"]
    assert found[0]["line"] == 14


def test_a_single_level_axis_no_id_reads_is_fine(repo, cli):
    repo({"config.yaml": realistic("  prompt_language: [en]\n")})
    assert cli("lint", "--all", "--no-cache").rc == 0


def test_an_axis_coupled_one_to_one_with_an_id_column_is_fine(repo, cli):
    spec = realistic("  template_family: null\n").replace(
        "rules:\n", "rules:\n  tuples:\n    family:\n      axes: [draft_template, template_family]\n"
        "      items: [[creative-synthesis-v7, classic], [creative-synthesis-v10, modern]]\n")
    repo({"config.yaml": spec})
    result = cli("lint", "--all", "--no-cache")
    assert result.rc == 0, result


# -- 2. the separator inside values ------------------------------------------------

def test_the_separator_inside_values_is_an_error_at_the_value(repo, cli):
    spec = realistic().replace("combo_id: [combo-001, combo-002]", 'combo_id: [a, "a|b"]').replace(
        "draft_template: [creative-synthesis-v7, creative-synthesis-v10]", 'draft_template: [c, "b|c"]')
    root = repo({"config.yaml": spec})
    found = refused_everywhere(cli, root, "M010")
    assert {(d["line"], d["column"]) for d in found} == {(2, 17), (3, 23)}
    assert all("'|'" in d["message"] for d in found)


def test_a_control_character_in_an_included_value_is_located_at_its_row(repo, cli):
    spec = realistic().replace("combo_id: [combo-001, combo-002]", "combo_id: '@file:combos.csv'")
    root = repo({"config.yaml": spec, "combos.csv": 'combo_id\ncombo-001\n"combo\t002"\n'})
    (found,) = refused_everywhere(cli, root, "M010")
    assert found["path"].endswith("combos.csv") and found["line"] == 3


# -- 3. aliases are not read -------------------------------------------------------------

def test_a_retired_column_name_is_named_with_its_replacement(repo, cli):
    spec = realistic().replace("draft_llm: [sonnet-4, gemini_25_pro]", "draft_model: [sonnet-4, gemini_25_pro]").replace(
        "[draft_llm, essay_llm]", "[draft_model, essay_llm]")
    root = repo({"config.yaml": spec})
    (found,) = refused_everywhere(cli, root, "M001")
    assert "draft_llm" in found["message"]
    assert "draft_model (rename it draft_llm)" in found["hint"]


def test_a_retired_replicate_column_name_is_named(repo, cli):
    root = repo({"config.yaml": realistic("  draft_rep: ['1', '2']\n")})
    (found,) = refused_everywhere(cli, root, "M009")
    assert "rename" in found["hint"] and "draft_replicate" in found["hint"]


# -- 5. collisions lint finds are never written ---------------------------------------------

@pytest.mark.parametrize("levels", ["[Draft-A, draft-a]", '["x", "x "]'])
def test_values_that_give_one_id_are_refused_everywhere(repo, cli, levels):
    spec = realistic().replace("draft_template: [creative-synthesis-v7, creative-synthesis-v10]", f"draft_template: {levels}")
    root = repo({"config.yaml": spec})
    refused_everywhere(cli, root, "M002")


def test_a_replicate_written_with_a_leading_zero_is_refused(repo, cli):
    root = repo({"config.yaml": realistic("  draft_replicate: ['01', '2']\n")})
    (found,) = refused_everywhere(cli, root, "M004")
    assert "write it 1" in found["hint"]


def test_a_hash_collision_is_refused_while_streaming(repo, cli, monkeypatch):
    """Two distinct keys hashing to one id cannot be produced for real; a
    constant digest stands in for BLAKE2b."""
    root = repo({"config.yaml": realistic()})
    class Constant:
        def __init__(self, data=b"", *, digest_size):
            self.size = digest_size

        def copy(self):
            return self

        def update(self, data):
            pass

        def digest(self):
            return b"s" * self.size

    monkeypatch.setattr("cohort_dsl.membership.blake2b", Constant)
    before = snapshot(root)
    result = cli("materialize", "c1")
    assert result.rc == 1 and "M011" in result.err
    assert snapshot(root) == before


# -- the property: every distinct row reaches a distinct record, or lint says why --------

LEVEL = st.sampled_from(["a", "b", "A", "c|d", "e", "f "])


@st.composite
def small_specs(draw):
    axes = {
        "combo_id": draw(st.lists(LEVEL, min_size=1, max_size=3, unique=True)),
        "draft_template": draw(st.lists(LEVEL, min_size=1, max_size=2, unique=True)),
        "draft_llm": draw(st.lists(LEVEL, min_size=1, max_size=2, unique=True)),
        "essay_template": ["e1"],
        "essay_llm": draw(st.lists(LEVEL, min_size=1, max_size=2, unique=True)),
        "evaluation_template": ["v1"],
        "evaluation_llm": draw(st.lists(LEVEL, min_size=1, max_size=2, unique=True)),
    }
    if draw(st.booleans()):
        axes["extra"] = draw(st.lists(LEVEL, min_size=1, max_size=3, unique=True))
    extra_in_id = "extra" in axes and draw(st.booleans())
    lines = ["axes:"] + [f"  {name}: [{', '.join(repr(v) for v in values)}]" for name, values in axes.items()]
    if extra_in_id:
        lines += ["output:", "  layout: {name: two-phase, essay: {id: [extra]}}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=small_specs())
def test_every_distinct_row_reaches_a_distinct_record_or_lint_says_why(spec, tmp_path_factory, engine):
    from cohort_dsl.project import Project
    from cohort_dsl.settings import load_settings

    root = tmp_path_factory.mktemp("prop")
    folder = root / "cohorts" / "c1" / "spec"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(spec, encoding="utf-8")
    project = Project(load_settings(start=root), engine).override(data_root=root)
    report = project.lint([folder], use_cache=False, jobs=1)
    compiled = project.compile(folder)
    try:
        membership = project.membership(compiled, "c1")
        evaluations = [r for r in membership.records() if r.stage == "evaluation"]
    except SpecError:
        evaluations = None
    if report.errors == 0:
        assert evaluations is not None
        assert len(evaluations) == compiled.count, spec
    else:
        assert {d.code for d in report.diagnostics if d.severity == "error"} & {"M002", "M009", "M010"}, spec
        assert evaluations is None  # refused, never written
