"""Catalogs: the values that exist (templates, models, combos).

Configured per axis in the settings (``[tool.cohort-dsl.catalogs]``,
``axis = "PATH[:COLUMN]"`` relative to the data root) or on the command line
(``--catalog file.json``, ``--catalog-csv axis=PATH[:COLUMN]``). Files are
read by catalog *sources* (plugins; CSV and JSON are built in), chosen by
file suffix. A catalog keeps each value's row (for attributes such as the
``generator`` column) and where it was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cohort_dsl.diagnostics import ERROR, Diagnostic, Location, SpecError, UsageError, error
from cohort_dsl.records import Record
from cohort_dsl.registry import LintRule

CATALOG_MISS = LintRule("C001", "catalog-miss", "A value is not in its axis's catalog.",
                        "Every value of a cataloged axis that the compiled spec uses must exist in the catalog configured for "
                        "that axis ([tool.cohort-dsl.catalogs], --catalog, --catalog-csv). The diagnostic points at the line "
                        "of config.yaml or the row of the included CSV where the value was written, with close matches.")
LEGACY_ACTIVE = LintRule("C002", "catalog-active-column", "A catalog CSV has a legacy `active` column.",
                         "Catalogs are immutable inputs that list what exists; selecting what a cohort uses belongs in its "
                         "spec (axes, subsets). `cohort-dsl migrate-catalogs` shows (and with `--write` does) the "
                         "migration: the active rows become `selections/<axis>.csv` subset includes and the column is "
                         "dropped.")
CATALOG_ERROR = LintRule("C003", "catalog-error", "A catalog cannot be read.",
                         "The catalog file is missing, not UTF-8, not valid JSON/CSV, or lacks the configured column.")
DEFAULT_COLUMN = "id"


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Catalog(Record):
    """The values of one catalog: value -> its row (or None), and where it
    was written."""

    path: str
    column: str | None
    rows: dict[str, dict | None] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)

    def __init__(self, path: str, column: str | None, rows: dict[str, dict | None] | None = None,
                 locations: dict[str, Location] | None = None):
        self.path, self.column = path, column
        self.rows = {} if rows is None else rows
        self.locations = {} if locations is None else locations

    def __contains__(self, value: str) -> bool:
        return value in self.rows

    def attribute(self, value: str, name: str) -> str | None:
        """The ``name`` column of ``value``'s row (None when absent)."""
        row = self.rows.get(value)
        return row.get(name) if row else None


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class CatalogSource(Record):
    """Reads catalog files with one of ``suffixes``.

    ``load(path, column)`` returns ``{axis_or_None: Catalog}``: a file that
    lists one catalog returns it under ``None`` (the configured axis is
    assigned by the caller); a file keyed by axis (the JSON form
    ``{axis: [values]}``) returns one catalog per axis. Problems are raised
    as :class:`~cohort_dsl.diagnostics.SpecError` located in the file.
    """

    name: str
    suffixes: tuple[str, ...]
    load: Callable[[Path, str | None], dict]
    summary: str = ""
    plugin: object = None

    def __init__(self, name: str, suffixes: tuple[str, ...], load: Callable[[Path, str | None], dict],
                 summary: str = "", plugin: object = None):
        self.name, self.suffixes, self.load, self.summary, self.plugin = name, suffixes, load, summary, plugin


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class CatalogRef(Record):
    """One configured catalog: an axis (or None for an axis-keyed file),
    a file and a column, and where the configuration was written."""

    axis: str | None
    path: Path
    column: str | None
    origin: str
    #: the folders the file must stay inside (symlinks resolved): the data
    #: root and the catalog roots for configured catalogs; empty for paths
    #: typed on the command line
    confine: tuple[Path, ...] = ()

    def __init__(self, axis: str | None, path: Path, column: str | None, origin: str, confine: tuple[Path, ...] = ()):
        self.axis, self.path, self.column, self.origin, self.confine = axis, path, column, origin, confine


def parse_ref(axis: str | None, spec: str, base: Path, origin: str) -> CatalogRef:
    """``PATH[:COLUMN]`` relative to ``base``."""
    path, column = spec, None
    head, sep, tail = spec.rpartition(":")
    if sep and head and tail and "/" not in tail and "\\" not in tail and not (len(head) == 1 and head.isalpha()):
        path, column = head, tail
    return CatalogRef(axis, (base / path).absolute(), column, origin)


def cli_refs(catalog_json: list[str], catalog_csv: list[str], cwd: Path) -> list[CatalogRef]:
    refs = [CatalogRef(None, (cwd / p).absolute(), None, "--catalog") for p in catalog_json]
    for item in catalog_csv:
        axis, sep, rest = item.partition("=")
        if not sep or not axis or not rest:
            raise UsageError(f"--catalog-csv {item!r}: expected AXIS=PATH[:COLUMN]")
        ref = parse_ref(axis, rest, cwd, "--catalog-csv")
        refs.append(CatalogRef(axis, ref.path, ref.column or DEFAULT_COLUMN, ref.origin))
    return refs


def settings_refs(settings) -> list[CatalogRef]:
    from dataclasses import replace

    where = str(settings.path) if settings.path else "settings"
    roots = (settings.data_root, *settings.catalog_roots)
    return [replace(parse_ref(axis, spec, settings.data_root, where), confine=roots)
            for axis, spec in settings.catalogs.items()]


def load_catalogs(refs: list[CatalogRef], registry) -> tuple[dict[str, Catalog], list[Diagnostic]]:
    """Read every configured catalog. Returns the catalogs by axis and the
    diagnostics of the ones that could not be read (each located)."""
    from cohort_dsl.files import inside

    catalogs: dict[str, Catalog] = {}
    problems: list[Diagnostic] = []
    cache: dict[tuple, dict] = {}
    for ref in refs:
        key = (str(ref.path), ref.column)
        if ref.confine and not any(inside(ref.path, root) for root in ref.confine):
            # never read (nor echo) a file a committed symlink points elsewhere
            problems.append(Diagnostic(CATALOG_ERROR.code, f"catalog {ref.path.name} for {ref.axis or 'its axes'} "
                                       "resolves outside the data root; it is not read", Location(ref.origin), ERROR,
                                       "catalogs configured in the settings must be files under the data root "
                                       "(no '..' and no symlink leaving it) or under a folder listed in "
                                       "catalog-roots; pass others with --catalog-csv"))
            continue
        try:
            loaded = cache.get(key)
            if loaded is None:
                loaded = cache[key] = _load(_source_for(ref.path, registry), ref)
        except SpecError as exc:
            problems.extend(exc.diagnostics)
            continue
        if ref.axis is None:
            if None in loaded:
                problems.append(Diagnostic(CATALOG_ERROR.code, f"catalog {ref.path.name} is not keyed by axis",
                                           Location(str(ref.path), 1), ERROR,
                                           'write {"axis": [values]}, or give the axis: --catalog-csv AXIS=PATH[:COLUMN]'))
                continue
            catalogs.update(loaded)
        elif None in loaded:
            catalogs[ref.axis] = loaded[None]
        elif ref.axis in loaded:
            catalogs[ref.axis] = loaded[ref.axis]
        else:
            problems.append(Diagnostic(CATALOG_ERROR.code, f"catalog {ref.path.name} has no entry for axis {ref.axis!r}",
                                       Location(str(ref.path)), ERROR))
    return catalogs, _dedupe(problems)


def _dedupe(problems: list[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(problems))


def _load(source: CatalogSource, ref: CatalogRef) -> dict:
    """``source.load`` guarded: an exception or an answer that is not
    ``{axis or None: Catalog}`` is a diagnostic naming the plugin."""
    from cohort_dsl import guard

    doing = f"load() of catalog source {source.name!r} reading {ref.path.name}"
    where = Location(str(ref.path))
    loaded = guard.call(source.plugin, doing, source.load, ref.path, ref.column, location=where)
    if not (isinstance(loaded, dict) and all((axis is None or isinstance(axis, str)) and isinstance(catalog, Catalog)
                                             for axis, catalog in loaded.items())):
        raise SpecError(guard.wrong_result(source.plugin, doing, "a dict {axis or None: Catalog}", loaded, where))
    return loaded


def _source_for(path: Path, registry) -> CatalogSource:
    suffix = path.suffix.lower()
    for source in registry.catalog_sources.values():
        if suffix in source.suffixes:
            return source
    known = sorted({s for source in registry.catalog_sources.values() for s in source.suffixes})
    raise error(CATALOG_ERROR.code, f"no catalog source reads {suffix or 'files without a suffix'} files", Location(str(path)),
                f"installed sources read: {', '.join(known)}")


def catalog_files(refs: list[CatalogRef]) -> set[str]:
    return {str(ref.path) for ref in refs}
