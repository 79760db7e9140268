"""The repository keeps its promises: the README's commands are the ones CI
runs and work as written, and the layout the README's "Layout of this
repository" table names (plus the packaging, hook and CI files) exists."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugins" / "cohort-dsl-plugin-example"


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.*?)\n```", text, re.S)[:2]


def test_readme_opens_with_the_main_job_and_the_test_command():
    main_job, tests = readme_commands()
    assert "python3 -m venv" in main_job and "lint --all" in main_job and "materialize --all" in main_job
    assert "python3 -m venv" in tests and "pytest" in tests


def test_ci_runs_exactly_the_readme_test_command():
    _, tests = readme_commands()
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in lines
    # A fresh environment every time: .ci/run removes .venv-test before it runs the command.
    removes = [i for i, line in enumerate(lines)
               if line.split()[:2] == ["rm", "-rf"] and ".venv-test" in line.split()[2:]]
    assert removes and removes[0] < lines.index(tests)


def test_readme_environments_are_separate():
    main_job, tests = readme_commands()
    uses_venv = re.compile(r"\.venv(?![-\w])")  # `.venv` itself, not `.venv-test`
    assert uses_venv.search(main_job) and ".venv-test" not in main_job
    assert ".venv-test" in tests and not uses_venv.search(tests) and ".venv/" not in tests


def readme_console_commands() -> list[list[str]]:
    """The arguments of every `$ cohort-dsl ...` line of the README's console blocks, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```console\n(.*?)\n```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ cohort-dsl "):
                rest = line.removeprefix("$ cohort-dsl ")
                commands.append(shlex.split(rest, comments=True))  # drops a trailing `# comment`
    return commands


def test_readme_console_commands_run(tmp_path):
    commands = readme_console_commands()
    assert len(commands) >= 5
    copy = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", copy)
    env = {**os.environ, "COHORT_DSL_DISABLE_PLUGIN_AUTOLOAD": "1"}
    for args in commands:
        result = subprocess.run([sys.executable, "-m", "cohort_dsl", *args], cwd=copy, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        if args[0] == "materialize":
            # The examples' membership files are committed: materialize changes nothing.
            assert "(unchanged)" in result.stdout, (args, result.stdout)


# Each file's install lines run from this folder.
INSTALL_DOCS = {ROOT / "README.md": ROOT, **{doc: ROOT for doc in sorted((ROOT / "docs").glob("*.md"))},
                ROOT / "examples" / "README.md": ROOT / "examples", PLUGIN / "README.md": PLUGIN}
GIT_URL = "git+https://github.com/cohort-dsl/cohort-dsl@"


def pip_install_targets(text: str) -> list[str]:
    """What every `pip install` in the file's code blocks installs (options dropped)."""
    targets = []
    for block in re.findall(r"```[^\n]*\n(.*?)```", text, re.S):
        for rest in re.findall(r"\bpip install (.*)", block):
            for token in shlex.shlex(rest, posix=True, punctuation_chars=True):
                if token in {"&&", "||", ";", "|", "(", ")"}:
                    break  # the next command
                if not token.startswith("-"):
                    targets.append(token)
    return targets


def test_docs_pip_install_lines_name_installable_targets():
    found = 0
    for doc, folder in INSTALL_DOCS.items():
        for target in pip_install_targets(doc.read_text(encoding="utf-8")):
            found += 1
            where = f"{doc.relative_to(ROOT)}: pip install {target}"
            if GIT_URL in target:
                continue  # this repository, from GitHub
            # Otherwise a folder of this repository; pip reads a name without `.` or `/` as an index name.
            assert target.startswith(".") or "/" in target, where
            path = (folder / re.sub(r"\[.*\]$", "", target)).resolve()
            assert path.exists() and (path == ROOT or ROOT in path.parents), where
    assert found >= 5


def test_layout_of_design_section_2():
    for path in ("pyproject.toml", "cohort_dsl", "plugins", "schemas", "tests", "examples", "bench", "docs",
                 ".pre-commit-config.yaml", ".pre-commit-hooks.yaml", "README.md", ".ci/run"):
        assert (ROOT / path).exists(), path
    for doc in ("spec_dsl.md", "rules.md", "plugins.md", "cohorts.md", "performance.md", "ci.md"):
        assert (ROOT / "docs" / doc).is_file(), doc


def test_schema_folder_holds_the_base_and_one_fragment_per_builtin_rule_kind():
    names = {p.name for p in (ROOT / "schemas").glob("*.json")}
    assert {"base.schema.json", "subsets.schema.json", "ties.schema.json", "pairs.schema.json",
            "tuples.schema.json", "cohort-spec.schema.json"} <= names


def test_lowest_constraints_pin_the_lower_bounds_of_pyproject():
    """`.ci/run` tests the oldest versions the bounds allow: every pin of
    .ci/constraints-lowest.txt is the lower bound pyproject.toml states for
    that dependency, and every direct dependency with a bound is pinned."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    bounds = {}
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][0-9A-Za-z.]*)(?:;\s*(.*))?", requirement.strip())
        assert match, f"{requirement!r}: state a lower bound as NAME>=VERSION"
        name, version, marker = match.groups()
        if marker is None:  # tomli is only for Python 3.10
            bounds[name.lower()] = version
    pins = {}
    for line in (ROOT / ".ci" / "constraints-lowest.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    def release(version: str) -> tuple:
        parts = [int(p) for p in version.split(".")]
        while parts and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    assert {k: release(v) for k, v in pins.items()} == {k: release(v) for k, v in bounds.items()}
