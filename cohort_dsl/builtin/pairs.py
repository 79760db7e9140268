"""Rule kind ``pairs``: couple two sides to exactly the allowed combinations.

``pairs: {name: {left, right, allowed, balance?}}``. ``left`` and ``right``
name an axis or an earlier tie, pair or tuple; a side naming a tuple or pair
takes a list value (``[creative-v2, [essay-llm-v1, sonnet-4]]``). ``allowed``
is inline or an ``@file:`` CSV whose header names the sides (a tuple or pair
side by its axes). Every value must be in its side's current domain; repeats
are dropped; ``balance`` requires each left (right, both) value to occur
equally often. The coupled factor follows the order of ``allowed``.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from operator import itemgetter

from cohort_dsl.design import ARITY
from cohort_dsl.diagnostics import error
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.registry import LintRule, Reference, Rule, RuleKind
from cohort_dsl.schema import load_fragment

SECTION = "pairs"
IMBALANCE = LintRule("R007", "pair-imbalance", "A balanced pair is not balanced.",
                     "With `balance: left` (`right`, `both`) every left (right) value must occur equally often in "
                     "`allowed`; the counts are listed.")
SELF_PAIR = LintRule("R012", "pair-self", "A pair's two sides are the same or overlap.",
                     "`left` and `right` must name different axes or rules that share no axis.")


def parse(section):
    from cohort_dsl.includes import is_include

    for entry in section.entries():
        value = entry.value
        left, right = value["left"], value["right"]
        if left == right:
            raise error(SELF_PAIR.code, f"pairs {entry.name}: left and right are both {left!r}", entry.loc("right"),
                        "a pair couples two different axes (or earlier rules)")
        allowed = value["allowed"]
        if is_include(allowed):
            source = entry.include("allowed")
            if source.header is None:
                items = list(zip(source.rows, source.locations))
            else:
                items = source  # matched by header name once the sides are known
        else:
            items = [(item, entry.loc("allowed", i)) for i, item in enumerate(allowed)]
        yield Rule(
            SECTION, entry.name, entry.location,
            partial(apply, name=entry.name, left=left, right=right, items=items, balance=value.get("balance"),
                    location=entry.location, balance_location=entry.loc("balance")),
            references=(Reference(left, entry.loc("left")), Reference(right, entry.loc("right"))),
            named=True,
        )


def apply(design, *, name, left, right, items, balance, location, balance_location):
    from cohort_dsl.spec import dedupe, distinct

    lt, rt = design.resolve(left), design.resolve(right)
    shared = sorted(set(lt.axes) & set(rt.axes))
    if shared:
        raise error(SELF_PAIR.code, f"pairs {name}: {lt.describe()} and {rt.describe()} both cover axis {shared[0]!r}", location,
                    "a pair couples two independent sides")
    left_domain, right_domain = design.domain_of(lt.axes), design.domain_of(rt.axes)
    k = len(lt.axes)
    what = f"pairs {name} allowed"
    if isinstance(items, list):
        located = []
        for item, loc in items:
            if not isinstance(item, list) or len(item) != 2:
                raise error(ARITY.code, f"pairs {name}: an allowed entry must be a [left, right] pair, found {item!r}", loc)
            lv, rv = lt.decode(item[0], loc), rt.decode(item[1], loc)
            design.check_in_domain(lt, lv, loc, item[0], left_domain)
            design.check_in_domain(rt, rv, loc, item[1], right_domain)
            located.append((lv + rv, loc))
        rows, origins = dedupe(located, what, design.report)
    else:  # an include: its rows as read, located only where a diagnostic needs it
        n = len(lt.columns)
        cells, locations = items.project(list(lt.columns + rt.columns), f"{lt.describe()} then {rt.describe()}")
        if lt.from_columns is None and rt.from_columns is None:
            values = cells  # the columns are the axes
        else:
            values = [lt.value_from_columns(row[:n]) + rt.value_from_columns(row[n:]) for row in cells]
        if not (_within(values, 0, k, left_domain) and _within(values, k, len(rt.axes), right_domain)):
            for i, value in enumerate(values):  # the first entry outside a domain, reported at its line
                design.check_in_domain(lt, value[:k], locations[i], list(cells[i][:n]), left_domain)
                design.check_in_domain(rt, value[k:], locations[i], list(cells[i][n:]), right_domain)
        rows, origins = distinct(values, locations, what, design.report)
    if balance in ("left", "both"):
        _check_balance(name, "left", [row[:k] for row in rows], balance_location)
    if balance in ("right", "both"):
        _check_balance(name, "right", [row[k:] for row in rows], balance_location)
    axes = lt.axes + rt.axes
    design.note_origins(axes, rows, origins)
    design.join(axes, rows)
    design.define(name, SECTION, axes, partial(_decode, lt=lt, rt=rt), lt.columns + rt.columns, location,
                  from_columns=partial(_from_columns, lt=lt, rt=rt))


def _within(values: list, first: int, width: int, domain: set) -> bool:
    """Every value's side (``width`` levels from ``first``) is in ``domain`` (at C speed)."""
    if width == 1:  # one axis: its levels, without a tuple per entry
        return set(map(itemgetter(first), values)) <= {level for level, in domain}
    return all(map(domain.__contains__, map(itemgetter(slice(first, first + width)), values)))


def _check_balance(name, side, values, location):
    counts = Counter(values)
    if len(set(counts.values())) > 1:
        shown = ", ".join(f"{v[0] if len(v) == 1 else list(v)} ×{n}" for v, n in counts.items())
        raise error(IMBALANCE.code, f"pairs {name} is not balanced on the {side}: {shown}", location,
                    f"balance: {side} needs every {side} value to appear equally often in allowed")


def _decode(value, location, *, lt, rt):
    if not isinstance(value, list) or len(value) != 2:
        raise error(ARITY.code, f"a value for a pair is a [left, right] list, found {value!r}", location)
    return lt.decode(value[0], location) + rt.decode(value[1], location)


def _from_columns(cells, *, lt, rt):
    n = len(lt.columns)
    return lt.value_from_columns(cells[:n]) + rt.value_from_columns(cells[n:])


@hookimpl
def cohort_dsl_rule_kinds():
    return [RuleKind(SECTION, load_fragment(SECTION), parse, "couple two axes or rules to exactly the allowed combinations")]
