"""The spec's JSON Schema: composed from the base and every plugin's
fragments, and the per-registry schema object that validates documents.

A registry only declares; what is derived from it for validation (the
composed schema, the compiled checker, the jsonschema validator) lives in a
:class:`SpecSchema` kept here per registry, built the first time it is
needed and dropped with the registry. Two neighbours do the rest:
:mod:`cohort_dsl.schema_checker` recognises valid documents without
jsonschema; :mod:`cohort_dsl.schema_messages` turns jsonschema's errors
into located plain-language diagnostics (the ``x-message``/``x-messages``
annotations of schema nodes are documented there).
"""

from __future__ import annotations

import copy
import json
import weakref
from functools import cached_property
from pathlib import Path

from typing import TYPE_CHECKING

from cohort_dsl.diagnostics import Diagnostic
from cohort_dsl.registry import LintRule

if TYPE_CHECKING:  # plugins import load_fragment at start-up: stay light
    from cohort_dsl.document import Document
    from cohort_dsl.registry import Registry

SCHEMA_VIOLATION = LintRule("S001", "schema-violation", "The spec does not match the schema.",
                            "The spec's structure is checked against the composed JSON Schema (the base schema plus every "
                            "rule kind's fragment; `cohort-dsl schema` prints it). The diagnostic is placed on the offending "
                            "node; for alternatives (a list or an include) the best-matching explanation is shown.")
UNKNOWN_KEY = LintRule("S002", "unknown-key", "A key the schema does not know.",
                       "Only `axes`, `rules`, `output` (and keys that installed plugins declare) may appear at the top "
                       "level; only installed rule kinds may appear under `rules:`. A close match is suggested.")

SCHEMA_DIR = Path(__file__).with_name("schemas")
EDITOR_SCHEMA = "cohort-spec.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def load_fragment(name: str) -> dict:
    """A schema file shipped in ``schemas/`` (``base`` or a rule kind)."""
    with open(SCHEMA_DIR / f"{name}.schema.json", encoding="utf-8") as handle:
        return json.load(handle)


def compose(registry) -> dict:
    """The spec schema: the base, each rule kind's fragment under
    ``rules.properties.<section>``, each plugin spec key under
    ``properties.<key>``. Fragment ``$defs`` are hoisted to the root so that
    ``#/$defs/...`` references work in the composed document."""
    schema = load_fragment("base")
    defs = schema["$defs"]
    owners = {name: "the base schema" for name in defs}

    def place(fragment, owner) -> dict:
        fragment = copy.deepcopy(dict(fragment))
        for name, definition in fragment.pop("$defs", {}).items():
            if name in owners and defs[name] != definition:
                raise SchemaFragmentError(f"{owner}: $defs/{name} is already defined by {owners[name]}")
            defs[name], owners[name] = definition, owner
        fragment.pop("$schema", None)
        return fragment

    rules = schema["properties"]["rules"]["properties"]
    for section, kind in registry.rule_kinds.items():
        rules[section] = place(kind.schema, f"rule kind {section!r} ({kind.plugin})")
    for key, fragment in registry.spec_keys.items():
        if key in schema["properties"]:
            raise SchemaFragmentError(f"spec key {key!r} is already defined by the base schema")
        schema["properties"][key] = place(fragment, f"spec key {key!r}")
    return schema


class SchemaFragmentError(Exception):
    """A plugin's schema fragment is invalid or clashes with another."""


def check_fragments(registry) -> None:
    """Validate third-party fragments against the metaschema (built-in ones
    are guarded by tests, so start-up does not pay for them)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    fragments = [(f"rule kind {section!r}", kind.plugin, kind.schema) for section, kind in registry.rule_kinds.items()
                 if not (kind.plugin is not None and kind.plugin.builtin)]
    fragments += [(f"spec key {key!r}", registry.spec_key_plugins.get(key), schema)
                  for key, schema in registry.spec_keys.items()]
    for what, plugin, fragment in fragments:
        try:
            Draft202012Validator.check_schema(dict(fragment))
        except SchemaError as exc:
            path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            owner = f"plugin {plugin}: " if plugin else ""
            raise SchemaFragmentError(f"{owner}the schema fragment of {what} is invalid at {path}: {exc.message}") from None


class SpecSchema:
    """What validation derives from one registry, each part computed the
    first time it is used: the composed ``schema``, the compiled
    ``checker`` (None when the schema uses a keyword it does not
    implement) and the jsonschema ``validator``.

    It refers to its registry weakly, so that the per-registry cache (keyed
    weakly by registry) does not keep the registry alive."""

    def __init__(self, registry: "Registry"):
        self._registry = weakref.ref(registry)

    @cached_property
    def schema(self) -> dict:
        registry = self._registry()
        if registry is None:
            raise ReferenceError("the registry of this spec schema no longer exists")
        return compose(registry)

    @cached_property
    def checker(self):
        from cohort_dsl.schema_checker import compile_checker

        return compile_checker(self.schema)

    @cached_property
    def validator(self):
        from jsonschema import Draft202012Validator

        return Draft202012Validator(self.schema)


_SPEC_SCHEMAS: "weakref.WeakKeyDictionary[Registry, SpecSchema]" = weakref.WeakKeyDictionary()


def spec_schema(registry: "Registry") -> SpecSchema:
    """The :class:`SpecSchema` of ``registry`` (one per registry, by identity)."""
    try:
        return _SPEC_SCHEMAS[registry]
    except KeyError:
        return _SPEC_SCHEMAS.setdefault(registry, SpecSchema(registry))


def validator_for(registry: "Registry"):
    """The jsonschema validator of ``registry``'s spec schema."""
    return spec_schema(registry).validator


def validate(document: "Document", registry: "Registry") -> list[Diagnostic]:
    """Schema errors of a document, each located at the offending node.

    A valid document is recognised by the schema compiled into closures
    (:func:`cohort_dsl.schema_checker.compile_checker`), so the common case
    never imports jsonschema (~90 ms, most of a pre-commit run's budget);
    jsonschema explains the errors of an invalid one
    (:func:`cohort_dsl.schema_messages.explain_error`). A test keeps the two
    in agreement."""
    compiled = spec_schema(registry)
    checker = compiled.checker
    if checker is not None and checker(document.data):
        return []
    from cohort_dsl.schema_messages import explain_error

    diagnostics: list[Diagnostic] = []
    for err in compiled.validator.iter_errors(document.data):
        diagnostics.extend(explain_error(err, document))
    diagnostics.sort(key=Diagnostic.sort_key)
    return diagnostics


def dumps(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
