"""Compare the membership a cohort's spec gives now with its materialized
membership.csv, or with what its spec and settings gave at git revision
--rev: the added and removed records, stage by stage, grouped by cause.
Exit codes as `git diff`: 0 (1 spec error, 2 usage); with --exit-code, 0 the
same, 1 different, 2 any error."""

from __future__ import annotations

HELP = "show what the spec would add to and remove from a cohort's membership"
FORMATS = ("text", "json", "markdown", "html")


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_data_root, add_output, non_negative

    parser.add_argument("cohort_id", metavar="COHORT_ID", help="a folder under <data-root>/cohorts/ holding spec/config.yaml")
    add_data_root(parser)
    parser.add_argument("--rev", metavar="REV", help="compare with the spec and settings at this git revision "
                        "(read with git, never checked out) instead of membership.csv")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--limit", type=non_negative, default=None, metavar="N",
                        help="records listed per cause in text, markdown and html (default 10; 0: summaries only)")
    parser.add_argument("--exit-code", action="store_true",
                        help="exit 1 when membership.csv would change (records or their order), 2 on any error")
    add_output(parser)


def run(args) -> int:
    from cohort_dsl.commands import project_for, report_warnings, write_change
    from cohort_dsl.diagnostics import SpecError

    project = project_for(args)
    try:
        change = project.diff(args.cohort_id, rev=args.rev)
    except SpecError as exc:
        if not args.exit_code:
            raise
        report_warnings(project, exc.diagnostics)
        return 2
    write_change(project, change, args)
    return 1 if args.exit_code and not change.same else 0
