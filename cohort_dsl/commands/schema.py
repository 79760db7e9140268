"""Print the composed JSON Schema of a spec (the base schema plus every
installed rule kind's fragment and plugin spec key). Point your editor at
it, e.g. with `# yaml-language-server: $schema=PATH` at the top of
config.yaml; in a data repo, the `cohort-dsl-schema` pre-commit hook keeps
the file current (docs/plugins.md, "Editor schema")."""

from __future__ import annotations

import sys

HELP = "print the composed JSON Schema for config.yaml"


def add_arguments(parser) -> None:
    parser.add_argument("--out", metavar="PATH", help="write to this file (atomically) instead of stdout")


def with_composition_id(schema: dict, registry) -> dict:
    """The built-in composition keeps the published ``$id``; one with
    plugin fragments gets its own (the digest of its content), so an editor
    or cache never takes one for the other."""
    if all(k.plugin is not None and k.plugin.builtin for k in registry.rule_kinds.values()) \
            and not registry.spec_keys:
        return schema
    import json

    from cohort_dsl.files import digest_bytes

    body = {key: value for key, value in schema.items() if key != "$id"}
    digest = digest_bytes(json.dumps(body, sort_keys=True).encode("utf-8"))[:16]
    return {**schema, "$id": f"{schema['$id']}?composition={digest}"}


def run(args) -> int:
    from cohort_dsl.schema import dumps

    registry = args.engine.registry
    text = dumps(with_composition_id(registry.schema, registry))
    if args.out:
        from cohort_dsl.files import write_text

        write_text(args.out, text)
    else:
        sys.stdout.write(text)
    return 0
