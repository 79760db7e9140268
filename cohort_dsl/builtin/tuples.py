"""Rule kind ``tuples``: couple axes to exactly the listed item rows.

``tuples: {name: {axes, items}}``; ``items`` is inline or an ``@file:`` CSV
whose header names the axes (then ``axes`` may be left out). An axis used
only by tuples need not be declared: its levels are the distinct item values
in first-seen order. A declared axis must contain every item value. The
coupled factor follows the order of ``items``; later rules may name the tuple
(a value for it lists one level per axis).
"""

from __future__ import annotations

from functools import partial
from operator import itemgetter

from cohort_dsl.design import ARITY, OUT_OF_DOMAIN
from cohort_dsl.diagnostics import error
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.levels import LocatedColumn
from cohort_dsl.registry import Rule, RuleKind
from cohort_dsl.schema import load_fragment

SECTION = "tuples"


def parse(section):
    from cohort_dsl.includes import is_include

    for entry in section.entries():
        axes = entry.value.get("axes")
        items = entry.value["items"]
        if is_include(items):
            source = entry.include("items")
            if source.header is not None:
                axes = axes or list(source.header)
                rows, locations = source.project(list(axes), f"the tuple's axes ({', '.join(axes)})")
            elif axes is None:
                raise error(ARITY.code, f"tuples {entry.name}: name the axes (a {source.name} include has no header)",
                            entry.location, "add `axes: [...]`, or use a CSV whose header names the axes")
            else:
                locations = source.locations
                rows = [_row(item, loc, axes, entry.name) for item, loc in zip(source.rows, locations)]
        else:
            locations = [entry.loc("items", i) for i in range(len(items))]
            rows = [_row(item, loc, axes, entry.name, entry, i) for i, (item, loc) in enumerate(zip(items, locations))]
        axes = tuple(axes)
        introduces = {axis: LocatedColumn(rows, i, locations) for i, axis in enumerate(axes)}
        yield Rule(
            SECTION, entry.name, entry.location,
            partial(apply, name=entry.name, axes=axes, rows=rows, locations=locations, location=entry.location),
            introduces=introduces,
            named=True,
        )


def _row(item, location, axes, name, entry=None, index=None) -> tuple:
    from cohort_dsl.levels import as_level

    if not isinstance(item, list):
        raise error(ARITY.code, f"tuples {name}: an item is a list with one value per axis, found {item!r}", location)
    if len(item) != len(axes):
        raise error(ARITY.code, f"tuples {name}: item has {len(item)} value{'s' if len(item) != 1 else ''}, "
                    f"the tuple has {len(axes)} axes ({', '.join(axes)})", location)
    if entry is not None:
        return tuple(as_level(v, entry.loc("items", index, j), entry.raw("items", index, j)) for j, v in enumerate(item))
    return tuple(as_level(v, location) for v in item)


def apply(design, *, name, axes, rows, locations, location):
    from cohort_dsl.spec import distinct

    declared = [set(design.declared[axis]) for axis in axes]
    if not all(all(map(levels.__contains__, map(itemgetter(i), rows))) for i, levels in enumerate(declared)):
        for row, loc in zip(rows, locations):  # the first item with an undeclared level, reported at its line
            for axis, level, levels in zip(axes, row, declared):
                if level not in levels:
                    raise error(OUT_OF_DOMAIN.code, f"tuples {name}: {level!r} is not a level of axis {axis!r}", loc,
                                f"{axis!r} is declared under axes:; add the level there or fix the item")
    unique, origins = distinct(rows, locations, f"tuples {name} items", design.report)
    design.note_origins(axes, unique, origins)
    design.join(axes, unique)
    design.define(name, SECTION, axes, partial(_decode, name=name, axes=axes), axes, location)


def _decode(value, location, *, name, axes):
    from cohort_dsl.levels import as_level

    if not isinstance(value, list) or len(value) != len(axes):
        raise error(ARITY.code, f"a value for tuples {name} lists {len(axes)} levels ({', '.join(axes)}), found {value!r}", location)
    return tuple(as_level(v, location) for v in value)


@hookimpl
def cohort_dsl_rule_kinds():
    return [RuleKind(SECTION, load_fragment(SECTION), parse, "couple axes to exactly the listed item rows")]
