"""Retire legacy `active` catalog columns. For each configured CSV catalog
with an `active` column: the active rows become one subset include per axis
that reads the catalog, <data-root>/selections/<axis>.csv (a cohort copies it
into its bundle and keeps those levels with `subsets:`), and the column is
dropped from the catalog. Shows what it would do; --write does it (each file
atomically; a cell that is neither true nor false stops everything)."""

from __future__ import annotations

import sys

HELP = "turn legacy `active` catalog columns into subset includes (--write to do it)"


def add_arguments(parser) -> None:
    from cohort_dsl.commands import add_data_root

    add_data_root(parser)
    parser.add_argument("--write", action="store_true", help="write the includes and the migrated catalogs")


def run(args) -> int:
    from cohort_dsl.commands import project_for
    from cohort_dsl.diagnostics import display_path

    project = project_for(args)
    migrations = project.migrate_catalogs(write=args.write)
    if not migrations:
        sys.stdout.write("no configured catalog has a legacy 'active' column: nothing to migrate\n")
        return 0
    for migration in migrations:
        sys.stdout.write(f"{display_path(str(migration.catalog))}: {migration.active} of {migration.rows} rows active; "
                         f"{'dropped' if args.write else 'drop'} the 'active' column\n")
        for include, (axis, count) in migration.summary.items():
            sys.stdout.write(f"  {axis}: {count} value{'s' if count != 1 else ''} -> {display_path(str(include))}"
                             f"{'' if args.write else ' (would write)'}\n")
    if not args.write:
        sys.stdout.write("nothing was written: rerun with --write to migrate\n")
    return 0
