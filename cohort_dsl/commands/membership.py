"""Stream the membership of a spec: every draft, essay and evaluation it
needs, with generation ids. Slim (stage,gen_id) by default; --wide adds
origin_cohort_id, parent_gen_id, combo_id, template_id, llm_model_id and
replicate. Drafts, then essays, then evaluations, each in first-seen order,
deduplicated by id."""

from __future__ import annotations

import sys

HELP = "stream membership rows (generation ids) of a spec"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import positive

    parser.add_argument("spec", metavar="SPEC", help="the spec bundle folder or its config.yaml")
    parser.add_argument("--cohort-id", required=True, metavar="ID", help="the cohort id written as origin_cohort_id")
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="output format (default: csv)")
    parser.add_argument("--wide", action="store_true", help="all membership columns, not just stage,gen_id")
    parser.add_argument("--layout", metavar="NAME", help="membership layout (default: output.layout or two-phase)")
    parser.add_argument("--max-rows", type=positive, metavar="N", help="refuse specs above N rows (default 1,000,000)")


def run(args) -> int:
    from cohort_dsl.commands import load_compiled, report_warnings
    from cohort_dsl.membership import build_membership, write_records

    _, compiled = load_compiled(args)
    report_warnings(compiled.diagnostics, args.engine)
    membership = build_membership(compiled, args.engine.registry, args.cohort_id, args.layout)
    write_records(membership.records(), sys.stdout, args.format, args.wide)
    sys.stdout.flush()
    report_warnings(membership.diagnostics, args.engine)
    return 0
