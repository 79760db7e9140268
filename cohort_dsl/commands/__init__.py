"""Subcommands: one module each, with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> exit code``. Names are fixed by DESIGN §8."""

from __future__ import annotations

import argparse
import sys

from cohort_dsl.commands import compile as compile_
from cohort_dsl.commands import explain, plugins, schema

COMMANDS = {
    "compile": compile_,
    "explain": explain,
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

    settings = settings or load_settings()
    bundle = load_bundle(args.spec, settings.limits)
    max_rows = getattr(args, "max_rows", None) or settings.max_rows
    return settings, compile_bundle(bundle, args.engine, max_rows=max_rows)
