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
over a small product; a parent id is looked up by key among the previous
stage's ids (so the factor order does not matter), and collisions are
found on the factors: what is held is bounded by the ids of two
consecutive stages, never by the rows.
"""

from __future__ import annotations

try:  # the C module itself: importing hashlib also loads OpenSSL (~3 ms)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other Python implementations
    from hashlib import blake2b
from dataclasses import dataclass
from itertools import chain, islice, product
from operator import itemgetter
from typing import Iterator

from cohort_dsl.diagnostics import Diagnostic, Location, did_you_mean, error
from cohort_dsl.records import Record as PlainRecord  # a stage record is this module's Record
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
                            "The cohort already ran: editing its spec would orphan generations. The diagnostic says what the "
                            "edit adds and removes — values, grouped by cause — and points at the edited line when it can "
                            "tell; `cohort-dsl diff COHORT` lists the records, `materialize --dry-run` previews them.")
BAD_REPLICATE = LintRule("M004", "bad-replicate", "A replicate value is not a positive integer.",
                         "Replicate columns hold 1, 2, 3, …")
UNKNOWN_LAYOUT = LintRule("M005", "unknown-layout", "output.layout names a layout that is not installed.",
                          "`cohort-dsl plugins` lists the installed layouts.")
MEMBERSHIP_FORMAT = LintRule("M006", "membership-file", "A membership file cannot be read.",
                             "membership.csv must start with the header stage,gen_id (it is written by materialize).")
UNREAD_AXIS = LintRule("M009", "unread-axis", "An axis varies but no generation id reads it: rows collapse.",
                       "Every axis with more than one level must reach a generation id, or be an attribute the layout "
                       "carries (the essay's essay_llm): otherwise rows that differ only in that axis become one "
                       "generation and the axis vanishes from the membership. Put the axis into a stage's id with "
                       "`output.layout: {name: two-phase, draft: {id: [AXIS]}}` (see docs/cohorts.md), couple it to an "
                       "id column, or remove it. The diagnostic says how many rows collapse into how many generations.")
ID_SEPARATOR = LintRule("M010", "id-separator", "An id component contains the separator `|` or a control character.",
                        "Id components are joined with `|` before hashing, so `a|b` + `c` and `a` + `b|c` would hash the "
                        "same text: a value of a column that reaches an id may not contain `|`, a line break or another "
                        "control character. The diagnostic points at the value.")
DUPLICATE_ID = LintRule("M011", "duplicate-gen-id", "Two distinct records of a stage got the same generation id.",
                        "Checked while records are streamed (memory bounded by the distinct ids of a stage): two "
                        "different id keys hashed to one id. Nothing is written; report it, with the spec.")
LAYOUT_OPTIONS = LintRule("M012", "layout-options", "output.layout names a stage or axis its layout does not have.",
                          "`output.layout: {name: two-phase, STAGE: {id: [AXIS, ...]}}` adds axes to a stage's id: the "
                          "stage must be one of the layout's and each axis one of the spec's that the stage does not "
                          "already read.")

DEFAULT_LAYOUT = "two-phase"
SLIM_COLUMNS = ("stage", "gen_id")
WIDE_COLUMNS = ("stage", "gen_id", "origin_cohort_id", "parent_gen_id", "combo_id", "template_id", "llm_model_id", "replicate")
SEPARATOR = "|"
DEFAULT_REPLICATE = "1"

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def normalize(value) -> str:
    """An id component: ``str(v).strip().lower()``."""
    return str(value).strip().lower()


def signature(parent: str | None, own) -> str:
    """The text an id hashes: the parent's id (if any), then the stage's
    own components, joined with ``|``. The one place the text is built."""
    return SEPARATOR.join((parent, *own) if parent else own)


def gen_id(prefix: str, components) -> str:
    """``prefix`` + base 36 of the big-endian BLAKE2b-80 digest of the
    normalised components joined with ``|`` (replicates as integers)."""
    return prefix + _b36_digest(signature(None, [str(c) if isinstance(c, int) else normalize(c) for c in components]))


class Record(tuple):
    """One membership row: the wide columns, in order, then the values of
    any axes a spec added to stage ids (``extras``)."""

    __slots__ = ()
    FIELDS = WIDE_COLUMNS

    def __new__(cls, stage, gen_id, origin_cohort_id, parent_gen_id, combo_id, template_id, llm_model_id, replicate,
                *extras):
        return tuple.__new__(cls, (stage, gen_id, origin_cohort_id, parent_gen_id, combo_id, template_id, llm_model_id,
                                   replicate, *extras))

    stage = property(itemgetter(0))
    gen_id = property(itemgetter(1))
    origin_cohort_id = property(itemgetter(2))
    parent_gen_id = property(itemgetter(3))
    combo_id = property(itemgetter(4))
    template_id = property(itemgetter(5))
    llm_model_id = property(itemgetter(6))
    replicate = property(itemgetter(7))

    @property
    def extras(self) -> tuple:
        """The values of the id axes beyond the fixed columns (``Membership.wide_columns`` after ``replicate``)."""
        return self[8:]

    def __repr__(self) -> str:
        named = ", ".join(f"{name}={value!r}" for name, value in zip(self.FIELDS, self))
        return f"Record({named}{', extras=' + repr(self.extras) if self.extras else ''})"


def layout_request(spec) -> tuple[str | None, dict]:
    """``output.layout``: a layout name, or ``{name: ..., STAGE: {id: [AXIS,
    ...]}}``. Returns the name (None: the default) and STAGE -> the axes the
    spec adds to that stage's id."""
    value = spec.layout
    if not isinstance(value, dict):
        return value, {}
    return value.get("name"), {stage: list(options.get("id", ())) for stage, options in value.items() if stage != "name"}


def select_layout(compiled, registry, name: str | None = None) -> Layout:
    name = name or layout_request(compiled.spec)[0] or DEFAULT_LAYOUT
    layout = registry.layouts.get(name)
    if layout is None:
        document = compiled.spec.bundle.document
        where = ("output", "layout", "name") if isinstance(compiled.spec.layout, dict) else ("output", "layout")
        raise error(UNKNOWN_LAYOUT.code, f"unknown membership layout {name!r}", document.loc(where),
                    did_you_mean(name, registry.layouts) or f"installed layouts: {', '.join(sorted(registry.layouts))}")
    return layout


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class BoundStage(PlainRecord):
    """A stage bound to the columns of one spec."""

    stage: Stage
    combo: str | None
    template: str | None
    llm: str | None
    replicate: str | None
    #: id columns after the replicate, each also a wide column: the
    #: stage's declared ``columns``, the other axes (``other_axes``), then
    #: the axes the spec adds (output.layout)
    extras: tuple[str, ...] = ()

    def __init__(self, stage: Stage, combo: str | None, template: str | None, llm: str | None, replicate: str | None,
                 extras: tuple[str, ...] = ()):
        self.stage, self.combo, self.template, self.llm, self.replicate = stage, combo, template, llm, replicate
        self.extras = extras

    @property
    def attributes(self) -> list[str]:
        """Columns carried on the record but not hashed into its id."""
        return [self.llm] if self.llm and not self.stage.llm_in_id else []

    def own_slots(self, first: bool) -> list[str | None]:
        """The stage's own id components in signature order: column names,
        None for the default replicate."""
        slots: list[str | None] = [self.combo] if first and self.combo else []
        if self.template:
            slots.append(self.template)
        if self.llm and self.stage.llm_in_id:
            slots.append(self.llm)
        slots.append(self.replicate)  # None: the default replicate
        return slots + list(self.extras)


class Membership:
    """The membership of one compiled spec under one layout.

    Binding and the up-front checks (:mod:`cohort_dsl.membership_checks`)
    run when it is made and fill :attr:`diagnostics`; :meth:`records`
    streams the records."""

    def __init__(self, compiled, layout: Layout, cohort_id: str):
        from cohort_dsl import membership_checks

        self.compiled = compiled
        self.layout = layout
        self.cohort_id = cohort_id
        self.diagnostics: list[Diagnostic] = []
        self.counts: dict[str, int] = {}
        self.stages = self._bind()
        self.replicate_values = membership_checks.replicates(self)
        membership_checks.run_all(self)

    # -- binding --------------------------------------------------------------
    def _bind(self) -> list[BoundStage]:
        columns = set(self.compiled.columns)
        document = self.compiled.spec.bundle.document
        _, extras = layout_request(self.compiled.spec)

        def pick(candidates):
            return next((c for c in candidates if c in columns), None)

        bound, missing = [], []
        for i, stage in enumerate(self.layout.stages):
            combo = pick(stage.combo) if i == 0 else None
            template = pick(stage.template)
            llm = pick(stage.llm) if stage.llm else None
            if i == 0 and stage.combo and combo is None:
                missing.append(stage.combo[0])
            if stage.template and template is None:
                missing.append(stage.template[0])
            if stage.llm and llm is None:
                missing.append(stage.llm[0])
            missing += [column for column in stage.columns if column not in columns]
            bound.append(BoundStage(stage, combo, template, llm, pick(stage.replicate), tuple(stage.columns)))
        if missing:
            layout_loc = document.loc(("output", "layout")) if self.compiled.spec.layout else document.key_loc(("axes",))
            renamed = [f"{old} (rename it {new})" for old, new in self.layout.renamed.items()
                       if old in columns and new in missing]
            raise error(LAYOUT_COLUMNS.code,
                        f"the {self.layout.name} membership layout needs column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(missing)}, which this spec does not have",
                        layout_loc,
                        (f"the spec has {', '.join(renamed)}: the layout reads one name per column, so catalogs and "
                         "checks see it" if renamed else
                         "add the axes (or tuples that introduce them), or select another layout with output.layout"))
        by_name = {b.stage.name: b for b in bound}
        for stage_name in extras:
            if stage_name not in by_name:
                raise error(LAYOUT_OPTIONS.code, f"the {self.layout.name} layout has no stage {stage_name!r}",
                            document.key_loc(("output", "layout", stage_name)),
                            did_you_mean(stage_name, by_name) or f"its stages: {', '.join(by_name)}")
        claimed = {c for depth, b in enumerate(bound) for c in [*b.own_slots(depth == 0), *b.attributes] if c}
        claimed |= {axis for axes in extras.values() for axis in axes}
        for b in bound:
            if b.stage.other_axes:
                b.extras += tuple(c for c in self.compiled.columns if c not in claimed)
        reads: set[str] = set()  # what this stage's id reads already, its ancestors' included
        for depth, b in enumerate(bound):
            reads |= {c for c in b.own_slots(depth == 0) if c} | set(b.attributes)
            for i, axis in enumerate(extras.get(b.stage.name, ())):
                at = document.loc(("output", "layout", b.stage.name, "id", i))
                if axis not in columns:
                    raise error(LAYOUT_OPTIONS.code, f"{axis!r} is not an axis of this spec", at,
                                did_you_mean(axis, columns))
                if axis in reads:
                    raise error(LAYOUT_OPTIONS.code, f"the {b.stage.name} id already reads {axis}", at,
                                "list only axes the stage (and the stages before it) do not read")
                reads.add(axis)
            b.extras += tuple(extras.get(b.stage.name, ()))
        return bound

    def origin(self, axis: str, value: str) -> Location:
        """Where a level was written (the spec file when unknown)."""
        return self.compiled.design.origins.get(axis, {}).get(value) or Location(self.compiled.spec.bundle.document.path)

    def id_columns(self, depth: int) -> list[str]:
        """The columns the id of the stage at ``depth`` depends on, its
        ancestors' first (each stage's list extends its parent's)."""
        columns: list[str] = []
        for i, b in enumerate(self.stages[: depth + 1]):
            columns += [c for c in b.own_slots(i == 0) if c is not None]
        return columns

    def read_columns(self) -> set[str]:
        """Every column some stage's id reads or some stage carries."""
        out = set(self.id_columns(len(self.stages) - 1))
        for b in self.stages:
            out.update(b.attributes)
        return out

    @property
    def extra_columns(self) -> list[str]:
        """Axes specs added to stage ids, in stage order: the wide
        membership's columns after ``replicate``."""
        return list(dict.fromkeys(axis for b in self.stages for axis in b.extras))

    @property
    def wide_columns(self) -> tuple[str, ...]:
        return WIDE_COLUMNS + tuple(self.extra_columns)

    # -- records --------------------------------------------------------------
    def normalizers(self) -> dict[str, dict[str, str]]:
        """level -> id component, per id column (replicates as integers).
        A level that is already its own component is kept as the same
        string object, so large level lists are not copied."""
        design = self.compiled.design
        out = {}
        for column in self.id_columns(len(self.stages) - 1):
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

    def projection(self, columns, normalizers) -> tuple[list, list[list[str]]]:
        """The distinct rows projected on ``columns`` (id columns as id
        components), per factor, in first-seen order; and each projected
        factor's axes. Projecting a product of factors is the product of the
        projected factors, in the same first-seen order."""
        lists, axes = [], []
        for factor in self.compiled.design.factors:
            wanted = [(i, a) for i, a in enumerate(factor.axes) if a in columns]
            if not wanted:
                continue
            maps = [(i, normalizers.get(a)) for i, a in wanted]
            rows = (tuple(m[row[i]] if m is not None else row[i] for i, m in maps) for row in factor.rows)
            lists.append(list(dict.fromkeys(rows)))
            axes.append([a for _, a in wanted])
        return lists, axes

    def records(self) -> Iterator[Record]:
        """All records: each stage in first-seen order, deduplicated by id.

        Each stage is one pass over the product of the factors projected on
        the columns it reads. A stage's ids are kept by key for the next
        stage (whatever the factor order, a parent is one dict lookup away),
        with the set of the stage's ids, which proves no two distinct records
        share one (a hash collision raises ``M011``): memory is bounded by
        the ids of two consecutive stages, never by the rows."""
        return chain.from_iterable(self._stages(None))

    def lines(self, fmt: str = "csv", wide: bool = False) -> Iterator[str]:
        """The records as the lines ``write_records`` writes (CSV: the
        header first), made straight from the stages: each field is
        encoded once per factor row, not once per record."""
        header = [_csv_line(self.wide_columns if wide else SLIM_COLUMNS)] if fmt == "csv" else []
        return chain(header, chain.from_iterable(self._stages((fmt, wide))))

    def line_pairs(self) -> Iterator[tuple[str, str]]:
        """``(slim line, wide line)`` of each record, as CSV, the headers
        first: what materialize writes, from one pass."""
        header = (_csv_line(SLIM_COLUMNS), _csv_line(self.wide_columns))
        return chain([header], chain.from_iterable(self._stages(("csv", _BOTH))))

    def summary(self) -> dict[str, dict] | None:
        """Per stage, what manifest.json lists — ``count``, the distinct
        ``templates`` and ``llms`` shown, the records per ``replicate`` —
        and the distinct ``combos`` (under ``None``), from the projected
        factors: a stage's records are their product, so no record is made.
        None when a stage keeps one llm per id (M002): then its records are
        not the whole product and must be counted."""
        if self.attribute_collisions:
            return None
        normalizers = self.normalizers()
        display = self._display(normalizers)
        out: dict = {None: set()}
        for depth, b in enumerate(self.stages):
            lists, names = self._shown(depth, self.projection(self.id_columns(depth) + b.attributes, normalizers),
                                       display)
            sizes = [len(rows) for rows in lists]
            total = 1
            for size in sizes:
                total *= size
            stats = out[b.stage.name] = {"count": total, "templates": set(), "llms": set(), "replicates": {}}
            if not total:
                continue
            where, start = {}, 0  # field -> (its factor, its position there)
            for k, rows in enumerate(lists):
                for j, name in enumerate(names[start:start + len(rows[0])]):
                    where[name] = (k, j)
                start += len(rows[0])
            shown = {name[1]: [row[j] for row in lists[k]] for name, (k, j) in where.items() if name in _SHOWN_FIELDS}
            stats["templates"] = {v for v in shown["template_id"] if v}
            stats["llms"] = {v for v in shown["llm_model_id"] if v}
            out[None] |= {v for v in shown["combo_id"] if v}
            each = total // sizes[where[(_SHOWN, "replicate")][0]]  # the records of a row of the replicate's factor
            for value in shown["replicate"]:
                stats["replicates"][value] = stats["replicates"].get(value, 0) + each
        return out

    def _stages(self, shape) -> Iterator[Iterator]:
        """Each stage's records, or lines (``shape``: ``(format, wide)``);
        a stage's ids are complete when the next stage starts."""
        normalizers = self.normalizers()
        display = self._display(normalizers)
        encode = _field_encoder(shape[0]) if shape else None
        parents: dict[tuple, str] | None = None
        for depth in range(len(self.stages)):
            ids: dict[tuple, str] | None = {} if depth + 1 < len(self.stages) else None
            yield self._stage_records(depth, normalizers, display, parents, ids, encode, shape)
            parents = ids

    def _stage_records(self, depth: int, normalizers, display, parents, ids, encode, shape) -> Iterator:
        """The records (or lines) of one stage; ``parents``: the previous
        stage's id key -> gen id; ``ids`` (None for the last stage) is
        filled with this stage's. The projected factor rows carry, after the
        id components, the record's shown fields (``_shown``; encoded with
        ``encode`` for lines), so a record is its row's fields behind a
        constant head."""
        b = self.stages[depth]
        id_columns = self.id_columns(depth)
        lists, flat = self._shown(depth, self.projection(id_columns + b.attributes, normalizers), display, encode)
        at = {column: flat.index(column) for column in flat}
        parent_positions = [at[c] for c in self.id_columns(depth - 1)] if depth else []
        get_parent_key = _getter(parent_positions)
        own = [at[slot if slot is not None else _DEFAULT] for slot in b.own_slots(depth == 0)]
        get_own = _getter(own)
        get_key = _getter([at[c] for c in id_columns])
        get_shown = _getter([at[field] for field in _SHOWN_FIELDS] + [at[(_SHOWN, c)] for c in self.extra_columns])
        dedupe = set() if depth in self.attribute_collisions else None
        name, prefix = b.stage.name, b.stage.prefix
        make = _line_maker(shape, encode, name, self.cohort_id, get_shown) if shape else \
            _record_maker(name, self.cohort_id, get_shown)
        seen: set[int] = set()
        seen_add, join, from_bytes, pairs = seen.add, SEPARATOR.join, int.from_bytes, _B36_PAIRS
        # copies of one blank state: ~2x faster than a new blake2b(digest_size=10)
        # per id (looked up per run: tests stand a constant digest in for it)
        blank_hash = blake2b(digest_size=10).copy
        *outer, inner = _blocked(lists)
        width = sum(len(rows[0]) for rows in outer if rows)  # a head's (the outer factors') columns
        # The stage's own text per inner row, when the inner block holds all
        # of it (then it is the same under every head).
        inner_own = None
        if all(i >= width for i in own):
            get_inner = _getter([i - width for i in own])
            inner_own = [join(get_inner(tail)) for tail in inner]
        # The inner rows grouped by the part of the parent key they hold:
        # one parent lookup per group and head, not per record.
        group_of, firsts = [0] * len(inner), {}
        if depth:
            get_part = _getter([i - width for i in parent_positions if i >= width])
            groups: dict[tuple, int] = {}
            group_of = [groups.setdefault(get_part(tail), len(groups)) for tail in inner]
            for tail, group in zip(inner, group_of):
                firsts.setdefault(group, tail)  # in group order: groups are numbered as first seen
        # Per head, the own texts and the parents depend only on the head's
        # values in those columns, which repeat across heads whatever the
        # axes' declaration order: remembered by those values (bounded).
        get_head_own = _getter([i for i in own if i < width])
        get_head_parent = _getter([i for i in parent_positions if i < width])
        owns_of, found_of, remembered = {}, {}, 0
        for head in product(*outer):
            head = sum(head, ())
            owns = inner_own
            if owns is None:
                owns = owns_of.get(part := get_head_own(head))
                if owns is None:
                    owns = [join(get_own(head + tail)) for tail in inner]
                    if remembered < _REMEMBERED:
                        owns_of[part], remembered = owns, remembered + len(owns)
            found = None
            if parents is not None:
                found = found_of.get(part := get_head_parent(head))
                if found is None:
                    found = [parents[get_parent_key(head + tail)] for tail in firsts.values()]
                    if remembered < _REMEMBERED:
                        found_of[part], remembered = found, remembered + len(found)
            for tail, own_text, group in zip(inner, owns, group_of):
                row = head + tail
                if dedupe is not None:  # one llm per record: the first seen
                    key = get_key(row)
                    if key in dedupe:
                        continue
                    dedupe.add(key)
                if found is not None:
                    parent = found[group]
                    text = f"{parent}{SEPARATOR}{own_text}"  # signature(parent, own)
                else:
                    parent, text = "", own_text
                digest = blank_hash()
                digest.update(text.encode())
                n = from_bytes(digest.digest(), "big")
                if n in seen:  # the digest, not the id text: half the memory per id
                    raise error(DUPLICATE_ID.code, f"two distinct {name} records got the id {prefix + _b36(n)} "
                                f"(the second hashes {text!r})", Location(self.compiled.spec.bundle.document.path),
                                "a hash collision: report it to the cohort-dsl authors with the spec")
                seen_add(n)
                # _b36, inlined (the hot loop): eight base-1296 digits
                n, d0 = divmod(n, 1296)
                n, d1 = divmod(n, 1296)
                n, d2 = divmod(n, 1296)
                n, d3 = divmod(n, 1296)
                n, d4 = divmod(n, 1296)
                n, d5 = divmod(n, 1296)
                n, d6 = divmod(n, 1296)
                gid = prefix + ((pairs[n] + pairs[d6] + pairs[d5] + pairs[d4] + pairs[d3] + pairs[d2] + pairs[d1]
                                 + pairs[d0]).lstrip("0") or "0")
                if ids is not None:
                    ids[get_key(row)] = gid
                yield make(gid, parent, row)
        self.counts[name] = len(seen)

    def _shown(self, depth: int, projected, display, encode=None) -> tuple[list, list]:
        """The projected factors (:meth:`projection`) with each row extended
        by the record fields its columns show — combo, template, llm,
        replicate (an integer), the extra id axes — named ``(_SHOWN, field)``
        in the flat column list; the fields no column of the stage shows
        sit, constant, in the default replicate's one-row factor.
        ``encode(column, value)``: the fields as written (for lines)."""
        b = self.stages[depth]
        lists, axes = projected
        combo = self.stages[0].combo
        sources = {(_SHOWN, "combo_id"): (combo, display.get(combo) or _IDENTITY),
                   (_SHOWN, "template_id"): (b.template, (display[b.template] if b.template else None) or _IDENTITY),
                   (_SHOWN, "llm_model_id"): (b.llm, (display.get(b.llm) or _IDENTITY) if b.stage.llm_in_id
                                              else _STRIPPED),  # an attribute is shown as written, stripped
                   (_SHOWN, "replicate"): (b.replicate, _INTEGER)}
        for column in self.extra_columns:
            sources[(_SHOWN, column)] = (column, display.get(column) or _IDENTITY)
        present = {a for own in axes for a in own}
        constant = {field: 1 if field == (_SHOWN, "replicate") else ""
                    for field, (column, _) in sources.items() if column is None or column not in present}
        if encode is not None:
            sources = {field: (column, _Encoding(show, encode, field[1])) for field, (column, show) in sources.items()}
            constant = {field: encode(field[1], value) for field, value in constant.items()}
        out, names = [], []
        for rows, own in zip(lists, axes):
            fields = [(field, own.index(column), show) for field, (column, show) in sources.items()
                      if field not in constant and column in own]
            out.append([row + tuple(show[row[i]] for _, i, show in fields) for row in rows])
            names += own + [field for field, _, _ in fields]
        out.append([(DEFAULT_REPLICATE, *constant.values())])
        names += [_DEFAULT, *constant]
        return out, names

    def stage_sizes(self) -> list[int]:
        """How many records each stage has (arithmetic on the projected
        factors; no record is made)."""
        normalizers, sizes = self.normalizers(), []
        for depth, b in enumerate(self.stages):
            lists, _ = self.projection(self.id_columns(depth) + b.attributes, normalizers)
            total = 1
            for rows in lists:
                total *= len(rows)
            sizes.append(total)
        return sizes

    def generations(self) -> int:
        """How many records the last stage has."""
        return self.stage_sizes()[-1]


def _record_maker(name: str, cohort: str, get_shown):
    def make(gid: str, parent: str, row: tuple) -> Record:
        return tuple.__new__(Record, (name, gid, cohort, parent, *get_shown(row)))
    return make


def _line_maker(shape: tuple[str, bool | str], encode, name: str, cohort: str, get_shown):
    """(gen id, parent id, row) -> a line of ``shape`` (format, wide; wide
    ``_BOTH``: the slim and the wide line); ids never need quoting or
    escaping."""
    fmt, wide = shape
    stage = encode("stage", name)
    if fmt == "csv":
        head, middle, join = stage + ",", "," + encode("origin_cohort_id", cohort) + ",", ",".join
        if wide is _BOTH:
            return lambda gid, parent, row: (f"{head}{gid}\n", f"{head}{gid}{middle}{parent},{join(get_shown(row))}\n")
        if not wide:
            return lambda gid, parent, row: f"{head}{gid}\n"
        return lambda gid, parent, row: f"{head}{gid}{middle}{parent},{join(get_shown(row))}\n"
    head = "{" + stage + ', "gen_id": "'
    if not wide:
        return lambda gid, parent, row: f'{head}{gid}"}}\n'
    middle, join = '", ' + encode("origin_cohort_id", cohort) + ', "parent_gen_id": "', ", ".join
    return lambda gid, parent, row: f'{head}{gid}{middle}{parent}", {join(get_shown(row))}}}\n'


def _csv_line(values) -> str:
    from cohort_dsl.rows import csv_field

    return ",".join(csv_field(v) for v in values) + "\n"


def _field_encoder(fmt: str):
    """(column, value) -> the field as written: CSV quoted as csv.writer
    would, or a JSON member ``"column": value``."""
    if fmt == "csv":
        from cohort_dsl.rows import csv_field

        return lambda column, value: csv_field(value) if isinstance(value, str) else str(value)
    import json

    return lambda column, value: json.dumps(column) + ": " + json.dumps(value, ensure_ascii=False)


class _Encoding(dict):
    """A display table whose values come out encoded (for lines)."""

    def __init__(self, show, encode, column: str):
        super().__init__()
        self.show, self.encode, self.column = show, encode, column

    def __missing__(self, value):
        text = self[value] = self.encode(self.column, self.show[value])
        return text


#: own texts and parent ids a stage remembers per head part (memory stays flat in rows)
_REMEMBERED = 1 << 20


def _blocked(lists: list[list[tuple]], limit: int = 4096, few: int = 16, most: int = 1 << 16) -> list[list[tuple]]:
    """The same product with its trailing factors multiplied out into one
    list while that stays small (``limit`` rows; up to ``most`` while the
    block has fewer than ``few``, so that a small last factor behind a big
    one does not make every head a handful of records): a record's row is
    then one tuple concatenation, not one per factor."""
    lists = list(lists)
    while len(lists) > 1:
        size = len(lists[-1]) * len(lists[-2])
        if size > limit and (len(lists[-1]) >= few or size > most):
            break
        inner = lists.pop()
        lists[-1] = [a + b for a in lists[-1] for b in inner]
    return lists


def _getter(positions: list[int]):
    """A function row -> tuple of the values at ``positions`` (C speed)."""
    if not positions:
        return lambda row: ()
    if len(positions) == 1:
        i = positions[0]
        return lambda row: (row[i],)
    return itemgetter(*positions)


_DEFAULT = "\0default-replicate"  # the projection's name for the constant column
_SHOWN = "\0shown"  # (_SHOWN, field): a record field in a stage's flat row
_BOTH = "both"  # a line shape: the slim and the wide line of a record
_SUMMARY = ("combo_id", "template_id", "llm_model_id", "replicate")  # the shown fields manifest.json summarises
_SHOWN_FIELDS = [(_SHOWN, field) for field in _SUMMARY]


class _Identity(dict):
    """A display table for values written as their id component."""

    def __missing__(self, value):
        return value


class _Stripped(dict):
    """The display of an attribute: the level as written, stripped."""

    def __missing__(self, value):
        return value.strip()


class _Integer(dict):
    """The display of a replicate: its component as an integer."""

    def __missing__(self, value):
        return int(value)


_IDENTITY, _STRIPPED, _INTEGER = _Identity(), _Stripped(), _Integer()
_B36_PAIRS = [a + b for a in _DIGITS for b in _DIGITS]


def _b36_digest(text: str) -> str:
    """base36(BLAKE2b-80(text)), without the prefix."""
    return _b36(_digest(text))


def _digest(text: str) -> int:
    """The BLAKE2b-80 digest of ``text`` as a big-endian integer."""
    return int.from_bytes(blake2b(text.encode("utf-8"), digest_size=10).digest(), "big")


def _b36(n: int) -> str:
    """``n`` in base 36, two digits at a time: 2**80 < 1296**8, so eight
    base-1296 digits always suffice."""
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


def write_records(records, out, fmt: str = "csv", wide: bool = False, columns=WIDE_COLUMNS) -> int:
    """Write records as CSV (with a header) or JSONL; slim unless ``wide``.
    ``columns``: the wide columns (:attr:`Membership.wide_columns`: the
    axes a stage's id reads beyond the fixed columns follow them). Every
    distinct value is encoded once; ids never need quoting."""
    import json

    from cohort_dsl.rows import csv_field

    columns = tuple(columns) if wide else SLIM_COLUMNS
    extra = len(columns) - len(WIDE_COLUMNS) if wide else 0
    if fmt == "csv":
        out.write(",".join(columns) + "\n")
        e = _Encoded(csv_field)
        if extra:
            def line(r):
                return f"{e[r[0]]},{r[1]},{e[r[2]]},{r[3]},{e[r[4]]},{e[r[5]]},{e[r[6]]},{r[7]}," \
                       + ",".join(e[v] for v in r[8:]) + "\n"
        elif wide:
            def line(r):
                return f"{e[r[0]]},{r[1]},{e[r[2]]},{r[3]},{e[r[4]]},{e[r[5]]},{e[r[6]]},{r[7]}\n"
        else:
            def line(r):
                return f"{e[r[0]]},{r[1]}\n"
    else:
        e = _Encoded(lambda v: json.dumps(v, ensure_ascii=False))
        k = [json.dumps(c) + ": " for c in columns]
        if extra:
            def line(r):
                return (f"{{{k[0]}{e[r[0]]}, {k[1]}\"{r[1]}\", {k[2]}{e[r[2]]}, {k[3]}\"{r[3]}\", {k[4]}{e[r[4]]}, "
                        f"{k[5]}{e[r[5]]}, {k[6]}{e[r[6]]}, {k[7]}{r[7]}"
                        + "".join(f", {name}{e[v]}" for name, v in zip(k[8:], r[8:])) + "}\n")
        elif wide:
            def line(r):
                return (f"{{{k[0]}{e[r[0]]}, {k[1]}\"{r[1]}\", {k[2]}{e[r[2]]}, {k[3]}\"{r[3]}\", {k[4]}{e[r[4]]}, "
                        f"{k[5]}{e[r[5]]}, {k[6]}{e[r[6]]}, {k[7]}{r[7]}}}\n")
        else:
            def line(r):
                return f"{{{k[0]}{e[r[0]]}, {k[1]}\"{r[1]}\"}}\n"
    return write_lines(map(line, records), out)


def write_lines(lines, out) -> int:
    """Write text lines in batches; returns how many."""
    count, lines = 0, iter(lines)
    while True:
        batch = list(islice(lines, 4096))
        if not batch:
            return count
        out.write("".join(batch))
        count += len(batch)


def build_membership(compiled, registry, cohort_id: str, layout: str | None = None) -> Membership:
    return Membership(compiled, select_layout(compiled, registry, layout), cohort_id)


__all__ = ["Layout", "Stage", "Record", "Membership", "build_membership", "write_records", "write_lines", "gen_id",
           "SLIM_COLUMNS", "WIDE_COLUMNS"]
