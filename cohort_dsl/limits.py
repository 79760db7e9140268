"""Resource limits: every input the tool reads is bounded, and every bound
can be raised (``[tool.cohort-dsl.limits]`` in the config, or ``--max-rows``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from cohort_dsl.records import FrozenRecord


@dataclass(init=False, repr=False, eq=False)  # a frozen record: see cohort_dsl.records
class Limits(FrozenRecord):
    """The bounds of one run (docs/spec_dsl.md, "Limits")."""

    #: Rows a spec may expand to (and rows any single factor may hold).
    max_rows: int = 1_000_000
    #: Size of ``config.yaml`` (or any YAML/JSON document) in bytes.
    max_document_bytes: int = 4 * 1024 * 1024
    #: Nodes of a YAML document after alias expansion (stops alias bombs).
    max_yaml_nodes: int = 200_000
    #: Nesting depth of a YAML document.
    max_yaml_depth: int = 64
    #: Size of one ``@file:`` include in bytes.
    max_include_bytes: int = 64 * 1024 * 1024
    #: Rules in one spec (all sections together).
    max_rules: int = 10_000
    #: Levels of one axis, or rows of one include.
    max_levels: int = 1_000_000

    def __init__(self, max_rows: int = 1_000_000, max_document_bytes: int = 4 * 1024 * 1024,
                 max_yaml_nodes: int = 200_000, max_yaml_depth: int = 64, max_include_bytes: int = 64 * 1024 * 1024,
                 max_rules: int = 10_000, max_levels: int = 1_000_000):
        set_field = object.__setattr__
        set_field(self, "max_rows", max_rows)
        set_field(self, "max_document_bytes", max_document_bytes)
        set_field(self, "max_yaml_nodes", max_yaml_nodes)
        set_field(self, "max_yaml_depth", max_yaml_depth)
        set_field(self, "max_include_bytes", max_include_bytes)
        set_field(self, "max_rules", max_rules)
        set_field(self, "max_levels", max_levels)

    def updated(self, **values: int) -> "Limits":
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


DEFAULT_LIMITS = Limits()
