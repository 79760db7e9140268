"""Materialize a cohort: compile <data-root>/cohorts/COHORT_ID/spec/ and
write membership.csv (stage,gen_id), membership_wide.csv and manifest.json
beside it, atomically. Refuses (exit 1, nothing written) when a
membership.csv exists and would change, unless --force. With
--seed-metadata, writes gens/<stage>/<gen_id>/metadata.json for every
generation that has none."""

from __future__ import annotations

import sys
from pathlib import Path

HELP = "write a cohort's membership files (and optionally metadata seeds)"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_catalog_options, positive

    parser.add_argument("cohort_id", metavar="COHORT_ID", help="a folder under <data-root>/cohorts/ holding spec/config.yaml")
    parser.add_argument("--data-root", metavar="DIR", help="the data root (default: data-root in the config, or ./data)")
    parser.add_argument("--force", action="store_true", help="replace a membership.csv that would change")
    parser.add_argument("--seed-metadata", action="store_true", help="write gens/<stage>/<gen_id>/metadata.json seeds (never overwrites)")
    parser.add_argument("--layout", metavar="NAME", help="membership layout (default: output.layout or two-phase)")
    parser.add_argument("--max-rows", type=positive, metavar="N", help="refuse specs above N rows (default 1,000,000)")
    add_catalog_options(parser)


def run(args) -> int:
    from cohort_dsl.bundle import load_bundle
    from cohort_dsl.commands import data_root, load_catalogs_for, report_warnings
    from cohort_dsl.compiler import compile_bundle
    from cohort_dsl.diagnostics import display_path
    from cohort_dsl.materialize import check_cohort_id, materialize, spec_dir
    from cohort_dsl.settings import load_settings

    settings = load_settings()
    root = data_root(args, settings)
    check_cohort_id(args.cohort_id, root)
    bundle = load_bundle(spec_dir(root, args.cohort_id), settings.limits)
    compiled = compile_bundle(bundle, args.engine, max_rows=args.max_rows or settings.max_rows)
    report_warnings(compiled.diagnostics, args.engine)
    catalogs = load_catalogs_for(args, settings, root) if args.seed_metadata else {}
    outcome = materialize(compiled, args.engine, args.cohort_id, root, catalogs=catalogs, force=args.force,
                          seed_metadata=args.seed_metadata, layout=args.layout)
    report_warnings(outcome.diagnostics, args.engine)
    counts = ", ".join(f"{n:,} {stage}{'s' if n != 1 else ''}" for stage, n in outcome.counts.items())
    state = "written" if outcome.changed else "unchanged"
    target = display_path(str(Path(outcome.directory, "membership.csv").absolute()))
    sys.stdout.write(f"{args.cohort_id}: {counts} -> {target} ({state})\n")
    if args.seed_metadata:
        sys.stdout.write(f"{args.cohort_id}: metadata seeds: {outcome.metadata_written:,} written, "
                         f"{outcome.metadata_kept:,} already present (kept)\n")
    return 0
