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

    parser.add_argument("cohort_ids", nargs="*", metavar="COHORT_ID",
                        help="a folder under <data-root>/cohorts/ holding spec/config.yaml; several may be given")
    parser.add_argument("--all", action="store_true", help="every cohort under <data-root>/cohorts/ that has a spec")
    parser.add_argument("--data-root", metavar="DIR", help="the data root (default: data-root in the config, or ./data)")
    parser.add_argument("--force", action="store_true", help="replace a membership.csv that would change")
    parser.add_argument("--seed-metadata", action="store_true", help="write gens/<stage>/<gen_id>/metadata.json seeds (never overwrites)")
    parser.add_argument("--layout", metavar="NAME", help="membership layout (default: output.layout or two-phase)")
    parser.add_argument("--max-rows", type=positive, metavar="N", help="refuse specs above N rows (default 1,000,000)")
    add_catalog_options(parser)


def run(args) -> int:
    from cohort_dsl.commands import data_root, load_catalogs_for
    from cohort_dsl.diagnostics import SpecError, UsageError
    from cohort_dsl.lint import all_bundles
    from cohort_dsl.settings import load_settings

    settings = load_settings(args.config)
    root = data_root(args, settings)
    cohort_ids = list(args.cohort_ids)
    if args.all:
        cohort_ids += [config.parent.parent.name for config in all_bundles(root) if config.parent.parent.name not in cohort_ids]
    if not cohort_ids:
        raise UsageError("name a COHORT_ID (or use --all)")
    catalogs = load_catalogs_for(args, settings, root) if args.seed_metadata else {}
    failed = []
    for cohort_id in cohort_ids:
        try:
            _materialize_one(args, settings, root, cohort_id, catalogs)
        except SpecError as exc:
            if len(cohort_ids) == 1:
                raise
            from cohort_dsl.cli import _report_to_stderr

            _report_to_stderr(exc.diagnostics, args.engine)
            failed.append(cohort_id)
    if failed:
        sys.stderr.write(f"not materialized: {', '.join(failed)}\n")
        return 1
    return 0


def _materialize_one(args, settings, root: Path, cohort_id: str, catalogs: dict) -> None:
    from cohort_dsl.bundle import load_bundle
    from cohort_dsl.commands import report_warnings
    from cohort_dsl.compiler import compile_bundle
    from cohort_dsl.diagnostics import display_path
    from cohort_dsl.materialize import check_cohort_id, materialize, spec_dir

    check_cohort_id(cohort_id, root)
    bundle = load_bundle(spec_dir(root, cohort_id), settings.limits)
    compiled = compile_bundle(bundle, args.engine, max_rows=args.max_rows or settings.max_rows)
    report_warnings(compiled.diagnostics, args.engine)
    outcome = materialize(compiled, args.engine, cohort_id, root, catalogs=catalogs, force=args.force,
                          seed_metadata=args.seed_metadata, layout=args.layout)
    report_warnings(outcome.diagnostics, args.engine)
    counts = ", ".join(f"{n:,} {stage}{'s' if n != 1 else ''}" for stage, n in outcome.counts.items())
    state = "written" if outcome.changed else "unchanged"
    target = display_path(str(Path(outcome.directory, "membership.csv").absolute()))
    sys.stdout.write(f"{cohort_id}: {counts} -> {target} ({state})\n")
    if args.seed_metadata:
        sys.stdout.write(f"{cohort_id}: metadata seeds: {outcome.metadata_written:,} written, "
                         f"{outcome.metadata_kept:,} already present (kept)\n")
