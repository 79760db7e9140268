"""Materialize a cohort: lint <data-root>/cohorts/COHORT_ID/spec/ exactly as
`lint` does, then write membership.csv (stage,gen_id), membership_wide.csv
and manifest.json beside it, atomically. Any error refuses (exit 1, nothing
written); so does a membership.csv that would change, unless --force. With
--seed-metadata, writes gens/<stage>/<gen_id>/metadata.json for every
generation that has none. --dry-run prints what `diff` would; no write."""

from __future__ import annotations

import sys

HELP = "write a cohort's membership files (and optionally metadata seeds)"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_catalog_options, add_data_root, add_max_rows

    parser.add_argument("cohort_ids", nargs="*", metavar="COHORT_ID",
                        help="a folder under <data-root>/cohorts/ holding spec/config.yaml; several may be given")
    parser.add_argument("--all", action="store_true", help="every cohort under <data-root>/cohorts/ that has a spec")
    add_data_root(parser)
    parser.add_argument("--force", action="store_true", help="replace a membership.csv that would change")
    parser.add_argument("--seed-metadata", action="store_true", help="write gens/<stage>/<gen_id>/metadata.json seeds (never overwrites)")
    parser.add_argument("--dry-run", action="store_true", help="print what would change (as `diff` does); write nothing")
    parser.add_argument("--layout", metavar="NAME", help="membership layout (default: output.layout or two-phase)")
    add_max_rows(parser)
    add_catalog_options(parser)


def run(args) -> int:
    from cohort_dsl.commands import (catalog_refs, progress_for, project_for, report_warnings, write_outcome,
                                     write_preview)
    from cohort_dsl.diagnostics import SpecError, UsageError

    project = project_for(args)
    cohort_ids = list(dict.fromkeys(args.cohort_ids + (project.data_root.cohort_ids() if args.all else [])))
    if not cohort_ids:
        raise UsageError("name a COHORT_ID (or use --all)")
    failed = []
    for cohort_id in cohort_ids:
        try:
            if args.dry_run:  # what diff would print; nothing is written
                write_preview(project, cohort_id, args)
                continue
            outcome = project.materialize(cohort_id, force=args.force, seed_metadata=args.seed_metadata,
                                          layout=args.layout, extra_catalog_refs=catalog_refs(args),
                                          progress=progress_for(args, f"materialize {cohort_id}", 100_000),
                                          on_wait=lambda: sys.stderr.write(f"cohort-dsl: waiting for {cohort_id}'s lock\n"))
        except SpecError as exc:
            if len(cohort_ids) == 1:
                raise
            report_warnings(project, exc.diagnostics)
            failed.append(cohort_id)
            continue
        report_warnings(project, outcome.diagnostics)
        write_outcome(project, cohort_id, outcome, args)
    if failed:
        sys.stderr.write(f"not materialized: {', '.join(failed)}\n")
        return 1
    return 0
