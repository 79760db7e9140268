"""``explain``: what a spec expands to, without generating rows — the
funnel, the factors, the levels each rule dropped, the balance of the output
(each level's marginal count; for each pair of axes a rule couples, how many
of their combinations occur and how unevenly), and with ``--why`` how many
rows carry a combination of values and which rule removed it.

All of it is arithmetic on the factors: a level's count in the output is its
count in its factor times the size of the other factors.
"""

from __future__ import annotations

from collections import Counter
from operator import itemgetter
from math import prod

from cohort_dsl.diagnostics import Location, SpecError, UsageError, did_you_mean, display_path, error
from cohort_dsl.registry import LintRule

WHY_VALUE = LintRule("R017", "why-unknown-value", "explain --why names an axis or a level the spec does not have.",
                     "`explain SPEC --why \"axis=value,...\"` follows a combination of levels through the rules. Each "
                     "axis must be one of the spec's and each value one of the levels it starts with (declared under "
                     "axes:, or listed by a tuple); the message points at the axis and suggests a close match.")


def render_text(compiled, out, info: dict | None = None) -> None:
    """``info``: :func:`report`'s data (computed when not given)."""
    info = info if info is not None else report(compiled)
    config = compiled.spec.bundle.config_path
    if config is not None:
        out.write(f"spec: {display_path(str(config))}\n")
    out.write(f"rows: {info['rows']:,}\n")
    out.write(f"columns: {', '.join(info['columns'])}\n")
    if info["seed"] is not None:
        out.write(f"seed: {info['seed']}\n")
    out.write("\nfunnel (rows after each rule, in document order)\n")
    width = max(len(step["step"]) for step in info["funnel"])
    previous = None
    for step in info["funnel"]:
        line = f"  {step['step']:<{width}}  {step['rows']:>12,}"
        if previous is not None:
            change = step["rows"] - previous
            line += f"  {change:>+12,}" if change else "  (removes nothing)"
        else:
            line += " " * 14
        if step.get("line"):
            line += f"   line {step['line']}"
        out.write(line + "\n")
        for text in _dropped_lines(step.get("dropped") or ()):
            out.write(f"      {text}\n")
        previous = step["rows"]
    out.write("\nfactors (rows = their product; the last varies fastest)\n")
    labels = [", ".join(f["axes"]) for f in info["factors"]]
    width = max(len(label) for label in labels)
    for number, (factor, label) in enumerate(zip(info["factors"], labels), start=1):
        rules = f"   by {', '.join(factor['rules'])}" if factor["rules"] else ""
        out.write(f"  {number:>2}. {label:<{width}}  {factor['rows']:>10,}{rules}\n")
    _balance_lines(info, out)
    if "why" in info:
        _why_lines(info["why"], out)


#: levels shown per axis in the text marginals
LEVELS_SHOWN = 6


def _balance_lines(info: dict, out) -> None:
    out.write("\nmarginals (output rows per level; imbalance = max/min)\n")
    width = max(len(m["axis"]) for m in info["marginals"])
    for m in info["marginals"]:
        levels = m["levels"]
        shown = ", ".join(f"{lv['level']} {lv['rows']:,}" for lv in levels[:LEVELS_SHOWN])
        if len(levels) > LEVELS_SHOWN:
            shown += f", … {len(levels) - LEVELS_SHOWN:,} more"
        out.write(f"  {m['axis']:<{width}}  {len(levels):>5,} level{'s' if len(levels) != 1 else ' '}  "
                  f"{_imbalance(m)}  {shown}\n")
    if not info["couplings"]:
        return
    out.write("\ncoupled axes (combinations that occur, of those possible)\n")
    labels = [" × ".join(c["axes"]) for c in info["couplings"]]
    width = max(len(label) for label in labels)
    for c, label in zip(info["couplings"], labels):
        coverage = f"({c['coverage']:.0%})"
        out.write(f"  {label:<{width}}  {c['occurring']:>6,}/{c['possible']:<6,} {coverage:<6}  "
                  f"{_imbalance(c)}   by {c['rule']}\n")


def _imbalance(stats: dict) -> str:
    ratio = stats["imbalance"]
    if ratio == 1:
        return f"balanced ({stats['min']:,} each)".ljust(28)
    return f"{stats['min']:,}..{stats['max']:,} (imbalance {ratio:.2f})".ljust(28)


def _why_lines(why: dict, out) -> None:
    asked = ", ".join(f"{axis}={value}" for axis, value in why["axes"].items())
    out.write(f"\nwhy {asked}\n")
    removed = why["removed_by"]
    if removed is None:
        out.write(f"  {why['rows']:,} row{'s' if why['rows'] != 1 else ''} carry it\n")
        return
    where = f" ({removed['path']}:{removed['line']})" if removed["path"] and removed["line"] else ""
    out.write(f"  no row carries it: {removed['section']} {removed['rule']}{where} removed the last "
              f"{why['rows_before']:,} row{'s' if why['rows_before'] != 1 else ''} that did\n")


#: values listed per axis under a funnel step; the rest are counted
DROPPED_SHOWN = 10


def _dropped_lines(dropped) -> list[str]:
    """``dropped AXIS: v1, v2 (2)`` per axis, in the order the step lists them."""
    by_axis: dict[str, list[str]] = {}
    for d in dropped:
        by_axis.setdefault(d["axis"], []).append(d["level"])
    lines = []
    for axis, levels in by_axis.items():
        shown = ", ".join(levels[:DROPPED_SHOWN])
        more = len(levels) - DROPPED_SHOWN
        if more > 0:
            shown += f", … and {more:,} more"
        lines.append(f"dropped {axis}: {shown} ({len(levels):,})")
    return lines


# -- explain's data ---------------------------------------------------------------

def report(compiled, why=None, *, cells: bool = True) -> dict:
    """What ``explain --format json`` prints: the compiled explanation,
    the marginals and couplings, and ``why`` when asked. ``cells=False``
    leaves out each coupling's list of occurring cells (the text report
    shows only their summary; a 100k-entry pair's list is most of the work)."""
    design = compiled.design
    counts = {axis: level_counts(design, axis) for axis in design.axis_order}
    levels = {axis: len(found) for axis, found in counts.items()}  # each axis's domain, counted once
    out = compiled.explain(levels)
    out["marginals"] = marginals(design, counts)
    out["couplings"] = couplings(compiled, cells=cells, levels=levels)
    if why is not None:
        out["why"] = why.to_json()
    return out


def level_counts(design, axis: str) -> Counter:
    """How many rows of its factor hold each level of ``axis`` (in the
    order :meth:`Design.domain` gives the levels)."""
    factor = design.factor_of(axis)
    return Counter(map(itemgetter(factor.axes.index(axis)), factor.rows))


def marginals(design, counts: dict[str, Counter] | None = None) -> list[dict]:
    """Per axis, in axis order: each level's count in the output rows
    (``counts``: :func:`level_counts` of each axis, when already known)."""
    out = []
    total = design.count
    for axis in design.axis_order:
        factor = design.factor_of(axis)
        rest = total // len(factor.rows) if factor.rows else 0
        counts_of_axis = counts[axis] if counts is not None else level_counts(design, axis)
        rows = [n * rest for n in counts_of_axis.values()]
        out.append({"axis": axis, "levels": [{"level": level, "rows": n * rest} for level, n in counts_of_axis.items()],
                    "min": min(rows), "max": max(rows), "imbalance": _ratio(rows)})
    return out


def couplings(compiled, *, cells: bool = True, levels: dict[str, int] | None = None) -> list[dict]:
    """For each pair of axes a rule couples (a tie's axes, a pair's left
    and right sides, a tuple's axes), in rule order: the combinations that
    occur out of those possible (coverage) and the max/min ratio of their
    counts in the output (imbalance), with every occurring cell unless
    ``cells`` is false (``levels``: each axis's number of levels, when
    already known)."""
    design = compiled.design
    total = design.count
    seen: set[frozenset] = set()
    out = []
    for rule in compiled.spec.rules:
        for a, b in _pairs_of(rule, design):
            if frozenset((a, b)) in seen:
                continue
            factor = design.factor_of(a)
            if b not in factor.axes:
                continue  # not coupled after all (a plugin's rule that only filters)
            seen.add(frozenset((a, b)))
            i, j = factor.axes.index(a), factor.axes.index(b)
            rest = total // len(factor.rows)
            occurring = Counter(factor.rows if factor.axes == (a, b) else map(itemgetter(i, j), factor.rows))
            counts = [n * rest for n in occurring.values()]
            possible = (levels[a] * levels[b]) if levels is not None else len(design.domain(a)) * len(design.domain(b))
            coupling = {"axes": [a, b], "rule": rule.label, "line": rule.location.line if rule.location else None,
                        "possible": possible, "occurring": len(occurring), "coverage": len(occurring) / possible,
                        "min": min(counts), "max": max(counts), "imbalance": _ratio(counts)}
            if cells:
                coupling["cells"] = [[va, vb, n * rest] for (va, vb), n in occurring.items()]
            out.append(coupling)
    return out


def _pairs_of(rule, design) -> list[tuple[str, str]]:
    groups = []
    for ref in rule.references:
        target = design.targets.get(ref.name)
        groups.append(tuple(target.axes) if target is not None else (ref.name,))
    if rule.introduces:
        groups.append(tuple(rule.introduces))
    if len(groups) == 1:
        axes = groups[0]
        return [(a, b) for k, a in enumerate(axes) for b in axes[k + 1:]]
    return [(a, b) for k, left in enumerate(groups) for right in groups[k + 1:] for a in left for b in right if a != b]


def _ratio(counts: list[int]) -> float | None:
    low = min(counts, default=0)
    return round(max(counts) / low, 4) if low else None


# -- --why --------------------------------------------------------------------------

def parse_why(text: str) -> list[tuple[str, str]]:
    """``axis=value[,axis=value…]``; a backslash escapes ``,``, ``=`` and
    itself inside names and values (``essay=a\\,b`` is the value ``a,b``)."""
    pairs, part, parts, escaped = [], [], [], False

    def close_pair() -> None:
        if len(parts) != 2 or not parts[0].strip():
            raise UsageError(f"--why {text!r}: write axis=value, separated by commas "
                             "(escape a ',' or '=' inside a value with a backslash)")
        pairs.append((parts[0].strip(), parts[1]))
        parts.clear()

    for char in text:
        if escaped:
            part.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            parts.append("".join(part))
            part = []
            if char == ",":
                close_pair()
        else:
            part.append(char)
    if escaped:
        raise UsageError(f"--why {text!r} ends with a lone backslash")
    parts.append("".join(part))
    close_pair()
    axes = [axis for axis, _ in pairs]
    twice = sorted({a for a in axes if axes.count(a) > 1})
    if twice:
        raise UsageError(f"--why names {', '.join(twice)} more than once")
    return pairs


class Why:
    """Follows a combination of levels through the rules (an ``observe``
    hook of the compiler): the rows carrying it after each rule."""

    def __init__(self, wanted: list[tuple[str, str]]):
        self.wanted = dict(wanted)
        self.rows = 0
        self.before = 0
        self.removed_by = None  # the first rule after which no row carries it
        self.declared: dict[str, list] = {}

    def __call__(self, rule, design) -> None:
        if rule is None:
            self.declared = {axis: list(levels) for axis, levels in design.declared.items()}
        rows = matching_rows(design, self.wanted)
        if rule is not None and self.removed_by is None and rows == 0 and self.rows > 0:
            self.removed_by, self.before = rule, self.rows
        self.rows = rows

    def check(self, compiled) -> None:
        """Each axis must be the spec's and each value one of its levels
        (R017, located at the axis, with did-you-mean)."""
        document = compiled.spec.bundle.document
        problems = []
        for axis, value in self.wanted.items():
            levels = self.declared.get(axis)
            if levels is None:
                problems.append(error(WHY_VALUE.code, f"--why: {axis!r} is not an axis of this spec",
                                      document.key_loc(("axes",)), did_you_mean(axis, self.declared)
                                      or f"its axes: {', '.join(self.declared)}").diagnostics[0])
            elif value not in levels:
                where = (document.key_loc(("axes", axis)) if ("axes", axis) in document.key_positions
                         else compiled.design.origins.get(axis, {}).get(levels[0], Location(document.path)))
                problems.append(error(WHY_VALUE.code, f"--why: {value!r} is not a level of axis {axis!r}", where,
                                      did_you_mean(value, levels) or f"its levels: {', '.join(levels[:8])}"
                                      + (", …" if len(levels) > 8 else "")).diagnostics[0])
        if problems:
            raise SpecError(problems)

    def to_json(self) -> dict:
        rule = self.removed_by
        removed = None if rule is None else {
            "rule": rule.name, "section": rule.kind,
            "path": display_path(rule.location.path) if rule.location and rule.location.path else None,
            "line": rule.location.line if rule.location else None}
        return {"axes": dict(self.wanted), "rows": self.rows, "removed_by": removed,
                **({"rows_before": self.before} if rule is not None else {})}


def matching_rows(design, wanted: dict) -> int:
    """How many rows of the design's product carry every value in
    ``wanted`` (axis -> level)."""
    sizes = []
    for factor in design.factors:
        checks = [(factor.axes.index(a), v) for a, v in wanted.items() if a in factor.axes]
        if checks:
            sizes.append(sum(1 for row in factor.rows if all(row[i] == v for i, v in checks)))
        else:
            sizes.append(len(factor.rows))
    return prod(sizes)
