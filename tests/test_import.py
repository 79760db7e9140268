"""`cohort-dsl import` (docs/cohorts.md, "Adopting cohort-dsl"): a spec derived
from a cohort that already ran (membership.csv and the metadata of its ids)
gives back the same membership.csv byte for byte; what cannot be explained is
refused with exit 1 and nothing written anywhere. `import --from-list` writes
the spec of a curated cohort of existing essays."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from cohort_dsl.importer import IMPORT_UNEXPLAINED, LIST_PROBLEM, SPEC_EXISTS, factorize
from cohort_dsl.membership import gen_id
from gate_helpers import REPO_DIR, cli, engine, make_project  # noqa: F401

EXAMPLES = REPO_DIR / "examples"
EXAMPLE_COHORTS = sorted(p.name for p in (EXAMPLES / "data" / "cohorts").iterdir())
ORIGINAL = REPO_DIR / "tests" / "fixtures" / "original"


def round_trip(cli, root: Path, cohort_id: str) -> bytes:
    """Delete the spec of a cohort materialized with --seed-metadata (and
    its derived files), import, materialize: the same membership.csv, which
    is returned."""
    cohort = root / "data" / "cohorts" / cohort_id
    before = (cohort / "membership.csv").read_bytes()
    shutil.rmtree(cohort / "spec")
    for derived in ("membership_wide.csv", "manifest.json"):  # import needs neither
        (cohort / derived).unlink(missing_ok=True)
    result = cli("import", cohort_id)
    assert result.rc == 0, result
    assert (cohort / "membership.csv").read_bytes() == before  # left untouched
    again = cli("materialize", cohort_id)
    assert again.rc == 0, again
    assert "(unchanged)" in again.out
    assert (cohort / "membership.csv").read_bytes() == before
    return before


def no_fsync(patch) -> None:
    """Durability is not under test here, and an fsync per seeded metadata
    file is most of these tests' time on a busy disk."""
    import os

    patch.setattr(os, "fsync", lambda fd: None)


@pytest.fixture(autouse=True)
def _no_fsync(monkeypatch):
    no_fsync(monkeypatch)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, engine):
    """The examples, every cohort materialized with --seed-metadata (once:
    seeding writes hundreds of files)."""
    from cohort_dsl.cli import main

    root = tmp_path_factory.mktemp("seeded") / "examples"
    shutil.copytree(EXAMPLES, root)
    with pytest.MonkeyPatch.context() as patch:
        no_fsync(patch)
        patch.chdir(root)
        assert main(["materialize", "--all", "--seed-metadata"], engine=engine) == 0
    return root


@pytest.fixture
def examples(seeded, tmp_path, monkeypatch):
    """A fresh copy of the seeded examples, as the working directory. The
    metadata files are hard links to the seeded ones (hundreds of files):
    a test that changes one replaces it, never writes into it."""
    import os

    root = tmp_path / "examples"
    shutil.copytree(seeded, root, ignore=lambda folder, names: ["gens"] if Path(folder).name == "data" else [])
    shutil.copytree(seeded / "data" / "gens", root / "data" / "gens", copy_function=os.link)
    monkeypatch.chdir(root)
    return root


def state(folder: Path) -> dict:
    """Every path below ``folder`` with its kind, size and modification time:
    what a write anywhere (a new, removed or rewritten file) changes."""
    import os

    out = {}
    for path in sorted(folder.rglob("*")):
        st = os.lstat(path)
        out[path.relative_to(folder).as_posix()] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def test_every_example_cohort_round_trips(cli, examples):
    for cohort_id in EXAMPLE_COHORTS:
        round_trip(cli, examples, cohort_id)


# The original system's fixtures that have every column of the two-phase layout
# (the others lack combo_id or draft_llm): generations of drafts, essays, evaluations.
ORIGINAL_COHORTS = {"creative_alignment_tuple": (12, 24, 528), "cohort_cartesian": (2, 8, 8)}


@pytest.mark.parametrize("name", ORIGINAL_COHORTS)
def test_cohorts_of_the_original_system_round_trip(cli, tmp_path, monkeypatch, name):
    make_project(tmp_path, {name: {}}, catalogs={}, catalog_config={})
    spec = tmp_path / "data" / "cohorts" / name / "spec"
    shutil.copytree(ORIGINAL / name, spec, dirs_exist_ok=True, ignore=shutil.ignore_patterns("expected.jsonl"))
    monkeypatch.chdir(tmp_path)
    assert cli("materialize", name, "--seed-metadata").rc == 0
    lines = round_trip(cli, tmp_path, name).decode().splitlines()[1:]
    assert tuple(sum(line.startswith(stage + ",") for line in lines)
                 for stage in ("draft", "essay", "evaluation")) == ORIGINAL_COHORTS[name]
    if name == "creative_alignment_tuple":
        config = (spec / "config.yaml").read_text(encoding="utf-8")
        # The coupled (draft_template, essay_template) and (draft_llm, essay_llm)
        # pairs are tuples; everything else is a cartesian axis.
        assert config.count("axes: [") == 2
        assert "essay_replicate: [1, 2]" in config and "evaluation_replicate: [1, 2]" in config


def test_levels_yaml_or_csv_would_misread_round_trip(cli, tmp_path, monkeypatch):
    """Levels that need quoting in YAML (inline) and in CSV (an include,
    beyond twelve levels) are written so that they read back as they were."""
    combos = ["010", "yes", "a b", "it's", "x:y", "-3", "1e3", '"q"', "a,b", "~", "null", "é", "#c"]
    spec = ("axes:\n  combo_id: " + json.dumps(combos) + "\n  draft_template: [\"NO\", d2]\n  draft_llm: [m]\n"
            "  essay_template: [e]\n  essay_llm: [m]\n  evaluation_template: [v]\n  evaluation_llm: ['0x1F']\n")
    make_project(tmp_path, {"odd": {"config.yaml": spec}}, catalogs={}, catalog_config={})
    monkeypatch.chdir(tmp_path)
    assert cli("materialize", "odd", "--seed-metadata").rc == 0
    round_trip(cli, tmp_path, "odd")
    spec_dir = tmp_path / "data" / "cohorts" / "odd" / "spec"
    assert "'@file:items/combo_id.csv'" in (spec_dir / "config.yaml").read_text()
    assert 'draft_template: ["NO", d2]' in (spec_dir / "config.yaml").read_text()


def test_factorize_finds_the_product_and_the_tuples():
    rows = [(a, b, c) for a in "xy" for b, c in (("1", "p"), ("2", "q"), ("3", "q"))]
    factors = factorize(3, rows)
    assert [(f.columns, f.rows) for f in factors] == [((0,), [("x",), ("y",)]),
                                                     ((1, 2), [("1", "p"), ("2", "q"), ("3", "q")])]
    no_product = [("a", "1"), ("a", "2"), ("b", "1")]
    assert [(f.columns, f.rows) for f in factorize(2, no_product)] == [((0, 1), no_product)]


# -- refusals -----------------------------------------------------------------------

@pytest.fixture
def ran(examples):
    """dual-llm-tie materialized with seeds, its spec deleted."""
    shutil.rmtree(examples / "data" / "cohorts" / "dual-llm-tie" / "spec")
    return examples / "data"


def membership_ids(data: Path, stage: str) -> list[str]:
    lines = (data / "cohorts" / "dual-llm-tie" / "membership.csv").read_text().splitlines()[1:]
    return [line.split(",")[1] for line in lines if line.startswith(stage + ",")]


def refused(cli, data: Path, code: str, *args, cohort: str = "dual-llm-tie") -> str:
    before = state(data)
    result = cli("import", cohort, *args)
    assert result.rc == 1, result
    assert f" {code} " in result.err and "nothing was written" in result.err, result.err
    assert state(data) == before  # nothing anywhere: no spec, no staging folder
    return result.err


def test_metadata_as_the_original_pipeline_wrote_it(cli, ran):
    """Keys it wrote only when set (no mode, no origin), llm_model_id under its
    earlier name model_id, an origin of another cohort (a shared generation)."""
    for stage in ("draft", "evaluation"):
        for gen in membership_ids(ran, stage):
            path = ran / "gens" / stage / gen / "metadata.json"
            data = json.loads(path.read_text())
            data["model_id"] = data.pop("llm_model_id")
            data.pop("mode")
            data["origin_cohort_id"] = "an-older-cohort"
            path.unlink()  # a hard link to the seeded file: replace it
            path.write_text(json.dumps(data))
    assert cli("import", "dual-llm-tie").rc == 0
    assert "(unchanged)" in cli("materialize", "dual-llm-tie").out


def test_missing_metadata_is_refused_naming_the_id(cli, ran):
    essay = membership_ids(ran, "essay")[3]
    (ran / "gens" / "essay" / essay / "metadata.json").unlink()
    assert f"essay {essay} has no metadata" in refused(cli, ran, IMPORT_UNEXPLAINED.code)


def test_contradicting_metadata_is_refused_naming_the_id(cli, ran):
    draft = membership_ids(ran, "draft")[5]
    path = ran / "gens" / "draft" / draft / "metadata.json"
    edited = json.dumps({**json.loads(path.read_text()), "template_id": "problem-solving-v3x"})
    path.unlink()  # a hard link to the seeded file: replace it
    path.write_text(edited)
    assert f"draft {draft}: gens/draft/{draft}/metadata.json has values that give the id" in \
        refused(cli, ran, IMPORT_UNEXPLAINED.code)


def test_metadata_leading_out_of_the_data_root_is_not_read(cli, ran, tmp_path):
    draft = membership_ids(ran, "draft")[0]
    path = ran / "gens" / "draft" / draft / "metadata.json"
    outside = tmp_path / "outside.json"
    outside.write_bytes(path.read_bytes())  # even the right content: it is not the data root's
    path.unlink()
    path.symlink_to(outside)
    assert "leads out of the data root" in refused(cli, ran, IMPORT_UNEXPLAINED.code)


def test_collision_suffix_unknown_stage_and_order_are_refused(cli, ran):
    membership = ran / "cohorts" / "dual-llm-tie" / "membership.csv"
    original = membership.read_text()
    lines = original.splitlines(keepends=True)
    first_eval = next(i for i, line in enumerate(lines) if line.startswith("evaluation,"))
    suffixed = lines[first_eval].rstrip("\n") + "-1\n"
    membership.write_text("".join(lines[:first_eval] + [suffixed] + lines[first_eval + 1:]))
    assert "-N collision suffix" in refused(cli, ran, IMPORT_UNEXPLAINED.code)
    membership.write_text(original + "critique,c_123\n")
    assert "stage 'critique'" in refused(cli, ran, IMPORT_UNEXPLAINED.code)
    # Two drafts swapped: a spec's drafts come in the order its evaluations
    # first reach them (any order of evaluations is a tuple's).
    swapped = [lines[0], lines[2], lines[1]] + lines[3:]
    membership.write_text("".join(swapped))
    assert f"does not reproduce membership.csv's '{lines[2].strip()}'" in refused(cli, ran, IMPORT_UNEXPLAINED.code)
    # A draft no evaluation descends from.
    drafts_only = [line for line in lines if not line.startswith("evaluation,")]
    membership.write_text("".join(drafts_only))
    assert "no evaluation of the cohort descends from" in refused(cli, ran, IMPORT_UNEXPLAINED.code)


def test_an_existing_spec_needs_force_and_must_still_round_trip(cli, examples):
    spec = examples / "data" / "cohorts" / "baseline-cartesian" / "spec"
    refused(cli, examples / "data", SPEC_EXISTS.code, cohort="baseline-cartesian")
    result = cli("import", "baseline-cartesian", "--force")
    assert result.rc == 0, result
    assert "derived by `cohort-dsl import`" in (spec / "config.yaml").read_text()
    assert not (spec / "items" / "evaluation_panel.csv").exists()  # the old bundle is gone, not merged
    assert "(unchanged)" in cli("materialize", "baseline-cartesian").out


# -- --from-list ---------------------------------------------------------------------

def test_from_list_keeps_the_essays_ids(cli, examples):
    data = examples / "data"
    wide = (data / "cohorts" / "paired-copy-mix" / "membership_wide.csv").read_text().splitlines()[1:]
    essays = [line.split(",") for line in wide if line.startswith("essay,")]
    chosen = [essays[0], essays[5], essays[9]]
    listing = examples / "best.csv"
    listing.write_text("note,essay_gen_id\n" + "".join(f"x,{e[1]}\n" for e in chosen) + f"dup,{chosen[0][1]}\n")
    templates = ["creativity-metrics-v2", "novelty-v2"]
    result = cli("import", "best-essays", "--from-list", listing, "--evaluation-template", templates[0],
                 "--evaluation-template", templates[1], "--evaluation-llm", "gpt-5")
    assert result.rc == 0, result
    assert not (data / "cohorts" / "best-essays" / "membership.csv").exists()  # the spec only
    assert cli("materialize", "best-essays").rc == 0
    rows = [line.split(",") for line in (data / "cohorts" / "best-essays" / "membership.csv").read_text().splitlines()[1:]]
    assert [r[1] for r in rows if r[0] == "essay"] == [e[1] for e in chosen]
    assert [r[1] for r in rows if r[0] == "draft"] == list(dict.fromkeys(e[3] for e in chosen))
    evaluations = [r[1] for r in rows if r[0] == "evaluation"]
    assert evaluations == [gen_id("v_", [e[1], t, "gpt-5", 1]) for e in chosen for t in templates]
    twice = cli("import", "best-twice", "--from-list", listing, "--evaluation-template", *templates,
                "--evaluation-llm", "gpt-5", "--evaluation-replicates", "2")
    assert twice.rc == 0 and "3 drafts, 3 essays, 12 evaluations" in twice.out, twice
    assert "evaluation_replicate: [1, 2]" in (data / "cohorts" / "best-twice" / "spec" / "config.yaml").read_text()


def test_from_list_refusals(cli, examples):
    data = examples / "data"
    wide = (data / "cohorts" / "curated-essays" / "membership_wide.csv").read_text().splitlines()[1:]
    essay = next(line.split(",")[1] for line in wide if line.startswith("essay,"))
    listing = examples / "list.csv"
    common = ["--from-list", listing, "--evaluation-llm", "gpt-5", "--evaluation-template", "novelty-v2"]
    listing.write_text(f"gen_id\n{essay}\ne_doesnotexist\n")
    assert "unknown essay e_doesnotexist" in refused(cli, data, LIST_PROBLEM.code, *common, cohort="new-one")
    listing.write_text(f"essay\n{essay}\n")
    assert "no essay_gen_id or gen_id column" in refused(cli, data, LIST_PROBLEM.code, *common, cohort="new-one")
    listing.write_text(f"gen_id\n{essay}\n")
    # Values are checked against the catalogs like any spec's.
    err = refused(cli, data, "C001", *common, "--evaluation-template", "novelty-v3", cohort="new-one")
    assert "'novelty-v3' is not in the evaluation_template catalog" in err
    assert cli("import", "new-one", "--evaluation-llm", "gpt-5").rc == 2  # curated flags without --from-list


# -- the walkthrough of docs/cohorts.md, "Adopting cohort-dsl" ---------------------------

DOC = REPO_DIR / "docs" / "cohorts.md"
BLOCK = re.compile(r"(?:<!-- (?P<kind>file|derived): (?P<path>\S+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.DOTALL)


def test_the_adoption_walkthrough_runs_as_written(cli, tmp_path, monkeypatch):
    """Every console block of the section runs, in order, in a copy of
    examples/ and prints what the doc shows; file blocks are written first,
    derived blocks are the files the commands wrote."""
    section = DOC.read_text(encoding="utf-8").split("## Adopting cohort-dsl", 1)[1].split("\n## ", 1)[0]
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    monkeypatch.chdir(root)
    ran = 0
    for block in BLOCK.finditer(section):
        body = block["body"]
        if block["kind"] == "file":
            Path(block["path"]).parent.mkdir(parents=True, exist_ok=True)
            Path(block["path"]).write_text(body, encoding="utf-8")
        elif block["kind"] == "derived":
            assert Path(block["path"]).read_text(encoding="utf-8") == body
        elif block["lang"] == "console":
            for command, shown in re.findall(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", body, re.MULTILINE):
                words = shlex.split(command)
                if words[0] == "cd":
                    monkeypatch.chdir(words[1])
                elif words[:2] == ["rm", "-r"]:
                    shutil.rmtree(words[2])
                else:
                    assert words[0] == "cohort-dsl"
                    result = cli(*words[1:])
                    assert result.rc == 0, (command, result)
                    assert result.out == shown, command
                ran += 1
    assert ran >= 8
