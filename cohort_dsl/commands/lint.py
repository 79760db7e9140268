"""Lint spec bundles: YAML, schema, includes, rules, catalogs, membership.

PATH may be a bundle folder, its config.yaml or any file inside it (an
include lints the bundle that includes it), a catalog file (lints every
bundle under the data root), or a cohort's membership.csv. With no PATH, or
with --all, every cohorts/*/spec/config.yaml under the data root is linted
(the CI gate). Exit 0 when clean (warnings allowed), 1 when errors are
found, 2 on usage or configuration errors.

Suppress a finding with a comment on its line: `# noqa: R008` (or `# noqa`).
"""

from __future__ import annotations

HELP = "lint spec bundles against the schema, the rules and the catalogs"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_catalog_options, add_data_root, add_max_rows, add_report_options, positive

    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to lint (default: every bundle)")
    parser.add_argument("--all", action="store_true", help="lint every cohorts/*/spec/config.yaml under the data root")
    add_data_root(parser)
    parser.add_argument("--format", default="text", metavar="FORMAT",
                        help="text (default), json, github, sarif, or a format a plugin adds")
    parser.add_argument("--select", metavar="CODES", help="comma-separated codes, prefixes or rule names to report "
                        "(case-sensitive; default: all)")
    parser.add_argument("--ignore", metavar="CODES", help="comma-separated codes, prefixes or rule names not to report")
    parser.add_argument("--jobs", type=positive, metavar="N", help="lint bundles in N processes (default: CPU count)")
    parser.add_argument("--tracked-only", action="store_true", help="skip bundles git neither tracks nor has staged "
                        "(the default under pre-commit, PRE_COMMIT=1)")
    add_max_rows(parser)
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the lint cache (.cohort-dsl-cache/)")
    add_catalog_options(parser)
    add_report_options(parser)


def _codes(value: str | None) -> list[str] | None:
    codes = [part.strip() for part in (value or "").split(",") if part.strip()]
    return codes or None


def run(args) -> int:
    import os

    from cohort_dsl.commands import catalog_refs, emit_report, progress_for, project_for
    from cohort_dsl.lint import exit_code
    from cohort_dsl.project import format_for
    from cohort_dsl.vcs import scope_from_env

    project = project_for(args).override(select=_codes(args.select), ignore=_codes(args.ignore))
    format_for(project.registry, args.format)  # an unknown format is a usage error before any work
    report = project.lint([] if args.all else args.paths, extra_catalog_refs=catalog_refs(args), options=args,
                          jobs=args.jobs, use_cache=not args.no_cache, progress=progress_for(args, "lint"),
                          tracked_only=args.tracked_only or scope_from_env(os.environ))
    emit_report(project, report, args)
    code = exit_code(report.diagnostics)
    return 0 if args.exit_zero and code == 1 else code
