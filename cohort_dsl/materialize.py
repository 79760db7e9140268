"""Materialize a cohort: membership files written atomically, never a
silent change to a cohort that already ran.

Writes under ``<data-root>/cohorts/<cohort_id>/``:

- ``membership.csv``: exactly ``stage,gen_id`` (the contract downstream
  consumers read);
- ``membership_wide.csv``: every membership column;
- ``manifest.json``: a derived view (combos, templates, llms and replicate
  counts per stage, the membership's hash, the spec bundle's hash and the
  tool version) — never an independent truth;
- with ``seed_metadata``: ``<data-root>/gens/<stage>/<gen_id>/metadata.json``
  for each generation that has none (an existing file is never touched).

All three files are written to temporary files first and renamed into place
(``membership.csv`` last); the same spec and catalogs give byte-identical
files. If a ``membership.csv`` exists and the new one differs, nothing is
written and the difference is summarised, unless ``force``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cohort_dsl import __version__
from cohort_dsl.dataroot import MEMBERSHIP_FILE, DataRoot
from cohort_dsl.diagnostics import ERROR, Diagnostic, Location, SpecError
from cohort_dsl.files import TEMP_PREFIX, atomic_writer, temp_beside
from cohort_dsl.membership import SLIM_COLUMNS, STALE_MEMBERSHIP, WIDE_COLUMNS
from cohort_dsl.service import describe_diff, membership_diff

DEFAULT_MODE = "llm"


@dataclass
class Outcome:
    cohort_id: str
    directory: Path
    counts: dict[str, int]
    changed: bool
    metadata_written: int = 0
    metadata_kept: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)


def bundle_hash(directory: Path) -> str:
    """SHA-256 over the bundle's files (relative path and bytes, sorted)."""
    digest = hashlib.sha256()
    files = sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith(TEMP_PREFIX))
    for path in files:
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def materialize(membership, data_root: DataRoot, *, catalogs=None, force: bool = False,
                seed_metadata: bool = False) -> Outcome:
    """Write the files of ``membership`` (a :class:`~cohort_dsl.membership.Membership`
    the caller has checked: :meth:`cohort_dsl.project.Project.materialize`
    refuses errors before calling this)."""
    from cohort_dsl.rows import csv_field

    compiled, cohort_id = membership.compiled, membership.cohort_id
    directory = data_root.cohort_dir(cohort_id)
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(directory)

    stats: dict[str, dict] = {s.name: {"count": 0, "templates": set(), "llms": set(), "replicates": {}}
                              for s in membership.layout.stages}
    combos: set[str] = set()
    slim_path = data_root.membership_file(cohort_id)
    wide_path, manifest_path = data_root.wide_file(cohort_id), data_root.manifest_file(cohort_id)

    def line(values) -> str:
        return ",".join(csv_field(v) if isinstance(v, str) else str(v) for v in values) + "\n"

    with _Staged(slim_path) as slim, _Staged(wide_path) as wide, _Staged(manifest_path) as manifest_file:
        slim.write(line(SLIM_COLUMNS))
        wide.write(line(WIDE_COLUMNS))
        for record in membership.records():
            slim.write(line(record[:2]))
            wide.write(line(record))
            stage = stats[record.stage]
            stage["count"] += 1
            stage["templates"].add(record.template_id)
            if record.llm_model_id:
                stage["llms"].add(record.llm_model_id)
            stage["replicates"][record.replicate] = stage["replicates"].get(record.replicate, 0) + 1
            if record.combo_id:
                combos.add(record.combo_id)
        new_hash = slim.digest.hexdigest()
        changed = not slim.unchanged
        if changed and slim_path.is_file() and not force:
            slim.flush()
            raise SpecError(_refusal(slim_path, slim.name, cohort_id))
        manifest = {
            "cohort_id": cohort_id,
            "layout": membership.layout.name,
            "combos": sorted(combos),
            "stages": {
                name: {
                    "count": s["count"],
                    "templates": sorted(s["templates"]),
                    "llms": sorted(s["llms"]),
                    "replicates": {str(k): v for k, v in sorted(s["replicates"].items())},
                }
                for name, s in stats.items()
            },
            "membership": {"file": MEMBERSHIP_FILE, "rows": sum(s["count"] for s in stats.values()), "sha256": new_hash},
            "spec": {"sha256": bundle_hash(compiled.spec.bundle.directory)},
            "tool": {"name": "cohort-dsl", "version": __version__},
        }
        manifest_file.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        # Publish the derived files first and the contract file last.
        wide.publish()
        manifest_file.publish()
        slim.publish()
    outcome = Outcome(cohort_id, directory, {k: v["count"] for k, v in stats.items()}, changed,
                      diagnostics=list(membership.diagnostics))
    if seed_metadata:
        _seed_metadata(membership, data_root, catalogs or {}, outcome)
    return outcome


class _Staged:
    """A temporary file beside ``path`` (hashing what is written), renamed
    onto it by :meth:`publish`; removed on exit if never published."""

    def __init__(self, path: Path):
        self.path = path
        self.digest = hashlib.sha256()

    def __enter__(self) -> "_Staged":
        fd, self.name = temp_beside(self.path)
        self.handle = os.fdopen(fd, "w", encoding="utf-8", newline="", buffering=1 << 20)
        return self

    def write(self, text: str) -> None:
        self.handle.write(text)
        self.digest.update(text.encode("utf-8"))

    def flush(self) -> None:
        self.handle.flush()

    @property
    def unchanged(self) -> bool:
        return self.path.is_file() and _file_hash(self.path) == self.digest.hexdigest()

    def publish(self) -> bool:
        """Rename onto the target unless it already has these bytes."""
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        if self.unchanged:
            return False
        os.replace(self.name, self.path)
        return True

    def __exit__(self, *exc) -> None:
        if not self.handle.closed:
            self.handle.close()
        try:
            os.unlink(self.name)
        except FileNotFoundError:
            pass


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_stale_temps(directory: Path) -> None:
    """Temporary files left by a run that was killed."""
    for stale in directory.glob(TEMP_PREFIX + "*"):
        try:
            stale.unlink()
        except OSError:
            pass


def _refusal(existing: Path, staged: str, cohort_id: str) -> Diagnostic:
    added, removed = membership_diff(existing, Path(staged))
    return Diagnostic(
        STALE_MEMBERSHIP.code,
        f"cohort {cohort_id} already has a different membership: {describe_diff(added, removed)}; nothing was written",
        Location(str(existing)), ERROR,
        "the cohort already ran: changing its spec orphans generations. Create a new cohort, or rerun with --force "
        "to replace the membership",
    )


def _seed_metadata(membership, data_root: DataRoot, catalogs: dict, outcome: Outcome) -> None:
    modes = {}
    for stage in membership.layout.stages:
        catalog = catalogs.get(stage.mode_axis) if stage.mode_axis else None
        modes[stage.name] = catalog
    first_stage = membership.layout.stages[0].name
    for record in membership.records():
        path = data_root.metadata_file(record.stage, record.gen_id)
        if path.exists():
            outcome.metadata_kept += 1
            continue
        catalog = modes.get(record.stage)
        mode = (catalog.attribute(record.template_id, "generator") if catalog else None) or DEFAULT_MODE
        metadata = {"stage": record.stage, "gen_id": record.gen_id, "origin_cohort_id": record.origin_cohort_id,
                    "mode": mode.strip().lower(), "template_id": record.template_id}
        if record.stage == first_stage:
            metadata["combo_id"] = record.combo_id
        else:
            metadata["parent_gen_id"] = record.parent_gen_id
        metadata["llm_model_id"] = record.llm_model_id
        metadata["replicate"] = record.replicate
        with atomic_writer(path) as handle:
            handle.write(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")
        outcome.metadata_written += 1
