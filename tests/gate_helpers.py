"""Helpers shared by the membership, materialize, service, lint, reporter
and pre-commit tests: small data repos (catalogs + cohorts + a config file)
built in temporary folders, a CLI runner, and a by-hand reference for
generation ids written straight from docs/cohorts.md, "Generation ids".

Import what you need: ``from gate_helpers import cli, engine, make_project``
(fixtures become available to the importing module).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cohort_dsl.cli import main

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent

# A spec with every column the two-phase layout reads. ``{dt}`` is the
# draft_template axis (an inline list or an include).
FULL_SPEC = """axes:
  combo_id: [c1]
  draft_template: {dt}
  draft_llm: [m1]
  essay_template: [e1]
  essay_llm: [m1]
  evaluation_template: [v1]
  evaluation_llm: [m1]
"""

DRAFT_REPLICATES = ("draft_replicate", "draft_template_replicate")
ESSAY_REPLICATES = ("essay_replicate", "essay_template_replicate")
EVALUATION_REPLICATES = ("evaluation_replicate", "evaluation_template_replicate", "evaluation_llm_replicate")


def full_spec(dt: str = "[d1, d2]", extra: str = "") -> str:
    return FULL_SPEC.format(dt=dt) + extra


# -- generation ids by hand (docs/cohorts.md, "Generation ids") ---------------

def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, digit = divmod(number, 36)
        out = digits[digit] + out
    return out or "0"


def id_of_text(prefix: str, signature: str) -> str:
    """``prefix`` + base 36 of the big-endian BLAKE2b (10-byte digest) of
    the signature text."""
    digest = hashlib.blake2b(signature.encode("utf-8"), digest_size=10).digest()
    return prefix + base36(int.from_bytes(digest, "big"))


def signature(*components) -> str:
    return "|".join(str(c) if isinstance(c, int) else str(c).strip().lower() for c in components)


def hand_id(prefix: str, *components) -> str:
    return id_of_text(prefix, signature(*components))


def _replicate(row: dict, candidates) -> int:
    for column in candidates:
        if column in row:
            return int(row[column].strip())
    return 1


def reference_membership(rows, cohort_id: str = "c") -> list[tuple]:
    """The wide membership of ``rows`` (dicts), computed naively from the
    design: every row hashed, each stage deduplicated by id in first-seen
    order, drafts then essays then evaluations."""
    stages: dict[str, dict[str, tuple]] = {"draft": {}, "essay": {}, "evaluation": {}}
    for row in rows:
        d_rep = _replicate(row, DRAFT_REPLICATES)
        draft = hand_id("d_", row["combo_id"], row["draft_template"], row["draft_llm"], d_rep)
        e_rep = _replicate(row, ESSAY_REPLICATES)
        essay = hand_id("e_", draft, row["essay_template"], e_rep)
        v_rep = _replicate(row, EVALUATION_REPLICATES)
        evaluation = hand_id("v_", essay, row["evaluation_template"], row["evaluation_llm"], v_rep)
        combo = row["combo_id"].strip()
        stages["draft"].setdefault(draft, ("draft", draft, cohort_id, "", combo, row["draft_template"].strip(),
                                           row["draft_llm"].strip(), d_rep))
        stages["essay"].setdefault(essay, ("essay", essay, cohort_id, draft, combo, row["essay_template"].strip(),
                                           row["essay_llm"].strip(), e_rep))
        stages["evaluation"].setdefault(evaluation, ("evaluation", evaluation, cohort_id, essay, combo,
                                                     row["evaluation_template"].strip(),
                                                     row["evaluation_llm"].strip(), v_rep))
    return [record for stage in stages.values() for record in stage.values()]


# -- data repos ----------------------------------------------------------------

from cohort_dsl.testing import write_files  # noqa: E402 - re-exported for the gate tests


DEFAULT_CATALOGS = {
    "catalogs/draft_templates.csv": "template_id,generator\nd1,llm\nd2,llm\nd3,llm\n",
}
# Every two-phase column cataloged, from files under 1_raw/ (templates by
# template_id, llms by id).
TWO_PHASE_CATALOG_CONFIG = {
    "draft_template": "1_raw/draft_templates.csv:template_id",
    "essay_template": "1_raw/essay_templates.csv:template_id",
    "evaluation_template": "1_raw/evaluation_templates.csv:template_id",
    "draft_llm": "1_raw/llms.csv",
    "essay_llm": "1_raw/llms.csv",
    "evaluation_llm": "1_raw/llms.csv",
}
DEFAULT_CATALOG_CONFIG = {"draft_template": "catalogs/draft_templates.csv:template_id"}


def make_project(root: Path, cohorts: dict, catalogs: dict | None = None, catalog_config: dict | None = None,
                 style: str = "cohort-dsl.toml", extra: str = "") -> Path:
    """A data repo at ``root``: ``cohort-dsl.toml`` (or ``pyproject.toml``
    with ``[tool.cohort-dsl]``) with ``data-root = "data"``, catalog files
    under ``data/`` and one spec bundle per cohort at
    ``data/cohorts/<id>/spec/``. ``extra`` is written into the table before
    the catalogs sub-table (e.g. ``select = ["R"]``)."""
    root.mkdir(parents=True, exist_ok=True)
    catalogs = DEFAULT_CATALOGS if catalogs is None else catalogs
    catalog_config = DEFAULT_CATALOG_CONFIG if catalog_config is None else catalog_config
    write_files(root / "data", catalogs)
    table = 'data-root = "data"\n' + extra
    table_catalogs = "".join(f"{axis} = {json.dumps(spec)}\n" for axis, spec in catalog_config.items())
    if style == "pyproject":
        text = "[tool.cohort-dsl]\n" + table + "\n[tool.cohort-dsl.catalogs]\n" + table_catalogs
        (root / "pyproject.toml").write_text(text, encoding="utf-8")
    else:
        text = table + "\n[catalogs]\n" + table_catalogs
        (root / "cohort-dsl.toml").write_text(text, encoding="utf-8")
    for cohort_id, files in cohorts.items():
        write_files(root / "data" / "cohorts" / cohort_id / "spec", files)
    return root


def spec_path(root: Path, cohort_id: str) -> Path:
    return root / "data" / "cohorts" / cohort_id / "spec" / "config.yaml"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (relative path -> bytes)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def temp_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".cohort-dsl-tmp-*"))


# -- fixtures --------------------------------------------------------------------

@pytest.fixture(scope="session")
def engine():
    """The built-in plugins only: installed third-party plugins (the example
    plugin's EX100, say) must not change what these tests see."""
    from cohort_dsl.pluginmanager import build_engine

    return build_engine(entry_points=False)


class Result:
    def __init__(self, rc: int, out: str, err: str):
        self.rc, self.out, self.err = rc, out, err

    @property
    def json(self):
        return json.loads(self.out)

    @property
    def diagnostics(self) -> list[dict]:
        return self.json["diagnostics"]

    def codes(self) -> list[str]:
        return [d["code"] for d in self.diagnostics]

    def only(self, code: str) -> dict:
        found = [d for d in self.diagnostics if d["code"] == code]
        assert len(found) == 1, f"expected one {code}, got {self.diagnostics}"
        return found[0]

    def __repr__(self) -> str:
        return f"Result(rc={self.rc}, out={self.out[:2000]!r}, err={self.err[:2000]!r})"


@pytest.fixture
def cli(capsys, engine, monkeypatch):
    """``cli(*args, engine=None)`` runs ``cohort-dsl`` in process and returns
    a :class:`Result`; no Python traceback may reach stderr."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("COHORT_DSL_NO_CACHE", raising=False)

    def run(*args, engine=engine):
        capsys.readouterr()
        rc = main([str(a) for a in args], engine=engine)
        out, err = capsys.readouterr()
        assert "Traceback" not in err, err
        assert "internal error" not in err, err
        return Result(rc, out, err)

    return run
