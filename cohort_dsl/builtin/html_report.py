"""Report format ``html``: one self-contained page (inline CSS and SVG, no
script, nothing fetched) for people who would rather look than read.

It renders a report's diagnostics, and the page data a command attaches
(``report.page``): ``explain``'s (the funnel as a bar chart, each axis's
marginals, a heat map per coupled pair of axes, ``--why``) and ``diff``'s
(the counts per stage, the added and removed records grouped by cause).
Every value is escaped; large tables are cut with a note saying so.
"""

from __future__ import annotations

from cohort_dsl.diagnostics import WARNING
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.registry import ReportFormat

#: levels per axis drawn in a marginal chart or along a heat map side
LEVELS_DRAWN = 40
BAR_WIDTH = 420

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1f24;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #d0d7de;padding:.15rem .5rem;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#59636e}.added{color:#116329}.removed{color:#a40e26}.error{color:#a40e26}.warning{color:#7d4e00}
svg text{font:12px system-ui,sans-serif}code{background:#f6f8fa;padding:0 .2rem}
"""


# What html.escape(quote=True) replaces (not imported: every command loads this plugin at start-up).
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def _e(value) -> str:
    return str(value).translate(_ESCAPES)


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else _e(value)


def bars(items: list[tuple[str, int]], css_class: str = "bar", note: str = "") -> str:
    """A horizontal bar chart (SVG) of ``(label, value)``."""
    top = max((v for _, v in items), default=0) or 1
    label_width = min(360, 14 + 8 * max((len(label[:45]) for label, _ in items), default=1))
    height = 20 * len(items) + 4
    rows = []
    for k, (label, value) in enumerate(items):
        y = 20 * k + 2
        width = max(1, round(BAR_WIDTH * value / top)) if value else 0
        rows.append(f'<g class="{css_class}"><title>{_e(label)}: {value:,}</title>'
                    f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">{_e(label[:45])}</text>'
                    f'<rect x="{label_width}" y="{y}" width="{width}" height="16" fill="#4f8fdc"/>'
                    f'<text x="{label_width + width + 4}" y="{y + 13}">{value:,}</text></g>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{label_width + BAR_WIDTH + 90}" '
           f'height="{height}">{"".join(rows)}</svg>')
    return svg + (f'<p class="muted">{_e(note)}</p>' if note else "")


def heat_map(pair: dict) -> str:
    """The counts of a coupled pair's combinations as a grid (SVG): rows
    the first axis's levels, columns the second's; an empty cell is a
    combination that does not occur."""
    a, b = pair["axes"]
    rows_levels = list(dict.fromkeys(cell[0] for cell in pair["cells"]))
    cols_levels = list(dict.fromkeys(cell[1] for cell in pair["cells"]))
    cut = len(rows_levels) > LEVELS_DRAWN or len(cols_levels) > LEVELS_DRAWN
    rows_levels, cols_levels = rows_levels[:LEVELS_DRAWN], cols_levels[:LEVELS_DRAWN]
    counts = {(va, vb): n for va, vb, n in pair["cells"]}
    top = max(counts.values(), default=1) or 1
    cell, left = 22, min(300, 14 + 8 * max((len(v[:36]) for v in rows_levels), default=1))
    head = 16 + 7 * max((len(v[:30]) for v in cols_levels), default=1)
    parts = []
    for j, vb in enumerate(cols_levels):
        x = left + j * cell + cell // 2
        parts.append(f'<text transform="translate({x},{head - 4}) rotate(-60)">{_e(vb[:30])}</text>')
    for i, va in enumerate(rows_levels):
        y = head + i * cell
        parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{_e(va[:36])}</text>')
        for j, vb in enumerate(cols_levels):
            n = counts.get((va, vb), 0)
            shade = f"rgba(79,143,220,{0.15 + 0.85 * n / top:.3f})" if n else "#f3f4f6"
            parts.append(f'<rect class="cell" x="{left + j * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                         f'fill="{shade}"><title>{_e(a)}={_e(va)}, {_e(b)}={_e(vb)}: {n:,} rows</title></rect>')
    width, height = left + cell * len(cols_levels) + head // 2 + 10, head + cell * len(rows_levels) + 4
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="heatmap" width="{width}" height="{height}">'
           f'{"".join(parts)}</svg>')
    note = f" (the first {LEVELS_DRAWN} levels of each side are drawn)" if cut else ""
    ratio = pair["imbalance"]
    return (f'<h3>{_e(a)} × {_e(b)} <span class="muted">by {_e(pair["rule"])}</span></h3>'
            f'<p>{pair["occurring"]:,} of {pair["possible"]:,} combinations occur ({pair["coverage"]:.0%}); '
            f'counts {pair["min"]:,}..{pair["max"]:,}'
            f'{f" (imbalance {ratio:.2f})" if ratio not in (None, 1) else " (balanced)" if ratio == 1 else ""}'
            f'{_e(note)}</p>{svg}')


def _table(header: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f'<th{" class=n" if k in numeric else ""}>{_e(h)}</th>' for k, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td{" class=n" if k in numeric else ""}>{_n(v)}</td>' for k, v in enumerate(row))
                   + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _diagnostics(report) -> str:
    if not report.diagnostics:
        return ""
    items = "".join(
        f'<li class="{"warning" if d.severity == WARNING else "error"}"><code>{_e(d.location)}</code> '
        f'<b>{_e(d.code)}</b> {_e(d.message)}{f"<br><span class=muted>hint: {_e(d.hint)}</span>" if d.hint else ""}</li>'
        for d in report.diagnostics)
    return f'<section id="diagnostics"><h2>Diagnostics</h2><ul>{items}</ul></section>'


def _explain(info: dict) -> str:
    out = [f'<section id="summary"><p><b>{info["rows"]:,}</b> rows; columns {_e(", ".join(info["columns"]))}</p></section>']
    funnel = [(step["step"], step["rows"]) for step in info["funnel"]]
    dropped = [[step["step"], d["axis"], d["level"]] for step in info["funnel"] for d in step.get("dropped", ())]
    out.append(f'<section id="funnel"><h2>Funnel</h2><p class="muted">rows after each rule, in document order</p>'
               f'{bars(funnel, "funnel-step")}'
               + (f"<h3>Levels each rule dropped</h3>{_table(['rule', 'axis', 'level'], dropped[:500])}"
                  if dropped else "") + "</section>")
    parts = []
    for m in info.get("marginals", ()):
        levels = m["levels"]
        note = f"the first {LEVELS_DRAWN} of {len(levels):,} levels" if len(levels) > LEVELS_DRAWN else ""
        ratio = m["imbalance"]
        parts.append(f'<div class="marginal"><h3>{_e(m["axis"])} <span class="muted">{len(levels):,} level{"s" if len(levels) != 1 else ""}, '
                     f'{"balanced" if ratio == 1 else f"imbalance {ratio:.2f}" if ratio else ""}</span></h3>'
                     + bars([(lv["level"], lv["rows"]) for lv in levels[:LEVELS_DRAWN]], "level", note) + "</div>")
    out.append(f'<section id="marginals"><h2>Marginals</h2><p class="muted">output rows per level</p>{"".join(parts)}'
               "</section>")
    pairs = info.get("couplings", ())
    if pairs:
        out.append(f'<section id="couplings"><h2>Coupled axes</h2>{"".join(heat_map(p) for p in pairs)}</section>')
    why = info.get("why")
    if why is not None:
        asked = ", ".join(f"{k}={v}" for k, v in why["axes"].items())
        removed = why["removed_by"]
        text = (f"{why['rows']:,} rows carry it" if removed is None else
                f"no row carries it: {removed['section']} {removed['rule']} "
                f"({removed['path']}:{removed['line']}) removed the last {why['rows_before']:,}")
        out.append(f'<section id="why"><h2>Why <code>{_e(asked)}</code></h2><p>{_e(text)}</p></section>')
    return "".join(out)


def _change(change: dict) -> str:
    stages = [[name, s["added"], s["removed"], s["unchanged"]] for name, s in change["stages"].items()]
    out = [f'<section id="diff-summary"><p>The spec now against {_e(change["base"])}.</p>'
           f'{_table(["stage", "added", "removed", "unchanged"], stages, {1, 2, 3})}</section>']
    for direction in ("added", "removed"):
        causes = [c for c in change["causes"] if c["direction"] == direction]
        if not causes:
            continue
        parts = [bars([(c["text"], sum(c["counts"].values())) for c in causes[:LEVELS_DRAWN]], "cause")]
        for cause in causes[:LEVELS_DRAWN]:
            where = f' <code>{_e(cause["path"])}:{_e(cause["line"])}</code>' if cause["path"] else ""
            counts = ", ".join(f"{n:,} {stage}{'s' if n != 1 else ''}" for stage, n in cause["counts"].items())
            records = cause["records"]
            fields = list(dict.fromkeys(k for r in records for k in r))
            more = sum(cause["counts"].values()) - len(records)
            combos = "".join(f"<li><code>{_e(', '.join(f'{a}={v}' for a, v in zip(c['axes'], row)))}</code> by "
                             f"{_e(', '.join(c['rules']))}</li>"
                             for c in cause.get("combinations", ()) for row in c["rows"][:LEVELS_DRAWN])
            parts.append(f'<div class="cause"><h3 class="{direction}">{_e(cause["text"])}</h3><p>{_e(counts)}{where}</p>'
                         + (f'<ul class="combinations">{combos}</ul>' if combos else "")
                         + (_table(fields, [[r.get(k, "") if r.get(k) is not None else "-" for k in fields]
                                            for r in records]) if records else "")
                         + (f'<p class="muted">… and {more:,} more (diff --format json lists all)</p>' if more > 0 else "")
                         + "</div>")
        out.append(f'<section id="{direction}"><h2 class="{direction}">{direction.capitalize()}</h2>{"".join(parts)}'
                   "</section>")
    return "".join(out)


def render_html(report, out) -> None:
    page = report.page or {}
    title = page.get("title", "cohort-dsl report")
    body = [f"<h1>{_e(title)}</h1>", _diagnostics(report)]
    if "explain" in page:
        body.append(_explain(page["explain"]))
    if "change" in page:
        body.append(_change(page["change"]))
    if not report.diagnostics and len(page) <= 1:
        body.append(f"<p>{_e(report.summary())}</p>")
    out.write(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
              '<meta name="viewport" content="width=device-width, initial-scale=1">'
              f'<style>{CSS}</style></head><body>{"".join(body)}</body></html>\n')


@hookimpl
def cohort_dsl_report_formats():
    return [ReportFormat("html", render_html, "one self-contained HTML page (inline CSS and SVG, no script)")]
