"""Property: the factor-model compiler yields exactly the rows of a naive
reference (docs/spec_dsl.md, "Rules: the factor model") on random small specs.

The reference below is deliberately simple and shares no code with the
package: it materialises the full Cartesian product of every axis's levels
and applies each rule, in document order, as a filter:

- subsets: the axis's value is in the keep list;
- ties: all tied values are equal;
- pairs: (left values, right values) is an allowed entry, where a side that
  names an earlier rule contributes that rule's axes;
- tuples: the projection onto the tuple's axes is an item.

It also detects the errors a valid-looking spec can still have (values
outside the current domain, imbalance, overlapping pair sides, an empty
result), so that an error from the compiler can be checked too.
"""

from __future__ import annotations

import io
import itertools
import json
from collections import Counter

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from cohort_dsl.bundle import load_mapping
from cohort_dsl.compiler import compile_bundle
from cohort_dsl.diagnostics import SpecError

POOL = ["p", "q", "r", "s", "t"]


# =============================================================================
# the naive reference
# =============================================================================

class RefError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def ordered_rules(spec: dict) -> list[tuple[str, str, object]]:
    return [(kind, name, value) for kind, section in (spec.get("rules") or {}).items() for name, value in section.items()]


def reference_levels(spec: dict) -> dict[str, list[str]]:
    """Declared axes in order, then tuple-only axes (distinct item values,
    first seen)."""
    levels = {axis: list(dict.fromkeys(values)) for axis, values in spec["axes"].items()}
    for kind, _, value in ordered_rules(spec):
        if kind != "tuples":
            continue
        for i, axis in enumerate(value["axes"]):
            if axis in spec["axes"]:
                continue
            bucket = levels.setdefault(axis, [])
            for item in value["items"]:
                if item[i] not in bucket:
                    bucket.append(item[i])
    return levels


class Reference:
    """The naive semantics, one rule at a time (also used to steer the
    generator towards valid specs)."""

    def __init__(self, levels: dict[str, list[str]], declared: dict[str, list[str]]):
        self.levels = levels
        self.declared = declared  # axis -> levels a tuple item must lie in
        names = list(levels)
        self.rows = [dict(zip(names, combo)) for combo in itertools.product(*(levels[n] for n in names))]
        self.named: dict[str, tuple[str, object]] = {}  # name -> (kind, info)

    # -- sides --------------------------------------------------------------
    def side_axes(self, name: str) -> tuple:
        if name not in self.named:
            return (name,)
        kind, info = self.named[name]
        if kind == "ties" or kind == "tuples":
            return tuple(info)
        left, right = info
        return self.side_axes(left) + self.side_axes(right)

    def flatten(self, name: str, value) -> tuple:
        """A value written for side ``name`` as a tuple aligned with its axes."""
        if name not in self.named:
            return (value,)
        kind, info = self.named[name]
        if kind == "ties":
            return (value,) * len(info)
        if kind == "tuples":
            return tuple(value)
        left, right = info
        return self.flatten(left, value[0]) + self.flatten(right, value[1])

    def encode(self, name: str, row: dict):
        """What an author writes for side ``name`` to mean ``row``'s values."""
        if name not in self.named:
            return row[name]
        kind, info = self.named[name]
        if kind == "ties":
            return row[info[0]]
        if kind == "tuples":
            return [row[a] for a in info]
        left, right = info
        return [self.encode(left, row), self.encode(right, row)]

    def projection(self, axes: tuple) -> set:
        return {tuple(r[a] for a in axes) for r in self.rows}

    # -- rules --------------------------------------------------------------
    def apply(self, kind: str, name: str, value) -> None:
        if kind == "subsets":
            self.rows = [r for r in self.rows if r[name] in value]
        elif kind == "ties":
            tied = value if isinstance(value, list) else value["axes"]
            self.rows = [r for r in self.rows if len({r[a] for a in tied}) == 1]
            self.named[name] = ("ties", list(tied))
        elif kind == "tuples":
            axes = value["axes"]
            for item in value["items"]:
                for axis, level in zip(axes, item):
                    if level not in self.declared[axis]:
                        raise RefError("R006")
            items = {tuple(item) for item in value["items"]}
            self.rows = [r for r in self.rows if tuple(r[a] for a in axes) in items]
            self.named[name] = ("tuples", list(axes))
        elif kind == "pairs":
            left, right = value["left"], value["right"]
            la, ra = self.side_axes(left), self.side_axes(right)
            if set(la) & set(ra):
                raise RefError("R012")
            lproj, rproj = self.projection(la), self.projection(ra)
            entries = []
            for lv, rv in value["allowed"]:
                lt, rt = self.flatten(left, lv), self.flatten(right, rv)
                if lt not in lproj or rt not in rproj:
                    raise RefError("R006")
                entries.append((lt, rt))
            unique = list(dict.fromkeys(entries))
            balance = value.get("balance")
            if balance in ("left", "both") and len(set(Counter(e[0] for e in unique).values())) > 1:
                raise RefError("R007")
            if balance in ("right", "both") and len(set(Counter(e[1] for e in unique).values())) > 1:
                raise RefError("R007")
            allowed = {lt + rt for lt, rt in unique}
            self.rows = [r for r in self.rows if tuple(r[a] for a in la + ra) in allowed]
            self.named[name] = ("pairs", (left, right))
        else:  # pragma: no cover
            raise AssertionError(kind)
        if not self.rows:
            raise RefError("R005")


def reference(spec: dict):
    """``(set of rows as sorted item tuples, axis order)`` or ``RefError``."""
    levels = reference_levels(spec)
    declared = dict(levels)
    ref = Reference(levels, declared)
    for kind, name, value in ordered_rules(spec):
        ref.apply(kind, name, value)
    return {tuple(sorted(r.items())) for r in ref.rows}, list(levels)


# =============================================================================
# the generator: random small specs, steered towards valid ones
# =============================================================================

def maybe_corrupt(draw, value, candidates):
    """Now and then, replace a value with another level (possibly out of
    the current domain) so that error paths are exercised too."""
    if draw(st.integers(0, 14)) == 0:
        return draw(st.sampled_from(candidates))
    return value


@st.composite
def specs(draw):
    n_axes = draw(st.integers(2, 4))
    declared = {}
    for i in range(n_axes):
        declared[f"a{i}"] = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=4, unique=True))
    n_only = draw(st.integers(0, 2))
    only_axes = [f"u{i}" for i in range(n_only)]
    n_rules = draw(st.integers(0, 4))
    kinds = [draw(st.sampled_from(["subsets", "ties", "pairs", "tuples"])) for _ in range(n_rules)]
    if only_axes:
        # one tuple introduces the tuple-only axes, somewhere in the sequence
        kinds.insert(draw(st.integers(0, len(kinds))), "introduce")
    # Rules are written in sections (one per kind, in order of first use), so
    # document order groups the kinds: generate the rules in that order.
    effective = ["tuples" if k == "introduce" else k for k in kinds]
    first = {k: effective.index(k) for k in effective}
    kinds = [k for _, k in sorted(enumerate(kinds), key=lambda p: (first[effective[p[0]]], p[0]))]

    # Guidance state: tuple-only axes start with the whole pool; once their
    # tuple has run, only item values remain (as in the real semantics).
    guide = Reference({**declared, **{a: list(POOL) for a in only_axes}},
                      {**declared, **{a: list(POOL) for a in only_axes}})
    available = list(declared)
    rules: list[tuple[str, str, object]] = []
    failed = False
    introduced = False
    for index, kind in enumerate(kinds):
        name = f"r{index}"
        if kind == "introduce":
            extra = draw(st.lists(st.sampled_from(list(declared)), max_size=1))
            axes = only_axes + extra
            n_items = draw(st.integers(1, 4))
            items = []
            for _ in range(n_items):
                row = draw(st.sampled_from(guide.rows))
                items.append([draw(st.sampled_from(POOL)) if a in only_axes else maybe_corrupt(draw, row[a], declared[a])
                              for a in axes])
            value = {"axes": axes, "items": items}
            kind = "tuples"
            available += only_axes
            introduced = True
        elif kind == "subsets":
            name = draw(st.sampled_from(available))
            if any(k == "subsets" and n == name for k, n, _ in rules):
                continue  # one subsets entry per axis (a mapping key)
            domain = sorted({r[name] for r in guide.rows})
            keep = draw(st.lists(st.sampled_from(domain + ["zz"]), min_size=1, max_size=4))
            value = keep
        elif kind == "ties":
            axes = draw(st.lists(st.sampled_from(available), min_size=2, max_size=3, unique=True))
            value = axes if draw(st.booleans()) else {"axes": axes}
        elif kind == "tuples":
            axes = draw(st.lists(st.sampled_from([a for a in available if a in declared]), min_size=1, max_size=3,
                                 unique=True))
            items = []
            for _ in range(draw(st.integers(1, 4))):
                row = draw(st.sampled_from(guide.rows))
                items.append([maybe_corrupt(draw, row[a], declared[a]) for a in axes])
            value = {"axes": axes, "items": items}
        else:  # pairs
            sides = available + [n for n in guide.named]
            named = [n for n in guide.named]
            # prefer a side that names an earlier rule when there is one
            left = draw(st.sampled_from(named if named and draw(st.booleans()) else sides))
            la = set(guide.side_axes(left))
            right_choices = [s for s in sides if s != left and not (set(guide.side_axes(s)) & la)]
            if not right_choices:
                continue
            right = draw(st.sampled_from(right_choices))
            allowed = []
            for _ in range(draw(st.integers(1, 4))):
                lrow = draw(st.sampled_from(guide.rows))
                rrow = draw(st.sampled_from(guide.rows))
                lv, rv = guide.encode(left, lrow), guide.encode(right, rrow)
                if isinstance(rv, str):
                    rv = maybe_corrupt(draw, rv, POOL)
                allowed.append([lv, rv])
            if draw(st.booleans()):
                allowed.append(draw(st.sampled_from(allowed)))  # a duplicate entry
            value = {"left": left, "right": right, "allowed": allowed}
            balance = draw(st.sampled_from([None, None, None, "left", "right", "both"]))
            if balance:
                value["balance"] = balance
        rules.append((kind, name, value))
        if not failed:
            try:
                guide.apply(kind, name, value)
            except RefError:
                failed = True  # keep generating; the spec is checked as a whole
        if failed:
            break

    sections: dict[str, dict] = {}
    for kind, name, value in rules:
        sections.setdefault(kind, {})
        if name in sections[kind]:
            continue
        sections[kind][name] = value
    spec = {"axes": declared}
    if sections:
        spec["rules"] = sections
    if draw(st.booleans()):
        names = list(declared) + (only_axes if introduced else [])
        spec["output"] = {"field_order": draw(st.lists(st.sampled_from(names), max_size=2, unique=True))}
    return spec


# =============================================================================
# the property
# =============================================================================

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_compiler_matches_naive_reference(spec):
    note(json.dumps(spec))
    try:
        expected, axis_order = reference(spec)
        ref_error = None
    except RefError as exc:
        expected, axis_order, ref_error = None, None, exc.code

    try:
        compiled = compile_bundle(load_mapping(spec))
    except SpecError as exc:
        got = [d.code for d in exc.diagnostics if d.severity == "error"]
        note(f"compiler: {[(d.code, d.message) for d in exc.diagnostics]}")
        assert ref_error is not None, f"compiler refused a spec the reference accepts: {got}"
        assert ref_error in got
        return
    assert ref_error is None, f"reference says {ref_error}, the compiler accepted the spec"

    rows = list(compiled.rows())
    columns = compiled.columns
    # distinct rows, and the count is known without generating them
    assert len(rows) == len(set(rows))
    assert compiled.count == len(rows)
    assert compiled.explain()["rows"] == compiled.count
    assert compiled.funnel[-1].rows == compiled.count
    # the counts after each rule follow what the rules changed (a rule costs
    # what it touches): the same as the product of every factor after each
    from cohort_dsl.compiler import _expand

    exact = _expand(compiled.spec, compiled.spec.bundle, None, exact_counts=True)
    assert [s.rows for s in compiled.funnel] == [s.rows for s in exact.funnel]
    # columns: field_order first, then the remaining axes in axis order
    field_order = (spec.get("output") or {}).get("field_order", [])
    assert columns == field_order + [a for a in axis_order if a not in field_order]
    # the same SET of rows as the naive reference
    got = {tuple(sorted(zip(columns, row))) for row in rows}
    assert got == expected
    # a seed permutes the same rows
    seeded = list(compiled.rows(seed=len(rows)))
    assert sorted(seeded) == sorted(rows)
    # the text writer agrees with the tuple stream
    buf = io.StringIO()
    compiled.plan().write(buf, "jsonl")
    assert [tuple(json.loads(line).values()) for line in buf.getvalue().splitlines()] == rows


def test_reference_sanity():
    """The reference itself on the worked examples `tie-then-pair` and
    `pair-with-tuple` of docs/spec_dsl.md."""
    rows, order = reference({"axes": {"a": ["d1", "d2", "d3"], "b": ["d2", "d3", "d4"], "c": ["e1", "e2"]},
                             "rules": {"ties": {"t": ["a", "b"]},
                                       "pairs": {"p": {"left": "a", "right": "c", "allowed": [["d2", "e1"], ["d3", "e2"]]}}}})
    assert order == ["a", "b", "c"]
    assert rows == {(("a", "d2"), ("b", "d2"), ("c", "e1")), (("a", "d3"), ("b", "d3"), ("c", "e2"))}
    rows, order = reference({"axes": {"draft_template": ["d1", "d2"]}, "rules": {
        "tuples": {"bundle": {"axes": ["essay_template", "essay_llm"], "items": [["e1", "m1"], ["e2", "m2"]]}},
        "pairs": {"dp": {"left": "draft_template", "right": "bundle", "allowed": [["d1", ["e1", "m1"]], ["d2", ["e2", "m2"]]]}}}})
    assert order == ["draft_template", "essay_template", "essay_llm"]
    assert len(rows) == 2
