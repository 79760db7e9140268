"""The checks a membership runs before any record exists, on the factors
(never on the rows): replicate values, values whose ids would collide,
separators inside id components, and axes no id reads.

Each takes a :class:`cohort_dsl.membership.Membership` whose stages are
bound, and adds to its ``diagnostics`` (or raises for what makes records
impossible). See docs/cohorts.md, "Generation ids".
"""

from __future__ import annotations

import re

from cohort_dsl.diagnostics import ERROR, Diagnostic, error
from cohort_dsl.membership import BAD_REPLICATE, ID_COLLISION, ID_SEPARATOR, SEPARATOR, UNREAD_AXIS, normalize

CANONICAL_REPLICATE = re.compile(r"[1-9][0-9]*")
FORBIDDEN = re.compile(r"[|\x00-\x1f\x7f\x85\u2028\u2029]")


def run_all(m) -> None:
    case_collisions(m)
    m.attribute_collisions = attribute_collisions(m)
    separators(m)
    unread_axes(m)


def replicates(m) -> dict[str, dict[str, int]]:
    """level -> replicate number, per replicate column. A replicate is a
    positive integer written in plain decimal (``01`` would give the id of
    ``1`` while reading as another value: refused)."""
    out: dict[str, dict[str, int]] = {}
    for b in m.stages:
        if b.replicate is None:
            continue
        values = {}
        for level in m.compiled.design.domain(b.replicate):
            text = level.strip()
            if not (text.isascii() and CANONICAL_REPLICATE.fullmatch(text)):
                hint = "replicates are counted from 1 and written 1, 2, 3, …"
                if text.isascii() and text.isdigit() and int(text) > 0:
                    hint = f"write it {int(text)}"
                raise error(BAD_REPLICATE.code, f"replicate {level!r} in column {b.replicate!r} is not a positive "
                            "integer written in plain decimal", m.origin(b.replicate, level), hint)
            values[level] = int(text)
        out[b.replicate] = values
    return out


def _id_columns_in_order(m) -> list[str]:
    return list(dict.fromkeys(m.id_columns(len(m.stages) - 1)))


def case_collisions(m) -> None:
    """Values that differ only in case or surrounding spaces give the same
    ids: report both sources."""
    for column in _id_columns_in_order(m):
        reps = m.replicate_values.get(column)
        groups: dict[str, list[str]] = {}
        for level in m.compiled.design.domain(column):
            groups.setdefault(str(reps[level]) if reps is not None else normalize(level), []).append(level)
        for same in groups.values():
            if len(same) > 1:
                a, b = same[0], same[1]
                m.diagnostics.append(Diagnostic(
                    ID_COLLISION.code,
                    f"{column} values {a!r} ({m.origin(column, a)}) and {b!r} "
                    + ("are the same number" if reps is not None else "differ only in case or spaces")
                    + ": they give the same generation ids",
                    m.origin(column, b), ERROR,
                    "replicates are compared as integers; use one spelling" if reps is not None
                    else "ids are case-insensitive; use one spelling"))


def attribute_collisions(m) -> set[int]:
    """A stage whose llm is an attribute (not part of its id) collides
    when one id key has several llm values. Factors are independent, so
    that happens exactly when, inside the llm's factor, rows that agree on
    the key columns there disagree on the llm. Returns the depths of the
    colliding stages."""
    colliding = set()
    design = m.compiled.design
    for depth, b in enumerate(m.stages):
        if not b.attributes:
            continue
        keys = set(m.id_columns(depth))
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
            m.diagnostics.append(Diagnostic(
                ID_COLLISION.code,
                f"{stage} records that differ only in {b.llm} get the same id: {a!r} ({m.origin(b.llm, a)}) and "
                f"{c!r} are both used for one {stage}" + (f" ({clashes} such cases in its factor)" if clashes > 1 else ""),
                m.origin(b.llm, c), ERROR,
                f"{b.llm} is not part of the {stage} id; couple it to the id columns (a tie or tuple) so each "
                f"{stage} has one {b.llm}",
            ))
    return colliding


def separators(m) -> None:
    """An id component may not contain ``|`` (``a|b`` + ``c`` and ``a`` +
    ``b|c`` would hash one text) or a control character."""
    for column in _id_columns_in_order(m):
        if column in m.replicate_values:
            continue  # integers
        for level in m.compiled.design.domain(column):
            found = FORBIDDEN.search(level.strip())
            if found:
                what = "the id separator '|'" if found.group() == SEPARATOR else f"the control character {found.group()!r}"
                m.diagnostics.append(Diagnostic(
                    ID_SEPARATOR.code, f"{column} value {level!r} contains {what}: generation ids join their "
                    "components with '|', so two different records could hash the same text",
                    m.origin(column, level), ERROR, "rename the value (use '-' or '_')"))


def unread_axes(m) -> None:
    """An axis with more than one level that no stage's id reads and no
    stage carries makes rows that differ only in it collapse into one
    generation. Found on the factors: inside a factor, rows that agree on
    the read columns but differ on an unread axis."""
    read = m.read_columns()
    design = m.compiled.design
    collapsing: list[str] = []
    for factor in design.factors:
        unread = [i for i, axis in enumerate(factor.axes) if axis not in read]
        if not unread:
            continue
        idx = [i for i, axis in enumerate(factor.axes) if axis in read]
        seen: dict[tuple, tuple] = {}
        varies: set[int] = set()
        for row in factor.rows:
            key = tuple(normalize(row[i]) for i in idx)
            first = seen.setdefault(key, row)
            if first is not row:
                varies.update(i for i in unread if row[i] != first[i])
        collapsing += [factor.axes[i] for i in sorted(varies)]
    if not collapsing:
        return
    rows, generations = m.compiled.count, m.generations()
    document = m.compiled.spec.bundle.document
    renamed = m.layout.renamed
    for axis in collapsing:
        levels = len(design.domain(axis))
        if axis in renamed:
            hint = f"the {m.layout.name} layout reads {renamed[axis]}, not {axis}: rename the axis"
        else:
            hint = (f"add it to a stage's id (output.layout: {{name: {m.layout.name}, {m.stages[0].stage.name}: "
                    f"{{id: [{axis}]}}}}), couple it to an id column, or remove it")
        location = document.key_loc(("axes", axis)) if ("axes", axis) in document.key_positions else m.origin(
            axis, design.domain(axis)[0])
        m.diagnostics.append(Diagnostic(
            UNREAD_AXIS.code,
            f"axis {axis} has {levels:,} levels but no generation id of the {m.layout.name} layout reads it: "
            f"{rows:,} rows collapse into {generations:,} {m.stages[-1].stage.name} generation"
            f"{'s' if generations != 1 else ''}",
            location, ERROR, hint))
