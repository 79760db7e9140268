"""Explain what a spec expands to, without generating rows: each factor
with its axes and size, the row count after each rule (the funnel), and the
total."""

from __future__ import annotations

import sys

HELP = "show factors, the funnel and the row count without generating rows"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_max_rows, add_spec_argument

    add_spec_argument(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    add_max_rows(parser)


def run(args) -> int:
    from cohort_dsl.commands import project_for, report_warnings

    project = project_for(args)
    compiled = project.compile(args.spec)
    report_warnings(project, compiled.diagnostics)
    if args.format == "json":
        import json

        json.dump(compiled.explain(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        from cohort_dsl.explain import render_text

        render_text(compiled, sys.stdout)
    return 0
