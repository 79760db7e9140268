"""Compile a spec bundle into rows (streamed; the count is checked first).

SPEC is the bundle folder or its config.yaml. Rows go to stdout, or to
--out PATH (written atomically). CSV has a header; JSONL one object per row.
"""

from __future__ import annotations

import sys

HELP = "compile a spec into rows (csv or jsonl)"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_max_rows, add_spec_argument, non_negative

    add_spec_argument(parser)
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="output format (default: csv)")
    parser.add_argument("--out", metavar="PATH", help="write to this file (atomically) instead of stdout")
    parser.add_argument("--seed", type=non_negative, metavar="N", help="permute rows deterministically (overrides output.seed)")
    parser.add_argument("--limit", type=non_negative, metavar="N", help="emit at most N rows")
    add_max_rows(parser)


def run(args) -> int:
    from cohort_dsl.commands import project_for, report_warnings

    project = project_for(args)
    compiled = project.compile(args.spec)
    report_warnings(project, compiled.diagnostics)
    seed = args.seed if args.seed is not None else compiled.seed
    plan = compiled.plan()
    if args.out:
        from cohort_dsl.files import atomic_writer

        with atomic_writer(args.out) as handle:
            plan.write(handle, args.format, seed, args.limit)
    else:
        plan.write(sys.stdout, args.format, seed, args.limit)
        sys.stdout.flush()
    return 0
