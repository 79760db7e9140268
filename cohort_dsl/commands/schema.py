"""Print the composed JSON Schema of a spec (the base schema plus every
installed rule kind's fragment). Point your editor at it, e.g. with
`# yaml-language-server: $schema=PATH` at the top of config.yaml."""

from __future__ import annotations

import sys

HELP = "print the composed JSON Schema for config.yaml"


def add_arguments(parser) -> None:
    parser.add_argument("--out", metavar="PATH", help="write to this file (atomically) instead of stdout")


def run(args) -> int:
    from cohort_dsl.schema import dumps

    text = dumps(args.engine.registry.schema)
    if args.out:
        from cohort_dsl.files import write_text

        write_text(args.out, text)
    else:
        sys.stdout.write(text)
    return 0
