"""Start a cohort: <data-root>/cohorts/COHORT_ID/spec/config.yaml, a
commented starter spec with one level per axis (the first of its catalog),
or with --from OTHER_ID a copy of that cohort's spec bundle, includes and
all. An id that exists is refused (exit 1, nothing written)."""

from __future__ import annotations

import sys

HELP = "start a cohort: a starter spec, or a copy of another cohort's spec (--from)"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_data_root

    parser.add_argument("cohort_id", metavar="COHORT_ID", help="the new folder under <data-root>/cohorts/")
    parser.add_argument("--from", dest="from_id", metavar="OTHER_ID", help="copy this cohort's spec bundle")
    add_data_root(parser)


def run(args) -> int:
    from cohort_dsl.commands import project_for
    from cohort_dsl.diagnostics import display_path

    project = project_for(args)
    spec = project.new_cohort(args.cohort_id, from_id=args.from_id)
    what = f"a copy of {args.from_id}'s spec" if args.from_id else "a starter spec"
    sys.stdout.write(f"{args.cohort_id}: {display_path(str(spec))}/ ({what}); next: edit it, "
                     f"`cohort-dsl lint {display_path(str(spec))}`, then `cohort-dsl materialize {args.cohort_id}`\n")
    return 0
