"""Scaffold a data repo in DIR (default: here): pyproject.toml with
[tool.cohort-dsl] (data-root, and the catalogs detected among the CSVs under
the data root: each is shown, and used once confirmed, or with --yes),
.pre-commit-config.yaml with the cohort-dsl-lint hook, .gitignore for the lint
cache, and a first cohort whose levels come from the catalogs. A file that
exists is left alone, and said so."""

from __future__ import annotations

import sys

HELP = "scaffold a data repo: settings with detected catalogs, pre-commit hook, .gitignore, a first cohort"


def add_arguments(parser) -> None:
    from cohort_dsl.scaffold import FIRST_COHORT

    parser.add_argument("directory", nargs="?", default=".", metavar="DIR", help="the repo's folder (default: .)")
    parser.add_argument("--data-root", default="data", metavar="PATH", help="the data root, relative to DIR (default: data)")
    parser.add_argument("--cohort", default=FIRST_COHORT, metavar="ID", help=f"the first cohort's id (default: {FIRST_COHORT})")
    parser.add_argument("--yes", "-y", action="store_true", help="use every detected catalog without asking")


def run(args) -> int:
    from pathlib import Path

    from cohort_dsl.diagnostics import UsageError, display_path
    from cohort_dsl.membership import DEFAULT_LAYOUT
    from cohort_dsl.scaffold import InitPlan, settings_text

    root = Path(args.directory)
    if root.exists() and not root.is_dir():
        raise UsageError(f"{args.directory} is not a folder")
    registry = args.engine.registry
    plan = InitPlan(root, args.data_root, registry.layouts[DEFAULT_LAYOUT])
    plan.data_root.check_cohort_id(args.cohort)
    detected = plan.detect()
    sys.stdout.write(f"catalogs under {display_path(str(plan.data_root.path))}/:\n")
    for found in detected:
        sys.stdout.write(f"  {found.axis} = {found.ref!r}\n" if found.ref else f"  {found.axis}: {found.note}\n")
    candidates = {d.axis: d.ref for d in detected if d.ref}
    if args.yes or not candidates:
        accepted = candidates
    elif sys.stdin.isatty():
        accepted = {axis: ref for axis, ref in candidates.items()
                    if input(f"catalog {axis} = {ref!r}? [Y/n] ").strip().lower() in ("", "y", "yes")}
    else:
        raise UsageError("confirm the detected catalogs: rerun with --yes, or at a terminal (nothing was written)")
    written = plan.write(accepted, args.cohort, registry)
    for path, created in written:
        sys.stdout.write(f"{'created' if created else 'exists, left alone:'} {display_path(str(path))}\n")
    settings, created = written[0]
    if not created and accepted and "[tool.cohort-dsl" not in settings.read_text(encoding="utf-8", errors="replace"):
        sys.stdout.write(f"to use the catalogs, put this into {display_path(str(settings))}:\n"
                         + settings_text(args.data_root, accepted))
    return 0
