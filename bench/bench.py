"""Benchmarks: the tool against floors measured in the same run.

    .venv/bin/python bench/bench.py                    # print the table
    .venv/bin/python bench/bench.py --write docs/performance.md

Each measurement alternates floor and tool (A/B/A/B …, ``--repeat`` times)
and reports medians, so machine noise hits both sides. Wall time and peak
RSS come from the operating system (``os.wait4``) for each child process.

- compile: ``cohort-dsl compile --format csv --out FILE`` vs a plain script
  doing ``itertools.product`` over the same columns into ``csv.writer``;
- membership: ``cohort-dsl membership --wide`` vs a plain loop computing the
  three stage ids per row with ``hashlib.blake2b`` and writing one line;
- start-up: ``cohort-dsl --version`` vs ``python -c pass``;
- lint: one bundle with catalogs (cold: ``--no-cache``; warm: cached) and 50
  bundles, vs ``python -c pass``;
- refusal: a spec whose count is 10**10.

The synthetic spec has five declared axes (one from a CSV include), a tuple
read from a CSV include (three tuple-only axes), a pair read from a CSV
include, and 8 output columns; ``rows // 200`` combos set its size.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

DRAFT_TEMPLATES = ["creative-synthesis-v7", "creative-synthesis-v10", "problem-solving-v3",
                   "application-implementation-v2", "gwern_original"]
ESSAYS = [(f"essay-theme-v{i}", f"llm-{i % 3}", f"eval-tpl-{i}") for i in range(5)]
JUDGES = [("sonnet-4", "gpt-5"), ("sonnet-4", "gemini_25_pro"), ("gemini_25_pro", "gpt-5"), ("gemini_25_pro", "sonnet-4")]
COLUMNS = ["combo_id", "draft_template", "draft_llm", "essay_template", "essay_llm", "evaluation_template",
           "evaluation_llm", "evaluation_template_replicate"]


def combos(rows: int) -> list[str]:
    return [f"combo_v1_{i:06d}" for i in range(rows // 200)]


def make_spec(folder: Path, rows: int) -> Path:
    spec = folder / "spec"
    (spec / "items").mkdir(parents=True)
    (spec / "items" / "combos.csv").write_text("combo_id\n" + "".join(c + "\n" for c in combos(rows)))
    (spec / "items" / "essays.csv").write_text(
        "essay_template,essay_llm,evaluation_template\n" + "".join(",".join(e) + "\n" for e in ESSAYS))
    (spec / "items" / "judges.csv").write_text("draft_llm,evaluation_llm\n" + "".join(",".join(j) + "\n" for j in JUDGES))
    (spec / "config.yaml").write_text(textwrap.dedent(f"""\
        axes:
          combo_id: "@file:items/combos.csv"
          draft_template: [{", ".join(DRAFT_TEMPLATES)}]
          draft_llm: [sonnet-4, gemini_25_pro]
          evaluation_llm: [gpt-5, gemini_25_pro, sonnet-4]
          evaluation_template_replicate: [1, 2]
        rules:
          tuples:
            essays:
              items: "@file:items/essays.csv"
          pairs:
            judges:
              left: draft_llm
              right: evaluation_llm
              allowed: "@file:items/judges.csv"
        output:
          field_order: [{", ".join(COLUMNS)}]
        """))
    return spec


# The floors: plain scripts over the same columns and values, producing the
# same number of rows (5 draft templates x 2 writers x 2 judges x 5 essays x
# 2 replicates per combo = 200).
COMPILE_FLOOR = """\
import csv, itertools, sys
combos = [f"combo_v1_{{i:06d}}" for i in range({n})]
columns = [combos, {dt!r}, ["sonnet-4", "gemini_25_pro"], {et!r}, ["llm-0"], ["eval-tpl-0"], ["gpt-5", "sonnet-4"], ["1", "2"]]
with open(sys.argv[1], "w", newline="") as handle:
    writer = csv.writer(handle, lineterminator="\\n")
    writer.writerow({cols!r})
    writer.writerows(itertools.product(*columns))
"""

MEMBERSHIP_FLOOR = """\
import hashlib, itertools, sys
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
def gen_id(prefix, text):
    n = int.from_bytes(hashlib.blake2b(text.lower().encode(), digest_size=10).digest(), "big")
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(DIGITS[r])
    return prefix + "".join(reversed(out))
combos = [f"combo_v1_{{i:06d}}" for i in range({n})]
columns = [combos, {dt!r}, ["sonnet-4", "gemini_25_pro"], {et!r}, ["llm-0"], ["eval-tpl-0"], ["gpt-5", "sonnet-4"], ["1", "2"]]
out = sys.stdout
for combo, dt, dl, et, el, vt, vl, rep in itertools.product(*columns):
    d = gen_id("d_", f"{{combo}}|{{dt}}|{{dl}}|1")
    e = gen_id("e_", f"{{d}}|{{et}}|1")
    v = gen_id("v_", f"{{e}}|{{vt}}|{{vl}}|{{rep}}")
    out.write(f"evaluation,{{v}},bench,{{e}},{{combo}},{{vt}},{{vl}},{{rep}}\\n")
"""


def floor_script(folder: Path, name: str, template: str, rows: int) -> Path:
    path = folder / f"floor_{name}.py"
    path.write_text(template.format(n=rows // 200, dt=DRAFT_TEMPLATES, et=[e[0] for e in ESSAYS], cols=COLUMNS))
    return path


def measure(argv: list[str], cwd: Path | None = None, stdout=subprocess.DEVNULL) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit code of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return wall, rss, os.waitstatus_to_exitcode(status)


def ab(a: list[str], b: list[str], repeat: int, cwd: Path | None = None) -> tuple[tuple[float, float], tuple[float, float]]:
    """Alternate A and B; medians of wall time and peak RSS for each."""
    results: dict[str, list] = {"a": [], "b": []}
    for _ in range(repeat):
        for key, argv in (("a", a), ("b", b)):
            wall, rss, _ = measure(argv, cwd)
            results[key].append((wall, rss))
    def summary(runs):
        return statistics.median(w for w, _ in runs), statistics.median(r for _, r in runs)
    return summary(results["a"]), summary(results["b"])


def data_repo(folder: Path, bundles: int) -> Path:
    """A data repo like examples/: catalogs and ``bundles`` cohorts."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    repo = folder / f"repo{bundles}"
    shutil.copytree(examples, repo, ignore=shutil.ignore_patterns(".cohort-dsl-cache", "membership*.csv", "manifest.json"))
    cohorts = repo / "data" / "cohorts"
    first = sorted(cohorts.iterdir())[0]
    for existing in list(cohorts.iterdir()):
        if existing != first:
            shutil.rmtree(existing)
    for i in range(1, bundles):
        shutil.copytree(first, cohorts / f"{first.name}-{i:02d}")
    return repo


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="row counts (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3, help="A/B rounds per measurement (medians are reported)")
    parser.add_argument("--bundles", type=int, default=50, help="bundles for the many-bundle lint")
    parser.add_argument("--tool", default=str(Path(sys.executable).with_name("cohort-dsl")), help="the cohort-dsl executable")
    parser.add_argument("--write", metavar="FILE", help="also write the table (markdown) to FILE")
    args = parser.parse_args()
    tool, python = args.tool, sys.executable
    if not Path(tool).exists():
        sys.exit(f"{tool} not found: install cohort-dsl in this environment (see README) or pass --tool")
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[tuple[str, str, str, str, str]] = []  # measurement, tool, floor, ratio, target
    peaks: dict[str, dict[int, float]] = {"compile": {}, "membership": {}}

    def add(name, tool_value, floor_value, unit, target, ratio=True):
        fmt = "{:.3f} s" if unit == "s" else "{:.1f} MB"
        ratio_text = f"{tool_value / floor_value:.2f}x" if ratio and floor_value else ""
        rows.append((name, fmt.format(tool_value), fmt.format(floor_value) if floor_value else "", ratio_text, target))
        print(f"{name:<44} {rows[-1][1]:>10} {rows[-1][2]:>10} {ratio_text:>7}   target {target}", flush=True)

    with tempfile.TemporaryDirectory(prefix="cohort-dsl-bench-") as tmp:
        tmp = Path(tmp)
        print(f"machine: {machine()}\n")
        for n in sizes:
            folder = tmp / f"rows{n}"
            spec = make_spec(folder, n)
            compile_floor = floor_script(folder, "compile", COMPILE_FLOOR, n)
            membership_floor = floor_script(folder, "membership", MEMBERSHIP_FLOOR, n)
            (floor_c, floor_c_rss), (tool_c, tool_c_rss) = ab(
                [python, str(compile_floor), str(folder / "floor.csv")],
                [tool, "compile", str(spec), "--format", "csv", "--out", str(folder / "out.csv")], args.repeat)
            label = f"{n:,} rows"
            add(f"compile to CSV, {label}", tool_c, floor_c, "s", "<= 1.25x floor")
            add(f"compile peak RSS, {label}", tool_c_rss, floor_c_rss, "MB", "<= 64 MB, flat", ratio=False)
            peaks["compile"][n] = tool_c_rss
            (floor_m, floor_m_rss), (tool_m, tool_m_rss) = ab(
                [python, str(membership_floor)],
                [tool, "membership", str(spec), "--cohort-id", "bench", "--wide"], args.repeat)
            add(f"membership --wide, {label}", tool_m, floor_m, "s", "<= 1.5x floor")
            add(f"membership peak RSS, {label}", tool_m_rss, floor_m_rss, "MB", "<= 64 MB, flat", ratio=False)
            peaks["membership"][n] = tool_m_rss
        if len(sizes) > 1:
            for what, by_size in peaks.items():
                low, high = by_size[sizes[0]], by_size[sizes[-1]]
                print(f"{what} RSS growth {sizes[0]:,} -> {sizes[-1]:,} rows: {100 * (high / low - 1):+.1f}%")
                rows.append((f"{what} RSS growth, {sizes[0]:,} -> {sizes[-1]:,} rows", f"{100 * (high / low - 1):+.1f} %",
                             "", "", "within 10 %"))

        baseline = [python, "-c", "pass"]
        (base, _), (version, _) = ab(baseline, [tool, "--version"], max(args.repeat, 10))
        add("cohort-dsl --version", version, base, "s", "<= 0.08 s")
        one = data_repo(tmp, 1)
        bundle = next((one / "data" / "cohorts").iterdir()) / "spec" / "config.yaml"
        (base, _), (cold, _) = ab(baseline, [tool, "lint", "--no-cache", str(bundle)], max(args.repeat, 10), cwd=one)
        add("lint one bundle + catalogs (no cache)", cold, base, "s", "<= 0.15 s")
        measure([tool, "lint", str(bundle)], cwd=one)  # fill the cache
        (base, _), (warm, _) = ab(baseline, [tool, "lint", str(bundle)], max(args.repeat, 10), cwd=one)
        add("lint one bundle + catalogs (cached)", warm, base, "s", "<= 0.15 s")
        many = data_repo(tmp, args.bundles)
        (base, _), (cold_many, _) = ab(baseline, [tool, "lint", "--all", "--no-cache"], args.repeat, cwd=many)
        add(f"lint {args.bundles} bundles (no cache)", cold_many, base, "s", "<= 1.5 s")
        measure([tool, "lint", "--all"], cwd=many)
        (base, _), (warm_many, _) = ab(baseline, [tool, "lint", "--all"], args.repeat, cwd=many)
        add(f"lint {args.bundles} bundles (cached)", warm_many, base, "s", "<= 1.5 s")
        huge = make_spec(tmp / "huge", 200)
        config = huge / "config.yaml"
        config.write_text(config.read_text().replace("evaluation_template_replicate: [1, 2]",
                                                     "evaluation_template_replicate: [" + ", ".join(str(i) for i in range(1, 1001)) + "]")
                          .replace("draft_llm: [sonnet-4, gemini_25_pro]", "draft_llm: [sonnet-4, gemini_25_pro]\n  "
                                   "seed_axis: [" + ", ".join(f"s{i}" for i in range(1000)) + "]\n  "
                                   "other_axis: [" + ", ".join(f"o{i}" for i in range(1000)) + "]"))
        refusals = [measure([tool, "compile", str(huge)]) for _ in range(3)]
        assert all(code == 1 for _, _, code in refusals), "the huge spec must be refused"
        add("refuse a 10^10-row spec", statistics.median(w for w, _, _ in refusals), 0, "s", "<= 0.5 s", ratio=False)

    if args.write:
        write_table(Path(args.write), rows)
    return 0


def write_table(path: Path, rows) -> None:
    """Replace the generated section of docs/performance.md."""
    table = ["| measurement | cohort-dsl | floor | ratio | target |", "|---|---:|---:|---:|---|"]
    table += [f"| {' | '.join(row)} |" for row in rows]
    generated = "\n".join([
        "<!-- bench:start (written by `python bench/bench.py --write docs/performance.md`) -->",
        f"Measured {datetime.date.today().isoformat()} on {machine()}.",
        "",
        *table,
        "<!-- bench:end -->",
    ])
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n\n<!-- bench:start --><!-- bench:end -->\n"
    start, end = text.find("<!-- bench:start"), text.find("<!-- bench:end -->")
    if start < 0 or end < 0:
        text = text.rstrip() + "\n\n" + generated + "\n"
    else:
        text = text[:start] + generated + text[end + len("<!-- bench:end -->"):]
    path.write_text(text, encoding="utf-8")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    sys.exit(main())
