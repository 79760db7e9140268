"""Subcommands: one module each, with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> exit code``. Each is a thin adapter: it parses its
arguments and calls a :class:`cohort_dsl.project.Project` operation. The
command names are fixed (see README.md)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping


class _Commands(Mapping):
    """Command name -> its module, imported when looked up: a run builds
    the parser of its own command only, so it imports only that module."""

    def __init__(self, modules: dict[str, str]):
        self._modules = modules

    def __getitem__(self, name: str):
        return importlib.import_module(f"{__name__}.{self._modules[name]}")

    def __iter__(self):
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


COMMANDS = _Commands({
    "compile": "compile",
    "explain": "explain",
    "lint": "lint",
    "membership": "membership",
    "materialize": "materialize",
    "diff": "diff",
    "init": "init",
    "new": "new",
    "import": "import_",
    "migrate-catalogs": "migrate_catalogs",
    "rules": "rules",
    "schema": "schema",
    "plugins": "plugins",
})


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def positive(text: str) -> int:
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_spec_argument(parser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="the spec bundle folder or its config.yaml")


def add_max_rows(parser) -> None:
    parser.add_argument("--max-rows", type=positive, metavar="N", help="refuse specs above N rows (default 1,000,000)")


def add_data_root(parser) -> None:
    parser.add_argument("--data-root", metavar="DIR", help="the data root (default: data-root in the config, or ./data)")


def add_catalog_options(parser) -> None:
    parser.add_argument("--catalog", action="append", default=[], metavar="FILE.json",
                        help='a JSON catalog keyed by axis: {"axis": [values]} or {"axis": {value: {...}}}; repeatable')
    parser.add_argument("--catalog-csv", action="append", default=[], metavar="AXIS=PATH[:COLUMN]",
                        help="a CSV catalog for one axis (column default: id); repeatable")


def project_for(args):
    """The project of ``--config`` (or the one found from the working
    directory), with the command's flags applied."""
    from cohort_dsl.project import Project

    project = Project.load(args.config, engine=args.engine)
    return project.override(data_root=getattr(args, "data_root", None), max_rows=getattr(args, "max_rows", None))


def catalog_refs(args) -> list:
    """Catalogs given on the command line (--catalog, --catalog-csv)."""
    from pathlib import Path

    from cohort_dsl.catalogs import cli_refs

    return cli_refs(getattr(args, "catalog", []), getattr(args, "catalog_csv", []), Path.cwd())


def report_warnings(project, diagnostics) -> None:
    """What a command found that did not stop it goes to stderr (the lint
    gate is where warnings are enforced)."""
    if diagnostics:
        project.report(diagnostics, out=sys.stderr, summary=False)


def add_output(parser) -> None:
    parser.add_argument("--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")


def write_output(args, write) -> None:
    """``write(stream)`` to stdout, or atomically to ``--output``."""
    if getattr(args, "output", None):
        from cohort_dsl.files import atomic_writer

        with atomic_writer(args.output) as handle:
            write(handle)
    else:
        write(sys.stdout)


def write_change(project, change, args) -> None:
    """A :class:`cohort_dsl.change.Change` in ``args.format`` (diff and
    materialize --dry-run)."""
    from cohort_dsl import change as changes

    limit = changes.DEFAULT_LIMIT if getattr(args, "limit", None) is None else args.limit
    fmt = getattr(args, "format", "text")

    def write(stream) -> None:
        if fmt == "json":
            import json

            json.dump(change.to_json(), stream, indent=2, ensure_ascii=False)
            stream.write("\n")
        elif fmt == "markdown":
            changes.render_markdown(change, stream, limit)
        elif fmt == "text":
            changes.render_text(change, stream, limit)
        else:
            write_page(project, {"title": f"cohort-dsl diff {change.cohort_id}", "change": change.page(limit)},
                       fmt, stream)

    write_output(args, write)


def write_outcome(project, cohort_id: str, outcome, args) -> None:
    """What ``materialize`` wrote, one line (and one for the metadata seeds)."""
    from cohort_dsl.diagnostics import display_path

    counts = ", ".join(f"{n:,} {stage}{'s' if n != 1 else ''}" for stage, n in outcome.counts.items())
    target = display_path(str(project.data_root.membership_file(cohort_id)))
    sys.stdout.write(f"{cohort_id}: {counts} -> {target} ({'written' if outcome.changed else 'unchanged'})\n")
    if args.seed_metadata:
        sys.stdout.write(f"{cohort_id}: metadata seeds: {outcome.metadata_written:,} written, "
                         f"{outcome.metadata_kept:,} already present (kept)\n")


def write_preview(project, cohort_id: str, args) -> None:
    """``materialize --dry-run``: the warnings, then the change as text."""
    change, found = project.preview(cohort_id, layout=args.layout, extra_catalog_refs=catalog_refs(args))
    report_warnings(project, found)
    write_change(project, change, args)


def write_page(project, page: dict, fmt: str, stream) -> None:
    """A page (explain's or diff's data) through the report-format registry."""
    from cohort_dsl.report import Report

    project.report(Report([], project.registry, page=page), fmt, stream)


def add_report_options(parser) -> None:
    """The options of a command that prints a lint report (as ruff users
    expect them)."""
    parser.add_argument("--output", "--output-file", dest="output", metavar="FILE",
                        help="write the report to FILE instead of stdout")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colour the text report: auto (default: when a terminal, unless NO_COLOR; FORCE_COLOR forces it)")
    parser.add_argument("--statistics", action="store_true", help="print the count of each code instead of the findings")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when errors are found (2 stays 2)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print the findings only: no summary, notes or progress")


def progress_for(args, label: str, minimum: int = 2):
    """A factory ``progress(total)`` of a progress line on stderr, drawn
    only for a terminal, a human format and at least ``minimum`` items of
    work (long work: the short is over before a line would help)."""
    from cohort_dsl.progress import Progress

    enabled = not getattr(args, "quiet", False) and Progress.enabled_for(sys.stderr, getattr(args, "format", "text"))
    return lambda total: Progress(total, f"cohort-dsl {label}", sys.stderr, enabled and total >= minimum)


def emit_report(project, report, args) -> None:
    """Notes on stderr, then the report in its format (or the statistics),
    to stdout or --output."""
    import os

    from cohort_dsl.diagnostics import UsageError, display_path
    from cohort_dsl.paths import want_color
    from cohort_dsl.vcs import scope_from_env

    if not args.quiet and scope_from_env(os.environ) and len(report.bundles) > 3:
        names = [display_path(b) for b in report.bundles]
        sys.stderr.write(f"cohort-dsl: linted {len(names)} bundles: {', '.join(names[:5])}"
                         f"{f' and {len(names) - 5} more' if len(names) > 5 else ''}\n")
    if report.skipped and not args.quiet:
        shown = ", ".join(display_path(p) for p in report.skipped[:3]) + (", …" if len(report.skipped) > 3 else "")
        sys.stderr.write(f"cohort-dsl: skipped {len(report.skipped)} bundle(s) not tracked by git: {shown}\n")
    if args.statistics and args.format != "text":
        raise UsageError("--statistics prints text; leave out --format or use --format text")
    report.show_summary = not args.quiet

    def write(stream) -> None:
        if not args.statistics:
            project.report(report, args.format, stream)
            return
        for count, code, name in report.statistics():
            stream.write(f"{count:>6}  {code}  {name}\n")
        if report.show_summary:
            stream.write(report.summary() + "\n")

    if args.output:
        from cohort_dsl.files import atomic_writer

        report.color = args.color == "always"
        with atomic_writer(args.output) as handle:
            write(handle)
    else:
        report.color = want_color(args.color, sys.stdout, os.environ)
        write(sys.stdout)
