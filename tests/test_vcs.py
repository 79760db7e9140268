"""cohort_dsl.vcs (what git tracks or has staged) against real temporary git
repositories, and cohort_dsl.progress (the terminal counter)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cohort_dsl import progress as progress_module
from cohort_dsl import vcs
from cohort_dsl.progress import Progress
from cohort_dsl.vcs import committed_bundles, scope_from_env, tracked_or_staged

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not on PATH")
SPEC = "axes:\n  combo_id: [c1]\n"


@pytest.fixture(autouse=True)
def git_env(monkeypatch):
    """No git or pre-commit state of the environment running the tests
    (e.g. a hook's GIT_INDEX_FILE); no user or system git config."""
    for name in list(os.environ):
        if name.startswith(("GIT_", "PRE_COMMIT")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(repo: Path, *args: str, env: dict | None = None) -> str:
    result = subprocess.run([GIT, "-c", "user.name=Test", "-c", "user.email=test@example.com",
                             "-c", "commit.gpgsign=false", *args], cwd=repo, capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    return path


def bundle(root: Path, cohort_id: str) -> Path:
    config = root / "data" / "cohorts" / cohort_id / "spec" / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(SPEC, encoding="utf-8")
    return config


@pytest.fixture
def three(tmp_path) -> tuple[Path, dict[str, Path]]:
    """A repo with a committed, a staged-only and an untracked bundle."""
    repo = init_repo(tmp_path / "repo")
    configs = {"tracked": bundle(repo, "tracked")}
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "tracked")
    configs["staged"] = bundle(repo, "staged")
    git(repo, "add", "--", str(configs["staged"]))
    configs["untracked"] = bundle(repo, "untracked")
    return repo, configs


# -- committed_bundles / tracked_or_staged -----------------------------------
@needs_git
def test_tracked_and_staged_are_kept_untracked_skipped(three):
    repo, c = three
    configs = [c["untracked"], c["tracked"], c["staged"]]
    assert committed_bundles(configs, repo) == ([c["tracked"], c["staged"]], [c["untracked"]])
    assert tracked_or_staged(configs, repo) == {c["tracked"], c["staged"]}


@needs_git
def test_relative_paths_and_a_subfolder_as_cwd(three):
    repo, c = three
    cwd = repo / "data" / "cohorts"
    relative = [Path("tracked/spec/config.yaml"), Path("untracked/spec/config.yaml"), Path("staged/spec/config.yaml")]
    kept, skipped = committed_bundles(relative, cwd)
    assert kept == [relative[0], relative[2]] and skipped == [relative[1]]  # as given, in order
    assert tracked_or_staged(relative, cwd) == {c["tracked"], c["staged"]}


@needs_git
def test_a_file_removed_from_the_index_is_skipped(three):
    repo, c = three
    git(repo, "rm", "-q", "--cached", "--", str(c["tracked"]))
    assert committed_bundles([c["tracked"]], repo) == ([], [c["tracked"]])


@needs_git
def test_paths_through_a_symlinked_folder(three, tmp_path):
    repo, c = three
    link = tmp_path / "link"
    link.symlink_to(repo, target_is_directory=True)
    via_link = [link / p.relative_to(repo) for p in (c["tracked"], c["untracked"])]
    assert committed_bundles(via_link, link) == ([via_link[0]], [via_link[1]])
    assert committed_bundles(via_link, repo) == ([via_link[0]], [via_link[1]])


@needs_git
def test_a_path_outside_the_work_tree_is_not_tracked(three, tmp_path):
    repo, c = three
    outside = bundle(tmp_path / "elsewhere", "x")
    assert committed_bundles([c["tracked"], outside], repo) == ([c["tracked"]], [outside])
    assert tracked_or_staged([outside], repo) == set()  # and ls-files is not run without a pathspec


@needs_git
def test_a_folder_not_in_git_keeps_everything(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # whatever holds tmp_path
    plain = tmp_path / "plain"
    configs = [bundle(plain, "a"), bundle(plain, "b")]
    assert tracked_or_staged(configs, plain) is None
    assert committed_bundles(configs, plain) == (configs, [])


def test_git_missing_from_path_keeps_everything(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    repo = tmp_path / "repo"
    configs = [bundle(repo, "a"), bundle(repo, "b")]
    assert tracked_or_staged(configs, repo) is None
    assert committed_bundles(configs, repo) == (configs, [])


def _fake_git(tmp_path: Path, monkeypatch, script: str) -> None:
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    fake = folder / "git"
    fake.write_text("#!/bin/sh\n" + script + "\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))


@pytest.mark.skipif(os.name != "posix", reason="a shell-script git")
def test_a_failing_git_keeps_everything(tmp_path, monkeypatch):
    configs = [bundle(tmp_path, "a")]
    _fake_git(tmp_path, monkeypatch, "echo 'fatal: broken' >&2; exit 3")
    assert tracked_or_staged(configs, tmp_path) is None
    assert committed_bundles(configs, tmp_path) == (configs, [])


@pytest.mark.skipif(os.name != "posix", reason="a shell-script git")
def test_ls_files_failing_after_rev_parse_keeps_everything(tmp_path, monkeypatch):
    configs = [bundle(tmp_path, "a")]
    _fake_git(tmp_path, monkeypatch, f'if [ "$1" = rev-parse ]; then echo "{tmp_path}"; exit 0; fi; exit 128')
    assert tracked_or_staged(configs, tmp_path) is None


@pytest.mark.skipif(os.name != "posix", reason="a shell-script git")
def test_a_git_that_hangs_times_out(tmp_path, monkeypatch):
    configs = [bundle(tmp_path, "a")]
    sleep = shutil.which("sleep")
    if sleep is None:
        pytest.skip("no sleep command")
    _fake_git(tmp_path, monkeypatch, f"exec {sleep} 30")
    monkeypatch.setattr(vcs, "TIMEOUT", 0.3)
    started = time.monotonic()
    assert committed_bundles(configs, tmp_path) == (configs, [])
    assert 0.3 <= time.monotonic() - started < 10


def test_no_bundles_asks_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(vcs, "_git", lambda *a: pytest.fail("git was asked"))
    assert committed_bundles([], tmp_path) == ([], [])


NAMES = ["with space", "a,b", "ünïcødé", "日本語", "trailing space ", "st*r", "[x]", ":colon", 'quote"d', "new\nline"]


@needs_git
@pytest.mark.skipif(os.name != "posix", reason="names Windows does not allow")
def test_names_with_spaces_commas_non_ascii_and_glob_characters(tmp_path):
    repo = init_repo(tmp_path / "repo dir, ünï")
    tracked = [bundle(repo, f"t {name}") for name in NAMES]
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "names")
    staged = [bundle(repo, f"s {name}") for name in NAMES]
    git(repo, "add", "-A")
    untracked = [bundle(repo, f"u {name}") for name in NAMES]
    # a glob would match this untracked sibling of "t st*r"
    untracked.append(bundle(repo, "t stXr"))
    kept, skipped = committed_bundles(untracked + tracked + staged, repo)
    assert kept == tracked + staged
    assert skipped == untracked


@needs_git
def test_pathspecs_are_literal(tmp_path):
    """A path is a path, never pathspec magic (``:x``) or a glob."""
    repo = init_repo(tmp_path / "repo")
    tracked = [repo / ":odd" / "config.yaml", repo / "a*" / "config.yaml"]
    untracked = [repo / ":(top)" / "config.yaml", repo / "ab" / "config.yaml"]
    for config in tracked + untracked:
        config.parent.mkdir()
        config.write_text(SPEC, encoding="utf-8")
    git(repo, "--literal-pathspecs", "add", "--", *(str(p.relative_to(repo)) for p in tracked))
    assert git(repo, "ls-files").split() == sorted(str(p.relative_to(repo)) for p in tracked)
    assert committed_bundles(untracked + tracked, repo) == (tracked, untracked)


@needs_git
def test_many_paths_fall_back_to_their_common_folder(three, monkeypatch):
    repo, c = three
    monkeypatch.setattr(vcs, "MAX_ARGS_CHARS", 10)
    configs = [c["untracked"], c["tracked"], c["staged"]]
    assert committed_bundles(configs, repo) == ([c["tracked"], c["staged"]], [c["untracked"]])


@needs_git
def test_an_alternative_index_in_git_index_file_is_honoured(three, monkeypatch):
    """git exports GIT_INDEX_FILE to hooks (``git commit -a`` or ``git commit
    PATH`` commits a temporary index): that index decides, not .git/index."""
    repo, c = three
    alternative = repo / ".git" / "alt-index"
    env = dict(os.environ, GIT_INDEX_FILE=str(alternative))
    git(repo, "read-tree", "HEAD", env=env)  # the tracked bundle only
    git(repo, "add", "--", str(c["untracked"]), env=env)  # staged in the alternative index only
    configs = [c["tracked"], c["staged"], c["untracked"]]
    assert committed_bundles(configs, repo) == ([c["tracked"], c["staged"]], [c["untracked"]])  # .git/index

    monkeypatch.setenv("GIT_INDEX_FILE", str(alternative))
    assert committed_bundles(configs, repo) == ([c["tracked"], c["untracked"]], [c["staged"]])

    # git exports a relative GIT_INDEX_FILE (".git/index") to hooks run at the
    # top level: relative to this process's working directory, whatever
    # folder the question is asked about
    monkeypatch.chdir(repo)
    monkeypatch.setenv("GIT_INDEX_FILE", os.path.join(".git", "alt-index"))
    assert committed_bundles(configs, repo / "data" / "cohorts") == ([c["tracked"], c["untracked"]], [c["staged"]])
    monkeypatch.chdir(repo / "data")
    monkeypatch.setenv("GIT_INDEX_FILE", os.path.join("..", ".git", "alt-index"))
    assert committed_bundles(configs, repo / "data" / "cohorts") == ([c["tracked"], c["untracked"]], [c["staged"]])


def test_scope_from_env():
    assert scope_from_env({"PRE_COMMIT": "1"}) is True
    assert scope_from_env({"PRE_COMMIT": "0"}) is True  # set and non-empty
    assert scope_from_env({"PRE_COMMIT": ""}) is False
    assert scope_from_env({}) is False


# -- progress ----------------------------------------------------------------
class FakeStream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(progress_module, "clock", lambda: now[0])
    return now


def test_progress_on_a_terminal_shows_the_counter_and_clears_it(clock):
    stream = FakeStream(tty=True)
    assert Progress.enabled_for(stream, "text")
    bar = Progress(3, "lint", stream, Progress.enabled_for(stream, "text"))
    assert stream.getvalue() == "\rlint 0/3 0.0s"  # at once: the first bundle may take long
    clock[0] += 0.5
    bar.advance()
    clock[0] += 1.0
    bar.advance(2)
    bar.close()
    assert stream.getvalue() == "\rlint 0/3 0.0s\rlint 1/3 0.5s\rlint 3/3 1.5s\r\x1b[K"
    bar.close()  # once
    assert stream.getvalue().count("\r\x1b[K") == 1


def test_progress_redraws_at_most_ten_times_a_second(clock):
    stream = FakeStream(tty=True)
    with Progress(1000, "lint", stream, True) as bar:
        for _ in range(1000):
            clock[0] += 0.001  # one second in all
            bar.advance()
    draws = stream.getvalue().count("\rlint ")
    assert 2 <= draws <= 11
    assert stream.getvalue().endswith("\r\x1b[K")


def test_progress_not_on_a_terminal_writes_nothing(clock):
    stream = FakeStream(tty=False)
    assert not Progress.enabled_for(stream, "text")
    bar = Progress(3, "lint", stream, Progress.enabled_for(stream, "text"))
    for _ in range(3):
        clock[0] += 1
        bar.advance()
    bar.close()
    assert stream.getvalue() == ""


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit"])
def test_progress_is_off_for_machine_formats(fmt):
    assert not Progress.enabled_for(FakeStream(tty=True), fmt)


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_progress_is_on_for_human_formats_on_a_terminal(fmt):
    assert Progress.enabled_for(FakeStream(tty=True), fmt)


def test_progress_on_streams_without_a_terminal():
    assert not Progress.enabled_for(object(), "text")  # no isatty at all
    assert not Progress.enabled_for(io.StringIO(), "text")
    closed = io.StringIO()
    closed.close()  # isatty raises ValueError
    assert not Progress.enabled_for(closed, "text")


def test_a_broken_stream_does_not_break_the_run(clock):
    class Broken(FakeStream):
        def write(self, text):
            raise BrokenPipeError

    bar = Progress(2, "lint", Broken(tty=True), True)
    clock[0] += 1
    bar.advance()
    bar.close()  # no exception


# -- a file git tracks that is gone from the work tree (pre-commit --all-files) ------------

@needs_git
def test_paths_deleted_from_the_work_tree_lint_what_they_affect(tmp_path, monkeypatch, capsys):
    from cohort_dsl.cli import main
    from cohort_dsl.pluginmanager import build_engine

    repo = init_repo(tmp_path / "repo")
    (repo / "cohort-dsl.toml").write_text('data-root = "data"\n', encoding="utf-8")
    with_include = bundle(repo, "uses-items")
    with_include.write_text("axes:\n  combo_id: '@file:items.txt'\n", encoding="utf-8")
    (with_include.parent / "items.txt").write_text("c1\nc2\n", encoding="utf-8")
    gone = bundle(repo, "gone")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "two cohorts")
    (with_include.parent / "items.txt").unlink()  # deleted, not staged: still in the index
    shutil.rmtree(gone.parent.parent)
    monkeypatch.chdir(repo)

    def lint(*paths):
        capsys.readouterr()
        rc = main(["lint", "--no-cache", *paths], engine=build_engine(entry_points=False))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return rc, out + err

    # the deleted cohort affects nothing; the deleted include's bundle is linted (and misses it)
    assert lint("data/cohorts/gone/spec/config.yaml")[0] == 0
    rc, output = lint("data/cohorts/uses-items/spec/items.txt")
    assert rc == 1 and "I001" in output and "uses-items/spec/config.yaml:2" in output
    # a path git never knew is still a typo
    rc, output = lint("data/cohorts/gnoe/spec/config.yaml")
    assert rc == 2 and "no such file" in output
