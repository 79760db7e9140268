"""What git has: the one place that asks git which files are committed.

Under pre-commit (``PRE_COMMIT=1``, see :func:`scope_from_env`) a changed
catalog lints every bundle under the data root; the bundles worth linting are
those that are part of what is being committed, i.e. whose ``config.yaml`` is
tracked or staged. A bundle that was never added stays on disk while the hook
runs (pre-commit stashes unstaged changes of tracked files only) and must not
block the commit.

Git is asked twice at most (``rev-parse --show-toplevel``, then one
``ls-files --cached`` for all the paths) and never raises: git not installed,
not a work tree, a non-zero exit or a 10 s timeout all mean "unknown" (None),
and then nothing is filtered. The environment is passed through: the
``GIT_INDEX_FILE`` git exports to hooks (the index being committed, e.g.
``.git/index.lock`` for ``git commit -a``) is honoured; relative git paths
are made absolute against this process's working directory, where they were
meant.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

TIMEOUT = 10  # seconds, per git call
# Keep one command line well below the smallest limits (Windows: 32767
# characters); above this the paths' common folder is listed instead.
MAX_ARGS_CHARS = 24_000
# Git variables that may hold a path relative to the working directory.
_PATH_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR")


def scope_from_env(environ: Mapping[str, str]) -> bool:
    """True when running as a pre-commit hook (pre-commit sets
    ``PRE_COMMIT=1``): lint only what git tracks or has staged."""
    return bool(environ.get("PRE_COMMIT"))


def tracked_or_staged(paths: list[Path], cwd: Path) -> set[Path] | None:
    """Of ``paths`` (files; relative ones are relative to ``cwd``), those in
    the git index, i.e. tracked or staged, as absolute paths
    (``(cwd / path).absolute()``). A path outside the work tree is not
    tracked. None when ``cwd`` is not in a git work tree, git is not
    installed or fails: then nothing is known and nothing should be
    filtered."""
    cwd = Path(cwd).absolute()
    env = _environment()
    top = _git(["rev-parse", "--show-toplevel"], cwd, env)
    if top is None:
        return None
    top_text = os.fsdecode(top).rstrip("\r\n")
    if not top_text:
        return None
    top_real = os.path.realpath(top_text)

    wanted: dict[str, Path] = {}  # posix path relative to the top level -> absolute path as given
    for path in paths:
        absolute = (cwd / path).absolute()
        relative = _relative_to(absolute, top_real)
        if relative is not None:
            wanted.setdefault(relative, absolute)
    if not wanted:
        return set()  # never run ls-files without a pathspec: it would list everything

    pathspecs = sorted(wanted)
    if sum(len(p) + 1 for p in pathspecs) > MAX_ARGS_CHARS:
        common = os.path.commonpath(pathspecs).replace(os.sep, "/")
        pathspecs = [common or "."]
    listed = _git(["--literal-pathspecs", "ls-files", "-z", "--cached", "--", *pathspecs], Path(top_real), env)
    if listed is None:
        return None
    found = {os.fsdecode(entry) for entry in listed.split(b"\0") if entry}
    return {absolute for relative, absolute in wanted.items() if relative in found}


def committed_bundles(configs: list[Path], cwd: Path) -> tuple[list[Path], list[Path]]:
    """Split bundle ``config.yaml`` paths into ``(kept, skipped)``, each in
    the given order: kept when the config is tracked or staged, skipped when
    it was never added. Everything is kept when git cannot tell."""
    configs = list(configs)
    if not configs:
        return [], []
    known = tracked_or_staged(configs, cwd)
    if known is None:
        return configs, []
    cwd = Path(cwd).absolute()
    kept, skipped = [], []
    for config in configs:
        (kept if (cwd / config).absolute() in known else skipped).append(config)
    return kept, skipped


# -- helpers -----------------------------------------------------------------
def _environment() -> dict[str, str]:
    """This process's environment, git's path variables made absolute
    (git resolves them against its own working directory, which for the
    calls here may differ from ours)."""
    env = dict(os.environ)
    here = os.getcwd() if any(env.get(name) for name in _PATH_VARIABLES) else ""
    for name in _PATH_VARIABLES:
        value = env.get(name)
        if value and not os.path.isabs(value):
            env[name] = os.path.join(here, value)
    return env


def _git(args: Iterable[str], cwd: Path, env: Mapping[str, str]) -> bytes | None:
    """git's stdout, or None when git is missing, fails or times out."""
    import subprocess  # ~4 ms: only a run that asks git pays it

    try:
        result = subprocess.run(["git", *args], capture_output=True, timeout=TIMEOUT, cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout


def _relative_to(absolute: Path, top_real: str) -> str | None:
    """``absolute`` relative to the work tree's real top level, as git
    spells it (posix separators), or None outside it. The folder is
    resolved, the file itself is not (git tracks a symlink, not its
    target)."""
    parent = os.path.realpath(absolute.parent)
    try:
        if os.path.commonpath([parent, top_real]) != top_real:
            return None
    except ValueError:  # different drives
        return None
    relative = os.path.relpath(os.path.join(parent, absolute.name), top_real)
    if relative == "." or relative.startswith(".." + os.sep) or relative == "..":
        return None
    return relative.replace(os.sep, "/")


# -- files at a revision ---------------------------------------------------------
def export_at(rev: str, paths: list[Path], dest: Path) -> list[Path | None]:
    """Copy what git has at revision ``rev`` for each of ``paths`` (files or
    folders, absolute) under ``dest``, at their place relative to the work
    tree's top level, with ``git archive`` / ``git show`` (never a checkout).
    Returns each copy's path, None for a path absent at ``rev``. Not a git
    work tree, or ``rev`` not a commit, is a usage error."""
    import io
    import tarfile

    from cohort_dsl.diagnostics import UsageError

    if not rev or rev.startswith("-"):
        raise UsageError(f"--rev {rev!r} is not a revision")
    env = _environment()
    anchor = Path(paths[0])
    while not anchor.is_dir() and anchor != anchor.parent:
        anchor = anchor.parent
    top = _git(["rev-parse", "--show-toplevel"], anchor, env)
    if top is None or not os.fsdecode(top).strip():
        raise UsageError(f"--rev needs git: {paths[0]} is not in a git work tree (or git is not installed)")
    top_real = os.path.realpath(os.fsdecode(top).rstrip("\r\n"))
    commit = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], Path(top_real), env)
    if commit is None:
        raise UsageError(f"--rev {rev!r} is not a commit of the repository at {top_real}")
    sha = os.fsdecode(commit).strip()
    out: list[Path | None] = []
    for path in paths:
        relative = _relative_to(Path(path).absolute(), top_real)
        listed = _git(["--literal-pathspecs", "ls-tree", "-z", sha, "--", relative], Path(top_real), env) \
            if relative else None
        if not listed:
            out.append(None)
            continue
        target = Path(dest) / relative
        kind = listed.split(b"\t", 1)[0].split(b" ")  # "<mode> <type> <object>\t<path>"
        if len(kind) > 1 and kind[1] == b"tree":
            data = _git(["--literal-pathspecs", "archive", "--format=tar", sha, "--", relative], Path(top_real), env)
            if data is None:
                raise UsageError(f"git archive of {relative} at {rev} failed")
            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                archive.extractall(dest, filter="data")  # no member may land outside dest
        else:
            data = _git(["show", f"{sha}:{relative}"], Path(top_real), env)
            if data is None:
                raise UsageError(f"git show {rev}:{relative} failed")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        out.append(target if target.exists() else None)
    return out
