"""Filesystem faults (docs/cohorts.md, "Runs take turns"; docs/ci.md): a disk
that fills up mid-write, a ``gens/`` folder that is a symlink out of the data
root. Whatever fails, the user's files are as they were, no temporary file is
left, and the message names the user's path.

The full disk is simulated below the text layer (the raw file object refuses
the write once a byte budget is spent, as ``write(2)`` does with ``ENOSPC``)
so it runs everywhere; where a small tmpfs can be mounted (root with
CAP_SYS_ADMIN) the same runs happen on a real full file system too.
"""

from __future__ import annotations

import errno
import io
import os
import subprocess
from pathlib import Path

import pytest

from gate_helpers import cli, engine, make_project  # noqa: F401

TEMP_PREFIX = ".cohort-dsl-tmp-"
SPEC = "axes:\n  combo_id: [" + ", ".join(f"c{i}" for i in range(40)) + "]\n" + """\
  draft_template: [d1, d2]
  draft_llm: [m1]
  essay_template: [e1]
  essay_llm: [m1]
  evaluation_template: [v1]
  evaluation_llm: [j1, j2]
"""
CATALOGS = {
    "1_raw/draft_templates.csv": "template_id\nd1\nd2\n",
    "1_raw/essay_templates.csv": "template_id\ne1\n",
    "1_raw/evaluation_templates.csv": "template_id\nv1\n",
    "1_raw/llms.csv": "id\nm1\nj1\nj2\n",
}


@pytest.fixture
def project(in_tmp_cwd):
    from gate_helpers import TWO_PHASE_CATALOG_CONFIG

    make_project(in_tmp_cwd, {name: {"config.yaml": SPEC} for name in ("alpha", "bravo")}, CATALOGS,
                 TWO_PHASE_CATALOG_CONFIG)
    return in_tmp_cwd


def cohort_dir(root: Path, cohort_id: str = "alpha") -> Path:
    return root / "data" / "cohorts" / cohort_id


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture
def full_disk(monkeypatch):
    """``full_disk(budget)``: from now on, files opened for writing through
    ``os.fdopen`` accept ``budget`` bytes in all, then fail with ENOSPC."""
    real_fdopen = os.fdopen

    def install(budget: int):
        left = [budget]

        class FullDisk(io.FileIO):
            def write(self, data):
                if left[0] <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                data = bytes(data[: left[0]])
                left[0] -= len(data)
                return super().write(data)

        def fdopen(fd, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True):
            if "w" not in mode:
                return real_fdopen(fd, mode, buffering, encoding, errors, newline, closefd)
            raw = io.BufferedWriter(FullDisk(fd, "w", closefd=closefd), buffering if buffering > 0 else 1 << 16)
            return raw if "b" in mode else io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline=newline)

        monkeypatch.setattr(os, "fdopen", fdopen)

    return install


# Nothing fits; the disk fills in the middle of the set; only the last
# few bytes of the whole set do not fit (after two files are staged).
@pytest.mark.parametrize("fraction", [0, 0.4, 0.97])
def test_a_full_disk_during_materialize_changes_nothing(cli, project, full_disk, fraction):
    assert cli("materialize", "alpha").rc == 0
    changed = SPEC.replace("j1, j2", "j1")
    for name in ("alpha", "bravo"):
        (cohort_dir(project, name) / "spec" / "config.yaml").write_text(changed, encoding="utf-8")
    assert cli("materialize", "bravo").rc == 0  # the new set's size (same length of cohort id)
    size = sum(len(data) for data in snapshot(cohort_dir(project, "bravo")).values())
    before = snapshot(cohort_dir(project))
    full_disk(int(fraction * size))
    result = cli("materialize", "alpha", "--force")
    assert result.rc == 2, result
    assert "space" in result.err.lower()
    assert "membership" in result.err and TEMP_PREFIX not in result.err  # the user's file, not the temporary one
    assert snapshot(cohort_dir(project)) == before
    full_disk(1 << 30)
    assert cli("materialize", "alpha", "--force").rc == 0  # with space again, the run completes


def test_a_full_disk_during_compile_leaves_the_old_output(cli, project, full_disk, tmp_path):
    out = tmp_path / "rows.csv"
    out.write_text("previous\n", encoding="utf-8")
    full_disk(1000)  # of ~3.5 KB of rows
    result = cli("compile", cohort_dir(project) / "spec", "--out", out)
    assert result.rc == 2 and str(out) in result.err and TEMP_PREFIX not in result.err
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)] == []


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 64 KiB tmpfs, when this process may mount one (else skipped)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("no permission to mount a tmpfs here")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], capture_output=True, check=False)


def test_a_really_full_file_system(cli, tmp_path, tiny_tmpfs):
    levels = "[" + ", ".join(f"level-{i}" for i in range(300)) + "]"
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "config.yaml").write_text(f"axes:\n  a: {levels}\n  b: {levels}\n", encoding="utf-8")
    out = tiny_tmpfs / "rows.csv"
    out.write_text("previous\n", encoding="utf-8")
    result = cli("compile", tmp_path / "big", "--out", out)  # ~2 MB of rows into 64 KiB
    assert result.rc == 2 and str(out) in result.err and TEMP_PREFIX not in result.err
    assert sorted(p.name for p in tiny_tmpfs.iterdir()) == ["rows.csv"]
    assert out.read_text(encoding="utf-8") == "previous\n"


# -- writes stay inside the data root ------------------------------------------------------

@pytest.mark.parametrize("link", ["gens", "gens/draft", "cohort folder"])
def test_a_link_out_of_the_data_root_is_never_written_through(cli, project, tmp_path, link):
    outside = tmp_path / "outside"
    outside.mkdir()
    gens = project / "data" / "gens"
    if link == "gens":
        gens.symlink_to(outside)
        args = ("materialize", "alpha", "--seed-metadata")
    elif link == "gens/draft":
        gens.mkdir()
        (gens / "draft").symlink_to(outside)
        args = ("materialize", "alpha", "--seed-metadata")
    else:
        (project / "data" / "cohorts" / "bravo").rename(outside / "bravo")
        (project / "data" / "cohorts" / "bravo").symlink_to(outside / "bravo")
        args = ("materialize", "bravo")
    result = cli(*args)
    assert result.rc == 2 and "outside the data root" in result.err, result
    assert sorted(p.name for p in outside.rglob("*") if p.is_file()) in ([], ["config.yaml"])
    assert not (cohort_dir(project) / "membership.csv").exists()


def test_a_metadata_link_or_fifo_is_never_followed(cli, project, tmp_path):
    """An existing metadata.json that is a FIFO (would hang a read) or a
    link out of the data root (would leak or be overwritten) is reported,
    never read, and nothing is written."""
    assert cli("materialize", "alpha", "--seed-metadata").rc == 0
    seeds = sorted((project / "data" / "gens" / "draft").glob("*/metadata.json"))
    secret = tmp_path / "secret.json"
    secret.write_text('{"token": "hunter2"}', encoding="utf-8")
    seeds[0].unlink()
    seeds[0].symlink_to(secret)
    seeds[1].unlink()
    os.mkfifo(seeds[1])
    result = cli("materialize", "alpha", "--seed-metadata")
    assert result.rc == 1 and "hunter2" not in result.out + result.err
    assert "outside the data root" in result.err and "not a regular file" in result.err
    assert secret.read_text(encoding="utf-8") == '{"token": "hunter2"}'
