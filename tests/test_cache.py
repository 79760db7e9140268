"""The lint cache can miss but never lie (docs/ci.md, "The lint cache").

Each test lints twice through the real CLI with the cache on, changing
something between (or during) the runs that a stale cache would hide.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest

from cohort_dsl import Diagnostic, LintRule, hookimpl
from cohort_dsl.cli import main
from cohort_dsl.pluginmanager import build_engine
from cohort_dsl.testing import write_files

SPEC = """axes:
  combo_id: '@file:combos.csv'
  draft_template: [d1]
  draft_llm: [m1]
  essay_template: [e1]
  essay_llm: [m1]
  evaluation_template: [v1]
  evaluation_llm: [m1]
"""
GOOD = "combo_id\nc1\nc2\n"
BAD = "combo_id\nc1\nnot-in-catalog\n"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.delenv("COHORT_DSL_NO_CACHE", raising=False)
    write_files(tmp_path, {
        "cohort-dsl.toml": 'data-root = "data"\n[catalogs]\ncombo_id = "combos.csv:combo_id"\n',
        "data/combos.csv": "combo_id\nc1\nc2\n",
        "data/cohorts/c1/spec/config.yaml": SPEC,
        "data/cohorts/c1/spec/combos.csv": GOOD,
    })
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lint(capsys, *args, plugins=()) -> tuple[int, list[str]]:
    capsys.readouterr()
    rc = main(["lint", "--all", "--format", "json", *args], engine=build_engine(list(plugins), entry_points=False))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, [d["code"] for d in json.loads(out)["diagnostics"]]


def entries(root: Path) -> list[Path]:
    """The bundles' entries (the run's catalog reads have one of their own)."""
    return [path for path in sorted((root / ".cohort-dsl-cache").rglob("*.json"))
            if "diagnostics" in json.loads(path.read_text(encoding="utf-8"))["body"]]


def test_a_hit_gives_what_a_fresh_lint_gives(repo, capsys):
    assert lint(capsys) == (0, [])
    assert len(entries(repo)) == 1
    (repo / "data/cohorts/c1/spec/combos.csv").write_text(BAD, encoding="utf-8")
    assert lint(capsys) == (1, ["C001"])


def test_an_include_replaced_during_the_run_is_never_stored_as_the_other_version(repo, capsys):
    include = repo / "data/cohorts/c1/spec/combos.csv"

    class SwapAfterRead:
        """A check that replaces the include after it was read: the result
        belongs to the bytes read (GOOD), the file now holds BAD."""

        @hookimpl
        def cohort_dsl_lint_rules(self):
            def swap(context):
                include.write_text(BAD, encoding="utf-8")
                return []

            return [LintRule("TS100", "swap", "test", check=swap)]

    assert lint(capsys, plugins=[SwapAfterRead()]) == (0, [])
    # the next run, with the same plugin set, must see BAD's finding, not the stored pass
    include.write_text(BAD, encoding="utf-8")
    assert lint(capsys, plugins=[SwapAfterRead()])[1] == ["C001"]


def test_a_tampered_entry_is_a_miss_not_a_pass(repo, capsys):
    (repo / "data/cohorts/c1/spec/combos.csv").write_text(BAD, encoding="utf-8")
    assert lint(capsys) == (1, ["C001"])
    (entry,) = entries(repo)
    payload = json.loads(entry.read_text(encoding="utf-8"))
    payload["body"]["diagnostics"] = []
    entry.write_text(json.dumps(payload), encoding="utf-8")
    assert lint(capsys) == (1, ["C001"])
    entry.write_text("{not json", encoding="utf-8")
    assert lint(capsys) == (1, ["C001"])


class LabRule:
    """A plugin with its own option: findings depend on it."""

    @hookimpl
    def cohort_dsl_add_options(self, parser, command):
        if command == "lint":
            parser.add_argument("--lab-max-rows", type=int, default=10**9)

    @hookimpl
    def cohort_dsl_lint_rules(self):
        def too_big(context):
            limit = getattr(context.options, "lab_max_rows", 10**9)
            if context.compiled.count > limit:
                yield Diagnostic("LAB001", f"{context.compiled.count} rows > {limit}", context.bundle.document.loc())

        return [LintRule("LAB001", "lab-rows", "too many rows for the lab", check=too_big)]


def test_a_plugin_option_is_part_of_the_key(repo, capsys):
    assert lint(capsys, plugins=[LabRule()]) == (0, [])
    assert lint(capsys, "--lab-max-rows", "1", plugins=[LabRule()]) == (1, ["LAB001"])


def test_editing_a_plugin_module_misses(repo, capsys, tmp_path, monkeypatch):
    module_dir = tmp_path / "plugin_src"
    module_dir.mkdir()
    source = module_dir / "cache_test_plugin.py"
    source.write_text("from cohort_dsl import hookimpl\n\n@hookimpl\ndef cohort_dsl_lint_rules():\n    return []\n",
                      encoding="utf-8")
    monkeypatch.syspath_prepend(str(module_dir))
    import cache_test_plugin

    lint(capsys, plugins=[cache_test_plugin])
    first = entries(repo)
    source.write_text(source.read_text(encoding="utf-8") + "# edited in place, same version\n", encoding="utf-8")
    from cohort_dsl import cache

    cache._code_digests.clear()  # a new process would compute it afresh
    lint(capsys, plugins=[cache_test_plugin])
    assert len(entries(repo)) == len(first) + 1, "an edited plugin must not reuse the old entry"
    sys.modules.pop("cache_test_plugin", None)


class CountingCatalogs:
    """A catalog source for ``.ids`` files (one value a line) that counts
    its reads and, told to, appends a value to the file before reading it
    (a catalog edited while a run reads it)."""

    def __init__(self):
        self.loads, self.edit_while_reading = 0, False

    @hookimpl
    def cohort_dsl_catalog_sources(self):
        from cohort_dsl.catalogs import Catalog, CatalogSource
        from cohort_dsl.files import read_bounded

        def load(path, column):
            self.loads += 1
            if self.edit_while_reading:
                with open(path, "a", encoding="utf-8") as handle:
                    handle.write("c9\n")
            values = read_bounded(path, 1 << 20).decode("utf-8").split()
            return {None: Catalog(str(path), column, {value: None for value in values})}

        return [CatalogSource("ids", (".ids",), load)]


@pytest.fixture
def ids_repo(repo):
    (repo / "data/combos.ids").write_text("c1\nc2\n", encoding="utf-8")
    (repo / "cohort-dsl.toml").write_text('data-root = "data"\n[catalogs]\ncombo_id = "combos.ids"\n', encoding="utf-8")
    return repo


def test_a_full_hit_does_not_read_the_catalogs_and_a_catalog_edit_misses(ids_repo, capsys):
    source = CountingCatalogs()
    assert lint(capsys, plugins=[source]) == (0, [])
    assert source.loads == 1
    assert lint(capsys, plugins=[source]) == (0, [])
    assert source.loads == 1, "every bundle hit: the catalogs need not be parsed"
    (ids_repo / "data/combos.ids").write_text("c1\n", encoding="utf-8")
    assert lint(capsys, plugins=[source]) == (1, ["C001"])
    assert source.loads == 2
    (ids_repo / "data/combos.ids").write_text("c1\nc2\n", encoding="utf-8")
    assert lint(capsys, plugins=[source]) == (0, [])


def test_a_catalog_edited_after_the_run_was_keyed_stores_nothing(ids_repo, capsys):
    source = CountingCatalogs()
    assert lint(capsys, plugins=[source]) == (0, [])
    (ids_repo / "data/cohorts/c1/spec/combos.csv").write_text(BAD, encoding="utf-8")  # the bundle misses
    source.edit_while_reading = True  # ... and its catalogs, vouched for by the cache, change as they are read
    stored = [path.read_bytes() for path in entries(ids_repo)]
    assert lint(capsys, plugins=[source]) == (1, ["C001"])
    assert [path.read_bytes() for path in entries(ids_repo)] == stored, "a result from catalogs other than the keyed ones must not be stored"
    source.edit_while_reading = False
    assert lint(capsys, plugins=[source]) == (1, ["C001"])


def test_a_full_hit_in_a_fresh_process_loads_no_yaml_parser_and_no_other_command(repo):
    """What keeps a pre-commit run that changed nothing short: the cached
    result without PyYAML, the spec, a TOML parser (the settings memo) or
    another command's module."""
    import subprocess

    # What the plugin library loads by itself is not ours to keep out
    # (pluggy 1.3 imports importlib.metadata, hence tempfile, at import).
    probe = ("import sys\n"
             "import pluggy\n"
             "theirs = set(sys.modules)\n"
             "from cohort_dsl.cli import main\n"
             "sys.argv = ['cohort-dsl', 'lint', '--all']\n"
             "rc = main()\n"
             "loaded = [m for m in ('yaml', 'tomllib', 'cohort_dsl.commands.compile', 'subprocess', 'tempfile')\n"
             "          if m in sys.modules and m not in theirs]\n"
             "print(rc, loaded)\n")
    env = {k: v for k, v in os.environ.items() if k != "COHORT_DSL_NO_CACHE"}
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=repo, env=env,
                           timeout=60) for _ in range(2)]
    assert runs[0].stdout.splitlines()[-1].startswith("0 ['yaml'"), runs[0].stderr  # a miss reads the spec
    assert runs[1].stdout.splitlines()[-1] == "0 []", runs[1].stderr


def test_the_settings_memo_can_only_miss(repo, capsys, monkeypatch, tmp_path):
    """What a settings file parses to is remembered by its text: an edit,
    an edited memo or a memo of another text is a fresh parse."""
    monkeypatch.setenv("COHORT_DSL_CACHE_HOME", str(tmp_path / "memo"))
    (repo / "data/cohorts/c1/spec/combos.csv").write_text(BAD, encoding="utf-8")
    assert lint(capsys, "--no-cache") == (1, ["C001"])
    (memo,) = (tmp_path / "memo" / "settings").iterdir()
    settings = repo / "cohort-dsl.toml"
    settings.write_text('data-root = "data"\n', encoding="utf-8")  # no catalog any more
    assert lint(capsys, "--no-cache") == (0, [])
    entry = json.loads(memo.read_text(encoding="utf-8"))
    entry["data"]["catalogs"] = {"combo_id": "combos.csv:combo_id"}  # the memo says there is one
    memo.write_text(json.dumps(entry), encoding="utf-8")
    assert lint(capsys, "--no-cache") == (0, [])
    memo.write_text("{not json", encoding="utf-8")
    assert lint(capsys, "--no-cache") == (0, [])
    settings.write_text("data-root = \n", encoding="utf-8")  # invalid TOML is an error, never a memo's answer
    capsys.readouterr()
    assert main(["lint", "--all", "--no-cache"], engine=build_engine(entry_points=False)) == 2
    assert "cohort-dsl.toml:1" in capsys.readouterr().err


def test_a_membership_that_appears_later_misses(repo, capsys):
    assert lint(capsys) == (0, [])
    (repo / "data/cohorts/c1/membership.csv").write_text("stage,gen_id\ndraft,d_nothing\n", encoding="utf-8")
    assert lint(capsys)[1] == ["M003"]


def test_a_settings_edit_misses(repo, capsys):
    (repo / "data/cohorts/c1/spec/combos.csv").write_text(BAD, encoding="utf-8")
    assert lint(capsys) == (1, ["C001"])
    (repo / "cohort-dsl.toml").write_text('data-root = "data"\n', encoding="utf-8")  # no catalog any more
    assert lint(capsys) == (0, [])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_files_no_spec_reads_are_never_opened(repo, capsys):
    """A FIFO (it would block a reader forever) and a link to /dev/zero
    (it would never end) beside the spec: lint, cached or not, never
    touches them."""
    spec = repo / "data/cohorts/c1/spec"
    os.mkfifo(spec / "pipe")
    if Path("/dev/zero").exists():
        os.symlink("/dev/zero", spec / "zeros.csv")
    done = {}

    def run():
        done["first"] = lint(capsys)
        done["second"] = lint(capsys)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "lint blocked on a file no spec refers to"
    assert done["first"] == done["second"] == (0, [])


def test_an_include_that_is_a_fifo_is_an_error_not_a_hang(repo, capsys):
    include = repo / "data/cohorts/c1/spec/combos.csv"
    include.unlink()
    os.mkfifo(include)
    done = {}
    worker = threading.Thread(target=lambda: done.setdefault("result", lint(capsys)), daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive()
    assert done["result"] == (1, ["I001"])


class CountsCohorts:
    """A lint rule whose finding depends on which cohorts are materialized
    (as the Dagster plugin's partition count does)."""

    @hookimpl
    def cohort_dsl_lint_rules(self):
        from cohort_dsl.dataroot import DataRoot

        def materialized(context):
            root, _ = DataRoot.of_bundle(context.bundle.directory)
            if len(root.materialized_ids()) > 0:
                yield Diagnostic("TS200", "a cohort is materialized", context.bundle.document.key_loc(("axes",)), "error")

        return [LintRule("TS200", "materialized", "test", check=materialized)]


def test_a_result_that_depends_on_the_materialized_cohorts_misses_when_one_appears_or_goes(repo, capsys):
    assert lint(capsys, plugins=[CountsCohorts()]) == (0, [])
    assert len(entries(repo)) == 1, "the result is stored"
    assert lint(capsys, plugins=[CountsCohorts()]) == (0, [])
    membership = repo / "data/cohorts/other/membership.csv"
    membership.parent.mkdir(parents=True)
    assert lint(capsys, plugins=[CountsCohorts()]) == (0, []), "a folder without membership.csv is no cohort"
    membership.write_text("stage,gen_id\n", encoding="utf-8")
    assert lint(capsys, plugins=[CountsCohorts()]) == (1, ["TS200"])
    membership.unlink()
    assert lint(capsys, plugins=[CountsCohorts()]) == (0, [])


def test_a_recording_keeps_the_strongest_record_of_a_file_and_flags_only_real_changes():
    from cohort_dsl.files import ABSENT, PRESENT, Reads

    reads = Reads()
    reads.note("a", PRESENT)
    reads.note("a", "d1")  # seen present, then read
    reads.note("a", PRESENT)  # seen present again (a nested recording)
    assert reads == {"a": "d1"} and not reads.changed
    reads.note("a", "d2")
    assert reads.changed == {"a"}
    for first, then in ((PRESENT, ABSENT), (ABSENT, PRESENT), (ABSENT, "d1")):
        reads = Reads()
        reads.note("b", first)
        reads.note("b", then)
        assert reads.changed == {"b"}, (first, then)
