"""Explain what a spec expands to, without generating rows: each factor
with its axes and size, the row count after each rule (the funnel), and the
total."""

from __future__ import annotations

import sys

HELP = "show factors, the funnel and the row count without generating rows"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import positive

    parser.add_argument("spec", metavar="SPEC", help="the spec bundle folder or its config.yaml")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--max-rows", type=positive, metavar="N", help="refuse specs above N rows (default 1,000,000)")


def run(args) -> int:
    from cohort_dsl.commands import load_compiled, report_warnings

    _, compiled = load_compiled(args)
    report_warnings(compiled.diagnostics, args.engine)
    if args.format == "json":
        import json

        json.dump(compiled.explain(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        from cohort_dsl.explain import render_text

        render_text(compiled, sys.stdout)
    return 0
