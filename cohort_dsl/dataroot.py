"""The data root: the one place that knows the folder layout.

::

    <data-root>/
      cohorts/<cohort_id>/spec/config.yaml     the spec bundle (and its includes)
      cohorts/<cohort_id>/membership.csv       stage,gen_id (the contract)
      cohorts/<cohort_id>/membership_wide.csv  every membership column
      cohorts/<cohort_id>/manifest.json        a derived view of the membership
      gens/<stage>/<gen_id>/metadata.json      metadata seeds
      selections/<axis>.csv                    subsets migrated from a catalog's legacy `active` column
      .cohort-dsl-tmp-*/                        staging folders of a running import (removed after)

Every other module asks a :class:`DataRoot` for these paths; none builds them
(see docs/cohorts.md). Cohort ids are folder names: letters, digits, ``.``,
``_`` and ``-``, starting with a letter or digit, at most 128 characters. An
invalid id is a usage error that names it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cohort_dsl.diagnostics import UsageError, did_you_mean

COHORTS = "cohorts"
SPEC = "spec"
CONFIG = "config.yaml"
MEMBERSHIP_FILE = "membership.csv"
WIDE_FILE = "membership_wide.csv"
MANIFEST_FILE = "manifest.json"
GENS = "gens"
METADATA_FILE = "metadata.json"
SELECTIONS = "selections"

COHORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
GEN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class DataRoot:
    """A data root folder (it need not exist yet)."""

    def __init__(self, path: str | Path):
        self.path = Path(path).absolute()

    def __repr__(self) -> str:
        return f"DataRoot({str(self.path)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, DataRoot) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    # -- cohorts ------------------------------------------------------------
    @property
    def cohorts_dir(self) -> Path:
        return self.path / COHORTS

    def check_cohort_id(self, cohort_id: str) -> str:
        """``cohort_id`` if it is a valid folder name, else a usage error."""
        if not isinstance(cohort_id, str) or not COHORT_ID.fullmatch(cohort_id) or cohort_id in (".", ".."):
            raise UsageError(
                f"{cohort_id!r} is not a cohort id: use letters, digits, '.', '_' and '-', starting with a letter "
                f"or digit, at most 128 characters (a folder name under {self.cohorts_dir})")
        return cohort_id

    def cohort_dir(self, cohort_id: str) -> Path:
        # Not validated: a folder found on disk is what it is. Ids a user
        # types are checked by require_cohort (and check_cohort_id).
        return self.cohorts_dir / cohort_id

    def spec_dir(self, cohort_id: str) -> Path:
        return self.cohort_dir(cohort_id) / SPEC

    def config(self, cohort_id: str) -> Path:
        return self.spec_dir(cohort_id) / CONFIG

    def membership_file(self, cohort_id: str) -> Path:
        return self.cohort_dir(cohort_id) / MEMBERSHIP_FILE

    def wide_file(self, cohort_id: str) -> Path:
        return self.cohort_dir(cohort_id) / WIDE_FILE

    def manifest_file(self, cohort_id: str) -> Path:
        return self.cohort_dir(cohort_id) / MANIFEST_FILE

    def bundles(self) -> list[Path]:
        """The ``config.yaml`` of every cohort with a spec, sorted."""
        return sorted(self.cohorts_dir.glob(f"*/{SPEC}/{CONFIG}"))

    def cohort_ids(self) -> list[str]:
        """Every cohort that has a spec, sorted."""
        return [config.parent.parent.name for config in self.bundles()]

    def materialized_ids(self) -> list[str]:
        """Every cohort that has a ``membership.csv``, sorted. What was
        looked at is recorded: a cohort materialized or removed later changes
        a cached lint result that depended on this list."""
        from cohort_dsl.files import record_listing, record_presence

        return [name for name in record_listing(self.cohorts_dir)
                if record_presence(self.cohorts_dir / name / MEMBERSHIP_FILE)]

    def require_cohort(self, cohort_id: str) -> Path:
        """The config.yaml of an existing cohort; a usage error with
        did-you-mean when there is none."""
        config = self.config(self.check_cohort_id(cohort_id))
        if not config.is_file():
            known = self.cohort_ids()
            hint = did_you_mean(cohort_id, known) or (f"cohorts here: {', '.join(known)}" if known else
                                                      "is --data-root (or data-root in the config) right?")
            raise UsageError(f"no spec bundle for cohort {cohort_id!r} at {config} ({hint})")
        return config

    # -- generations --------------------------------------------------------
    @property
    def gens_dir(self) -> Path:
        return self.path / GENS

    def metadata_file(self, stage: str, gen_id: str) -> Path:
        if not GEN_ID.fullmatch(stage) or not GEN_ID.fullmatch(gen_id):
            raise UsageError(f"{stage!r}/{gen_id!r} is not a stage and generation id")
        return self.gens_dir / stage / gen_id / METADATA_FILE

    def escapes(self, path: Path) -> Path | None:
        """Where ``path`` really is when a symlink on the way leads outside
        the data root (None when it stays inside): nothing is written there,
        and nothing read."""
        from cohort_dsl.files import inside

        return None if inside(path, self.path) else Path(os.path.realpath(path))

    def require_inside(self, path: Path) -> Path:
        """``path``, or a usage error when it leads outside the data root."""
        real = self.escapes(path)
        if real is not None:
            raise UsageError(f"{path} leads outside the data root (to {real}) through a symbolic link: "
                             f"cohort-dsl writes only inside {self.path}")
        return path

    # -- adoption -----------------------------------------------------------
    def selection_file(self, axis: str) -> Path:
        """The subset include ``migrate-catalogs`` writes for an axis."""
        if not GEN_ID.fullmatch(axis):
            raise UsageError(f"{axis!r} is not an axis name usable as a file name")
        return self.path / SELECTIONS / f"{axis}.csv"

    def catalog_candidates(self) -> list[Path]:
        """The CSV files under the data root that may be catalogs: not in a
        cohort, a generation, a selection or a hidden folder; sorted."""
        if not self.path.is_dir():
            return []
        skip = {COHORTS, GENS, SELECTIONS}
        return sorted(p for p in self.path.rglob("*.csv")
                      if p.is_file() and not any(part in skip or part.startswith(".")
                                                 for part in p.relative_to(self.path).parts[:-1]))

    def staging_dir(self, purpose: str) -> Path:
        """A new temporary folder inside the data root (same file system as
        the cohorts, so a finished bundle is published by one rename); its
        name matches no bundle glob. The caller removes it."""
        import tempfile

        from cohort_dsl.files import TEMP_PREFIX

        self.path.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{purpose}-", dir=self.path))

    # -- where a bundle sits ------------------------------------------------
    @staticmethod
    def of_bundle(bundle_dir: Path | None) -> tuple["DataRoot", str] | None:
        """``(data root, cohort id)`` when ``bundle_dir`` is
        ``<root>/cohorts/<id>/spec``; None for a bundle anywhere else."""
        if bundle_dir is None:
            return None
        directory = Path(bundle_dir).absolute()
        if directory.name == SPEC and directory.parent.parent.name == COHORTS:
            return DataRoot(directory.parent.parent.parent), directory.parent.name
        return None

    @staticmethod
    def is_cohorts_dir(folder: Path) -> bool:
        return Path(folder).name == COHORTS

    @staticmethod
    def bundles_below(folder: Path) -> list[Path]:
        """Every bundle below ``folder`` (a data root, its cohorts folder, or
        any folder holding spec bundles)."""
        folder = Path(folder)
        return sorted(folder.glob(f"**/{SPEC}/{CONFIG}")) or sorted(folder.glob(f"**/{CONFIG}"))
