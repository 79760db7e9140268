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
from cohort_dsl.diagnostics import Location, SpecError, UsageError, did_you_mean, error
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
    from cohort_dsl.files import sha256_file

    out = []
    for key, path in (("membership", root.membership_file(cohort_id)), ("wide", root.wide_file(cohort_id))):
        recorded = manifest.get(key, {}).get("sha256") if isinstance(manifest.get(key), dict) else None
        if recorded is None or not path.is_file():
            continue
        try:
            if sha256_file(path) == recorded:  # the bytes as written (at C speed); else compared as data
                continue
        except OSError:
            pass
        if _data_digest(path) != recorded:
            out.append(path)
    return out


# -- reading membership files by header names ---------------------------------
# Membership files are read in chunks of whole lines. A chunk without quotes
# or carriage returns (what materialize writes for generation ids) is split
# with str methods; anything else goes through the csv module from there on.
CHUNK_CHARS = 1 << 22


def _where(path: Path, cohort_id: str | None) -> str:
    return f"{path.name} of cohort {cohort_id}" if cohort_id else path.name


def read_columns(path: Path, wanted: tuple[str, ...], optional: tuple[str, ...] = (), *,
                 cohort_id: str | None = None):
    """The columns ``wanted`` (required) and ``optional`` (None when the
    header lacks one) of a membership file, found by header name: yields,
    chunk by chunk, one list of values per column. A wider file (more
    columns, another order) is read the same; an unreadable one is a
    located ``M006`` naming the file and its cohort."""
    import csv
    import io
    from itertools import chain

    from cohort_dsl.files import open_text

    shown, what = str(path), _where(path, cohort_id)
    try:
        with open_text(path) as handle:
            first = handle.readline()
            header = [h.strip() for h in next(csv.reader([first]), [])] if first.strip() else None
            missing = [name for name in wanted if header is None or name not in header]
            if missing:
                has = f" (it has: {','.join(header)[:200]})" if header else " (it is empty)"
                raise error(MEMBERSHIP_FORMAT.code, f"{what} must have a header naming the columns {','.join(wanted)}{has}",
                            Location(shown, 1), "it is written by `cohort-dsl materialize`; do not edit it by hand")
            width = len(header)
            positions = [header.index(name) for name in wanted] + \
                        [header.index(name) if name in header else None for name in optional]
            line, rest = 1, ""
            while True:
                chunk = handle.read(CHUNK_CHARS)
                if not chunk and not rest:
                    return
                chunk = rest + (chunk or "\n")
                cut = chunk.rfind("\n") + 1
                body, rest = chunk[:cut], chunk[cut:]
                columns = _split_chunk(body, width, positions) if '"' not in chunk and "\r" not in chunk else None
                if columns is None:  # quotes, carriage returns, blank or ragged lines: the csv module from here
                    rows = csv.reader(chain(io.StringIO(body + rest + handle.readline()), handle))
                    yield from _csv_chunks(rows, line, width, positions, what, shown)
                    return
                if columns[0]:
                    yield columns
                line += body.count("\n")
    except UnicodeDecodeError:
        raise error(MEMBERSHIP_FORMAT.code, f"{what} is not valid UTF-8", Location(shown)) from None
    except csv.Error as exc:
        raise error(MEMBERSHIP_FORMAT.code, f"{what}: malformed CSV: {exc}", Location(shown)) from None
    except OSError as exc:
        raise error(MEMBERSHIP_FORMAT.code, f"cannot read {what}: {exc.strerror or exc}", Location(shown)) from None


def _wrong_width(what: str, shown: str, fields: int, width: int, line: int):
    return error(MEMBERSHIP_FORMAT.code, f"{what}: row has {fields} fields, expected {width}", Location(shown, line))


def _split_chunk(body: str, width: int, positions: list) -> list | None:
    """The columns of a chunk of whole, unquoted lines (ending in a newline),
    or None unless every line has ``width`` fields. Line ends become fields
    of their own, so one ``split`` gives every field and the line ends must
    fall exactly every ``width + 1`` fields (a C-speed check of every line)."""
    lines = body.count("\n")
    if not lines:
        return [[] if p is not None else None for p in positions]
    fields = body[:-1].replace("\n", ",\n,").split(",")
    step = width + 1
    if len(fields) != lines * step - 1 or fields[width::step].count("\n") != lines - 1:
        return None
    return [fields[p::step] if p is not None else None for p in positions]


def _csv_chunks(rows, line: int, width: int, positions: list, what: str, shown: str):
    """The columns of the rest of a file through the csv module (quoted
    fields, carriage returns), in chunks of 65,536 rows."""
    present = [p for p in positions if p is not None]
    columns: list[list] = [[] for _ in present]
    for row in rows:
        if not row:
            continue
        if len(row) != width:
            raise _wrong_width(what, shown, len(row), width, line + rows.line_num)
        for column, p in zip(columns, present):
            column.append(row[p])
        if len(columns[0]) >= 1 << 16:
            yield _with_absent(columns, positions)
            columns = [[] for _ in present]
    if columns[0]:
        yield _with_absent(columns, positions)


def _with_absent(columns: list, positions: list) -> list:
    """The columns read, with None where ``positions`` has an absent column."""
    found = iter(columns)
    return [next(found) if p is not None else None for p in positions]


def iter_slim(path: Path, cohort_id: str | None = None):
    """``(stage, gen_id)`` rows of a ``membership.csv``, streamed in file
    order (columns found by header name)."""
    for stages, gen_ids in read_columns(path, SLIM_COLUMNS, cohort_id=cohort_id):
        yield from zip(stages, gen_ids)


def iter_rows(path: Path, columns: tuple[str, ...], cohort_id: str | None = None):
    """Rows of a membership file as tuples of the named ``columns`` (all
    required), streamed in file order."""
    for chunk in read_columns(path, tuple(columns), cohort_id=cohort_id):
        yield from zip(*chunk)


def read_slim(path: Path) -> list[tuple[str, str]]:
    return list(iter_slim(path))


def read_wide(path: Path, cohort_id: str | None = None) -> list[Record]:
    """The records of a wide membership file; columns by header name (any
    columns after the wide ones are a record's extras); a missing
    ``replicate`` is 1."""
    return list(iter_wide(path, cohort_id))


def iter_wide(path: Path, cohort_id: str | None = None):
    header = _header(path)  # an unreadable one is reported by read_columns
    required = WIDE_COLUMNS[:-1]
    extras = tuple(h for h in header if h not in WIDE_COLUMNS)
    for chunk in read_columns(path, required, (WIDE_COLUMNS[-1], *extras), cohort_id=cohort_id):
        *head, replicates = chunk[:len(WIDE_COLUMNS)]
        extra_columns = chunk[len(WIDE_COLUMNS):]
        if replicates is None:
            replicates = ["1"] * len(head[0])
        for values in zip(*head, replicates, *extra_columns):
            replicate = values[len(required)]
            yield Record(*values[:len(required)], int(replicate) if replicate.isdigit() else 1,
                         *values[len(required) + 1:])


class UnknownName(UsageError, LookupError):
    """A cohort, stage or gen id the data root does not have (the message
    names it, with a did-you-mean hint where one helps)."""

    def __init__(self, kind: str, name: str, message: str):
        super().__init__(message)
        self.kind, self.name = kind, name


_NONE = -1  # the parent of a first-stage id
_UNRECORDED = -2  # the parent of an id whose cohort has no record of it (no wide membership file)
_HASH_BITS = 0x3FFFFFFF  # hashes in one machine digit: sorted and compared at C speed


class _Index:
    """Every gen id of a data root: which cohorts hold it (built on the
    first question) and its parent and children (on the first such
    question), in flat arrays rather than a Python object per id.

    Rows are the ``membership.csv`` rows of every cohort (sorted), one
    after the other. ``text`` holds their gen ids, one per line, and
    ``starts`` where each begins; ``hashes`` is the 30-bit hash of each
    row's id and ``rows`` the rows ordered by it, so a question is a
    bisection and a comparison of the few rows that share the hash. About
    50 bytes per row in all (parents and children add 24), and each answer
    a few microseconds."""

    def __init__(self, service: "MembershipService"):
        from array import array
        from itertools import accumulate

        self.service = service
        self.cohorts: list[str] = []
        self.firsts: list[int] = []  # the first row of each cohort
        self.problems: dict[str, SpecError] = {}
        pieces: list[str] = []
        lengths: list[int] = []
        hashes: list[int] = []
        rows = 0
        for cohort in service.cohorts():
            path = service.membership_path(cohort)
            try:
                gen_ids = []
                for _, id_column in read_columns(path, SLIM_COLUMNS, cohort_id=cohort):
                    gen_ids.extend(id_column)
                piece = "\n".join(gen_ids) + "\n" if gen_ids else ""
                if piece.count("\n") != len(gen_ids):  # a quoted id with a line break: the text is one id a line
                    raise error(MEMBERSHIP_FORMAT.code, f"{_where(path, cohort)}: a gen id contains a line break",
                                Location(str(path)))
            except SpecError as exc:
                self.problems[cohort] = exc
                continue
            self.cohorts.append(cohort)
            self.firsts.append(rows)
            rows += len(gen_ids)
            pieces.append(piece)
            lengths.extend(map((1).__add__, map(len, gen_ids)))
            hashes.extend(map(_HASH_BITS.__and__, map(hash, gen_ids)))
        self.text = "".join(pieces)
        del pieces
        self.starts = array("Q", accumulate(lengths, initial=0))
        del lengths
        # rows by hash (stable: the rows of one id stay in cohort order);
        # bisected through the hashes, never gathered into a second array.
        # Sorted while the hashes are still a list (whose items need no boxing).
        self.rows = array("l", sorted(range(rows), key=hashes.__getitem__))
        self.hashes = array("i", hashes)  # by row (30 bits)
        del hashes
        self._parents = self._by_parent = None

    def gen_id(self, row: int) -> str:
        return self.text[self.starts[row]:self.starts[row + 1] - 1]

    def cohort(self, row: int) -> str:
        from bisect import bisect_right

        return self.cohorts[bisect_right(self.firsts, row) - 1]

    def rows_of(self, gen_id: str) -> list[int]:
        """The rows that hold ``gen_id``, in cohort order."""
        from bisect import bisect_left

        key, hashes, rows = hash(gen_id) & _HASH_BITS, self.hashes, self.rows
        at, out = bisect_left(rows, key, key=hashes.__getitem__), []
        while at < len(rows) and hashes[rows[at]] == key:
            if self.gen_id(rows[at]) == gen_id:
                out.append(rows[at])
            at += 1
        return out

    # -- parents and children (built on the first such question) ------------
    def parents(self):
        """The parent row of each row (built on the first parent question)."""
        if self._parents is None:
            from array import array

            parents = array("l")
            for number, cohort in enumerate(self.cohorts):
                end = self.firsts[number + 1] if number + 1 < len(self.firsts) else len(self.starts) - 1
                parents.extend(self._cohort_parents(cohort, self.firsts[number], end))
            self._parents = parents
        return self._parents

    def by_parent(self):
        """Rows ordered by parent row (stable: a parent's children in
        first-seen order), so the children of a row are a bisection away;
        built on the first children question."""
        if self._by_parent is None:
            from array import array

            parents = self.parents()
            self._by_parent = array("l", sorted(range(len(parents)), key=parents.__getitem__))
        return self._by_parent

    def parent_rows(self):
        """``(parents(), by_parent())``."""
        return self.parents(), self.by_parent()

    def _cohort_parents(self, cohort: str, first: int, end: int):
        """The parent row of each of a cohort's rows: from a ``parent_gen_id``
        column of its membership.csv (the wider files of older tools), else
        from the wide file beside it (row for row, as materialize writes it,
        or by id for a set out of step)."""
        from itertools import repeat

        root = self.service.root
        count, text = end - first, self.text[self.starts[first]:self.starts[end]]
        source, wanted = root.membership_file(cohort), ("gen_id", "parent_gen_id")
        try:
            if "parent_gen_id" not in _header(source):
                source = root.wide_file(cohort)
                if not source.is_file():
                    return [_UNRECORDED] * count
            ids, parents = [], []
            for id_column, parent_values in read_columns(source, wanted, cohort_id=cohort):
                ids.extend(id_column)
                parents.extend(parent_values)
        except SpecError as exc:
            self.problems[cohort] = exc
            return [_UNRECORDED] * count
        if len(ids) != count or "\n".join(ids) + ("\n" if ids else "") != text:
            # out of step with membership.csv (see M013): by id
            parent_of = dict(zip(ids, parents))
            ids = text.split("\n")[:-1]
            parents = [parent_of.get(gid) for gid in ids]
        row_of = dict(zip(ids, range(first, end)))
        row_of[""] = _NONE
        return map(row_of.get, parents, repeat(_UNRECORDED))

    def parent_of(self, row: int) -> int:
        return self.parents()[row]

    def children_of(self, row: int) -> list[int]:
        from bisect import bisect_left, bisect_right

        parents, by_parent = self.parents(), self.by_parent()
        return list(by_parent[bisect_left(by_parent, row, key=parents.__getitem__):
                              bisect_right(by_parent, row, key=parents.__getitem__)])

    def near(self, word: str) -> list[str]:
        """Ids that share the first or the last half of ``word`` (for a
        did-you-mean: a scan of the ids, only when one is unknown)."""
        import re

        half = max(1, len(word) // 2)
        pattern = re.compile(rf"^(?:{re.escape(word[:half])}[^\n]*|[^\n]*{re.escape(word[half:])})$", re.M)
        found: dict[str, None] = {}
        for match in pattern.finditer(self.text):
            found[match.group(0)] = None
            if len(found) >= 2000:
                break
        return list(found)


def _header(path: Path) -> list[str]:
    import csv

    from cohort_dsl.files import open_text

    try:
        with open_text(path) as handle:
            return [h.strip() for h in next(csv.reader([handle.readline()]), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


class MembershipService:
    """Queries over the materialized cohorts of a data root.

    ``cohorts_containing``, ``parent`` and ``children`` answer from an index
    of every gen id, built on the first such call and rebuilt when a
    membership file changes (each call compares the files' ``stat``:
    inode, size, modification and change times). A cohort whose files
    cannot be read is reported by name (:meth:`problems`, and the error of
    a query about it) without breaking queries about the others. A name the
    data root does not have raises :class:`UnknownName` — never an empty
    answer."""

    def __init__(self, data_root: str | Path | DataRoot):
        self.root = data_root if isinstance(data_root, DataRoot) else DataRoot(data_root)
        self.data_root = self.root.path
        self._records: dict[str, list[Record]] = {}
        self._index: _Index | None = None
        self._signature = None

    # -- cohorts --------------------------------------------------------------
    def cohorts(self) -> list[str]:
        """Every cohort with a ``membership.csv``, sorted."""
        return self.root.materialized_ids()

    def membership_path(self, cohort_id: str) -> Path:
        return self.root.membership_file(cohort_id)

    def require(self, cohort_id: str) -> str:
        """``cohort_id`` if it is materialized; :class:`UnknownName` naming
        it (with did-you-mean) otherwise."""
        self.root.check_cohort_id(cohort_id)  # not a folder name: a usage error naming it
        if self.root.membership_file(cohort_id).is_file():
            return cohort_id
        known = self.cohorts()
        if self.root.config(cohort_id).is_file():
            raise UnknownName("cohort", cohort_id, f"cohort {cohort_id!r} has a spec but no membership.csv under "
                              f"{self.root.cohorts_dir}: run `cohort-dsl materialize {cohort_id}` first")
        hint = did_you_mean(cohort_id, known) or (f"materialized cohorts: {', '.join(known)}" if known
                                                  else "no cohort is materialized there")
        raise UnknownName("cohort", cohort_id, f"no materialized cohort {cohort_id!r} under "
                          f"{self.root.cohorts_dir} ({hint})")

    def membership(self, cohort_id: str) -> list[tuple[str, str]]:
        """The ``(stage, gen_id)`` rows of a materialized cohort."""
        return list(iter_slim(self.membership_path(self.require(cohort_id)), cohort_id))

    def stages(self, cohort_id: str) -> list[str]:
        """The stages of a cohort: its layout's (from manifest.json), then any
        other stage its membership.csv holds."""
        self.require(cohort_id)
        seen: dict[str, None] = dict.fromkeys(self._manifest(cohort_id).get("stages", {}) or {})
        for stages, _ in read_columns(self.membership_path(cohort_id), SLIM_COLUMNS, cohort_id=cohort_id):
            seen.update(dict.fromkeys(stages))
        return list(seen)

    def _manifest(self, cohort_id: str) -> dict:
        import json

        from cohort_dsl.files import read_bounded

        try:
            manifest = json.loads(read_bounded(self.root.manifest_file(cohort_id), 1 << 24))
        except (OSError, ValueError):
            return {}
        return manifest if isinstance(manifest, dict) else {}

    def gen_ids(self, cohort_id: str, stage: str | None = None) -> list[str]:
        """Gen ids of ``stage`` (all stages if None) in a cohort, in file
        order. An unknown cohort or stage raises :class:`UnknownName`; a
        stage of the cohort's layout that has no id gives ``[]``."""
        self.require(cohort_id)
        out: list[str] = []
        seen: set[str] = set()
        for stages, ids in read_columns(self.membership_path(cohort_id), SLIM_COLUMNS, cohort_id=cohort_id):
            if stage is None:
                out.extend(ids)
                continue
            seen.update(stages)
            out.extend(gid for s, gid in zip(stages, ids) if s == stage)
        if stage is not None and stage not in seen:
            known = list(dict.fromkeys([*(self._manifest(cohort_id).get("stages", {}) or {}), *sorted(seen)]))
            if stage not in known:
                raise UnknownName("stage", stage, f"cohort {cohort_id!r} has no stage {stage!r} "
                                  f"({did_you_mean(str(stage), known) or 'its stages: ' + ', '.join(known)})")
        return out

    def check(self, cohort_id: str) -> list:
        """Problems of a cohort's materialized set (``M013``: files that do
        not belong together); empty when the set is whole."""
        return set_problems(self.root, cohort_id)

    def records(self, cohort_id: str) -> list[Record]:
        """The wide records of a cohort (parents, templates, llms, …)."""
        self.require(cohort_id)
        if cohort_id not in self._records:
            path = self.root.wide_file(cohort_id)
            if not path.is_file():
                raise UnknownName("cohort", cohort_id, f"cohort {cohort_id!r} has no {path.name}: rerun "
                                  f"`cohort-dsl materialize {cohort_id}` to write it")
            self._records[cohort_id] = read_wide(path, cohort_id)
        return self._records[cohort_id]

    def record(self, gen_id: str) -> Record:
        """The wide record of a gen id (from the first cohort, in sorted
        order, that holds it): its wide membership file, or the
        membership.csv of older tools when that has the wide columns."""
        cohort = self.cohorts_containing(gen_id)[0]
        path = self.root.wide_file(cohort)
        if not path.is_file():
            path = self.membership_path(cohort)
            if not set(WIDE_COLUMNS[:-1]) <= set(_header(path)):
                raise UnknownName("gen id", gen_id, f"cohort {cohort!r} holds {gen_id!r} but has no "
                                  f"{self.root.wide_file(cohort).name}: rerun `cohort-dsl materialize {cohort}` "
                                  "to write it")
        if cohort in self._records:
            return next(r for r in self._records[cohort] if r.gen_id == gen_id)
        for record in iter_wide(path, cohort):
            if record.gen_id == gen_id:
                return record
        raise UnknownName("gen id", gen_id, f"{path.name} of cohort {cohort!r} lacks {gen_id!r}, which its "
                          "membership.csv holds: the set is mixed (see M013); rerun materialize")

    # -- gen ids across cohorts -------------------------------------------------
    def _stat_signature(self) -> tuple:
        out = []
        for cohort in self.cohorts():
            for path in (self.root.membership_file(cohort), self.root.wide_file(cohort), self.root.manifest_file(cohort)):
                try:
                    st = path.stat()
                except OSError:
                    out.append((cohort, path.name))
                else:
                    out.append((cohort, path.name, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        return tuple(out)

    def index(self) -> _Index:
        """The index of every gen id, (re)built when a membership file changed."""
        signature = self._stat_signature()
        if self._index is None or signature != self._signature:
            self._records.clear()
            self._index, self._signature = _Index(self), signature
        return self._index

    def problems(self) -> dict[str, list]:
        """Cohorts whose membership files cannot be read: cohort -> diagnostics."""
        return {cohort: exc.diagnostics for cohort, exc in self.index().problems.items()}

    def _rows(self, gen_id: str) -> list[int]:
        index = self.index()
        rows = index.rows_of(gen_id) if isinstance(gen_id, str) else []
        if rows:
            return rows
        hint = did_you_mean(gen_id, index.near(gen_id)) if isinstance(gen_id, str) and gen_id else None
        unread = "".join(f"; cohort {c!r} could not be read: {e.diagnostics[0].message}"
                         for c, e in sorted(index.problems.items()))
        raise UnknownName("gen id", str(gen_id), f"gen id {gen_id!r} is in no materialized cohort under "
                          f"{self.root.cohorts_dir}{' (' + hint + ')' if hint else ''}{unread}")

    def cohorts_containing(self, gen_id: str) -> list[str]:
        """The cohorts that hold a gen id, each once, sorted."""
        index = self.index()
        return list(dict.fromkeys(index.cohort(row) for row in self._rows(gen_id)))

    def parent(self, gen_id: str) -> str | None:
        """The parent gen id (a draft for an essay, an essay for an
        evaluation); None for a first-stage id."""
        rows, index = self._rows(gen_id), self._index
        for row in rows:
            parent = index.parent_of(row)
            if parent != _UNRECORDED:
                return None if parent == _NONE else index.gen_id(parent)
        cohort = index.cohort(rows[0])
        why = index.problems[cohort].diagnostics[0].message if cohort in index.problems else \
            f"cohort {cohort!r} has no {self.root.wide_file(cohort).name}"
        raise UnknownName("gen id", gen_id, f"the parent of {gen_id!r} is not recorded: {why}; rerun "
                          f"`cohort-dsl materialize {cohort}` to write it")

    def parents(self, gen_id: str) -> list[str]:
        """The ancestors of a gen id, nearest first."""
        chain, current = [], self.parent(gen_id)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.parent(current)
        return chain

    def children(self, gen_id: str) -> list[str]:
        """Essays of a draft, evaluations of an essay (first-seen order)."""
        index = self.index()
        children = (index.gen_id(child) for row in self._rows(gen_id) for child in index.children_of(row))
        return list(dict.fromkeys(children))

    def refresh(self) -> None:
        """Forget what was read (the index is also rebuilt by itself when a
        membership file changes)."""
        self._records.clear()
        self._index = None
