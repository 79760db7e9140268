"""What a lint run loads (docs/performance.md, "Start-up"): not OpenSSL for
the digest of a small committed membership.csv, not ``shutil`` for the
help width, and the same answers as the modules it does without."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from cohort_dsl import cli as cli_module
from cohort_dsl.files import SMALL_SHA256, sha256_file
from gate_helpers import REPO_DIR, cli, engine  # noqa: F401


@pytest.mark.parametrize("size", [0, SMALL_SHA256 - 1, SMALL_SHA256, 3 * (1 << 20) + 5])
def test_a_file_has_its_sha256_whichever_implementation_hashes_it(tmp_path, size):
    path = tmp_path / "membership.csv"
    data = (b"draft,d_1a2b,c,,t,m,1\n" * (size // 22 + 1))[:size]
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("columns", ["50", "200", None, "not a number", "0"])
def test_help_is_wrapped_to_the_width_argparse_gives_it(cli, monkeypatch, columns):
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    ours = [cli("lint", "--help").out, cli("--help").out]
    monkeypatch.setattr(cli_module, "_sized", lambda formatter: formatter)  # argparse's own, asking shutil
    assert ours == [cli("lint", "--help").out, cli("--help").out]


def test_a_lint_of_a_committed_cohort_loads_neither_openssl_nor_shutil(tmp_path):
    root = tmp_path / "examples"
    shutil.copytree(REPO_DIR / "examples", root)
    # what the interpreter and the plugin library load by themselves are not ours to keep out
    probe = ("import sys\n"
             "import pluggy\n"
             "theirs = set(sys.modules)\n"
             "from cohort_dsl.cli import main\n"
             "sys.argv = ['cohort-dsl', 'lint', '--no-cache', 'data/cohorts/baseline-cartesian/spec/config.yaml']\n"
             "rc = main()\n"
             "print(rc, [m for m in ('hashlib', '_hashlib', 'shutil') if m in sys.modules and m not in theirs])\n")
    env = dict(os.environ, COHORT_DSL_DISABLE_PLUGIN_AUTOLOAD="1", COHORT_DSL_CACHE_HOME=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=root, env=env,
                           timeout=60) for _ in range(2)]  # the first writes the settings memo (tempfile, shutil)
    assert runs[1].stdout.splitlines()[-1] == "0 []", runs[1].stdout + runs[1].stderr
    assert (root / "data/cohorts/baseline-cartesian/membership.csv").stat().st_size < SMALL_SHA256
