"""Subcommands: one module each, with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> exit code``. Each is a thin adapter: it parses its
arguments and calls a :class:`cohort_dsl.project.Project` operation. The
command names are fixed (see README.md)."""

from __future__ import annotations

import argparse
import sys

from cohort_dsl.commands import compile as compile_
from cohort_dsl.commands import explain, lint, materialize, membership, plugins, rules, schema

COMMANDS = {
    "compile": compile_,
    "explain": explain,
    "lint": lint,
    "membership": membership,
    "materialize": materialize,
    "rules": rules,
    "schema": schema,
    "plugins": plugins,
}


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
