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

from typing import TYPE_CHECKING

from cohort_dsl.diagnostics import ERROR, Diagnostic, did_you_mean
from cohort_dsl.registry import LintRule

if TYPE_CHECKING:  # plugins import load_fragment at start-up: stay light
    from cohort_dsl.document import Document

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


def validator_for(registry):
    if registry._validator is None:
        from jsonschema import Draft202012Validator

        registry._validator = Draft202012Validator(registry.schema)
    return registry._validator


def validate(document: "Document", registry) -> list[Diagnostic]:
    """Schema errors of a document, each located at the offending node.

    A valid document is recognised by the schema compiled into closures
    (:func:`compile_checker`), so the common case never imports jsonschema
    (~90 ms, most of a pre-commit run's budget); jsonschema explains the
    errors of an invalid one. A test keeps the two in agreement."""
    if registry._checker is None:
        registry._checker = compile_checker(registry.schema) or False
    if registry._checker and registry._checker(document.data):
        return []
    validator = validator_for(registry)
    diagnostics: list[Diagnostic] = []
    for err in validator.iter_errors(document.data):
        diagnostics.extend(_diagnose(err, document))
    diagnostics.sort(key=Diagnostic.sort_key)
    return diagnostics


# -- a schema compiled into closures: "is this valid?" without jsonschema ------

_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "default", "examples", "$defs",
                "definitions", "x-message", "x-messages", "deprecated", "readOnly", "writeOnly"}


class Unsupported(Exception):
    """A keyword the compiled checker does not implement."""


def compile_checker(schema: dict):
    """A function ``data -> bool`` equivalent to Draft 2020-12 validation
    for the keywords specs use, or None when the schema uses another
    keyword (jsonschema then does all the work)."""
    try:
        return _Compiler(schema).compile(schema)
    except Unsupported:
        return None


def _is_type(value, name: str) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float))
    raise Unsupported(name)


def _json_key(value):
    """Equality as JSON sees it (true is not 1) for uniqueItems/enum."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, list):
        return ("a", tuple(_json_key(v) for v in value))
    if isinstance(value, dict):
        return ("o", tuple(sorted((k, _json_key(v)) for k, v in value.items())))
    return ("s", value)


class _Compiler:
    def __init__(self, root: dict):
        self.root = root
        self.refs: dict[str, object] = {}

    def ref(self, pointer: str):
        if not pointer.startswith("#"):
            raise Unsupported(pointer)
        if pointer not in self.refs:
            slot: list = []
            self.refs[pointer] = lambda v: slot[0](v)  # late binding: refs may recurse
            target = self.root
            for part in filter(None, pointer[1:].split("/")):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            slot.append(self.compile(target))
        return self.refs[pointer]

    def compile(self, schema):
        import re

        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        checks = []
        for key in schema:
            if key not in _ANNOTATIONS and key not in _KEYWORDS:
                raise Unsupported(key)
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"]))
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            for t in types:
                _is_type(None, t)  # raises Unsupported for unknown names
            checks.append(lambda v, types=types: any(_is_type(v, t) for t in types))
        if "enum" in schema:
            allowed = {_json_key(x) for x in schema["enum"]}
            checks.append(lambda v: _json_key(v) in allowed)
        if "const" in schema:
            const = _json_key(schema["const"])
            checks.append(lambda v: _json_key(v) == const)
        if "pattern" in schema:
            search = re.compile(schema["pattern"]).search
            checks.append(lambda v: not isinstance(v, str) or search(v) is not None)
        if "minLength" in schema:
            n = schema["minLength"]
            checks.append(lambda v: not isinstance(v, str) or len(v) >= n)
        if "maxLength" in schema:
            n = schema["maxLength"]
            checks.append(lambda v: not isinstance(v, str) or len(v) <= n)
        for key, op in (("minimum", "ge"), ("maximum", "le"), ("exclusiveMinimum", "gt"), ("exclusiveMaximum", "lt")):
            if key in schema:
                import operator

                bound, compare = schema[key], getattr(operator, op)
                checks.append(lambda v, b=bound, c=compare: not _is_type(v, "number") or c(v, b))
        checks.extend(self._object(schema))
        checks.extend(self._array(schema))
        for key in ("allOf", "anyOf", "oneOf"):
            if key in schema:
                subs = [self.compile(sub) for sub in schema[key]]
                if key == "allOf":
                    checks.append(lambda v, subs=subs: all(f(v) for f in subs))
                elif key == "anyOf":
                    checks.append(lambda v, subs=subs: any(f(v) for f in subs))
                else:
                    checks.append(lambda v, subs=subs: sum(1 for f in subs if f(v)) == 1)
        if "not" in schema:
            negated = self.compile(schema["not"])
            checks.append(lambda v: not negated(v))
        if "if" in schema:
            cond = self.compile(schema["if"])
            then = self.compile(schema.get("then", True))
            other = self.compile(schema.get("else", True))
            checks.append(lambda v: then(v) if cond(v) else other(v))
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(f(v) for f in checks)

    def _object(self, schema):
        import re

        props = {k: self.compile(s) for k, s in schema.get("properties", {}).items()}
        patterns = [(re.compile(p).search, self.compile(s)) for p, s in schema.get("patternProperties", {}).items()]
        extra = self.compile(schema["additionalProperties"]) if "additionalProperties" in schema else None
        names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None
        required = list(schema.get("required", ()))
        low, high = schema.get("minProperties"), schema.get("maxProperties")
        if not (props or patterns or extra or names or required or low is not None or high is not None):
            return []

        def check(v):
            if not isinstance(v, dict):
                return True
            if low is not None and len(v) < low or high is not None and len(v) > high:
                return False
            for key in required:
                if key not in v:
                    return False
            for key, value in v.items():
                if names is not None and not names(key):
                    return False
                matched = False
                if key in props:
                    matched = True
                    if not props[key](value):
                        return False
                for search, sub in patterns:
                    if search(key):
                        matched = True
                        if not sub(value):
                            return False
                if not matched and extra is not None and not extra(value):
                    return False
            return True

        return [check]

    def _array(self, schema):
        items = self.compile(schema["items"]) if "items" in schema else None
        prefix = [self.compile(s) for s in schema.get("prefixItems", ())]
        low, high = schema.get("minItems"), schema.get("maxItems")
        unique = schema.get("uniqueItems", False)
        if items is None and not prefix and low is None and high is None and not unique:
            return []

        def check(v):
            if not isinstance(v, list):
                return True
            if low is not None and len(v) < low or high is not None and len(v) > high:
                return False
            for f, value in zip(prefix, v):
                if not f(value):
                    return False
            if items is not None and not all(items(value) for value in v[len(prefix):]):
                return False
            if unique and len({_json_key(value) for value in v}) != len(v):
                return False
            return True

        return [check]


_KEYWORDS = {
    "$ref", "type", "enum", "const", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "properties", "patternProperties", "additionalProperties", "propertyNames", "required",
    "minProperties", "maxProperties", "items", "prefixItems", "minItems", "maxItems", "uniqueItems", "allOf", "anyOf",
    "oneOf", "not", "if", "then", "else",
}


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


def _best(err):
    """The error to explain inside ``oneOf``/``anyOf``: the first
    alternative (in schema order) whose own type fits the value, and in it
    the deepest error. Chosen here rather than by jsonschema's
    ``best_match``, whose choice differs between versions: the same spec
    must get the same diagnostic whatever jsonschema is installed."""
    while err.validator in ("oneOf", "anyOf") and err.context:
        here = tuple(err.absolute_path)
        alternatives: dict = {}
        for sub in err.context:
            alternatives.setdefault(sub.relative_schema_path[0], []).append(sub)
        fitting = [subs for _, subs in sorted(alternatives.items(), key=lambda item: item[0] if isinstance(item[0], int) else -1)
                   if not any(s.validator == "type" and tuple(s.absolute_path) == here for s in subs)]
        if not fitting:
            return err  # no alternative even has the value's type: the wrong shape altogether
        deepest = max(len(s.absolute_path) for s in fitting[0])
        err = next(s for s in fitting[0] if len(s.absolute_path) == deepest)
    return err


def _diagnose(err, document: "Document") -> list[Diagnostic]:
    from cohort_dsl.levels import non_string_level

    top = err
    err = _best(err)
    path = tuple(err.absolute_path)
    where = dotted(path)
    value = err.instance
    key = path[-1] if path else ""

    def at(message, code=SCHEMA_VIOLATION.code, loc=None, hint=None):
        return Diagnostic(code, message, loc or document.loc(path), ERROR, hint)

    if err.validator == "additionalProperties" and isinstance(value, dict):
        allowed = list(err.schema.get("properties", {}))
        extras = [k for k in value if k not in allowed]
        out = []
        for extra in extras:
            container = f"in {where}" if where else "at the top level"
            expected = f"; expected one of: {', '.join(allowed)}" if allowed else ""
            out.append(at(f"unknown key {extra!r} {container}{expected}", UNKNOWN_KEY.code,
                          document.key_loc(path + (extra,)), did_you_mean(extra, allowed)))
        return out
    if "propertyNames" in err.relative_schema_path or "propertyNames" in err.absolute_schema_path:
        bad = err.instance  # the offending key itself
        name_path = path + (bad,) if isinstance(bad, str) else path
        return [at(f"{bad!r} is not a valid name: use letters, digits, '_', '-' and '.'",
                   loc=document.key_loc(name_path))]

    # A value of the wrong shape altogether (no alternative even has its
    # type): the oneOf/anyOf's own message.
    wrong_shape = err is top or (tuple(top.absolute_path) == path and err.validator in ("type", "pattern", "enum"))
    alternatives = err.validator in ("oneOf", "anyOf") and err.context
    trap = None
    if err.validator == "type":
        trap = err
    elif alternatives:  # best_match stopped at alternatives that all failed on type
        trap = next((c for c in err.context if c.validator == "type" and tuple(c.absolute_path) == path), None)
    if trap is not None and _is_yaml_trap(_as_list(trap.validator_value), value) and not (wrong_shape and top.schema.get("x-message") and err is top):
        is_level = set(_as_list(trap.validator_value)) == {"string", "integer"} or alternatives
        return [non_string_level(value, document.loc(path), document.raw(path), "level" if is_level else "value")]
    if wrong_shape and top.schema.get("x-message"):
        message = _format(top.schema["x-message"], key, value)
    elif alternatives and err.schema.get("x-message"):
        message = _format(err.schema["x-message"], key, value)
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


def dumps(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
