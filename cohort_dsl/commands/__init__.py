"""Subcommands: one module each, with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> exit code``. Names are fixed by DESIGN §8."""

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


def report_warnings(diagnostics, engine) -> None:
    """Warnings found while compiling go to stderr (the lint gate is where
    they are enforced)."""
    if not diagnostics:
        return
    from cohort_dsl.builtin.reporters import render_text
    from cohort_dsl.report import Report

    render_text(Report(diagnostics, engine.registry), sys.stderr, summary=False)


def load_compiled(args, settings=None):
    """Settings, bundle and compiled design for a SPEC argument."""
    from cohort_dsl.bundle import load_bundle
    from cohort_dsl.compiler import compile_bundle
    from cohort_dsl.settings import load_settings

    settings = settings or load_settings(args.config)
    bundle = load_bundle(args.spec, settings.limits)
    max_rows = getattr(args, "max_rows", None) or settings.max_rows
    return settings, compile_bundle(bundle, args.engine, max_rows=max_rows)


def add_catalog_options(parser) -> None:
    parser.add_argument("--catalog", action="append", default=[], metavar="FILE.json",
                        help='a JSON catalog keyed by axis: {"axis": [values]} or {"axis": {value: {...}}}; repeatable')
    parser.add_argument("--catalog-csv", action="append", default=[], metavar="AXIS=PATH[:COLUMN]",
                        help="a CSV catalog for one axis (column default: id); repeatable")


def data_root(args, settings):
    from pathlib import Path

    if getattr(args, "data_root", None):
        return Path(args.data_root).absolute()
    return settings.data_root


def load_catalogs_for(args, settings, root):
    """The configured catalogs (settings, then the command line), by axis.
    A catalog that cannot be read is a located error."""
    from dataclasses import replace
    from pathlib import Path

    from cohort_dsl.catalogs import cli_refs, load_catalogs, settings_refs
    from cohort_dsl.diagnostics import SpecError

    refs = settings_refs(replace(settings, data_root=root)) + cli_refs(args.catalog, args.catalog_csv, Path.cwd())
    catalogs, problems = load_catalogs(refs, args.engine.registry)
    if problems:
        raise SpecError(problems)
    return catalogs
