"""The spec's JSON Schema: composed from the base and every plugin's
fragments, validated with ``jsonschema``, errors mapped to line and column.

Schema nodes may carry two annotations (ignored by other validators) that
turn jsonschema's messages into plain language:

- ``x-message``: the message when a value has the wrong shape altogether
  (every ``oneOf``/``anyOf`` branch fails at that value);
- ``x-messages``: ``{keyword: message}`` for one failing keyword.

Both are ``str.format`` templates with ``{key}`` (the last path element) and
``{value}`` (the offending value).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from cohort_dsl.diagnostics import ERROR, Diagnostic, did_you_mean
from cohort_dsl.document import Document
from cohort_dsl.levels import non_string_level

SCHEMA_VIOLATION = "S001"
UNKNOWN_KEY = "S002"

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

    for section, kind in registry.rule_kinds.items():
        if kind.plugin is not None and kind.plugin.builtin:
            continue
        try:
            Draft202012Validator.check_schema(dict(kind.schema))
        except SchemaError as exc:
            path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            raise SchemaFragmentError(
                f"plugin {kind.plugin}: the schema fragment of rule kind {section!r} is invalid at {path}: {exc.message}"
            ) from None


def validator_for(registry):
    if registry._validator is None:
        from jsonschema import Draft202012Validator

        check_fragments(registry)
        registry._validator = Draft202012Validator(registry.schema)
    return registry._validator


def validate(document: Document, registry) -> list[Diagnostic]:
    """Schema errors of a document, each located at the offending node."""
    validator = validator_for(registry)
    diagnostics: list[Diagnostic] = []
    for err in validator.iter_errors(document.data):
        diagnostics.extend(_diagnose(err, document))
    diagnostics.sort(key=Diagnostic.sort_key)
    return diagnostics


# -- turning a jsonschema error into located plain language ------------------

_TYPE_NAMES = {
    "object": "a mapping", "array": "a list", "string": "text", "integer": "an integer",
    "number": "a number", "boolean": "true/false", "null": "null",
}


def _kind(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int):
        return "an integer"
    return "a number"


def dotted(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _diagnose(err, document: Document) -> list[Diagnostic]:
    from jsonschema.exceptions import best_match

    top = err
    if err.validator in ("oneOf", "anyOf") and err.context:
        err = best_match([err])
    path = tuple(err.absolute_path)
    where = dotted(path)
    value = err.instance
    key = path[-1] if path else ""

    def at(message, code=SCHEMA_VIOLATION, loc=None, hint=None):
        return Diagnostic(code, message, loc or document.loc(path), ERROR, hint)

    if err.validator == "additionalProperties" and isinstance(value, dict):
        allowed = list(err.schema.get("properties", {}))
        extras = [k for k in value if k not in allowed]
        out = []
        for extra in extras:
            container = f"in {where}" if where else "at the top level"
            expected = f"; expected one of: {', '.join(allowed)}" if allowed else ""
            out.append(at(f"unknown key {extra!r} {container}{expected}", UNKNOWN_KEY,
                          document.key_loc(path + (extra,)), did_you_mean(extra, allowed)))
        return out
    if err.validator == "propertyNames":
        bad = err.instance
        name_path = path + (bad,) if isinstance(bad, str) else path
        return [at(f"{bad!r} is not a valid name: use letters, digits, '_', '-' and '.'",
                   loc=document.key_loc(name_path))]
    # A value of the wrong shape altogether (no alternative even has its
    # type): the oneOf/anyOf's own message.
    wrong_shape = err is top or (tuple(top.absolute_path) == path and err.validator in ("type", "pattern", "enum"))
    if wrong_shape and top.schema.get("x-message"):
        message = _format(top.schema["x-message"], key, value)
    elif err.validator == "type" and _is_yaml_trap(_as_list(err.validator_value), value):
        is_level = set(_as_list(err.validator_value)) == {"string", "integer"}
        return [non_string_level(value, document.loc(path), document.raw(path), "level" if is_level else "value")]
    else:
        templates = err.schema.get("x-messages") or {}
        if err.validator in templates:
            message = _format(templates[err.validator], key, value)
        else:
            message = _plain_message(err, value)
    if where and not message.startswith(where):
        message = f"{where}: {message}"
    return [at(message)]


def _is_yaml_trap(types: list, value) -> bool:
    """Text was expected and YAML typed the scalar (yes/no/null/1.5), or a
    level position holds a nested list or mapping."""
    if "string" not in types:
        return False
    if value is None or isinstance(value, (bool, float)):
        return True
    return set(types) == {"string", "integer"} and isinstance(value, (list, dict))


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _format(template: str, key, value) -> str:
    try:
        return template.format(key=key, value=value)
    except (KeyError, IndexError, ValueError):
        return template


def _plain_message(err, value) -> str:
    v = err.validator
    expected = err.validator_value
    if v == "type":
        names = " or ".join(_TYPE_NAMES.get(t, t) for t in _as_list(expected))
        return f"must be {names}, not {_kind(value)}"
    if v == "required":
        missing = [k for k in expected if isinstance(value, dict) and k not in value]
        return "missing required key" + ("s " if len(missing) > 1 else " ") + ", ".join(repr(k) for k in missing)
    if v == "minItems":
        return "must not be empty" if expected == 1 else f"needs at least {expected} items, has {len(value)}"
    if v == "maxItems":
        return f"has {len(value)} items; at most {expected} allowed"
    if v in ("minLength", "minProperties"):
        return "must not be empty"
    if v == "enum":
        return f"{value!r} is not one of: {', '.join(map(str, expected))}"
    if v == "const":
        return f"must be {expected!r}"
    if v == "uniqueItems":
        seen, dups = [], []
        for item in value:
            (dups if item in seen else seen).append(item)
        return f"lists {dups[0]!r} more than once" if dups else "items must be unique"
    if v == "minimum":
        return f"must be at least {expected}, not {value}"
    if v == "pattern":
        return f"{value!r} does not match the expected form"
    return err.message


def editor_schema(registry) -> dict:
    """The composed schema as written to ``schemas/cohort-spec.schema.json``."""
    return registry.schema


def dumps(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
