"""Stream the membership of a spec: every draft, essay and evaluation it
needs, with generation ids. Slim (stage,gen_id) by default; --wide adds
origin_cohort_id, parent_gen_id, combo_id, template_id, llm_model_id and
replicate. Drafts, then essays, then evaluations, each in first-seen order,
deduplicated by id. An error (an id collision, say) prints no row."""

from __future__ import annotations

import sys

HELP = "stream membership rows (generation ids) of a spec"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_max_rows, add_spec_argument

    add_spec_argument(parser)
    parser.add_argument("--cohort-id", required=True, metavar="ID", help="the cohort id written as origin_cohort_id")
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="output format (default: csv)")
    parser.add_argument("--wide", action="store_true", help="all membership columns, not just stage,gen_id")
    parser.add_argument("--layout", metavar="NAME", help="membership layout (default: output.layout or two-phase)")
    add_max_rows(parser)


def run(args) -> int:
    from cohort_dsl.commands import project_for, report_warnings
    from cohort_dsl.membership import write_lines

    project = project_for(args)
    membership = project.membership(args.spec, args.cohort_id, args.layout)
    report_warnings(project, membership.diagnostics)
    write_lines(membership.lines(args.format, args.wide), sys.stdout)
    sys.stdout.flush()
    return 0
