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

import sys

HELP = "lint spec bundles against the schema, the rules and the catalogs"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_catalog_options, positive

    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to lint (default: every bundle)")
    parser.add_argument("--all", action="store_true", help="lint every cohorts/*/spec/config.yaml under the data root")
    parser.add_argument("--data-root", metavar="DIR", help="the data root (default: data-root in the config, or ./data)")
    parser.add_argument("--format", default="text", metavar="FORMAT",
                        help="text (default), json, github, sarif, or a format a plugin adds")
    parser.add_argument("--select", metavar="CODES", help="comma-separated codes or prefixes to report (default: all)")
    parser.add_argument("--ignore", metavar="CODES", help="comma-separated codes or prefixes not to report")
    parser.add_argument("--jobs", type=positive, metavar="N", help="lint bundles in N processes (default: CPU count)")
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument("--max-rows", type=positive, metavar="N", help="refuse specs above N rows (default 1,000,000)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the lint cache (.cohort-dsl-cache/)")
    add_catalog_options(parser)


def _codes(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def run(args) -> int:
    from dataclasses import replace

    from cohort_dsl.catalogs import catalog_files, cli_refs, load_catalogs, settings_refs
    from cohort_dsl.commands import data_root
    from cohort_dsl.diagnostics import UsageError
    from cohort_dsl.lint import LintRun, Selection, all_bundles, exit_code, finish, lint_many, targets
    from cohort_dsl.report import Report
    from cohort_dsl.settings import load_settings

    registry = args.engine.registry
    fmt = registry.report_formats.get(args.format)
    if fmt is None:
        raise UsageError(f"unknown format {args.format!r} (formats: {', '.join(sorted(registry.report_formats))})")
    settings = load_settings(args.config)
    root = data_root(args, settings)
    settings = replace(settings, data_root=root)
    if args.max_rows:
        settings = replace(settings, max_rows=args.max_rows, limits=settings.limits.updated(max_rows=args.max_rows))
    selection = Selection(_codes(args.select) or settings.select, _codes(args.ignore) or settings.ignore)

    from pathlib import Path

    refs = settings_refs(settings) + cli_refs(args.catalog, args.catalog_csv, Path.cwd())
    catalogs, catalog_problems = load_catalogs(refs, registry)
    if args.all or not args.paths:
        configs = all_bundles(root)
        if not configs and not args.paths:
            raise UsageError(f"no spec bundles under {root}/cohorts/*/spec/ (set --data-root or data-root in the config)")
    else:
        configs = targets(args.paths, root, catalog_files(refs), settings.path)
    run = LintRun(args.engine, settings, catalogs, selection, args)
    if not catalog_problems:  # a broken catalog is reported afresh each run
        from cohort_dsl.cache import LintCache

        run.cache = LintCache.for_run(run, sorted(catalog_files(refs)))
    diagnostics = finish(catalog_problems, run) + lint_many(configs, run, args.jobs or settings.jobs)
    report = Report(diagnostics, registry, [str(c) for c in configs])
    if args.output:
        from cohort_dsl.files import atomic_writer

        with atomic_writer(args.output) as handle:
            fmt.render(report, handle)
    else:
        fmt.render(report, sys.stdout)
    return exit_code(report.diagnostics)
