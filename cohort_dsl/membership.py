"""Membership: rows become stage records with generation ids (DESIGN §4).

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
over a small product, and only the distinct parents (drafts, essays) are
held, never the rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from itertools import product
from operator import itemgetter
from typing import Iterator, NamedTuple

from cohort_dsl.diagnostics import ERROR, WARNING, Diagnostic, Location, SpecError, did_you_mean, error

LAYOUT_COLUMNS = "M001"
ID_COLLISION = "M002"
BAD_REPLICATE = "M004"
UNKNOWN_LAYOUT = "M005"

DEFAULT_LAYOUT = "two-phase"
SLIM_COLUMNS = ("stage", "gen_id")
WIDE_COLUMNS = ("stage", "gen_id", "origin_cohort_id", "parent_gen_id", "combo_id", "template_id", "llm_model_id", "replicate")

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(number: int) -> str:
    if number == 0:
        return "0"
    out = []
    while number:
        number, digit = divmod(number, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


def normalize(value) -> str:
    """An id component: ``str(v).strip().lower()``."""
    return str(value).strip().lower()


def gen_id(prefix: str, components) -> str:
    """``prefix`` + base 36 of the big-endian BLAKE2b-80 digest of the
    normalised components joined with ``|`` (replicates as integers)."""
    text = "|".join(str(c) if isinstance(c, int) else normalize(c) for c in components)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=10).digest()
    return prefix + base36(int.from_bytes(digest, "big"))


@dataclass(frozen=True)
class Stage:
    """One generation stage. Column fields list candidates: the first one
    the spec has is used."""

    name: str
    prefix: str
    template: tuple[str, ...]
    llm: tuple[str, ...] = ()
    #: False when the llm is an attribute of the record, not part of its id
    llm_in_id: bool = True
    replicate: tuple[str, ...] = ()
    #: the first stage's id starts with the combo
    combo: tuple[str, ...] = ()
    #: catalog axis whose ``generator`` column gives a record's mode
    mode_axis: str | None = None


@dataclass(frozen=True)
class Layout:
    """A chain of stages; records are emitted stage by stage."""

    name: str
    stages: tuple[Stage, ...]
    summary: str = ""
    plugin: object = None


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
        raise error(UNKNOWN_LAYOUT, f"unknown membership layout {name!r}", document.loc(("output", "layout")),
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
        self._case_collisions = self._check_case_collisions()

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
            raise error(LAYOUT_COLUMNS,
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
                if not text.isdigit() or int(text) < 1:
                    raise error(BAD_REPLICATE, f"replicate {level!r} in column {b.replicate!r} is not a positive integer",
                                self._origin(b.replicate, level), "replicates are counted from 1: 1, 2, 3, …")
                values[level] = int(text)
            self.replicate_values[b.replicate] = values

    def _check_case_collisions(self) -> bool:
        """Values that differ only in case or surrounding spaces give the
        same ids: report both sources."""
        found = False
        checked = set()
        for b in self.stages:
            for column in (b.combo, b.template, b.llm if b.stage.llm_in_id else None):
                if column is None or column in checked:
                    continue
                checked.add(column)
                groups: dict[str, list[str]] = {}
                for level in self.compiled.design.domain(column):
                    groups.setdefault(normalize(level), []).append(level)
                for same in groups.values():
                    if len(same) > 1:
                        found = True
                        a, b2 = same[0], same[1]
                        self.diagnostics.append(Diagnostic(
                            ID_COLLISION,
                            f"{column} values {a!r} ({self._origin(column, a)}) and {b2!r} differ only in case or spaces: "
                            f"they give the same generation ids",
                            self._origin(column, b2), ERROR, "ids are case-insensitive; use one spelling"))
        return found

    # -- records --------------------------------------------------------------
    def _projection(self, columns: list[str]):
        """The distinct rows projected on ``columns``, in first-seen order,
        as (factor lists, getter into column order)."""
        lists, flat = [], []
        for factor in self.compiled.design.factors:
            wanted = [a for a in factor.axes if a in columns]
            if not wanted:
                continue
            idx = [factor.axes.index(a) for a in wanted]
            lists.append(list(dict.fromkeys(tuple(row[i] for i in idx) for row in factor.rows)))
            flat.extend(wanted)
        order = [flat.index(c) for c in columns]
        return lists, order

    def records(self, skip_last: bool = False) -> Iterator[Record]:
        """All records: each stage in first-seen order, deduplicated by id.
        ``skip_last`` stops before the last stage (enough to find collisions)."""
        parent_ids: dict[tuple, str] = {}
        parent_columns: list[str] = []
        collided = self._case_collisions
        last = len(self.stages) - 1
        for depth, b in enumerate(self.stages):
            if skip_last and depth == last:
                return
            stage = b.stage
            id_columns = parent_columns + [c for c in (b.combo, b.template) if c] \
                + ([b.llm] if b.llm and stage.llm_in_id else []) + ([b.replicate] if b.replicate else [])
            attribute = [b.llm] if b.llm and not stage.llm_in_id else []
            combo_column = self.stages[0].combo
            columns = list(dict.fromkeys(id_columns + attribute + ([combo_column] if combo_column else [])))
            lists, order = self._projection(columns)
            pos = {c: i for i, c in enumerate(columns)}
            get_parent_key = itemgetter(*[pos[c] for c in parent_columns]) if parent_columns else None
            get_key = itemgetter(*[pos[c] for c in id_columns])
            reps = self.replicate_values.get(b.replicate, {})
            i_combo = pos.get(combo_column) if combo_column else None
            i_template, i_llm = pos[b.template], (pos[b.llm] if b.llm else None)
            i_rep = pos.get(b.replicate) if b.replicate else None
            own: dict[tuple, str] = {}
            seen: dict[str, tuple] = {}
            # Parents are held (children need their ids); the last stage is
            # streamed unless an earlier collision can repeat its ids.
            keep_all = depth < last or collided
            attribute_positions = [pos[c] for c in attribute]
            count = 0
            collisions = 0
            prefix = stage.prefix
            for combo in product(*lists):
                flat = sum(combo, ())
                row = tuple(flat[i] for i in order)
                replicate = reps[row[i_rep]] if i_rep is not None else 1
                parent = parent_ids[_key(get_parent_key, row)] if get_parent_key else ""
                head = [parent] if parent else [row[i_combo]]
                components = head + [row[i_template]] + ([row[i_llm]] if (i_llm is not None and stage.llm_in_id) else []) + [replicate]
                gid = gen_id(prefix, components)
                key = _key(get_key, row)
                if keep_all:
                    earlier = seen.get(gid)
                    if earlier is not None:
                        own[key] = gid
                        # Case collisions and colliding parents are reported
                        # where they arise; here only this stage's attributes.
                        if any(earlier[i] != row[i] for i in attribute_positions):
                            collisions += 1
                            if collisions == 1:
                                self._report_collision(stage, gid, columns, earlier, row, attribute)
                        collided = True
                        continue
                    seen[gid] = row
                    own[key] = gid
                count += 1
                yield Record(stage.name, gid, self.cohort_id, parent,
                             row[i_combo].strip() if i_combo is not None else "",
                             row[i_template].strip(), row[i_llm].strip() if i_llm is not None else "", replicate)
            if collisions > 1:
                self.diagnostics[-1] = _with_count(self.diagnostics[-1], collisions)
            self.counts[stage.name] = count
            parent_ids = own
            parent_columns = id_columns

    def _report_collision(self, stage: Stage, gid: str, columns: list[str], first: tuple, second: tuple, attribute) -> None:
        column, a, b = next((c, x, y) for c, x, y in zip(columns, first, second) if x != y and c in attribute)
        self.diagnostics.append(Diagnostic(
            ID_COLLISION,
            f"two {stage.name} records get the same id {gid}: they differ only in {column} "
            f"({a!r} at {self._origin(column, a)} and {b!r})",
            self._origin(column, b), ERROR,
            f"{column} is not part of the {stage.name} id; couple it to the id columns (a tie or tuple) so each "
            f"{stage.name} has one {column}",
        ))


def _key(getter, row) -> tuple:
    value = getter(row)
    return value if isinstance(value, tuple) else (value,)


def _with_count(diagnostic: Diagnostic, n: int) -> Diagnostic:
    from dataclasses import replace

    return replace(diagnostic, message=diagnostic.message + f" ({n} such collisions in all)")


def write_records(records, out, fmt: str = "csv", wide: bool = False) -> int:
    """Write records as CSV (with a header) or JSONL; slim unless ``wide``."""
    import json

    from cohort_dsl.rows import csv_field

    columns = WIDE_COLUMNS if wide else SLIM_COLUMNS
    n = len(columns)
    if fmt == "csv":
        out.write(",".join(columns) + "\n")

        def line(r):
            return ",".join(csv_field(v) if isinstance(v, str) else str(v) for v in r[:n]) + "\n"
    else:
        keys = [json.dumps(c) + ": " for c in columns]

        def line(r):
            return "{" + ", ".join(k + json.dumps(v, ensure_ascii=False) for k, v in zip(keys, r)) + "}\n"
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


__all__ = ["Layout", "Stage", "Record", "Membership", "build_membership", "gen_id", "base36", "SpecError",
           "WARNING", "SLIM_COLUMNS", "WIDE_COLUMNS"]
