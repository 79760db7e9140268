"""A change: what an edit does to a cohort's membership, record by record,
grouped by what caused it (docs/cohorts.md, "Reviewing a change").

Two memberships are compared as two streams in membership order (stage by
stage, first-seen order). Records that sit at the same place on both sides
match at once; the others wait in two insertion-ordered tables until their
twin shows up on the other side. What is left at the end is the change: the
added records in the new membership's order, the removed ones in the old
one's. Memory is bounded by the changed records and by how far an edit
displaces the unchanged ones (an inserted level displaces exactly its own
records), never by all rows. Alongside, the distinct values of each stage's
fields are collected on both sides (bounded by the levels): a changed record
carrying a value the other side never has is explained by that value (a level
added or removed), a record whose parent changed by its parent, and the rest
by a combination of values both sides have (a rule's entries changed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path

from cohort_dsl.dataroot import MEMBERSHIP_FILE
from cohort_dsl.diagnostics import Location
from cohort_dsl.records import Record

#: the wide-membership fields a changed record carries, in order (then any id axes a layout adds)
RECORD_FIELDS = ("gen_id", "parent_gen_id", "combo_id", "template_id", "llm_model_id", "replicate")
#: the fields that can explain a change, with their positions in a membership record
_VALUE_FIELDS = (("combo_id", 4), ("template_id", 5), ("llm_model_id", 6), ("replicate", 7))
ADDED, REMOVED = "added", "removed"
#: the base of a comparison with what materialize wrote
MATERIALIZED = MEMBERSHIP_FILE


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class StageChange(Record):
    """One stage's records added and removed (wide fields, as dicts), and how many both sides have."""

    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    unchanged: int = 0

    def __init__(self, added: list[dict] | None = None, removed: list[dict] | None = None, unchanged: int = 0):
        self.added = [] if added is None else added
        self.removed = [] if removed is None else removed
        self.unchanged = unchanged


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Cause(Record):
    """Why some records were added (or removed): ``kind`` is ``level`` (a
    value only one side has, on ``axis``), ``combination`` (values both
    sides have, combined anew), ``absent`` (one side has no membership) or
    ``unknown`` (the old values cannot be read: no wide membership). Records
    that follow a changed parent are counted under their parent's cause."""

    direction: str
    kind: str
    axis: str | None = None
    value: str | None = None
    location: Location | None = None
    #: the value is missing from the axis's configured catalog
    not_in_catalog: bool = False
    #: what the membership is compared with (named by ``absent`` causes)
    base: str = ""
    #: for ``combination`` causes when both sides are specs: the coupled
    #: factors whose rows changed (:func:`factor_changes`)
    combinations: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    records: list[tuple[str, dict]] = field(default_factory=list)

    def __init__(self, direction: str, kind: str, axis: str | None = None, value: str | None = None,
                 location: Location | None = None, not_in_catalog: bool = False, base: str = "",
                 combinations: list[dict] | None = None, counts: dict[str, int] | None = None,
                 records: list[tuple[str, dict]] | None = None):
        self.direction, self.kind, self.axis, self.value, self.location = direction, kind, axis, value, location
        self.not_in_catalog, self.base = not_in_catalog, base
        self.combinations = [] if combinations is None else combinations
        self.counts = {} if counts is None else counts
        self.records = [] if records is None else records

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        if self.kind == "level":
            text = f"{self.axis} {self.value!r} is {'new' if self.direction == ADDED else 'gone'}"
            return text + (" (no longer in its catalog)" if self.not_in_catalog else "")
        if self.kind == "combination" and self.combinations:
            rules = self.combinations[0]["rules"][-1] if self.combinations[0]["rules"] else "the rules"
            more = f" (and {len(self.combinations) - 1} more couplings)" if len(self.combinations) > 1 else ""
            return (f"{rules} now gives new combinations{more}" if self.direction == ADDED else
                    f"{rules} no longer gives these combinations{more}")
        if self.kind == "combination":
            return ("new combinations of values both memberships have (a rule's entries or couplings changed; "
                    "--rev names the coupling)" if self.direction == ADDED else
                    "combinations no longer produced, of values both memberships have (a rule's entries or couplings "
                    "changed; --rev names the coupling)")
        if self.kind == "absent":
            missing = "the cohort has no membership.csv yet" if self.base == MATERIALIZED else f"{self.base} does not exist"
            return f"{missing}: every record is {self.direction}"
        return "the old values are unknown (no membership_wide.csv and no metadata)"

    def to_json(self) -> dict:
        from cohort_dsl.diagnostics import display_path

        where = self.location
        return {"direction": self.direction, "kind": self.kind, "axis": self.axis, "value": self.value,
                "not_in_catalog": self.not_in_catalog, "counts": dict(self.counts), "text": self.describe(),
                "combinations": self.combinations,
                "path": display_path(where.path) if where and where.path else None,
                "line": where.line if where else None}


@dataclass(init=False, repr=False, eq=False)  # a record: see cohort_dsl.records
class Change(Record):
    """The change from ``base`` (what the cohort has: its membership.csv, or
    the spec at a revision) to the spec as it is now."""

    cohort_id: str
    base: str
    stages: dict[str, StageChange]
    causes: list[Cause]
    #: records both sides have, but at other places (the order changed)
    moved: int = 0

    def __init__(self, cohort_id: str, base: str, stages: dict[str, StageChange], causes: list[Cause], moved: int = 0):
        self.cohort_id, self.base, self.stages, self.causes, self.moved = cohort_id, base, stages, causes, moved

    @property
    def different(self) -> bool:
        """Some record is added or removed."""
        return any(s.added or s.removed for s in self.stages.values())

    @property
    def same(self) -> bool:
        """The same records in the same order: membership.csv would not change."""
        return not self.different and not self.moved

    def totals(self, direction: str) -> dict[str, int]:
        return {name: len(getattr(s, direction)) for name, s in self.stages.items()}

    def to_json(self) -> dict:
        return {"cohort": self.cohort_id, "base": self.base,
                "stages": {name: {"added": s.added, "removed": s.removed, "unchanged": s.unchanged}
                           for name, s in self.stages.items()},
                "causes": [c.to_json() for c in self.causes]}

    def page(self, limit: int) -> dict:
        """What the html page shows: the counts, and each cause with up to
        ``limit`` of its records."""
        return {"cohort": self.cohort_id, "base": self.base,
                "stages": {name: {"added": len(s.added), "removed": len(s.removed), "unchanged": s.unchanged}
                           for name, s in self.stages.items()},
                "causes": [{**c.to_json(), "records": [{"stage": stage, **record} for stage, record in c.records[:limit]]}
                           for c in self.causes]}

    def summary(self) -> str:
        """One line: how many records would be added and removed, per
        stage, with the first causes and an example id of each (the M003
        refusal says this)."""
        parts = []
        for direction, verb in ((ADDED, "added"), (REMOVED, "removed")):
            total = sum(self.totals(direction).values())
            if not total:
                continue
            causes = [c for c in self.causes if c.direction == direction]
            shown = "; ".join(f"{c.describe()}, e.g. {c.records[0][1]['gen_id']}" for c in causes[:3])
            if len(causes) > 3:
                shown += f"; and {len(causes) - 3:,} more causes"
            what = f"{total:,} record{'s' if total != 1 else ''}" if not parts else f"{total:,}"
            parts.append(f"{what} would be {verb} ({_counted(self.totals(direction))}: {shown})")
        return " and ".join(parts) if parts else "the same records in another order"

    def edited_location(self) -> Location | None:
        """Where the edit was made, when a cause can tell: the first located
        added (or removed) level."""
        for direction in (ADDED, REMOVED):
            for cause in self.causes:
                if cause.direction == direction and cause.location is not None:
                    return cause.location
        return None


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {stage}{'s' if n != 1 else ''}" for stage, n in counts.items() if n)


# -- the sides ---------------------------------------------------------------

class Side:
    """One membership as a stream of ``(stage, gen_id, …)`` tuples in
    membership order: full membership records (``Record``), or
    ``(stage, gen_id)`` pairs when only membership.csv is read.

    ``values`` (stage -> record position -> its distinct values) is filled
    while the records stream; None when the side's values are unknown.
    ``absent`` says the side has no membership at all (a cohort never
    materialized, a spec absent at a revision)."""

    def __init__(self, records, extras=(), *, full: bool = True, absent: bool = False, design=None, origins=None):
        self.records = records
        self.extras = tuple(extras)
        self.absent = absent
        #: the design of the spec this side comes from (None: a materialized membership)
        self.design = design
        #: axis -> level -> where the spec wrote it
        self.origins: dict = origins if origins is not None else (design.origins if design is not None else {})
        #: rule label -> where the spec wrote the rule
        self.rule_lines: dict = {}
        self.values: dict[str, dict[int, set]] | None = {} if full else None
        #: stage -> how many records streamed (full sides)
        self.sizes: dict[str, int] = {}

    def watched(self):
        """The records (or rows read from a file), collecting each stage's
        size and distinct values on the way (the hot loop of a diff: one
        C-level ``set.add`` per field)."""
        if self.values is None:
            yield from self.records
            return
        values, sizes = self.values, self.sizes
        extras = range(8, 8 + len(self.extras))
        current, count = None, 0
        for record in self.records:
            if record[0] != current:
                if current is not None:
                    sizes[current] = sizes.get(current, 0) + count
                current, count = record[0], 0
                sets = values.setdefault(current, {i: set() for i in (4, 5, 6, 7, *extras)})
                add_combo, add_template, add_llm, add_replicate = (sets[i].add for i in (4, 5, 6, 7))
                extra_adds = [(i, sets[i].add) for i in extras]
            count += 1
            add_combo(record[4])
            add_template(record[5])
            add_llm(record[6])
            add_replicate(record[7])
            for i, add in extra_adds:
                add(record[i])
            yield record
        if current is not None:
            sizes[current] = sizes.get(current, 0) + count

    def fill(self, pending: dict) -> None:
        """Complete the entries in ``pending`` (gen id -> what was streamed)
        that are ``(stage, gen_id)`` pairs only; called when the sides
        differ."""


def membership_side(membership, origins=None) -> Side:
    compiled = membership.compiled
    side = Side(membership.records(), membership.extra_columns, design=compiled.design, origins=origins)
    side.rule_lines = {rule.label: rule.location for rule in compiled.spec.rules}
    return side


def absent_side() -> Side:
    return Side(iter(()), absent=True)


class MaterializedSide(Side):
    """What materialize wrote: membership.csv (the contract) streamed for
    the ids. Only when the sides differ is the wide membership read, once,
    for the side's values and the removed records' fields — and used only if
    it lists the same records in the same order as membership.csv (checked
    with a running hash of both: a wide file of another run would lie); the
    gens/ metadata fills in what it lacks."""

    def __init__(self, data_root, cohort_id: str):
        from cohort_dsl.service import iter_slim

        self.data_root = data_root
        self.wide = data_root.wide_file(cohort_id)
        self.checksum = 0
        super().__init__(iter_slim(data_root.membership_file(cohort_id)), full=False)

    def watched(self):
        check = 0
        for pair in self.records:
            check = hash((check, pair[0], pair[1]))
            yield pair
        self.checksum = check

    def fill(self, pending: dict) -> None:
        from cohort_dsl.files import record_absent

        header = _wide_header(self.wide) if self.wide.is_file() else None
        if header is None:
            record_absent(self.wide)  # a wide file that appears later changes what is said
        else:
            values, found, checksum = _read_wide(self.wide, header, pending)
            if checksum == self.checksum:
                self.extras, self.values = header[8:], values
                pending.update(found)
        for gid, entry in pending.items():
            if len(entry) == 2:
                pending[gid] = _from_metadata(self.data_root, entry) or entry


def _read_wide(path: Path, header: tuple, wanted: dict) -> tuple[dict, dict, int]:
    """One pass over a wide membership: stage -> position -> distinct
    values, the records of the gen ids in ``wanted``, and the running hash
    of its ``(stage, gen_id)`` pairs."""
    from cohort_dsl.membership import Record
    from cohort_dsl.service import iter_rows  # streamed (read_wide holds every row)

    rows = Side(iter_rows(path, header), header[8:])  # rows as read: a Record is made for the wanted ones only
    found: dict = {}
    check = 0
    for row in rows.watched():
        check = hash((check, row[0], row[1]))
        if row[1] in wanted:
            found[row[1]] = Record(*row[:7], _replicate(row[7]), *row[8:])
    for sets in rows.values.values():
        sets[7] = {_replicate(v) for v in sets[7]}
    return rows.values, found, check


def _replicate(text: str):
    return int(text) if text.isdigit() else text


def materialized_side(data_root, cohort_id: str) -> Side:
    if not data_root.membership_file(cohort_id).is_file():
        return absent_side()
    return MaterializedSide(data_root, cohort_id)


def _wide_header(path: Path) -> tuple | None:
    import csv

    from cohort_dsl.files import open_text
    from cohort_dsl.membership import WIDE_COLUMNS

    try:
        with open_text(path) as handle:
            header = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    header = tuple(h.strip() for h in header or ())
    return header if header[:len(WIDE_COLUMNS)] == WIDE_COLUMNS else None


def _from_metadata(data_root, entry: tuple) -> tuple | None:
    """A removed record's fields from its gens/ metadata.json seed."""
    import json

    from cohort_dsl.diagnostics import UsageError
    from cohort_dsl.files import read_bounded, record_absent
    from cohort_dsl.membership import Record

    stage, gid = entry
    try:
        path = data_root.metadata_file(stage, gid)
        data = json.loads(read_bounded(path, 1 << 20))
    except FileNotFoundError:
        record_absent(path)
        return None
    except (OSError, ValueError, UsageError):
        return None
    if not isinstance(data, dict):
        return None
    replicate = data.get("replicate", "")
    return Record(stage, gid, data.get("origin_cohort_id", ""), data.get("parent_gen_id") or "",
                  data.get("combo_id", ""), data.get("template_id", ""), data.get("llm_model_id", ""),
                  replicate if isinstance(replicate, int) else str(replicate))


# -- the comparison ------------------------------------------------------------

def compare(cohort_id: str, base: str, old: Side, new: Side, stage_names, *, catalogs=None, axis_lines=None,
            bindings=None) -> Change:
    """The change from ``old`` to ``new``. ``bindings``: stage -> record
    position -> the axis it is read from (to name causes); ``axis_lines``:
    axis -> where the current spec declares it (where a removed level was
    edited away)."""
    stages = {name: StageChange() for name in stage_names}
    only_old: dict[str, tuple] = {}
    only_new: dict[str, tuple] = {}
    pop_old, pop_new = only_old.pop, only_new.pop

    moved = 0
    for o, n in zip_longest(old.watched(), new.watched()):
        if o is not None and n is not None and o[1] == n[1]:
            continue
        if o is not None:
            if pop_new(o[1], None) is not None:
                moved += 1
            else:
                only_old[o[1]] = o
        if n is not None:
            if pop_old(n[1], None) is not None:
                moved += 1
            else:
                only_new[n[1]] = n
    if only_old or only_new:
        old.fill(only_old)
        new.fill(only_new)
    causes = []
    for direction, pending, side, other in ((ADDED, only_new, new, old), (REMOVED, only_old, old, new)):
        causes += _explain(direction, pending, side, other, stages, bindings or {}, catalogs or {}, side.origins, base,
                           axis_lines if direction == REMOVED else None)
    if old.design is not None and new.design is not None:
        _name_combinations(causes, old.design, new.design, new.rule_lines)
    for name, size in new.sizes.items():
        stages.setdefault(name, StageChange()).unchanged = size - len(stages[name].added)
    return Change(cohort_id, base, stages, causes, moved)


def _explain(direction, pending: dict, side: Side, other: Side, stages: dict, bindings: dict, catalogs: dict,
             origins: dict, base: str, axis_lines: dict | None) -> list[Cause]:
    """Group the changed records of one direction by cause, filling the
    stage lists (records as dicts) on the way."""
    causes: dict[tuple, Cause] = {}
    cause_of: dict[str, tuple] = {}  # gen id -> its cause's key (parents of later stages)
    for gid, entry in pending.items():
        stage = entry[0]
        key = cause_of.get(entry[3]) if len(entry) > 3 and entry[3] else None
        if key is None:
            key = _cause_key(entry, stage, other, bindings)
        cause_of[gid] = key
        cause = causes.get(key)
        if cause is None:
            kind, axis, value = key
            located = None
            if kind == "level":
                located = (axis_lines or {}).get(axis) or _origin(origins.get(axis, {}), value)
            catalog = catalogs.get(axis) if kind == "level" and direction == REMOVED else None
            cause = causes[key] = Cause(direction, kind, axis, value, located,
                                        catalog is not None and value not in catalog, base)
        record = _as_dict(entry, side.extras)
        getattr(stages.setdefault(stage, StageChange()), direction).append(record)
        cause.counts[stage] = cause.counts.get(stage, 0) + 1
        cause.records.append((stage, record))
    return list(causes.values())


def factor_changes(old_design, new_design, rule_lines: dict) -> dict[str, list[dict]]:
    """The coupled factors (over the same axes on both sides) whose rows
    changed, by direction: rows only one side has, of values both sides
    have (a new or removed level is a cause of its own). Each: ``axes``, the
    ``rules`` that shaped the factor, where its last rule is (``path``,
    ``line``) and the ``rows``."""
    from cohort_dsl.diagnostics import display_path

    old_by_axes = {frozenset(f.axes): f for f in old_design.factors if len(f.axes) > 1}
    out: dict[str, list[dict]] = {ADDED: [], REMOVED: []}
    for factor in new_design.factors:
        before = old_by_axes.get(frozenset(factor.axes))
        if before is None:
            continue
        order = [before.axes.index(a) for a in factor.axes]
        old_rows = list(dict.fromkeys(tuple(row[i] for i in order) for row in before.rows))
        old_set, new_set = set(old_rows), set(factor.rows)
        old_domains = [{row[k] for row in old_rows} for k in range(len(factor.axes))]
        new_domains = [{row[k] for row in factor.rows} for k in range(len(factor.axes))]
        where = rule_lines.get(factor.rules[-1]) if factor.rules else None
        for direction, rows, other, domains in ((ADDED, factor.rows, old_set, old_domains),
                                                (REMOVED, old_rows, new_set, new_domains)):
            changed = [list(row) for row in rows
                       if row not in other and all(v in domains[k] for k, v in enumerate(row))]
            if changed:
                out[direction].append({"axes": list(factor.axes), "rules": list(factor.rules),
                                       "path": display_path(where.path) if where and where.path else None,
                                       "line": where.line if where else None, "rows": changed})
    return out


def _name_combinations(causes: list, old_design, new_design, rule_lines: dict) -> None:
    """Attach to each ``combination`` cause the couplings that changed."""
    wanted = [c for c in causes if c.kind == "combination"]
    if wanted:
        changes = factor_changes(old_design, new_design, rule_lines)
        for cause in wanted:
            cause.combinations = changes[cause.direction]


def _cause_key(entry: tuple, stage: str, other: Side, bindings: dict) -> tuple:
    if other.absent:
        return ("absent", None, None)
    if len(entry) < 8 or other.values is None:
        return ("unknown", None, None)
    seen = other.values.get(stage)
    names = bindings.get(stage, {})
    positions = [(i, name) for name, i in _VALUE_FIELDS] + [(8 + k, name) for k, name in enumerate(other.extras)]
    for i, name in positions:
        if i >= len(entry):
            continue
        value = entry[i]
        if value in ("", None):
            continue
        if seen is None or value not in seen.get(i, ()):
            return ("level", names.get(i, name), str(value))
    return ("combination", None, None)


def _origin(levels: dict, value: str) -> Location | None:
    found = levels.get(value)
    if found is not None:
        return found
    from cohort_dsl.membership import normalize

    wanted = normalize(value)
    return next((loc for level, loc in levels.items() if normalize(level) == wanted), None)


def _as_dict(entry: tuple, extras: tuple) -> dict:
    if len(entry) < 8:
        return {"gen_id": entry[1]}
    out = dict(zip(RECORD_FIELDS, (entry[1], entry[3] or None, *entry[4:8])))
    out.update(zip(extras, entry[8:]))
    return out


def bindings_of(membership) -> dict:
    """stage -> record position -> the axis the stage reads it from."""
    out = {}
    for depth, b in enumerate(membership.stages):
        names = {4: membership.stages[0].combo, 5: b.template, 6: b.llm, 7: b.replicate}
        out[b.stage.name] = {i: axis for i, axis in names.items() if axis}
        for k, axis in enumerate(membership.extra_columns):
            out[b.stage.name][8 + k] = axis
    return out


# -- the spec at a revision -------------------------------------------------------

def side_at(project, rev: str, config: Path, cohort_id: str, workdir: Path) -> Side:
    """The membership the spec bundle and the settings file at git revision
    ``rev`` give (copied into ``workdir``, never checked out; where its
    levels were written is shown as ``REV:path``). A spec absent at ``rev``
    gives an absent side."""
    from cohort_dsl.diagnostics import SpecError
    from cohort_dsl.project import Project
    from cohort_dsl.settings import Settings, load_settings
    from cohort_dsl.vcs import export_at

    settings_path = project.settings.path
    wanted = [config.parent] + ([settings_path] if settings_path is not None else [])
    copies = export_at(rev, wanted, workdir)
    spec_copy = copies[0]
    if spec_copy is None or not (spec_copy / config.name).is_file():
        return absent_side()
    settings = load_settings(copies[1]) if len(copies) > 1 and copies[1] is not None else Settings()
    then = Project(settings, project.engine)

    def shown(location: Location | None) -> Location | None:
        if location is None or not location.path:
            return location
        try:
            relative = Path(location.path).relative_to(workdir)
        except ValueError:
            return location
        return Location(f"{rev}:{relative.as_posix()}", location.line, location.col)

    try:
        membership = then.membership(then.compile(spec_copy / config.name), cohort_id)
    except SpecError as exc:
        from dataclasses import replace

        raise SpecError([replace(d, location=shown(d.location), message=f"(at {rev}) {d.message}")
                         for d in exc.diagnostics]) from None
    origins = {axis: {level: shown(loc) for level, loc in levels.items()}
               for axis, levels in membership.compiled.design.origins.items()}
    return membership_side(membership, origins)


def compare_membership(membership, old: Side, base: str, *, catalogs=None) -> Change:
    """The change from ``old`` to a :class:`~cohort_dsl.membership.Membership`."""
    return compare(membership.cohort_id, base, old, membership_side(membership),
                   [stage.name for stage in membership.layout.stages], catalogs=catalogs,
                   axis_lines=declared_axis_lines(membership.compiled), bindings=bindings_of(membership))


def declared_axis_lines(compiled) -> dict:
    """axis -> where the spec declares it (``axes: AXIS:``)."""
    document = compiled.spec.bundle.document
    return {decl.name: decl.location for decl in compiled.spec.axes if ("axes", decl.name) in document.key_positions}


# -- text and markdown -------------------------------------------------------------

#: records listed under each cause by default (``--limit``)
DEFAULT_LIMIT = 10
#: causes listed per direction (an edit of a large include may have thousands)
CAUSES_SHOWN = 20
_COLUMNS = ("stage",) + RECORD_FIELDS


def _where(location: Location | None) -> str:
    return f" ({location})" if location is not None and location.path else ""


def _cells(stage: str, record: dict, extras: list[str]) -> list[str]:
    out = [stage]
    for name in RECORD_FIELDS + tuple(extras):
        value = record.get(name)
        out.append("-" if value is None or value == "" else str(value))
    return out


def _extras(change: Change) -> list[str]:
    names: dict[str, None] = {}
    for cause in change.causes:
        for _, record in cause.records[:1]:
            names.update(dict.fromkeys(k for k in record if k not in RECORD_FIELDS))
    return list(names)


def _unchanged(change: Change) -> str:
    if change.moved:
        return (f"no record added or removed, but {change.moved:,} are in another order "
                "(materialize --force would rewrite membership.csv)")
    return "no change"


def _by_direction(change: Change):
    """``(direction, causes)`` for added, then removed, when there are any."""
    for direction in (ADDED, REMOVED):
        causes = [c for c in change.causes if c.direction == direction]
        if causes:
            yield direction, causes


def render_text(change: Change, out, limit: int = DEFAULT_LIMIT) -> None:
    """Summaries first (per stage, per cause), then up to ``limit`` records
    of each cause, with their values."""
    from cohort_dsl.paths import escape_control

    out.write(f"cohort {change.cohort_id}: the spec now against {change.base}\n")
    width = max(len(name) for name in change.stages) if change.stages else 5
    out.write(f"  {'stage':<{width}}  {'added':>9}  {'removed':>9}  {'unchanged':>9}\n")
    for name, s in change.stages.items():
        out.write(f"  {name:<{width}}  {len(s.added):>9,}  {len(s.removed):>9,}  {s.unchanged:>9,}\n")
    if not change.different:
        out.write(f"{_unchanged(change)}\n")
        return
    extras = _extras(change)
    for direction, causes in _by_direction(change):
        total = sum(c.total for c in causes)
        out.write(f"\n{direction}: {total:,} record{'s' if total != 1 else ''}, "
                  f"{len(causes)} cause{'s' if len(causes) != 1 else ''}\n")
        for cause in causes[:CAUSES_SHOWN]:
            out.write(f"  {escape_control(cause.describe())}{_where(cause.location)}: {_counted(cause.counts)}\n")
            for combination in cause.combinations:
                where = f" (line {combination['line']})" if combination["line"] else ""
                for row in combination["rows"][:limit]:
                    shown = ", ".join(f"{a}={v}" for a, v in zip(combination["axes"], row))
                    out.write(f"      {'+' if direction == ADDED else '-'} {escape_control(shown)}   "
                              f"by {', '.join(combination['rules'])}{where}\n")
                if len(combination["rows"]) > limit:
                    out.write(f"      … and {len(combination['rows']) - limit:,} more combinations\n")
        if len(causes) > CAUSES_SHOWN:
            out.write(f"  … and {len(causes) - CAUSES_SHOWN:,} more causes (--format json lists all)\n")
        for cause in causes[:CAUSES_SHOWN]:
            shown = cause.records[:limit]
            if not shown:
                continue
            out.write(f"\n  {escape_control(cause.describe())}\n")
            rows = [list(_COLUMNS + tuple(extras))] + [_cells(stage, r, extras) for stage, r in shown]
            widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
            for row in rows:
                out.write("    " + "  ".join(escape_control(v).ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")
            more = cause.total - len(shown)
            if more > 0:
                out.write(f"    … and {more:,} more (--limit N lists more; --format json lists all)\n")


def render_markdown(change: Change, out, limit: int = DEFAULT_LIMIT) -> None:
    """A pull-request comment: the stage table, the causes, and the
    records of each cause folded under a ``<details>``."""

    def cell(text) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    out.write(f"### cohort-dsl diff: `{change.cohort_id}`\n\nThe spec now against {cell(change.base)}.\n\n")
    out.write("| stage | added | removed | unchanged |\n|---|--:|--:|--:|\n")
    for name, s in change.stages.items():
        out.write(f"| {cell(name)} | {len(s.added):,} | {len(s.removed):,} | {s.unchanged:,} |\n")
    if not change.different:
        out.write(f"\n{_unchanged(change).capitalize()}.\n")
        return
    extras = _extras(change)
    for direction, causes in _by_direction(change):
        out.write(f"\n**{direction.capitalize()}**: {sum(c.total for c in causes):,} records\n\n")
        for cause in causes[:CAUSES_SHOWN]:
            where = f" (`{cause.location}`)" if _where(cause.location) else ""
            out.write(f"- {cell(cause.describe())}{where}: {_counted(cause.counts)}\n")
            for combination in cause.combinations:
                for row in combination["rows"][:limit]:
                    shown = ", ".join(f"{a}={v}" for a, v in zip(combination["axes"], row))
                    out.write(f"  - `{shown}` by {cell(', '.join(combination['rules']))}\n")
        if len(causes) > CAUSES_SHOWN:
            out.write(f"- … and {len(causes) - CAUSES_SHOWN:,} more causes\n")
        for cause in causes[:CAUSES_SHOWN]:
            shown = cause.records[:limit]
            if not shown:
                continue
            more = cause.total - len(shown)
            out.write(f"\n<details><summary>{cell(cause.describe())}: {len(shown):,} of {cause.total:,} records"
                      "</summary>\n\n")
            header = _COLUMNS + tuple(extras)
            out.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
            for stage, record in shown:
                out.write("| " + " | ".join(cell(v) for v in _cells(stage, record, extras)) + " |\n")
            out.write(f"\n… and {more:,} more\n" if more > 0 else "")
            out.write("\n</details>\n")
