"""``explain``: what a spec expands to, without generating rows."""

from __future__ import annotations

from cohort_dsl.diagnostics import display_path


def render_text(compiled, out) -> None:
    info = compiled.explain()
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
