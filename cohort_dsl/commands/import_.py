"""Derive the spec of a cohort that already ran: read
<data-root>/cohorts/COHORT_ID/membership.csv and gens/<stage>/<gen_id>/metadata.json
of its ids, and write cohorts/COHORT_ID/spec/ (config.yaml and item CSVs) so
that `cohort-dsl materialize COHORT_ID` gives back the same membership.csv,
byte for byte. The spec is linted and its membership compared in a staging
folder before it is published; an id that cannot be explained is refused
(exit 1, nothing written). With --from-list FILE, the spec of a curated
cohort: the essays listed in FILE (an essay_gen_id or gen_id column), their
drafts, and one evaluation per essay x template x llm x replicate."""

from __future__ import annotations

import sys

HELP = "derive a cohort's spec from its membership and metadata, or from a list of essays"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_data_root, positive

    parser.add_argument("cohort_id", metavar="COHORT_ID", help="the folder under <data-root>/cohorts/")
    add_data_root(parser)
    parser.add_argument("--force", action="store_true", help="replace an existing spec (it must still round-trip)")
    curated = parser.add_argument_group("a curated cohort (--from-list)")
    curated.add_argument("--from-list", metavar="FILE", help="a CSV with an essay_gen_id (or gen_id) column of existing essays")
    curated.add_argument("--evaluation-template", action="extend", nargs="+", default=[], metavar="T",
                         help="evaluation templates (several, repeatable)")
    curated.add_argument("--evaluation-llm", action="extend", nargs="+", default=[], metavar="L",
                         help="evaluation llms (several, repeatable)")
    curated.add_argument("--evaluation-replicates", type=positive, default=None, metavar="N",
                         help="evaluations per essay, template and llm (default 1)")


def run(args) -> int:
    from cohort_dsl.commands import project_for, report_warnings
    from cohort_dsl.diagnostics import UsageError, display_path

    curated = [f for f, v in (("--evaluation-template", args.evaluation_template), ("--evaluation-llm", args.evaluation_llm),
                              ("--evaluation-replicates", args.evaluation_replicates)) if v]
    if args.from_list is None and curated:
        raise UsageError(f"{', '.join(curated)} go with --from-list FILE")
    project = project_for(args)
    if args.from_list is None:
        imported = project.import_cohort(args.cohort_id, force=args.force)
    else:
        if not args.evaluation_template or not args.evaluation_llm:
            raise UsageError("--from-list needs --evaluation-template T … and --evaluation-llm L …")
        imported = project.import_list(args.cohort_id, args.from_list, args.evaluation_template, args.evaluation_llm,
                                       args.evaluation_replicates or 1, force=args.force)
    report_warnings(project, imported.diagnostics)
    shown = ", ".join(f"{n:,} {stage}{'s' if n != 1 else ''}" for stage, n in imported.counts.items())
    proof = "next: cohort-dsl materialize" if args.from_list else "materialize gives back membership.csv byte for byte:"
    sys.stdout.write(f"{args.cohort_id}: {shown} -> {display_path(str(imported.spec))}/ (written; {proof} {args.cohort_id})\n")
    return 0
