"""Benchmarks: the tool against floors measured in the same run.

    .venv/bin/python bench/bench.py                    # print the table
    .venv/bin/python bench/bench.py --write docs/performance.md

Each measurement alternates floor and tool (A/B/A/B …, ``--repeat`` times)
and reports medians, so machine noise hits both sides. Wall time and peak
RSS come from the operating system (``os.wait4``) for each child process.
The floors (``bench/floors.py``) are the tightest simple pure-Python
programs producing the same bytes as the tool (checked here), plus naive
ones for reference. Every row says whether it is within its target.

The synthetic spec has five declared axes (one from a CSV include), a tuple
read from a CSV include (three tuple-only axes), a pair read from a CSV
include, and 8 output columns; ``rows // 200`` combos set its size.
"""

from __future__ import annotations

import argparse
import datetime
import json
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

import floors

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
    write_lines(spec / "items" / "combos.csv", "combo_id", combos(rows))
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


def floor_script(folder: Path, name: str, template: str, rows: int = 0, **values) -> Path:
    path = folder / f"floor_{name}.py"
    path.write_text(template.format(n=rows // 200, dt=DRAFT_TEMPLATES, judges=JUDGES_BY_DRAFT, essays=ESSAYS,
                                    cols=COLUMNS, **values))
    return path


#: the judges pair as (draft_llm, evaluation_llm), in the order of its CSV
JUDGES_BY_DRAFT = JUDGES


#: children run as installed code runs: with bytecode caching (a
#: PYTHONDONTWRITEBYTECODE environment would make every run compile every module)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def write_lines(path: Path, header: str, lines) -> None:
    """Write a big generated file in chunks: the benchmark's own peak RSS
    stays small (Linux counts the parent's peak in a child's ``ru_maxrss``)."""
    with open(path, "w") as handle:
        handle.write(header + "\n")
        chunk = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == 10_000:
                handle.write("\n".join(chunk) + "\n")
                chunk = []
        if chunk:
            handle.write("\n".join(chunk) + "\n")


def measure(argv: list[str], cwd: Path | None = None, stdout=subprocess.DEVNULL) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit code of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=stdout, stderr=subprocess.DEVNULL, env=CHILD_ENV)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return wall, rss, os.waitstatus_to_exitcode(status)


def ab(a: list[str], b: list[str], repeat: int, cwd: Path | None = None,
       b_stdout: Path | None = None) -> tuple[tuple[float, float], tuple[float, float]]:
    """Alternate A and B; medians of wall time and peak RSS for each
    (``b_stdout``: a file B's standard output goes to)."""
    results: dict[str, list] = {"a": [], "b": []}
    for _ in range(repeat):
        for key, argv in (("a", a), ("b", b)):
            if key == "b" and b_stdout is not None:
                with open(b_stdout, "w") as out:
                    wall, rss, _ = measure(argv, cwd, stdout=out)
            else:
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


def digest(path: Path) -> str:
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest() if hasattr(hashlib, "file_digest") else \
            hashlib.sha256(handle.read()).hexdigest()


def same_bytes(a: Path, b: Path, what: str) -> None:
    if digest(a) != digest(b):
        sys.exit(f"the {what} floor does not produce the tool's bytes ({a} vs {b}): fix the floor")


class Table:
    """The rows of the report: measurement, tool, floor, ratio, target, within it?, command."""

    def __init__(self):
        self.rows: list[tuple[str, ...]] = []

    def add(self, name, tool_value, floor_value, unit, target, limit=None, ratio=True, command=""):
        """``limit``: the most the ratio (or, without a floor, the value) may be."""
        fmt = {"s": "{:.3f} s", "ms": "{:.3f} ms", "MB": "{:.1f} MB", "x": "{:.2f}x", "B": "{:.0f} bytes"}[unit]
        value = tool_value / floor_value if ratio and floor_value else tool_value
        ratio_text = f"{value:.2f}x" if ratio and floor_value else ""
        ok = "" if limit is None else ("yes" if value <= limit else "**no**")
        row = (name, fmt.format(tool_value), fmt.format(floor_value) if floor_value else "", ratio_text, target, ok,
               f"`{command}`" if command else "")
        self.rows.append(row)
        print(f"{name:<52} {row[1]:>10} {row[2]:>10} {ratio_text:>7}   {target:<34} {ok}", flush=True)


#: the sections ``--only`` selects from: each ``NAME_section`` function below
SECTIONS = ("compile", "big_axis", "pair", "rules", "refusal", "lint", "membership", "materialize", "stale", "service")


def sections(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown section(s) {', '.join(unknown) or '(none)'}; "
                                         f"choose from {', '.join(SECTIONS)}")
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the synthetic spec")
    parser.add_argument("--big-levels", type=int, default=1_000_000, help="levels of the one big axis")
    parser.add_argument("--pair-entries", type=int, default=100_000, help="allowed entries of the big pair")
    parser.add_argument("--rules", type=int, default=800, help="pair rules (compared with twice as many)")
    parser.add_argument("--repeat", type=int, default=3, help="A/B rounds per measurement (medians are reported)")
    parser.add_argument("--bundles", type=int, default=50, help="bundles for the many-bundle lint")
    parser.add_argument("--tool", default=str(Path(sys.executable).with_name("cohort-dsl")), help="the cohort-dsl executable")
    parser.add_argument("--write", metavar="FILE", help="also write the table (markdown) to FILE")
    parser.add_argument("--only", metavar="SECTION[,SECTION]", type=sections,
                        help=f"run only these sections (of: {', '.join(SECTIONS)})")
    args = parser.parse_args()
    if args.only and args.write:
        parser.error("--write needs every section (the table it writes is the whole report): drop --only")
    tool, python, repeat = args.tool, sys.executable, args.repeat
    if not Path(tool).exists():
        sys.exit(f"{tool} not found: install cohort-dsl in this environment (see README) or pass --tool")
    table = Table()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory(prefix="cohort-dsl-bench-") as tmp:
        tmp = Path(tmp)
        print(f"machine: {machine()}\n")
        measure([tool, "rules"])  # write the bytecode caches once
        run = {
            "compile": lambda: compile_section(table, tmp, tool, python, args.rows, repeat),
            "big_axis": lambda: big_axis_section(table, tmp, tool, python, args.big_levels, repeat),
            "pair": lambda: pair_section(table, tmp, tool, python, args.pair_entries, repeat),
            "rules": lambda: rules_section(table, tmp, tool, args.rules, repeat),
            "refusal": lambda: refusal_section(table, tmp, tool, python, repeat),
            "lint": lambda: lint_section(table, tmp, tool, python, args.bundles, repeat),
            "membership": lambda: membership_section(table, tmp, tool, python, args.rows, repeat),
            "materialize": lambda: materialize_section(table, tmp, tool, python, args.rows, repeat),
            "stale": lambda: stale_section(table, tmp, tool, args.rows, repeat),
            "service": lambda: service_section(table, tmp, tool, python, args.rows, repeat),
        }
        assert tuple(run) == SECTIONS
        for name in SECTIONS:  # in report order, whatever the order --only names them
            if name in (args.only or SECTIONS):
                run[name]()
    if load is not None:
        print(f"\nload average (1 min) at the start: {load:.2f}")
    if args.write:
        write_table(Path(args.write), table.rows, load, args)
    return 0


def compile_section(table: Table, tmp: Path, tool: str, python: str, n: int, repeat: int) -> None:
    folder = tmp / f"rows{n}"
    spec = make_spec(folder, n)
    label = f"{n:,} rows"
    out = folder / "out.txt"
    for fmt, template in (("csv", floors.TIGHT_CSV), ("jsonl", floors.TIGHT_JSONL)):
        floor = floor_script(folder, fmt, template, n)
        command = [tool, "compile", str(spec), "--format", fmt]
        (floor_t, floor_rss), (tool_t, tool_rss) = ab([python, str(floor), str(folder / "floor.txt")], command, repeat,
                                                      b_stdout=out)
        same_bytes(folder / "floor.txt", out, f"{fmt} compile")
        table.add(f"compile to {fmt.upper()}, {label}", tool_t, floor_t, "s", "<= 1.25x tight floor", 1.25,
                  command=f"cohort-dsl compile SPEC --format {fmt} > FILE")
        if fmt == "csv":
            unseeded, csv_rss = tool_t, tool_rss
            table.add(f"compile peak RSS, {label}", tool_rss, floor_rss, "MB", "<= 64 MB", 64, ratio=False)
            startup = make_spec(tmp / "rows200", 200)  # one combo: what compile costs before its rows
            starts = [measure([tool, "compile", str(startup)])[0] for _ in range(repeat)]
            table.add("compile, a 200-row spec (start-up and spec, for reference)", statistics.median(starts), 0, "s",
                      "(reference)", ratio=False)
    naive = floor_script(folder, "naive", floors.NAIVE_COMPILE, n)
    (naive_t, _), (tool_t, _) = ab([python, str(naive), str(folder / "naive.csv")],
                                   [tool, "compile", str(spec), "--format", "csv"], repeat, b_stdout=out)
    same_bytes(folder / "naive.csv", out, "naive compile")
    table.add(f"compile to CSV vs a naive csv.writer, {label}", tool_t, naive_t, "s", "(reference)")
    seeded = floor_script(folder, "seeded", floors.TIGHT_SEEDED, n, seed=7)
    (floor_t, _), (tool_t, _) = ab([python, str(seeded), str(folder / "seeded.csv")],
                                   [tool, "compile", str(spec), "--seed", "7"], repeat, b_stdout=out)
    same_bytes(folder / "seeded.csv", out, "seeded compile")
    table.add(f"compile --seed 7, {label}", tool_t, floor_t, "s", "<= 1.25x tight seeded floor", 1.25,
              command="cohort-dsl compile SPEC --seed 7 > FILE")
    table.add(f"compile --seed 7 vs unseeded compile, {label}", tool_t, unseeded, "s", "<= 3x unseeded", 3)
    small = make_spec(tmp / "rows100000", 100_000)
    small_rss = []
    for _ in range(repeat):
        with open(out, "w") as handle:
            small_rss.append(measure([tool, "compile", str(small)], stdout=handle)[1])
    growth = csv_rss / statistics.median(small_rss)
    table.add(f"compile RSS (CSV), {label} / 100,000 rows", growth, 0, "x", "<= 1.10x (flat in rows)", 1.10, ratio=False)


def big_axis_section(table: Table, tmp: Path, tool: str, python: str, levels: int, repeat: int) -> None:
    folder = tmp / "big-axis"
    (folder / "spec" / "items").mkdir(parents=True)
    big = folder / "spec" / "items" / "big.csv"
    write_lines(big, "big", (f"level_{i:07d}" for i in range(levels)))
    (folder / "spec" / "config.yaml").write_text(
        'axes:\n  big: "@file:items/big.csv"\n  small: [' + ", ".join(f"s{i}" for i in range(10)) + "]\n")
    floor = floor_script(folder, "big", floors.TIGHT_BIG_AXIS)
    out = folder / "out.csv"
    (floor_t, floor_rss), (tool_t, tool_rss) = ab(
        [python, str(floor), str(big), str(folder / "floor.csv")],
        [tool, "compile", str(folder / "spec"), "--max-rows", str(10 * levels)], repeat, b_stdout=out)
    same_bytes(folder / "floor.csv", out, "big-axis compile")
    label = f"one axis of {levels:,} levels x 10 ({10 * levels:,} rows)"
    table.add(f"compile, {label}", tool_t, floor_t, "s", "<= 2x tight floor", 2,
              command="cohort-dsl compile SPEC --max-rows N > FILE")
    table.add(f"compile peak RSS, {label}", tool_rss, floor_rss, "MB", "<= 2x floor RSS", 2)


def pair_section(table: Table, tmp: Path, tool: str, python: str, entries: int, repeat: int) -> None:
    folder = tmp / "pair"
    (folder / "spec" / "items").mkdir(parents=True)
    left = right = int(entries ** 0.5) + 1
    allowed = folder / "spec" / "items" / "allowed.csv"
    write_lines(allowed, "a,b", (f"l{i // right},r{i % right}" for i in range(entries)))
    (folder / "spec" / "config.yaml").write_text(textwrap.dedent(f"""\
        axes:
          a: [{", ".join(f"l{i}" for i in range(left))}]
          b: [{", ".join(f"r{i}" for i in range(right))}]
        rules:
          pairs:
            p:
              left: a
              right: b
              allowed: "@file:items/allowed.csv"
        """))
    floor = floor_script(folder, "pair", floors.TIGHT_PAIR, left=left, right=right)
    (floor_t, floor_rss), (tool_t, tool_rss) = ab([python, str(floor), str(allowed)],
                                                  [tool, "explain", str(folder / "spec")], repeat)
    raw = allowed.stat().st_size
    label = f"a pair with {entries:,} allowed entries (CSV)"
    table.add(f"explain, {label}", tool_t, floor_t, "s", "<= 1.5x tight floor", 1.5, command="cohort-dsl explain SPEC")
    table.add(f"explain peak RSS, {label}", tool_rss, floor_rss, "MB", "<= 2x floor RSS", 2)
    table.add(f"explain RSS above the floor per entry, {label}", (tool_rss - floor_rss) * 2**20 / entries, 0, "B",
              f"<= 300 bytes (raw text: {raw / entries:.0f} bytes)", 300, ratio=False)


def rules_section(table: Table, tmp: Path, tool: str, rules: int, repeat: int) -> None:
    def spec(count: int) -> Path:
        folder = tmp / f"rules{count}"
        folder.mkdir()
        axes = "".join(f"  a{i}: [x]\n  b{i}: [x]\n" for i in range(count))
        pairs = "".join(f"    p{i}: {{left: a{i}, right: b{i}, allowed: [[x, x]]}}\n" for i in range(count))
        (folder / "config.yaml").write_text(f"axes:\n{axes}rules:\n  pairs:\n{pairs}")
        return folder

    (few, _), (many, _) = ab([tool, "explain", str(spec(rules))], [tool, "explain", str(spec(2 * rules))], repeat)
    table.add(f"explain, {2 * rules:,} pair rules vs {rules:,}", many, few, "s", "<= 2.2x (linear)", 2.2,
              command="cohort-dsl explain SPEC")


def refusal_section(table: Table, tmp: Path, tool: str, python: str, repeat: int, lines: int = 1_000_000) -> None:
    folder = tmp / "huge-includes"
    (folder / "spec" / "items").mkdir(parents=True)
    files = []
    for axis in ("left", "right"):
        path = folder / "spec" / "items" / f"{axis}.csv"
        write_lines(path, axis, (f"{axis}_{i:07d}" for i in range(lines)))
        files.append(str(path))
    (folder / "spec" / "config.yaml").write_text('axes:\n  left: "@file:items/left.csv"\n  right: "@file:items/right.csv"\n')
    floor = floor_script(folder, "count", floors.READ_AND_COUNT)
    refuse = [tool, "compile", str(folder / "spec"), "--out", str(folder / "never.csv")]
    assert measure(refuse)[2] == 1, "the 10^12-row spec must be refused"
    (floor_t, floor_rss), (tool_t, tool_rss) = ab([python, str(floor), *files], refuse, repeat)
    label = f"refuse a {lines ** 2:.0e}-row spec from two {lines:,}-line CSVs"
    table.add(label, tool_t, floor_t, "s", "<= 1.5x read-and-count", 1.5, command="cohort-dsl compile SPEC")
    table.add(f"peak RSS, {label[0].lower()}{label[1:]}", tool_rss, floor_rss, "MB", "<= 2x read-and-count RSS", 2)
    huge = make_spec(tmp / "huge", 200)
    config = huge / "config.yaml"
    config.write_text(config.read_text().replace("evaluation_template_replicate: [1, 2]",
                                                 "evaluation_template_replicate: [" + ", ".join(str(i) for i in range(1, 1001)) + "]")
                      .replace("draft_llm: [sonnet-4, gemini_25_pro]", "draft_llm: [sonnet-4, gemini_25_pro]\n  "
                               "seed_axis: [" + ", ".join(f"s{i}" for i in range(1000)) + "]\n  "
                               "other_axis: [" + ", ".join(f"o{i}" for i in range(1000)) + "]"))
    refusals = [measure([tool, "compile", str(huge)]) for _ in range(repeat)]
    assert all(code == 1 for _, _, code in refusals), "the huge spec must be refused"
    table.add("refuse a 10^10-row spec (inline levels)", statistics.median(w for w, _, _ in refusals), 0, "s", "<= 0.5 s",
              0.5, ratio=False)


def lint_section(table: Table, tmp: Path, tool: str, python: str, bundles: int, repeat: int) -> None:
    baseline = [python, "-c", "pass"]
    many_repeat = max(repeat, 10)
    (base, _), (version, _) = ab(baseline, [tool, "--version"], many_repeat)
    table.add("cohort-dsl --version", version, 0, "s", "<= 0.08 s", 0.08, ratio=False)
    table.add("python -c pass (for reference)", base, 0, "s", "(reference)", ratio=False)
    one = data_repo(tmp, 1)
    bundle = next((one / "data" / "cohorts").iterdir()) / "spec" / "config.yaml"
    yamllint = Path(python).with_name("yamllint")
    if yamllint.exists():
        floor, name = [str(yamllint), str(bundle)], "yamllint on its config.yaml"
    else:
        floor, name = [python, "-c", f"import yaml; yaml.safe_load(open({str(bundle)!r}))"], "yaml.safe_load of it (no yamllint)"
    (floor_t, _), (cold, _) = ab(floor, [tool, "lint", "--no-cache", str(bundle)], many_repeat, cwd=one)
    table.add(f"lint one bundle + catalogs (no cache) vs {name}", cold, floor_t, "s", "<= 1.0x", 1.0,
              command="cohort-dsl lint --no-cache FILE")
    measure([tool, "lint", str(bundle)], cwd=one)  # fill the cache
    (floor_t, _), (warm, _) = ab(floor, [tool, "lint", str(bundle)], many_repeat, cwd=one)
    table.add(f"lint one bundle + catalogs (cached) vs {name}", warm, floor_t, "s", "<= 1.0x", 1.0,
              command="cohort-dsl lint FILE")
    single = one_row_spec(tmp)
    (_, _), (compile_one, _) = ab(baseline, [tool, "compile", str(single)], many_repeat, b_stdout=tmp / "one-row.csv")
    table.add("compile a 1-row spec (start-up of the compile figures)", compile_one, 0, "s", "(reference)", ratio=False,
              command="cohort-dsl compile SPEC")
    many = data_repo(tmp, bundles)
    (_, _), (cold_many, _) = ab(baseline, [tool, "lint", "--all", "--no-cache"], repeat, cwd=many)
    table.add(f"lint {bundles} bundles (no cache)", cold_many, 0, "s", "<= 1.5 s", 1.5, ratio=False,
              command="cohort-dsl lint --all --no-cache")
    measure([tool, "lint", "--all"], cwd=many)
    (_, _), (warm_many, _) = ab(baseline, [tool, "lint", "--all"], repeat, cwd=many)
    table.add(f"lint {bundles} bundles (cached)", warm_many, 0, "s", "<= 1.5 s", 1.5, ratio=False)


def one_row_spec(tmp: Path) -> Path:
    """The synthetic spec's columns, one level each: compile does all of
    its work but the rows."""
    spec = tmp / "one-row" / "spec"
    spec.mkdir(parents=True)
    levels = dict(zip(COLUMNS, ["combo_v1_000000", DRAFT_TEMPLATES[0], JUDGES[0][0], *ESSAYS[0],
                                JUDGES[0][1], "1"]))
    (spec / "config.yaml").write_text("axes:\n" + "".join(f"  {axis}: [{level}]\n" for axis, level in levels.items()))
    return spec


def membership_section(table: Table, tmp: Path, tool: str, python: str, n: int, repeat: int) -> None:
    """``membership`` (slim and wide) against the tight floor, and the same
    spec with its axes declared in the opposite order (evaluation axes
    first), which changes the factor order, not the work."""
    folder = tmp / f"membership{n}"
    spec = make_spec(folder, n)
    label = f"{n:,} rows"
    out = folder / "out.csv"
    floor = floor_script(folder, "membership", floors.TIGHT_MEMBERSHIP, n)
    for wide in (False, True):
        flag = ["--wide"] if wide else []
        (floor_t, _), (tool_t, _) = ab([python, str(floor), str(folder / "floor.csv"), *(["wide"] if wide else [])],
                                       [tool, "membership", str(spec), "--cohort-id", "bench", *flag], repeat, b_stdout=out)
        same_bytes(folder / "floor.csv", out, f"membership{' --wide' if wide else ''}")
        table.add(f"membership{' --wide' if wide else ''}, {label}", tool_t, floor_t, "s", "<= 1.25x tight floor", 1.25,
                  command=f"cohort-dsl membership SPEC --cohort-id bench{' --wide' if wide else ''} > FILE")
    reversed_spec = make_spec(folder / "reversed", n)
    config = reversed_spec / "config.yaml"
    axes, rules = config.read_text().split("rules:\n", 1)
    header, *declared = axes.splitlines()
    config.write_text("\n".join([header, *reversed(declared)]) + "\nrules:\n" + rules)
    (draft_first, _), (evaluation_first, _) = ab(
        [tool, "membership", str(spec), "--cohort-id", "bench", "--wide"],
        [tool, "membership", str(reversed_spec), "--cohort-id", "bench", "--wide"], repeat)
    table.add(f"membership --wide, evaluation axes declared first vs draft axes first, {label}", evaluation_first,
              draft_first, "s", "<= 1.10x (order-independent)", 1.10)


def materialize_section(table: Table, tmp: Path, tool: str, python: str, n: int, repeat: int) -> None:
    """``materialize`` of a fresh cohort (its files removed before each
    run) and a re-run (nothing changes), against the tight floor writing
    the same three files."""
    repo = tmp / "materialize"
    (repo / "data" / "cohorts").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[tool.cohort-dsl]\ndata-root = "data"\n')
    spec = make_spec(repo / "data" / "cohorts" / "bench", n)
    cohort = spec.parent
    names = ("membership.csv", "membership_wide.csv", "manifest.json")
    command = [tool, "materialize", "bench"]
    assert measure(command, cwd=repo)[2] == 0, "materialize failed"
    manifest = json.loads((cohort / "manifest.json").read_text())
    floor = floor_script(repo, "materialize", floors.TIGHT_MATERIALIZE, n, environment=manifest["environment"],
                         version=manifest["tool"]["version"])
    floor_out = repo / "floor"
    floor_out.mkdir()
    floor_command = [python, str(floor), str(spec), str(floor_out)]
    label = f"{n:,} rows"
    fresh: dict[str, list[float]] = {"floor": [], "tool": []}
    for _ in range(repeat):
        fresh["floor"].append(measure(floor_command)[0])
        for name in names:
            (cohort / name).unlink()
        wall, _, code = measure(command, cwd=repo)
        assert code == 0, "materialize failed"
        fresh["tool"].append(wall)
    for name in names:
        same_bytes(floor_out / name, cohort / name, f"materialize ({name})")
    table.add(f"materialize (fresh), {label}", statistics.median(fresh["tool"]), statistics.median(fresh["floor"]), "s",
              "<= 1.5x tight floor", 1.5, command="cohort-dsl materialize COHORT")
    (floor_t, _), (tool_t, _) = ab(floor_command, command, repeat, cwd=repo)
    table.add(f"materialize (re-run, nothing changes), {label}", tool_t, floor_t, "s", "<= 1.5x tight floor", 1.5,
              command="cohort-dsl materialize COHORT")


def stale_section(table: Table, tmp: Path, tool: str, n: int, repeat: int) -> None:
    """Lint of a cohort whose committed membership.csv has ``n``
    evaluations: after a spec edit that keeps the membership (a comment),
    the stale-membership check recomputes and compares every id; once
    re-materialized, manifest.json proves nothing changed."""
    repo = tmp / "stale"
    (repo / "data" / "cohorts").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[tool.cohort-dsl]\ndata-root = "data"\n')
    spec = make_spec(repo / "data" / "cohorts" / "bench", n)
    assert measure([tool, "materialize", "bench"], cwd=repo)[2] == 0, "materialize failed"
    config = spec / "config.yaml"
    config.write_text(config.read_text() + "# edited after materialize: the check compares every record\n")
    lint = [tool, "lint", "--no-cache", str(config)]
    (ids, _), (full, _) = ab([tool, "membership", str(spec), "--cohort-id", "bench"], lint, repeat, cwd=repo)
    table.add(f"lint a cohort with a committed membership of {n:,} rows vs computing its ids", full, ids, "s",
              "<= 2x `membership`", 2, command="cohort-dsl lint --no-cache FILE")
    assert measure([tool, "materialize", "bench"], cwd=repo)[2] == 0, "materialize failed"
    (_, _), (recorded, _) = ab([tool, "--version"], lint, repeat, cwd=repo)
    table.add(f"lint a cohort with a committed membership of {n:,} rows, manifest.json current", recorded, 0, "s",
              "<= 0.5 s", 0.5, ratio=False, command="cohort-dsl lint --no-cache FILE")


def service_section(table: Table, tmp: Path, tool: str, python: str, n: int, repeat: int) -> None:
    """The membership service over a materialized cohort: the first
    ``cohorts_containing`` (which builds the index of every id) and the
    first ``parent`` (which reads the parents), in CPU seconds inside the
    process, against a floor reading the same files with the csv module
    into dicts; then the answers after the first and the index's bytes per id."""
    repo = tmp / "service"
    (repo / "data" / "cohorts").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[tool.cohort-dsl]\ndata-root = "data"\n')
    # about ``n`` ids: the synthetic spec's membership holds 1.3 ids per row
    # (drafts and essays besides the evaluations), in whole combos of 200 rows
    make_spec(repo / "data" / "cohorts" / "bench", max(200, round(n / 1.3 / 200) * 200))
    assert measure([tool, "materialize", "bench"], cwd=repo)[2] == 0, "materialize failed"
    root = repo / "data"
    tool_script, floor_script_path = repo / "service_tool.py", repo / "service_floor.py"
    tool_script.write_text(floors.SERVICE_TOOL)
    floor_script_path.write_text(floors.SERVICE_FLOOR)
    runs: dict[str, list[dict]] = {"floor": [], "tool": []}
    for _ in range(repeat):
        for key, script in (("floor", floor_script_path), ("tool", tool_script)):
            done = subprocess.run([python, str(script), str(root)], capture_output=True, text=True, env=CHILD_ENV)
            assert done.returncode == 0, done.stderr
            runs[key].append(json.loads(done.stdout))
    def median(key, name):
        return statistics.median(run[name] for run in runs[key])
    ids = runs["tool"][0]["ids"]
    assert ids == runs["floor"][0]["ids"], "the service floor read another number of ids"
    label = f"{ids:,} ids"
    table.add(f"membership service: first `cohorts_containing`, {label} (CPU)", median("tool", "containing"),
              median("floor", "containing"), "s", "<= 2 s", 2, ratio=False,
              command="MembershipService(root).cohorts_containing(ID)")
    table.add(f"membership service: first `parent`, {label} (CPU)", median("tool", "parent"),
              median("floor", "parent"), "s", "<= 2 s", 2, ratio=False, command="MembershipService(root).parent(ID)")
    table.add(f"membership service: each later answer, {label}", median("tool", "answer") * 1000, 0, "ms",
              "<= 1 ms", 1, ratio=False)
    table.add(f"membership service: index size per id, {label}", median("tool", "bytes_per_id"), 0, "B",
              "<= 100 bytes", 100, ratio=False)


def write_table(path: Path, rows, load, args) -> None:
    """Replace the generated section of docs/performance.md."""
    table = ["| measurement | cohort-dsl | floor | ratio | target | within | command |",
             "|---|---:|---:|---:|---|---|---|"]
    table += [f"| {' | '.join(row)} |" for row in rows]
    options = f"--rows {args.rows} --big-levels {args.big_levels} --pair-entries {args.pair_entries} --rules {args.rules} " \
              f"--repeat {args.repeat}"
    generated = "\n".join([
        "<!-- bench:start (written by `python bench/bench.py --write docs/performance.md`) -->",
        f"Measured {datetime.date.today().isoformat()} on {machine()}, with `python bench/bench.py {options} --write "
        f"docs/performance.md`" + (f"; load average {load:.1f} when it started." if load is not None else "."),
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
