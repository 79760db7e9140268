"""Explain what a spec expands to, without generating rows: each factor
with its axes and size, the row count after each rule (the funnel) with the
levels each rule dropped, each level's count in the output and the balance
of the axes rules couple; with --why, how many rows carry a combination of
levels and, when none does, the rule that removed it."""

from __future__ import annotations

HELP = "show factors, the funnel, balance and the row count without generating rows"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_max_rows, add_output, add_spec_argument

    add_spec_argument(parser)
    parser.add_argument("--format", choices=("text", "json", "html"), default="text", help="output format (default: text)")
    parser.add_argument("--why", metavar="AXIS=VALUE[,…]",
                        help="follow this combination of levels through the rules (escape ',' and '=' with '\\')")
    add_max_rows(parser)
    add_output(parser)


def run(args) -> int:
    from cohort_dsl.commands import project_for, report_warnings, write_output, write_page
    from cohort_dsl.explain import Why, parse_why, render_text, report

    project = project_for(args)
    why = Why(parse_why(args.why)) if args.why is not None else None
    compiled = project.compile(args.spec, observe=why)
    if why is not None:
        why.check(compiled)
    report_warnings(project, compiled.diagnostics)
    info = report(compiled, why, cells=args.format != "text")

    def write(stream) -> None:
        if args.format == "json":
            import json

            json.dump(info, stream, indent=2, ensure_ascii=False)
            stream.write("\n")
        elif args.format == "text":
            render_text(compiled, stream, info)
        else:
            write_page(project, {"title": f"cohort-dsl explain {args.spec}", "explain": info}, args.format, stream)

    write_output(args, write)
    return 0
