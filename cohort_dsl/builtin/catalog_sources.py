"""Catalog sources ``csv`` and ``json``.

- CSV: a header row; values come from one column (``id`` unless configured,
  e.g. ``1_raw/draft_templates.csv:template_id``); each value keeps its row.
  A legacy ``active`` column is refused (C002): catalogs are immutable
  inputs and selection belongs in specs.
- JSON: ``[values]``, ``{value: {...}}``, or keyed by axis:
  ``{axis: [values]}`` / ``{axis: {value: {...}}}``.
"""

from __future__ import annotations

from pathlib import Path

from cohort_dsl.catalogs import CATALOG_ERROR, DEFAULT_COLUMN, LEGACY_ACTIVE, Catalog, CatalogSource
from cohort_dsl.diagnostics import Location, did_you_mean, error
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.paths import escape_control


CATALOG_BYTES = 1 << 28  # a catalog is a table of names: 256 MiB is far beyond any
_JSON_DEPTH = 1000  # about what json.loads itself reaches before RecursionError


def _read_text(path: Path) -> str:
    from cohort_dsl.files import read_bounded

    try:
        raw = read_bounded(path, CATALOG_BYTES)
    except FileNotFoundError:
        siblings = [p.name for p in path.parent.iterdir()] if path.parent.is_dir() else []
        raise error(CATALOG_ERROR.code, f"catalog file {path.name} not found", Location(str(path)),
                    did_you_mean(path.name, siblings) or "check the catalog paths in the config (relative to the data root)") from None
    except OSError as exc:
        raise error(CATALOG_ERROR.code, f"catalog file {path.name} cannot be read: {exc.strerror or exc}", Location(str(path))) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise error(CATALOG_ERROR.code, f"catalog {path.name} is not valid UTF-8", Location(str(path), line)) from None


def load_csv(path: Path, column: str | None) -> dict:
    import csv
    import io

    column = column or DEFAULT_COLUMN
    shown = str(path)
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    catalog = Catalog(shown, column)
    header = None
    index = 0
    try:
        for record in reader:
            if not record or not any(cell.strip() for cell in record):
                continue
            cells = [cell.strip() for cell in record]
            if header is None:
                header = cells
                if "active" in header:
                    raise error(LEGACY_ACTIVE.code, f"catalog {path.name} has a legacy 'active' column",
                                Location(shown, reader.line_num, _col(record, header.index("active"))),
                                "catalogs list what exists and never change meaning: `cohort-dsl migrate-catalogs "
                                "--write` turns the active rows into subset includes (selections/<axis>.csv) for "
                                "specs and drops the column")
                if column not in header:
                    shown_columns = ", ".join(escape_control(h[:40]) for h in header[:20]) + (", …" if len(header) > 20 else "")
                    raise error(CATALOG_ERROR.code, f"catalog {path.name} has no column {column!r} (columns: {shown_columns})",
                                Location(shown, reader.line_num),
                                did_you_mean(column, header) or "name the column after the path: PATH:COLUMN")
                index = header.index(column)
                continue
            if index >= len(cells) or not cells[index]:
                continue  # an empty id names nothing
            value = cells[index]
            if value not in catalog.rows:
                catalog.rows[value] = dict(zip(header, cells))
                catalog.locations[value] = Location(shown, reader.line_num)
    except csv.Error as exc:
        raise error(CATALOG_ERROR.code, f"malformed CSV: {exc}", Location(shown, reader.line_num)) from None
    if header is None:
        raise error(CATALOG_ERROR.code, f"catalog {path.name} is empty (it needs a header row)", Location(shown, 1))
    return {None: catalog}


def _col(record: list[str], index: int) -> int:
    """The 1-based character column of a field (unquoted CSV)."""
    return sum(len(cell) + 1 for cell in record[:index]) + 1


def load_json(path: Path, column: str | None) -> dict:
    import json

    from cohort_dsl.document import load_yaml

    from cohort_dsl.limits import Limits

    shown = str(path)
    text = _read_text(path)
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(CATALOG_ERROR.code, f"invalid JSON: {exc.msg}", Location(shown, exc.lineno, exc.colno)) from None
    except RecursionError:
        raise error(CATALOG_ERROR.code, f"catalog {path.name} is nested too deeply to be a catalog", Location(shown, 1)) from None
    # Valid JSON has no aliases to expand: it is bounded by its size alone
    # (CATALOG_BYTES), not by the limits meant for hand-written specs.
    document = load_yaml(text, shown, Limits(max_document_bytes=CATALOG_BYTES, max_yaml_nodes=CATALOG_BYTES,
                                             max_yaml_depth=_JSON_DEPTH))  # for positions

    def one(data, path_in_doc) -> Catalog:
        catalog = Catalog(shown, column)
        if isinstance(data, list):
            items = [(v, None, path_in_doc + (i,)) for i, v in enumerate(data)]
        elif isinstance(data, dict):
            items = [(k, v if isinstance(v, dict) else None, path_in_doc + (k,)) for k, v in data.items()]
        else:
            raise error(CATALOG_ERROR.code, f"catalog {path.name}: expected a list of values or a mapping", document.loc(path_in_doc))
        for value, row, where in items:
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise error(CATALOG_ERROR.code, f"catalog {path.name}: values must be text, found {value!r}", document.loc(where))
            value = str(value)
            catalog.rows.setdefault(value, row)
            catalog.locations.setdefault(value, document.key_loc(where) if isinstance(data, dict) else document.loc(where))
        return catalog

    data = document.data
    if isinstance(data, dict) and data and all(isinstance(v, (list, dict)) for v in data.values()) \
            and not all(isinstance(v, dict) and not any(isinstance(x, (list, dict)) for x in v.values()) for v in data.values()):
        return {axis: one(values, (axis,)) for axis, values in data.items()}
    return {None: one(data, ())}


@hookimpl
def cohort_dsl_catalog_sources():
    return [
        CatalogSource("csv", (".csv",), load_csv, "a CSV file with a header; values from one column (default 'id')"),
        CatalogSource("json", (".json",), load_json, "[values], {value: attrs}, or keyed by axis: {axis: [values]}"),
    ]
