"""Membership: rows become stage records with generation ids (docs/cohorts.md,
"Generation ids").

A :class:`Layout` is declarative: a chain of :class:`Stage` objects (the
built-in ``two-phase`` layout is draft -> essay -> evaluation). Each stage
names the columns it reads; its id hashes its parent's id (or, for the first
stage, the combo), its template, its llm (unless the llm is only an
attribute) and its replicate.

Streaming without holding rows: the records of a stage are exactly the
distinct projections of the rows onto the columns that stage (and its
ancestors) read. Projecting a product of factors is the product of the
projected factors, and first-seen order is preserved (both orders are
lexicographic in the factors' first occurrences). So each stage is one pass
over a small product; parent ids come from a bounded memo, and collisions are
found on the factors, so nothing proportional to the rows is held.
"""

from __future__ import annotations

try:  # the C module itself: importing hashlib also loads OpenSSL (~3 ms)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other Python implementations
    from hashlib import blake2b
from dataclasses import dataclass
from itertools import product
from operator import itemgetter
from typing import Iterator, NamedTuple

from cohort_dsl.diagnostics import ERROR, Diagnostic, Location, did_you_mean, error
from cohort_dsl.registry import Layout, LintRule, Stage

LAYOUT_COLUMNS = LintRule("M001", "layout-columns", "The spec lacks a column the membership layout needs.",
                          "The two-phase layout reads combo_id, draft_template, draft_llm, essay_template, essay_llm, "
                          "evaluation_template and evaluation_llm (replicate columns are optional). Missing columns are named.")
ID_COLLISION = LintRule("M002", "gen-id-collision", "Two different stage records get the same generation id.",
                        "The essay id does not include essay_llm, so essays that differ only in essay_llm share an id; values "
                        "that differ only in case or spaces give the same ids too. Both sources are reported.")
# M003 and M006 are emitted where a committed membership is read back (the
# stale-membership check, materialize, cohort_dsl.service); they are
# declared here, with the membership they describe.
STALE_MEMBERSHIP = LintRule("M003", "stale-membership", "A committed membership.csv differs from what the spec now produces.",
                            "The cohort already ran: editing its spec would orphan generations. The diagnostic says how many ids "
                            "would appear and disappear, with examples.")
BAD_REPLICATE = LintRule("M004", "bad-replicate", "A replicate value is not a positive integer.",
                         "Replicate columns hold 1, 2, 3, …")
UNKNOWN_LAYOUT = LintRule("M005", "unknown-layout", "output.layout names a layout that is not installed.",
                          "`cohort-dsl plugins` lists the installed layouts.")
MEMBERSHIP_FORMAT = LintRule("M006", "membership-file", "A membership file cannot be read.",
                             "membership.csv must start with the header stage,gen_id (it is written by materialize).")

DEFAULT_LAYOUT = "two-phase"
SLIM_COLUMNS = ("stage", "gen_id")
WIDE_COLUMNS = ("stage", "gen_id", "origin_cohort_id", "parent_gen_id", "combo_id", "template_id", "llm_model_id", "replicate")

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def normalize(value) -> str:
    """An id component: ``str(v).strip().lower()``."""
    return str(value).strip().lower()


def gen_id(prefix: str, components) -> str:
    """``prefix`` + base 36 of the big-endian BLAKE2b-80 digest of the
    normalised components joined with ``|`` (replicates as integers)."""
    return prefix + _b36_digest("|".join(str(c) if isinstance(c, int) else normalize(c) for c in components))


class Record(NamedTuple):
    """One membership row (the wide columns, in order)."""

    stage: str
    gen_id: str
    origin_cohort_id: str
    parent_gen_id: str
    combo_id: str
    template_id: str
    llm_model_id: str
    replicate: int


def select_layout(compiled, registry, name: str | None = None) -> Layout:
    name = name or compiled.spec.layout or DEFAULT_LAYOUT
    layout = registry.layouts.get(name)
    if layout is None:
        document = compiled.spec.bundle.document
        raise error(UNKNOWN_LAYOUT.code, f"unknown membership layout {name!r}", document.loc(("output", "layout")),
                    did_you_mean(name, registry.layouts) or f"installed layouts: {', '.join(sorted(registry.layouts))}")
    return layout


@dataclass
class _Bound:
    """A stage bound to the columns of one spec."""

    stage: Stage
    combo: str | None
    template: str
    llm: str | None
    replicate: str | None


class Membership:
    """The membership of one compiled spec under one layout."""

    def __init__(self, compiled, layout: Layout, cohort_id: str):
        self.compiled = compiled
        self.layout = layout
        self.cohort_id = cohort_id
        self.diagnostics: list[Diagnostic] = []
        self.counts: dict[str, int] = {}
        self.stages = self._bind()
        self._check_replicates()
        self._check_case_collisions()
        self._attribute_collisions = self._check_attribute_collisions()

    # -- binding and up-front checks ----------------------------------------
    def _bind(self) -> list[_Bound]:
        columns = set(self.compiled.columns)

        def pick(candidates):
            return next((c for c in candidates if c in columns), None)

        bound, missing = [], []
        for i, stage in enumerate(self.layout.stages):
            combo = pick(stage.combo) if i == 0 else None
            template = pick(stage.template)
            llm = pick(stage.llm) if stage.llm else None
            if i == 0 and stage.combo and combo is None:
                missing.append(stage.combo[0])
            if template is None:
                missing.append(stage.template[0])
            if stage.llm and llm is None:
                missing.append(stage.llm[0])
            bound.append(_Bound(stage, combo, template, llm, pick(stage.replicate)))
        if missing:
            document = self.compiled.spec.bundle.document
            layout_loc = document.loc(("output", "layout")) if self.compiled.spec.layout else document.key_loc(("axes",))
            raise error(LAYOUT_COLUMNS.code,
                        f"the {self.layout.name} membership layout needs column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(missing)}, which this spec does not have",
                        layout_loc, "add the axes (or tuples that introduce them), or select another layout with output.layout")
        return bound

    def _origin(self, axis: str, value: str) -> Location:
        return self.compiled.design.origins.get(axis, {}).get(value) or Location(self.compiled.spec.bundle.document.path)

    def _check_replicates(self) -> None:
        self.replicate_values: dict[str, dict[str, int]] = {}
        for b in self.stages:
            if b.replicate is None:
                continue
            values = {}
            for level in self.compiled.design.domain(b.replicate):
                text = level.strip()
                if not (text.isascii() and text.isdigit()) or int(text) < 1:
                    raise error(BAD_REPLICATE.code, f"replicate {level!r} in column {b.replicate!r} is not a positive integer",
                                self._origin(b.replicate, level), "replicates are counted from 1: 1, 2, 3, …")
                values[level] = int(text)
            self.replicate_values[b.replicate] = values

    def _check_case_collisions(self) -> None:
        """Values that differ only in case or surrounding spaces give the
        same ids: report both sources."""
        checked = set()
        for b in self.stages:
            for column in (b.combo, b.template, b.llm if b.stage.llm_in_id else None, b.replicate):
                if column is None or column in checked:
                    continue
                checked.add(column)
                reps = self.replicate_values.get(column)
                groups: dict[str, list[str]] = {}
                for level in self.compiled.design.domain(column):
                    groups.setdefault(str(reps[level]) if reps is not None else normalize(level), []).append(level)
                for same in groups.values():
                    if len(same) > 1:
                        a, b2 = same[0], same[1]
                        self.diagnostics.append(Diagnostic(
                            ID_COLLISION.code,
                            f"{column} values {a!r} ({self._origin(column, a)}) and {b2!r} "
                            + ("are the same number" if reps is not None else "differ only in case or spaces")
                            + ": they give the same generation ids",
                            self._origin(column, b2), ERROR,
                            "replicates are compared as integers; use one spelling" if reps is not None
                            else "ids are case-insensitive; use one spelling"))

    def _check_attribute_collisions(self) -> set[int]:
        """A stage whose llm is an attribute (not part of its id) collides
        when one id key has several llm values. Factors are independent, so
        that happens exactly when, inside the llm's factor, rows that agree
        on the key columns there disagree on the llm: checked on the factor,
        never on the rows. Returns the depths of the colliding stages."""
        colliding = set()
        design = self.compiled.design
        for depth, b in enumerate(self.stages):
            if b.llm is None or b.stage.llm_in_id:
                continue
            keys = set(self._id_columns(depth))
            factor = design.factor_of(b.llm)
            i_llm = factor.axes.index(b.llm)
            idx = [i for i, axis in enumerate(factor.axes) if axis in keys]
            first_llm: dict[tuple, str] = {}
            clashes = 0
            example = None
            for row in factor.rows:
                key = tuple(normalize(row[i]) for i in idx)
                llm = first_llm.setdefault(key, row[i_llm])
                if llm != row[i_llm]:
                    clashes += 1
                    example = example or (llm, row[i_llm])
            if example:
                colliding.add(depth)
                a, c = example
                stage = b.stage.name
                self.diagnostics.append(Diagnostic(
                    ID_COLLISION.code,
                    f"{stage} records that differ only in {b.llm} get the same id: {a!r} ({self._origin(b.llm, a)}) and "
                    f"{c!r} are both used for one {stage}" + (f" ({clashes} such cases in its factor)" if clashes > 1 else ""),
                    self._origin(b.llm, c), ERROR,
                    f"{b.llm} is not part of the {stage} id; couple it to the id columns (a tie or tuple) so each "
                    f"{stage} has one {b.llm}",
                ))
        return colliding

    # -- records --------------------------------------------------------------
    def _id_columns(self, depth: int) -> list[str]:
        """The columns the id of the stage at ``depth`` depends on, its
        ancestors' first (each stage's list extends its parent's)."""
        columns: list[str] = []
        for b in self.stages[: depth + 1]:
            own = [c for c in (b.combo, b.template) if c]
            if b.llm and b.stage.llm_in_id:
                own.append(b.llm)
            if b.replicate:
                own.append(b.replicate)
            columns += own
        return columns

    def _normalizers(self) -> dict[str, dict[str, str]]:
        """level -> id component, per id column (replicates as integers).
        A level that is already its own component is kept as the same
        string object, so large level lists are not copied."""
        design = self.compiled.design
        out = {}
        for depth in range(len(self.stages)):
            for column in self._id_columns(depth):
                if column in out:
                    continue
                reps = self.replicate_values.get(column)
                table = {}
                for level in design.domain(column):
                    norm = str(reps[level]) if reps is not None else normalize(level)
                    table[level] = level if norm == level else norm
                out[column] = table
        return out

    def _display(self, normalizers) -> dict[str, dict[str, str] | None]:
        """id component -> the first way it was written (for output); None
        where every level is written as its component already."""
        out = {}
        for column, table in normalizers.items():
            if all(level is norm for level, norm in table.items()):
                out[column] = None
                continue
            first: dict[str, str] = {}
            for level, norm in table.items():
                first.setdefault(norm, level.strip())
            out[column] = first
        return out

    def _projection(self, columns: list[str], normalizers) -> tuple[list, list[str]]:
        """The distinct rows projected on ``columns`` (id columns as id
        components), per factor, in first-seen order; and the column order
        of a row of their product."""
        lists, flat = [], []
        for factor in self.compiled.design.factors:
            wanted = [(i, a) for i, a in enumerate(factor.axes) if a in columns]
            if not wanted:
                continue
            maps = [(i, normalizers.get(a)) for i, a in wanted]
            rows = (tuple(m[row[i]] if m is not None else row[i] for i, m in maps) for row in factor.rows)
            lists.append(list(dict.fromkeys(rows)))
            flat.extend(a for _, a in wanted)
        return lists, flat

    def _own_positions(self, depth: int) -> list[int]:
        """Positions, in the stage's id key, of its own components (the
        parent's key comes first; the combo belongs to the first stage)."""
        b = self.stages[depth]
        columns = self._id_columns(depth)
        n_parent = len(self._id_columns(depth - 1)) if depth else 0
        return [i for i in range(n_parent, len(columns)) if not (depth and columns[i] == b.combo)]

    def _default_replicate(self, depth: int) -> list[str]:
        """The replicate component when the stage has no replicate column."""
        return [] if self.stages[depth].replicate else ["1"]

    def _id_function(self, depth: int, parent):
        """key (the id columns' components, in order) -> gen id, memoised in
        a bounded dict: rows come in product order, so parents repeat in runs
        and a small memo hits almost always."""
        n_parent = len(self._id_columns(depth - 1)) if depth else 0
        own = self._own_positions(depth)
        tail = self._default_replicate(depth)
        prefix = self.stages[depth].stage.prefix
        memo: dict[tuple, str] = {}

        def id_of(key: tuple) -> str:
            """``key``: the values of the stage's id columns, in order."""
            gid = memo.get(key)
            if gid is None:
                parts = [key[i] for i in own] + tail
                if parent is not None:
                    parts.insert(0, parent(key[:n_parent]))
                gid = prefix + _b36_digest("|".join(parts))
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                memo[key] = gid
            return gid

        return id_of

    def records(self) -> Iterator[Record]:
        """All records: each stage in first-seen order, deduplicated by id.

        Each stage is one pass over the product of the factors projected on
        the columns it reads; nothing proportional to the rows is held."""
        normalizers = self._normalizers()
        display = self._display(normalizers)
        combo_column = self.stages[0].combo
        parent_of = None  # the previous stage's (memoised) id function
        for depth, b in enumerate(self.stages):
            id_columns = self._id_columns(depth)
            parent_columns = self._id_columns(depth - 1) if depth else []
            own_columns = [id_columns[i] for i in self._own_positions(depth)]
            attribute = [b.llm] if b.llm and not b.stage.llm_in_id else []
            lists, flat = self._projection(id_columns + attribute, normalizers)
            at = {column: flat.index(column) for column in flat}
            get_parent_key = _getter([at[c] for c in parent_columns])
            get_own = _getter([at[c] for c in own_columns])
            get_key = _getter([at[c] for c in id_columns])
            tail = tuple(self._default_replicate(depth))
            i_combo, i_template = at.get(combo_column), at[b.template]
            i_llm, i_rep = at.get(b.llm), at.get(b.replicate)
            show_combo = display.get(combo_column) or _IDENTITY
            show_template = display[b.template] or _IDENTITY
            show_llm = (display.get(b.llm) or _IDENTITY) if b.llm and b.stage.llm_in_id else None
            dedupe = set() if depth in self._attribute_collisions else None
            name, cohort, prefix = b.stage.name, self.cohort_id, b.stage.prefix
            count = 0
            for combo in product(*lists):
                row = sum(combo, ())
                if dedupe is not None:  # one llm per record: the first seen
                    key = get_key(row)
                    if key in dedupe:
                        continue
                    dedupe.add(key)
                count += 1
                if parent_of is not None:
                    parent = parent_of(get_parent_key(row))
                    text = "|".join((parent,) + get_own(row) + tail)
                else:
                    parent = ""
                    text = "|".join(get_own(row) + tail)
                llm = row[i_llm] if i_llm is not None else ""
                yield tuple.__new__(Record, (
                    name, prefix + _b36_digest(text), cohort, parent,
                    show_combo[row[i_combo]] if i_combo is not None else "",
                    show_template[row[i_template]],
                    show_llm[llm] if show_llm is not None else llm.strip(),
                    int(row[i_rep]) if i_rep is not None else 1,
                ))
            self.counts[name] = count
            parent_of = self._id_function(depth, parent_of)


def _getter(positions: list[int]):
    """A function row -> tuple of the values at ``positions`` (C speed)."""
    if not positions:
        return lambda row: ()
    if len(positions) == 1:
        i = positions[0]
        return lambda row: (row[i],)
    return itemgetter(*positions)


_MEMO_SIZE = 4096


class _Identity(dict):
    """A display table for values written as their id component."""

    def __missing__(self, value):
        return value


_IDENTITY = _Identity()
_B36_PAIRS = [a + b for a in _DIGITS for b in _DIGITS]


def _b36_digest(text: str) -> str:
    """base36(BLAKE2b-80(text)), without the prefix, two digits at a time:
    2**80 < 1296**8, so eight base-1296 digits always suffice."""
    n = int.from_bytes(blake2b(text.encode("utf-8"), digest_size=10).digest(), "big")
    t = _B36_PAIRS
    n, a = divmod(n, 1296)
    n, b = divmod(n, 1296)
    n, c = divmod(n, 1296)
    n, d = divmod(n, 1296)
    n, e = divmod(n, 1296)
    n, f = divmod(n, 1296)
    n, g = divmod(n, 1296)
    return (t[n] + t[g] + t[f] + t[e] + t[d] + t[c] + t[b] + t[a]).lstrip("0") or "0"


class _Encoded(dict):
    """value -> its encoding, computed once per distinct value."""

    def __init__(self, encode):
        super().__init__()
        self.encode = encode

    def __missing__(self, value):
        text = self[value] = self.encode(value)
        return text


def write_records(records, out, fmt: str = "csv", wide: bool = False) -> int:
    """Write records as CSV (with a header) or JSONL; slim unless ``wide``.
    Every distinct value is encoded once; ids never need quoting."""
    import json

    from cohort_dsl.rows import csv_field

    columns = WIDE_COLUMNS if wide else SLIM_COLUMNS
    if fmt == "csv":
        out.write(",".join(columns) + "\n")
        e = _Encoded(csv_field)
        if wide:
            def line(r):
                return f"{e[r[0]]},{r[1]},{e[r[2]]},{r[3]},{e[r[4]]},{e[r[5]]},{e[r[6]]},{r[7]}\n"
        else:
            def line(r):
                return f"{e[r[0]]},{r[1]}\n"
    else:
        e = _Encoded(lambda v: json.dumps(v, ensure_ascii=False))
        k = [json.dumps(c) + ": " for c in columns]
        if wide:
            def line(r):
                return (f"{{{k[0]}{e[r[0]]}, {k[1]}\"{r[1]}\", {k[2]}{e[r[2]]}, {k[3]}\"{r[3]}\", {k[4]}{e[r[4]]}, "
                        f"{k[5]}{e[r[5]]}, {k[6]}{e[r[6]]}, {k[7]}{r[7]}}}\n")
        else:
            def line(r):
                return f"{{{k[0]}{e[r[0]]}, {k[1]}\"{r[1]}\"}}\n"
    count = 0
    batch = []
    for record in records:
        batch.append(line(record))
        if len(batch) >= 4096:
            out.write("".join(batch))
            count += len(batch)
            batch = []
    out.write("".join(batch))
    return count + len(batch)


def build_membership(compiled, registry, cohort_id: str, layout: str | None = None) -> Membership:
    return Membership(compiled, select_layout(compiled, registry, layout), cohort_id)


__all__ = ["Layout", "Stage", "Record", "Membership", "build_membership", "write_records", "gen_id",
           "SLIM_COLUMNS", "WIDE_COLUMNS"]
