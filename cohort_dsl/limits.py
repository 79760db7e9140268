"""Resource limits: every input the tool reads is bounded, and every bound
can be raised (``[tool.cohort-dsl.limits]`` in the config, or ``--max-rows``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Limits:
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

    def updated(self, **values: int) -> "Limits":
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


DEFAULT_LIMITS = Limits()
