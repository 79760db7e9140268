"""Crash safety of ``materialize`` (docs/cohorts.md, "3. Materialize": writes
are atomic; nothing on disk is half-written).

A cohort whose spec expands to 300,000 rows (330,000 membership records, a
write that takes seconds) is materialized once (the *previous* files); then
its spec changes and ``materialize --force`` is started again and again in a
real process and SIGKILLed after a random delay between 0 and the time a
full run takes. After every kill each of ``membership.csv``,
``membership_wide.csv`` and ``manifest.json`` must be byte-identical to
either its previous or its complete new version, and parse. Temporary files
(``.cohort-dsl-tmp-*``) may be left behind by a SIGKILL, but never under a
final name; the next normal run removes them.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import threading
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and atomic rename semantics are POSIX")

COHORT = "big-cohort"
FILES = ("membership.csv", "membership_wide.csv", "manifest.json")
TEMP_PREFIX = ".cohort-dsl-tmp-"
# The default run kills a few times (it is in every `pytest`); the slow
# variant (`pytest -m slow`, run by .ci/run) kills many more.
MIN_KILLS, MAX_ATTEMPTS = 4, 20
SLOW_MIN_KILLS, SLOW_MAX_ATTEMPTS = 50, 200


def _levels(prefix: str, n: int) -> str:
    return "[" + ", ".join(f"{prefix}{i}" for i in range(n)) + "]"


def spec_text(evaluation_llms: list[str], combos: int = 100) -> str:
    # 100 combos x 10 draft templates x 5 draft llms x 5 essay templates
    # x 1 essay llm x 4 evaluation templates x 3 evaluation llms = 300,000 rows
    return (
        "axes:\n"
        f"  combo_id: {_levels('combo-', combos)}\n"
        f"  draft_template: {_levels('draft-', 10)}\n"
        f"  draft_llm: {_levels('draft-llm-', 5)}\n"
        f"  essay_template: {_levels('essay-', 5)}\n"
        "  essay_llm: [essay-llm-0]\n"
        f"  evaluation_template: {_levels('evaluation-', 4)}\n"
        f"  evaluation_llm: [{', '.join(evaluation_llms)}]\n"
    )


OLD_SPEC = spec_text(["judge-a", "judge-b", "judge-c"])
NEW_SPEC = spec_text(["judge-a", "judge-b", "judge-d"])


def make_root(root: Path, spec: str) -> Path:
    spec_dir = root / "cohorts" / COHORT / "spec"
    spec_dir.mkdir(parents=True)
    (spec_dir / "config.yaml").write_text(spec, encoding="utf-8")
    return root


def cohort_dir(root: Path) -> Path:
    return root / "cohorts" / COHORT


def command(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cohort_dsl", "materialize", COHORT, "--data-root", str(root), *extra]


def _env() -> dict:
    env = dict(os.environ)
    env.pop("COHORT_DSL_DEBUG", None)
    return env


def run_materialize(root: Path, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(command(root, *extra), cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)


def read_files(root: Path) -> dict[str, bytes | None]:
    out = {}
    for name in FILES:
        path = cohort_dir(root) / name
        out[name] = path.read_bytes() if path.exists() else None
    return out


def check_parses(root: Path) -> None:
    """Every membership.csv / manifest.json below the cohort parses."""
    for path in cohort_dir(root).rglob("membership.csv"):
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["stage", "gen_id"], path
        assert all(len(r) == 2 and r[1] for r in rows[1:]), f"{path}: a malformed row"
    for path in cohort_dir(root).rglob("manifest.json"):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        assert manifest["cohort_id"] == COHORT


def entries(root: Path) -> list[str]:
    return sorted(p.name for p in cohort_dir(root).iterdir() if p.name != "spec")


def test_sigkill_never_leaves_a_half_written_file(tmp_path):
    _kill_at_random_points(tmp_path, MIN_KILLS, MAX_ATTEMPTS)


@pytest.mark.slow
def test_sigkill_many_times_never_leaves_a_half_written_file(tmp_path):
    _kill_at_random_points(tmp_path, SLOW_MIN_KILLS, SLOW_MAX_ATTEMPTS)


def _kill_at_random_points(tmp_path, min_kills: int, max_attempts: int) -> None:
    work = tmp_path / "work"
    work.mkdir()

    # The complete new version, produced (and timed) in a separate root.
    new_root = make_root(tmp_path / "new", NEW_SPEC)
    started = time.perf_counter()
    result = run_materialize(new_root, work)
    full_run = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    new = read_files(new_root)
    assert all(new.values())

    # The previous version, in the root the kills happen in.
    root = make_root(tmp_path / "data", OLD_SPEC)
    result = run_materialize(root, work)
    assert result.returncode == 0, result.stderr
    previous = read_files(root)
    assert all(previous.values())
    for name in FILES:
        assert previous[name] != new[name], f"{name}: the spec change must change every file"
    (cohort_dir(root) / "spec" / "config.yaml").write_text(NEW_SPEC, encoding="utf-8")

    rng = random.Random(int(os.environ.get("CRASH_SEED", "0")) or None)
    kills, states, attempts = 0, {}, 0
    while kills < min_kills and attempts < max_attempts:
        attempts += 1
        # Start from the previous files each time (a run that completed
        # would otherwise leave nothing to interrupt).
        for name in FILES:
            path = cohort_dir(root) / name
            if path.read_bytes() != previous[name]:
                tmp = path.with_name(f"restore-{name}")
                tmp.write_bytes(previous[name])
                os.replace(tmp, path)
        delay = rng.uniform(0, full_run)
        proc = subprocess.Popen(command(root, "--force"), cwd=work, env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
        if finished:
            assert proc.returncode == 0, err.decode()
        else:
            kills += 1
        assert b"Traceback" not in err

        now = read_files(root)
        state = []
        for name in FILES:
            assert now[name] in (previous[name], new[name]), (
                f"{name} is neither the previous nor the new version after a kill at {delay:.2f}s "
                f"({len(now[name] or b'')} bytes; previous {len(previous[name])}, new {len(new[name])})")
            state.append("new" if now[name] == new[name] else "old")
        states[tuple(state)] = states.get(tuple(state), 0) + 1
        if len(set(state)) > 1:  # a kill between two renames: readers are told the set is mixed
            from cohort_dsl.service import MembershipService

            assert [d.code for d in MembershipService(root).check(COHORT)], f"a mixed set went unnoticed: {state}"
        check_parses(root)
        for name in entries(root):
            assert name in FILES or name.startswith(TEMP_PREFIX), f"unexpected file {name}"

    assert kills >= min_kills, f"only {kills} kills in {attempts} attempts (full run {full_run:.2f}s)"
    print(f"\ncrash safety: {kills} kills in {attempts} runs, full run {full_run:.2f}s, states {states}")

    # A normal run finishes the job, cleans up, and gives the new files.
    result = run_materialize(root, work, "--force")
    assert result.returncode == 0, result.stderr
    assert read_files(root) == new
    assert entries(root) == sorted(FILES), "temporary files remain after a normal run"
    check_parses(root)


def test_refusal_writes_nothing(tmp_path):
    """A changed spec without --force is refused (M003) and every file, temp
    files included, is left as it was."""
    root = make_root(tmp_path / "data", spec_text(["judge-a"], combos=2))
    assert run_materialize(root, tmp_path).returncode == 0
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in cohort_dir(root).iterdir() if p.is_file()}
    (cohort_dir(root) / "spec" / "config.yaml").write_text(spec_text(["judge-b"], combos=2), encoding="utf-8")
    result = run_materialize(root, tmp_path)
    assert result.returncode == 1
    assert "M003" in result.stderr and "Traceback" not in result.stderr
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in cohort_dir(root).iterdir() if p.is_file()}
    assert after == before


def test_stale_temp_files_are_removed_by_the_next_run(tmp_path):
    root = make_root(tmp_path / "data", spec_text(["judge-a"], combos=2))
    cohort_dir(root).mkdir(parents=True, exist_ok=True)
    stale = cohort_dir(root) / f"{TEMP_PREFIX}membership.csv.abc123"
    stale.write_text("stage,gen_id\nhalf", encoding="utf-8")
    assert run_materialize(root, tmp_path).returncode == 0
    assert not stale.exists()
    assert entries(root) == sorted(FILES)


# -- stopped, not killed: SIGTERM ----------------------------------------------------

def _terminate_once_writing(cmd: list[str], folder: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Start ``cmd``, wait until its temporary file exists in ``folder``
    (it is writing), then SIGTERM it."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(TEMP_PREFIX) for p in folder.iterdir()):
        assert proc.poll() is None, f"finished before it could be stopped: {proc.stderr.read().decode()}"
        assert time.monotonic() < deadline, "no temporary file appeared"
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, proc.returncode, "", err.decode())


@pytest.mark.parametrize("what", ["materialize", "compile --out"])
def test_sigterm_removes_the_temporary_files(tmp_path, what):
    """A stopped run cleans up after itself (exit 143) and leaves what was
    there untouched; only SIGKILL can leave temporary files (for the next
    run's sweep)."""
    root = make_root(tmp_path / "data", spec_text(["judge-a"], combos=30))
    if what == "materialize":
        assert run_materialize(root, tmp_path).returncode == 0
        (cohort_dir(root) / "spec" / "config.yaml").write_text(spec_text(["judge-b"], combos=30), encoding="utf-8")
        folder, cmd = cohort_dir(root), command(root, "--force")
    else:
        folder = tmp_path / "out"
        folder.mkdir()
        (folder / "rows.csv").write_text("previous\n", encoding="utf-8")
        cmd = [sys.executable, "-m", "cohort_dsl", "compile", str(cohort_dir(root) / "spec"), "--out",
               str(folder / "rows.csv")]
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    result = _terminate_once_writing(cmd, folder, tmp_path)
    assert result.returncode == 143, result.stderr
    assert "terminated" in result.stderr and "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_a_stop_while_a_staged_file_opens_is_still_a_stop(tmp_path, monkeypatch):
    # a failure inside os.fdopen, after the file object took the descriptor
    # and closed it as it failed: that failure must surface (for a stop,
    # exit 143), not an OSError from closing the descriptor a second time,
    # and no temporary file stays behind
    from cohort_dsl import files, materialize
    from cohort_dsl.cli import Terminated

    real_fdopen = os.fdopen

    def fdopen_then_stopped(fd, *args, **kwargs):
        real_fdopen(fd, *args, **kwargs).close()
        raise Terminated()

    monkeypatch.setattr(files.os, "fdopen", fdopen_then_stopped)
    with pytest.raises(Terminated):
        with materialize._Staged(tmp_path / "membership.csv"):
            pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="no signal masks here")
def test_a_sigterm_while_a_temporary_file_is_made_waits_until_it_is_owned(tmp_path, monkeypatch):
    # a SIGTERM between creating the temporary file and opening it is
    # delivered once the file object exists, and the file is removed
    from cohort_dsl import files
    from cohort_dsl.cli import Terminated

    real_temp_beside = files.temp_beside

    def temp_beside_then_signalled(path):
        made = real_temp_beside(path)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)  # held until the file is opened
        return made

    def stop(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        monkeypatch.setattr(files, "temp_beside", temp_beside_then_signalled)
        with pytest.raises(Terminated):
            files.open_temp_beside(tmp_path / "rows.csv")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert list(tmp_path.iterdir()) == []


# -- two runs of one cohort at once -------------------------------------------------

CONCURRENT_ROUNDS, SLOW_CONCURRENT_ROUNDS = 3, 50


def test_concurrent_runs_of_one_cohort_take_turns(tmp_path):
    _concurrent_runs(tmp_path, CONCURRENT_ROUNDS)


@pytest.mark.slow
def test_concurrent_runs_of_one_cohort_take_turns_many_times(tmp_path):
    _concurrent_runs(tmp_path, SLOW_CONCURRENT_ROUNDS)


def _concurrent_runs(tmp_path, rounds: int) -> None:
    """Two materialize runs of one cohort, started together: both exit 0
    (the second waits for the cohort's lock; its start-up sweep can no
    longer delete the other's live temporary files), and every round
    leaves the complete set, equal to a lone run's."""
    work = tmp_path / "work"
    work.mkdir()
    spec = spec_text(["judge-a", "judge-b"], combos=20)
    expected_root = make_root(tmp_path / "expected", spec)
    assert run_materialize(expected_root, work).returncode == 0
    expected = read_files(expected_root)
    root = make_root(tmp_path / "data", spec)
    for _ in range(rounds):
        procs = [subprocess.Popen(command(root, "--force"), cwd=work, env=_env(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for _ in range(2)]
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err.decode()
            assert b"Traceback" not in err
        assert read_files(root) == expected
        assert entries(root) == sorted(FILES)
