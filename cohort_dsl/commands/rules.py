"""Show the diagnostic codes: every lint rule of every installed plugin,
with its name, default severity and documentation. `cohort-dsl rules
--format markdown` writes docs/rules.md."""

from __future__ import annotations

import sys

HELP = "list diagnostic codes and what they mean"


def add_arguments(parser) -> None:
    parser.add_argument("codes", nargs="*", metavar="CODE", help="codes or prefixes to show (default: all)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format")


def run(args) -> int:
    from cohort_dsl.rules_reference import markdown, selected

    registry = args.engine.registry
    rules = selected(registry, args.codes)
    if args.format == "markdown":
        sys.stdout.write(markdown(registry, args.codes))
    elif args.format == "json":
        import json

        json.dump([{"code": r.code, "name": r.name, "severity": r.severity, "summary": r.summary, "doc": r.doc,
                    "plugin": r.plugin.name if r.plugin else None} for r in rules], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for r in rules:
            sys.stdout.write(f"{r.code}  {r.name}  ({r.severity})\n    {r.summary}\n")
            if args.codes and r.doc:
                sys.stdout.write(f"    {r.doc}\n")
    if args.codes and not rules:
        sys.stderr.write(f"cohort-dsl: no code matches {', '.join(args.codes)}\n")
        return 2
    return 0
