"""``@file:`` includes: resolved inside the bundle, read into located rows.

Formats (by extension):

- ``.csv``: UTF-8 (BOM allowed), header row required, CRLF fine, blank lines
  skipped, cells stripped; an empty cell or a short/long row is an error at
  ``file:row``. Columns are matched by header name.
- ``.txt``: one value per line, blank lines skipped.
- ``.yaml``/``.yml``/``.json``: a list (of values, or of rows for relations).
"""

from __future__ import annotations

import os
from array import array
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from sys import intern

from cohort_dsl.diagnostics import Location, SpecError, did_you_mean, error
from cohort_dsl.levels import as_level, number_problems
from cohort_dsl.limits import Limits
from cohort_dsl.records import Record
from cohort_dsl.registry import LintRule

PREFIX = "@file:"

INCLUDE_MISSING = LintRule("I001", "include-missing", "An @file: include does not exist (or is a folder).",
                           "Includes are resolved relative to the spec folder. The diagnostic suggests a close file name.")
INCLUDE_ESCAPE = LintRule("I002", "include-escape", "An @file: include leaves the spec folder.",
                          "A bundle must be self-contained so that it can be reviewed and reproduced: `..`, absolute paths and "
                          "symlinks that resolve outside the bundle are refused.")
INCLUDE_FORMAT = LintRule("I003", "include-format", "An include cannot be read: bad extension, encoding, JSON/YAML or CSV shape.",
                          "Includes are .csv (UTF-8, header row), .txt (one value per line), or .yaml/.yml/.json (a list). "
                          "Rows with too few or too many fields, duplicate header names, a missing header and invalid JSON are "
                          "reported at their row.")
INCLUDE_EMPTY_CELL = LintRule("I004", "include-empty-cell", "A CSV include has an empty cell.",
                              "Every cell of a CSV include must hold a value; the diagnostic gives the file and row.")
INCLUDE_TOO_LARGE = LintRule("I005", "include-too-large", "An include is above the size or row limit.",
                             "Includes are bounded (limits.max-include-bytes, limits.max-levels) so that a wrong file cannot "
                             "exhaust memory.")
INCLUDE_COLUMNS = LintRule("I006", "include-columns", "A CSV include's header does not match what the rule expects.",
                           "Columns of CSV includes are matched by header name, never by position: a tuple's CSV must name its "
                           "axes, a pair's CSV its sides (a tuple side by its axes). Missing and unexpected columns are "
                           "reported at the header.")

SUFFIXES = (".csv", ".txt", ".yaml", ".yml", ".json")


def is_include(value) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Include(Record):
    """The rows of one included file, each with the place it was written.

    CSV rows are tuples of strings matched by ``header``; rows of a list file
    (txt/yaml/json) are its items as read (``header`` is None).
    """

    path: str
    header: tuple[str, ...] | None
    rows: list
    locations: Sequence[Location]  # a LineLocations for CSV and .txt: made when read
    header_line: int = 1
    #: the source text of items YAML typed as non-text (for hints), by index
    raws: dict = None

    def __init__(self, path: str, header: tuple[str, ...] | None, rows: list, locations: Sequence[Location],
                 header_line: int = 1, raws: dict = None):
        self.path, self.header, self.rows, self.locations = path, header, rows, locations
        self.header_line, self.raws = header_line, raws

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def distinct(self, column: int) -> int:
        """How many distinct values a CSV column holds."""
        if isinstance(self.rows, OneColumn):
            return len(set(self.rows.cells))
        return len({row[column] for row in self.rows})

    def header_location(self) -> Location:
        return Location(self.path, self.header_line)

    def column(self, axis: str | None) -> tuple[list[str], Sequence[Location]]:
        """The include's levels and, aligned with them, where each was
        written (made when read, for a CSV or .txt). A CSV must have one
        column, or a column named after ``axis``."""
        if self.header is None:
            if self.raws is None:  # a .txt: its lines are text
                return self.rows, self.locations
            raws = self.raws
            return [as_level(v, loc, raws.get(i)) for i, (v, loc) in enumerate(zip(self.rows, self.locations))], self.locations
        if len(self.header) == 1:
            index = 0
        elif axis in self.header:
            index = self.header.index(axis)
        else:
            target = f"a column named {axis!r}" if axis else "one column"
            raise error(
                INCLUDE_COLUMNS.code,
                f"{self.name} has {len(self.header)} columns ({', '.join(self.header)}); expected one column or {target}",
                self.header_location(),
                hint=did_you_mean(axis, self.header) if axis else None,
            )
        if isinstance(self.rows, OneColumn):
            return self.rows.cells, self.locations
        return list(map(itemgetter(index), self.rows)), self.locations

    def select(self, columns: list[str], what: str) -> list[tuple[tuple, Location]]:
        """CSV rows projected onto ``columns``, located (see :meth:`project`)."""
        return list(zip(*self.project(columns, what)))

    def project(self, columns: list[str], what: str) -> tuple[list[tuple], Sequence[Location]]:
        """CSV rows projected onto ``columns`` (matched by header name, in any
        order), and where each was written. Every column must be present
        and no other column may be. In header order, the rows are the
        include's own (not to be changed)."""
        assert self.header is not None
        header = self.header
        missing = [c for c in columns if c not in header]
        extra = [c for c in header if c not in columns]
        if missing or extra:
            parts = []
            if missing:
                parts.append("missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(repr(c) for c in missing))
            if extra:
                parts.append("unexpected column" + ("s " if len(extra) > 1 else " ") + ", ".join(repr(c) for c in extra))
            hint = f"the header must name {what}: {', '.join(columns)}"
            if missing and extra:
                close = did_you_mean(missing[0], extra)
                hint = close + " " + hint if close else hint
            raise error(INCLUDE_COLUMNS.code, f"{self.name}: {'; '.join(parts)}", self.header_location(), hint)
        order = [header.index(c) for c in columns]
        if order == list(range(len(header))):
            return self.rows, self.locations
        return list(map(itemgetter(*order), self.rows)), self.locations  # a permutation of two or more columns


def resolve(ref: str, bundle_dir: Path, at: Location) -> Path:
    """The file an ``@file:`` reference names, confined to the bundle."""
    rel = ref[len(PREFIX):].strip()
    if not rel:
        raise error(INCLUDE_MISSING.code, "empty @file: reference", at, hint="write @file:items/name.csv")
    if "\0" in rel:
        raise error(INCLUDE_MISSING.code, f"include {rel!r} contains a NUL character", at)
    try:
        return _resolve(rel, bundle_dir, at)
    except OSError as exc:  # a name too long for the file system, …
        raise error(INCLUDE_MISSING.code, f"include {rel[:60]!r}{'…' if len(rel) > 60 else ''} cannot be used: {exc.strerror}",
                    at) from None


def _resolve(rel: str, bundle_dir: Path, at: Location) -> Path:
    if os.path.isabs(rel) or rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":"):
        raise error(INCLUDE_ESCAPE.code, f"include {rel!r} is an absolute path", at,
                    hint="includes are relative to the spec folder; copy the file into it")
    parts = rel.replace("\\", "/").split("/")
    if ".." in parts:
        raise error(INCLUDE_ESCAPE.code, f"include {rel!r} leaves the spec folder ('..')", at,
                    hint="a spec bundle must be self-contained; copy the file into the spec folder")
    target = bundle_dir / rel
    try:
        real = target.resolve(strict=False)
        root = bundle_dir.resolve()
    except (OSError, RuntimeError) as exc:  # symlink loops
        raise error(INCLUDE_MISSING.code, f"include {rel!r} cannot be resolved: {exc}", at) from None
    if real != root and root not in real.parents:
        raise error(INCLUDE_ESCAPE.code, f"include {rel!r} resolves outside the spec folder (a symlink)", at,
                    hint="a spec bundle must be self-contained; copy the file instead of linking it")
    if not target.exists():
        siblings = []
        if target.parent.is_dir():
            siblings = [p.name for p in target.parent.iterdir()]
        raise error(INCLUDE_MISSING.code, f"include {rel!r} not found", at, hint=did_you_mean(target.name, siblings))
    if target.is_dir():
        raise error(INCLUDE_MISSING.code, f"include {rel!r} is a directory, not a file", at)
    if target.suffix.lower() not in SUFFIXES:
        raise error(INCLUDE_FORMAT.code, f"include {rel!r} has an unsupported extension", at,
                    hint="use .csv, .txt, .yaml, .yml or .json")
    return target


def read(path: Path, at: Location, limits: Limits) -> Include:
    """Read an include (already resolved) into rows with locations."""
    shown = str(path)
    from cohort_dsl.files import TooLarge, read_bounded

    try:
        raw = read_bounded(path, limits.max_include_bytes)
    except TooLarge:
        raise error(INCLUDE_TOO_LARGE.code,
                    f"include {path.name} is above the limit of {limits.max_include_bytes:,} bytes",
                    at, hint="raise limits.max-include-bytes in the config if this is intended") from None
    except OSError as exc:
        raise error(INCLUDE_MISSING.code, f"include {path.name} cannot be read: {exc.strerror or exc}", at) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise error(INCLUDE_FORMAT.code, f"{path.name} is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                    Location(shown, line), hint="save the file as UTF-8") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        include = _read_csv(text, shown)
    elif suffix == ".txt":
        include = _read_txt(text, shown)
    else:
        include = _read_list_document(text, shown, suffix, limits)
    if len(include.rows) > limits.max_levels:
        raise error(INCLUDE_TOO_LARGE.code,
                    f"include {path.name} has {len(include.rows):,} rows, above the limit of {limits.max_levels:,}",
                    at, hint="raise limits.max-levels in the config if this is intended")
    if not include.rows:
        raise error(INCLUDE_FORMAT.code, f"include {path.name} has no rows", Location(shown, 1), hint="an include must list at least one value")
    return include


class Survey:
    """What one streaming pass over an include tells without parsing it:
    at most how many rows it has (``rows_at_most``: its line breaks, less
    a CSV header) and its first bytes, from which :meth:`distinct_at_least`
    counts distinct values up to a cap. Refusing a huge product needs no
    more (see :func:`cohort_dsl.compiler.refuse_huge_product`)."""

    #: bytes of the file kept for :meth:`distinct_at_least`
    PREFIX_BYTES = 1 << 20

    __slots__ = ("suffix", "rows_at_most", "prefix", "complete")

    @classmethod
    def of(cls, path: Path, limits: Limits) -> "Survey | None":
        """The survey of a CSV or .txt include (None for a list document,
        whose items are not lines). Raises OSError (TooLarge above the byte
        limit) when the file cannot be read."""
        return cls(path, limits) if path.suffix.lower() in (".csv", ".txt") else None

    def __init__(self, path: Path, limits: Limits):
        from cohort_dsl.files import read_chunks

        self.suffix = path.suffix.lower()
        breaks, size, kept, chunk = 0, 0, [], b""
        for chunk in read_chunks(path, limits.max_include_bytes):
            # a \r\n split between two chunks counts twice: still at most
            breaks += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
            if size < self.PREFIX_BYTES:
                kept.append(chunk)
            size += len(chunk)
        self.prefix = b"".join(kept)
        self.complete = len(self.prefix) == size
        unended = not chunk.endswith((b"\n", b"\r"))  # a last line without a break
        self.rows_at_most = breaks + unended - (self.suffix == ".csv")

    def distinct_at_least(self, column: str, cap: int) -> int | None:
        """How many distinct values the include's ``column`` (a CSV's only
        column, or the one so named; a .txt's lines) holds, counted up to
        ``cap``: the count is exact when it is below ``cap``. None when the
        kept bytes do not tell (not plain text, not enough of them, a
        quote, a short row…): the include must then be read."""
        lines = self._lines()
        index, width = 0, 1
        try:
            if self.suffix == ".csv":
                header = tuple(map(str.strip, next(lines, "").split(",")))
                width = len(header)
                if not all(header) or len(set(header)) != width or (width > 1 and column not in header):
                    return None
                index = header.index(column) if width > 1 else 0
            seen: set = set()
            for line in lines:
                if len(line) > _FIELD_LIMIT or '"' in line or "\0" in line:
                    return None
                if not line.strip():
                    continue  # a blank line
                cells = line.split(",") if self.suffix == ".csv" else (line,)
                if len(cells) != width or not all(map(str.strip, cells)):
                    return None  # the reader reports it
                seen.add(cells[index].strip())
                if len(seen) >= cap:
                    return cap
        except UnicodeDecodeError:
            return None
        return len(seen) if self.complete else None

    def _lines(self, piece: int = 1 << 16):
        """The whole lines of the kept bytes, decoded a piece at a time (the
        first thousand values need not split a megabyte)."""
        data, start, end = self.prefix, 0, len(self.prefix)
        if not self.complete:
            end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        codec = "utf-8-sig"
        while start < end:
            stop = min(start + piece, end)
            if stop < end:  # at a line break (a character never spans one)
                stop = max(data.rfind(b"\n", start, stop), data.rfind(b"\r", start, stop)) + 1 or end
            text = data[start:stop].decode(codec)
            codec, start = "utf-8", stop
            if "\r" in text:  # \r\n, \r and \n each end a line; a \r\n cut in two adds a blank line
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            yield from text.split("\n")


_FIELD_LIMIT = 131_072  # csv.field_size_limit() by default


def _read_csv(text: str, path: str) -> Include:
    return _read_plain_csv(text, path) or _read_any_csv(text, path)


def _read_plain_csv(text: str, path: str) -> Include | None:
    """The common case at C speed: no quotes, no NUL, no blank line, every
    row as wide as the header, no empty cell. Anything else returns None
    and :func:`_read_any_csv` reads the file (and locates the problem)."""
    if '"' in text or "\0" in text:
        return None
    if "\r" in text:  # line numbers as csv counts them: \r\n, \r and \n each end a line
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    first, newline, body = text.partition("\n")
    if body.endswith("\n"):
        body = body[:-1]
    if not body:  # no row (or no header): the csv module's reading says what is wrong
        return None
    header = tuple(map(str.strip, first.split(",")))
    width = len(header)
    if not all(header) or len(set(header)) != width or len(first) > _FIELD_LIMIT:
        return None
    if width == 1:
        if "," in body:  # a row wider than the header
            return None
        cells = body.split("\n")
    else:
        # one split gives every cell, with each line end as a cell of its own:
        # every line is as wide as the header exactly when the line ends fall
        # every ``width + 1`` cells (a C-speed check of every line)
        cells, lines, step = body.replace("\n", ",\n,").split(","), body.count("\n") + 1, width + 1
        if len(cells) != lines * step - 1 or cells[width::step].count("\n") != lines - 1:
            return None
        del cells[width::step]
    if len(body) > _FIELD_LIMIT and max(map(len, cells)) > _FIELD_LIMIT:  # csv refuses a longer field
        return None
    if body.split(None, 1) != [body]:  # whitespace somewhere: cells are stripped
        cells = list(map(str.strip, cells))
    if "" in cells:
        return None
    if width == 1:
        rows = OneColumn(cells)
    else:
        # a relation (pairs, tuples) repeats its values: one string each, not one per cell
        cells = list(map(intern, cells))
        rows = list(zip(*[iter(cells)] * width))
    return Include(path, header, rows, LineLocations(path, range(2, 2 + len(rows))), 1)


class OneColumn(Sequence):
    """The rows of a one-column CSV, ``(cell,)`` each, made when read: the
    cells are held once, not a tuple per row."""

    __slots__ = ("cells",)

    def __init__(self, cells: list[str]):
        self.cells = cells

    def __len__(self) -> int:
        return len(self.cells)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(zip(self.cells[index]))
        return (self.cells[index],)

    def __iter__(self):
        return zip(self.cells)

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, (list, Sequence)) else NotImplemented


class LineLocations(Sequence):
    """The locations of lines of one file, made when read: ``lines`` is a
    ``range`` (consecutive lines) or an ``array('I')`` of line numbers, so
    an include of a million rows is counted, and its levels held, without
    a million Location objects (~100 bytes each)."""

    __slots__ = ("path", "lines")

    def __init__(self, path: str, lines):
        self.path, self.lines = path, lines

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return line_locations(self.path, self.lines[index])
        return Location(self.path, self.lines[index])

    def __iter__(self):
        return iter(line_locations(self.path, self.lines))


def line_locations(path: str, lines) -> list[Location]:
    """``[Location(path, line) for line in lines]``, at C speed: the frozen
    dataclass's ``__init__`` costs ~1.8 µs a call; its slots are filled
    directly instead (the objects are the same and as immutable)."""
    made = list(map(object.__new__, repeat(Location, len(lines))))
    for slot, values in ((Location.path, repeat(path)), (Location.line, lines), (Location.col, repeat(None))):
        deque(map(slot.__set__, made, values), maxlen=0)
    return made


def _read_any_csv(text: str, path: str) -> Include:
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    physical = None  # source lines, split only if a record looks blank
    header = None
    header_line = 1
    rows: list[tuple[str, ...]] = []
    lines = array("I")
    start = 1
    try:
        for record in reader:
            line = reader.line_num
            start = line + 1  # where the next record starts (for csv.Error)
            if not record or (len(record) == 1 and not record[0].strip()):
                if physical is None:
                    from cohort_dsl.document import editor_lines

                    physical = editor_lines(text)
                if line > len(physical) or not physical[line - 1].strip():
                    continue  # a blank line; a quoted "" is an empty cell
            cells = tuple(cell.strip() for cell in record)
            if header is None:
                header, header_line = cells, line
                for index, name in enumerate(cells):
                    if not name:
                        raise error(INCLUDE_FORMAT.code, f"header column {index + 1} has no name", Location(path, line),
                                    hint="every CSV include needs a header row naming its columns")
                    if name in cells[:index]:
                        raise error(INCLUDE_FORMAT.code, f"duplicate column name {name!r} in the header", Location(path, line))
                continue
            if len(cells) != len(header):
                raise error(INCLUDE_FORMAT.code,
                            f"row has {len(cells)} field{'s' if len(cells) != 1 else ''}, the header has {len(header)}",
                            Location(path, line),
                            hint="quote values that contain commas" if len(cells) > len(header) else None)
            for name, cell in zip(header, cells):
                if not cell:
                    raise error(INCLUDE_EMPTY_CELL.code, f"empty cell in column {name!r}", Location(path, line))
            rows.append(cells)
            lines.append(line)
    except csv.Error as exc:  # e.g. an unterminated quote: where its record began
        raise error(INCLUDE_FORMAT.code, f"malformed CSV: {exc}", Location(path, start)) from None
    if header is None:
        raise error(INCLUDE_FORMAT.code, "CSV include is empty (it needs a header row)", Location(path, 1))
    return Include(path, header, rows, LineLocations(path, lines), header_line)


def _read_txt(text: str, path: str) -> Include:
    from cohort_dsl.document import editor_lines

    values = list(map(str.strip, editor_lines(text)))
    if all(values):
        return Include(path, None, values, LineLocations(path, range(1, 1 + len(values))))
    lines = array("I", (number for number, value in enumerate(values, start=1) if value))
    return Include(path, None, list(filter(None, values)), LineLocations(path, lines))


def _read_list_document(text: str, path: str, suffix: str, limits: Limits) -> Include:
    from cohort_dsl.document import load_yaml

    if suffix == ".json":
        import json

        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise error(INCLUDE_FORMAT.code, f"invalid JSON: {exc.msg}", Location(path, exc.lineno, exc.colno)) from None
        except RecursionError:
            raise error(INCLUDE_FORMAT.code, "JSON is nested too deeply", Location(path, 1)) from None
    try:
        doc = load_yaml(text, path, limits)  # JSON is YAML: one reader gives positions for both
    except SpecError as exc:
        raise SpecError([_as_include_error(d) for d in exc.diagnostics]) from None
    # Every scalar of a list include is a level (or a cell of a row): a
    # number not written in canonical decimal (`010`, `0x1F`, `1e3`) is
    # refused at its line, never rewritten.
    problems = list(doc.diagnostics) + number_problems(doc, lambda path: ("level", False))
    if problems:
        raise SpecError(problems)
    if not isinstance(doc.data, list):
        kind = "nothing" if doc.data is None else type(doc.data).__name__.replace("dict", "a mapping").replace("str", "a string")
        raise error(INCLUDE_FORMAT.code, f"{os.path.basename(path)} must hold a list, found {kind}", doc.loc(()))
    count = len(doc.data)
    raws = {i: doc.raw((i,)) for i in range(count) if doc.raw((i,)) is not None}
    return Include(path, None, list(doc.data), [doc.loc((i,)) for i in range(count)], raws=raws)


def _as_include_error(diagnostic):
    from dataclasses import replace

    from cohort_dsl.document import YAML_SYNTAX

    return replace(diagnostic, code=INCLUDE_FORMAT.code) if diagnostic.code == YAML_SYNTAX.code else diagnostic
