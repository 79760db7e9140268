"""The membership service: one injectable reader over a data root.

It answers what downstream code asks of materialized cohorts — the gen ids
of a stage in a cohort, the parent and children of a gen id, which cohorts
contain a gen id, all cohorts — from the files ``materialize`` writes under
``<data-root>/cohorts/<cohort_id>/``. It is the only code that parses
membership files.
"""

from __future__ import annotations

from pathlib import Path

from cohort_dsl.dataroot import DataRoot
from cohort_dsl.diagnostics import Location, error
from cohort_dsl.membership import MEMBERSHIP_FORMAT, SLIM_COLUMNS, WIDE_COLUMNS, Record
from cohort_dsl.registry import LintRule

MIXED_SET = LintRule("M013", "membership-set-mixed", "A cohort's membership files do not belong together.",
                     "manifest.json records the SHA-256 of the membership.csv and the wide membership it was written "
                     "with. A file that no longer matches means a materialize was interrupted between two renames, "
                     "is running right now, or a file was edited by hand: readers must not mix the versions. Rerun "
                     "`cohort-dsl materialize COHORT` (with --force if the spec changed) to publish a whole set.")


def _data_digest(path: Path) -> str | None:
    """SHA-256 of a membership file's records written as materialize writes
    them: the digest of the file's bytes when it is as written, and the
    same digest when it was saved with CRLF or a BOM (compared as data)."""
    import csv
    import hashlib

    from cohort_dsl.files import open_text
    from cohort_dsl.rows import csv_field

    digest = hashlib.sha256()
    try:
        with open_text(path) as handle:
            for row in csv.reader(handle):
                if row:
                    digest.update((",".join(csv_field(v) for v in row) + "\n").encode("utf-8"))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return digest.hexdigest()


def set_problems(root: DataRoot, cohort_id: str) -> list:
    """M013 for each membership file that does not match the digest its
    cohort's manifest.json recorded (nothing when there is no manifest).

    A mismatch may be a materialize publishing right now: the cohort's lock
    is then taken shared, which waits for that run, and the files are
    compared again (docs/cohorts.md, "Reading a set that is being
    published"); what still differs was left mixed."""
    from cohort_dsl.diagnostics import ERROR, Diagnostic

    mixed = _mismatched(root, cohort_id)
    if mixed:
        from cohort_dsl.cohort_lock import CohortLock

        try:
            with CohortLock(root.cohort_dir(cohort_id), shared=True):
                mixed = _mismatched(root, cohort_id)
        except OSError:  # the folder cannot be opened for locking: report what was seen
            pass
    return [Diagnostic(MIXED_SET.code, f"{path.name} of cohort {cohort_id} is not the one its manifest.json "
                       "was written with: the set is mixed (an interrupted materialize, or a hand edit)",
                       Location(str(path)), ERROR, f"rerun `cohort-dsl materialize {cohort_id}` to publish a whole set")
            for path in mixed]


def _mismatched(root: DataRoot, cohort_id: str) -> list[Path]:
    """The membership files whose records do not match the manifest's digests."""
    import json

    from cohort_dsl.files import read_bounded

    try:
        manifest = json.loads(read_bounded(root.manifest_file(cohort_id), 1 << 24))
    except (OSError, ValueError):
        return []
    if not isinstance(manifest, dict):
        return []
    out = []
    for key, path in (("membership", root.membership_file(cohort_id)), ("wide", root.wide_file(cohort_id))):
        recorded = manifest.get(key, {}).get("sha256") if isinstance(manifest.get(key), dict) else None
        if recorded is not None and path.is_file() and _data_digest(path) != recorded:
            out.append(path)
    return out


def iter_slim(path: Path):
    """``(stage, gen_id)`` rows of a ``membership.csv``, streamed in file order."""
    for row in _iter(path, SLIM_COLUMNS):
        yield (row[0], row[1])


def read_slim(path: Path) -> list[tuple[str, str]]:
    return list(iter_slim(path))


def read_wide(path: Path) -> list[Record]:
    out = []
    for row in _iter(path, WIDE_COLUMNS):
        *head, replicate = row
        out.append(Record(*head, int(replicate) if replicate.isdigit() else 1))
    return out


def _iter(path: Path, columns: tuple):
    import csv

    shown = str(path)
    try:
        from cohort_dsl.files import open_text

        with open_text(path) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(h.strip() for h in header) != columns:
                raise error(MEMBERSHIP_FORMAT.code, f"{path.name} must start with the header {','.join(columns)}",
                            Location(shown, 1), "it is written by `cohort-dsl materialize`; do not edit it by hand")
            for row in reader:
                if not row:
                    continue
                if len(row) != len(columns):
                    raise error(MEMBERSHIP_FORMAT.code, f"{path.name}: row has {len(row)} fields, expected {len(columns)}",
                                Location(shown, reader.line_num))
                yield row
    except UnicodeDecodeError:
        raise error(MEMBERSHIP_FORMAT.code, f"{path.name} is not valid UTF-8", Location(shown)) from None
    except csv.Error as exc:
        raise error(MEMBERSHIP_FORMAT.code, f"{path.name}: malformed CSV: {exc}", Location(shown)) from None
    except OSError as exc:
        raise error(MEMBERSHIP_FORMAT.code, f"cannot read {path.name}: {exc.strerror or exc}", Location(shown)) from None


def membership_diff(old_path: Path, new_path: Path) -> tuple[list[str], list[str]]:
    """Gen ids in the new membership but not the old (added), and the
    reverse (removed), each in file order."""
    old = [gid for _, gid in iter_slim(old_path)]
    new = [gid for _, gid in iter_slim(new_path)]
    old_set, new_set = set(old), set(new)
    return [g for g in new if g not in old_set], [g for g in old if g not in new_set]


def describe_diff(added: list[str], removed: list[str], examples: int = 3) -> str:
    parts = []
    if added:
        parts.append(f"{len(added):,} gen id{'s' if len(added) != 1 else ''} would be added (e.g. {', '.join(added[:examples])})")
    if removed:
        parts.append(f"{len(removed):,} would be removed (e.g. {', '.join(removed[:examples])})")
    if not parts:
        parts.append("the same gen ids in a different order")
    return "; ".join(parts)


class MembershipService:
    """Queries over the materialized cohorts of a data root."""

    def __init__(self, data_root: str | Path | DataRoot):
        self.root = data_root if isinstance(data_root, DataRoot) else DataRoot(data_root)
        self.data_root = self.root.path
        self._records: dict[str, list[Record]] = {}
        self._index = None

    # -- cohorts --------------------------------------------------------------
    def cohorts(self) -> list[str]:
        """Every cohort with a ``membership.csv``, sorted."""
        return self.root.materialized_ids()

    def membership_path(self, cohort_id: str) -> Path:
        return self.root.membership_file(cohort_id)

    def membership(self, cohort_id: str) -> list[tuple[str, str]]:
        """The ``(stage, gen_id)`` rows of a cohort (empty if none)."""
        path = self.membership_path(cohort_id)
        return read_slim(path) if path.is_file() else []

    def gen_ids(self, cohort_id: str, stage: str | None = None) -> list[str]:
        """Gen ids of ``stage`` (all stages if None) in a cohort, in order."""
        return [gid for s, gid in self.membership(cohort_id) if stage is None or s == stage]

    def check(self, cohort_id: str) -> list:
        """Problems of a cohort's materialized set (``M013``: files that do
        not belong together); empty when the set is whole."""
        return set_problems(self.root, cohort_id)

    def records(self, cohort_id: str) -> list[Record]:
        """The wide records of a cohort (parents, templates, llms, …)."""
        if cohort_id not in self._records:
            path = self.root.wide_file(cohort_id)
            self._records[cohort_id] = read_wide(path) if path.is_file() else []
        return self._records[cohort_id]

    # -- gen ids across cohorts -------------------------------------------------
    def _build_index(self):
        if self._index is None:
            where: dict[str, list[str]] = {}
            parent: dict[str, str] = {}
            children: dict[str, list[str]] = {}
            for cohort in self.cohorts():
                for stage, gid in self.membership(cohort):
                    where.setdefault(gid, []).append(cohort)
                for record in self.records(cohort):
                    if record.parent_gen_id and record.gen_id not in parent:
                        parent[record.gen_id] = record.parent_gen_id
                        children.setdefault(record.parent_gen_id, []).append(record.gen_id)
            self._index = (where, parent, children)
        return self._index

    def cohorts_containing(self, gen_id: str) -> list[str]:
        return list(self._build_index()[0].get(gen_id, []))

    def parent(self, gen_id: str) -> str | None:
        """The parent gen id (a draft for an essay, an essay for an evaluation)."""
        return self._build_index()[1].get(gen_id)

    def parents(self, gen_id: str) -> list[str]:
        """The ancestors of a gen id, nearest first."""
        chain, current = [], self.parent(gen_id)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.parent(current)
        return chain

    def children(self, gen_id: str) -> list[str]:
        """Essays of a draft, evaluations of an essay."""
        return list(self._build_index()[2].get(gen_id, []))

    def refresh(self) -> None:
        """Forget what was read (after a materialize)."""
        self._records.clear()
        self._index = None
