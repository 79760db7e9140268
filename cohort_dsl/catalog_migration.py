"""Catalog migration: a legacy ``active`` column becomes subset includes
(docs/cohorts.md, "Adopting cohort-dsl").

For each configured CSV catalog whose header has ``active``: the values of
the active rows, per configured axis that reads the catalog, become
``<data-root>/selections/<axis>.csv`` (a one-column include whose header is
the axis); the column is dropped from the catalog, every other byte of a row
kept as csv writes it. :func:`plan` reads and checks everything and changes
nothing; :meth:`Migration.write` writes the includes first (a selection that
exists with other content is refused, never replaced), then the catalog, each
atomically, so a run cut short is finished by running it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cohort_dsl.diagnostics import ERROR, Diagnostic, Location, SpecError
from cohort_dsl.records import Record
from cohort_dsl.registry import LintRule

MIGRATION_PROBLEM = LintRule("A004", "catalog-migration", "`migrate-catalogs` cannot migrate a catalog.",
                             "An `active` cell must read as true (`1`, `true`, `yes`, `y`, `t`, `x`) or false (`0`, "
                             "`false`, `no`, `n`, `f`, empty); the configured column must exist; the catalog must lie "
                             "inside the data root; a `selections/<axis>.csv` that exists must already hold the active "
                             "values. Nothing is written while any catalog has a problem.")
LEGACY_COLUMN = "active"
TRUE = {"1", "true", "yes", "y", "t", "x"}
FALSE = {"0", "false", "no", "n", "f", ""}


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Migration(Record):
    """What migrating one catalog file does."""

    catalog: Path
    #: the catalog's bytes the migration was planned from
    original: bytes
    #: the catalog's text without the legacy column
    migrated: str
    rows: int
    active: int
    #: include path -> its text, one per axis that reads the catalog
    selections: dict[Path, str] = field(default_factory=dict)
    #: include path -> (axis, number of values)
    summary: dict[Path, tuple[str, int]] = field(default_factory=dict)

    def __init__(self, catalog: Path, original: bytes, migrated: str, rows: int, active: int,
                 selections: dict[Path, str] | None = None, summary: dict[Path, tuple[str, int]] | None = None):
        self.catalog, self.original, self.migrated, self.rows, self.active = catalog, original, migrated, rows, active
        self.selections = {} if selections is None else selections
        self.summary = {} if summary is None else summary

    def write(self) -> None:
        from cohort_dsl.files import read_bounded, write_text

        try:
            current = read_bounded(self.catalog, len(self.original) + 1)
        except OSError:  # grown, replaced by something else, gone: changed all the same
            current = None
        if current != self.original:
            raise SpecError([_problem(f"catalog {self.catalog.name} changed while it was migrated; nothing of it "
                                      "was written", Location(str(self.catalog)), "run migrate-catalogs again")])
        for path, text in self.selections.items():
            if not path.is_file():
                write_text(path, text)
        write_text(self.catalog, self.migrated)


def _problem(message: str, where: Location, hint: str | None = None) -> Diagnostic:
    return Diagnostic(MIGRATION_PROBLEM.code, message, where, ERROR, hint)


def plan(settings, data_root) -> list[Migration]:
    """The migrations of every configured CSV catalog with a legacy column;
    :class:`SpecError` listing every problem when one cannot be done."""
    from collections import defaultdict

    from cohort_dsl.catalogs import DEFAULT_COLUMN, settings_refs

    by_file: dict[Path, list] = defaultdict(list)
    for ref in settings_refs(settings):
        if ref.axis is not None and ref.path.suffix.lower() == ".csv":
            by_file[ref.path].append(ref)
    migrations, problems = [], []
    for path, refs in by_file.items():
        if data_root.escapes(path) is not None:
            problems.append(_problem(f"catalog {path.name} resolves outside the data root; it is not migrated",
                                     Location(refs[0].origin)))
            continue
        try:
            migration = _migrate(path, [(r.axis, r.column or DEFAULT_COLUMN) for r in refs], data_root)
        except SpecError as exc:
            problems.extend(exc.diagnostics)
            continue
        if migration is not None:
            migrations.append(migration)
    if problems:
        raise SpecError(problems)
    return migrations


def _migrate(path: Path, axes: list[tuple[str, str]], data_root) -> Migration | None:
    import csv
    import io

    from cohort_dsl.files import read_bounded
    from cohort_dsl.rows import csv_field

    shown = str(path)
    try:
        raw = read_bounded(path, 1 << 28)
    except FileNotFoundError:
        return None  # nothing to migrate; lint reports the missing catalog (C003)
    except OSError as exc:
        raise SpecError([_problem(f"catalog {path.name} cannot be read ({exc.strerror or exc})", Location(shown))]) from None
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError([_problem(f"catalog {path.name} is not valid UTF-8", Location(shown))]) from None
    records = list(csv.reader(io.StringIO(text, newline="")))
    header_at = next((i for i, r in enumerate(records) if any(c.strip() for c in r)), None)
    if header_at is None:
        return None
    header = [c.strip() for c in records[header_at]]
    if LEGACY_COLUMN not in header:
        return None
    at = header.index(LEGACY_COLUMN)
    values: dict[str, list[str]] = {axis: [] for axis, _ in axes}
    problems, rows, active = [], 0, 0
    for axis, column in axes:
        if column not in header:
            problems.append(_problem(f"catalog {path.name} has no column {column!r} (configured for {axis})",
                                     Location(shown, header_at + 1)))
    for number, record in enumerate(records[header_at + 1:], start=header_at + 2):
        if not any(c.strip() for c in record):
            continue
        rows += 1
        cell = record[at].strip().lower() if at < len(record) else ""
        if cell not in TRUE | FALSE:
            problems.append(_problem(f"catalog {path.name}: active is {record[at]!r}, neither true nor false",
                                     Location(shown, number), "write 1 or 0 (true/false, yes/no)"))
            continue
        if cell in FALSE:
            continue
        active += 1
        for axis, column in axes:
            if column in header and header.index(column) < len(record):
                value = record[header.index(column)].strip()
                if value and value not in values[axis]:
                    values[axis].append(value)
    if problems:
        raise SpecError(problems)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n")
    for record in records:
        writer.writerow(record[:at] + record[at + 1:])
    migration = Migration(path, raw, ("\ufeff" if bom else "") + out.getvalue(), rows, active)
    for axis, _ in axes:
        include = data_root.selection_file(axis)
        if include.parent.exists() and data_root.escapes(include.parent) is not None:
            raise SpecError([_problem(f"{include.parent} leads outside the data root; nothing is written there",
                                      Location(str(include.parent)))])
        body = axis + "\n" + "".join(csv_field(v) + "\n" for v in values[axis])
        if include.is_file() and include.read_text(encoding="utf-8") != body:
            raise SpecError([_problem(f"{include.name} exists and holds other values than the active rows of "
                                      f"{path.name}", Location(str(include)), "move it away, then migrate again")])
        migration.selections[include] = body
        migration.summary[include] = (axis, len(values[axis]))
    return migration
