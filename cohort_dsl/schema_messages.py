"""Turning jsonschema errors into located, plain-language diagnostics.

Schema nodes may carry two annotations (ignored by other validators) that
turn jsonschema's messages into plain language:

- ``x-message``: the message when a value has the wrong shape altogether
  (every ``oneOf``/``anyOf`` branch fails at that value);
- ``x-messages``: ``{keyword: message}`` for one failing keyword.

Both are ``str.format`` templates with ``{key}`` (the last path element) and
``{value}`` (the offending value).

Only invalid documents get here (:func:`cohort_dsl.schema.validate` imports
this module once the compiled checker has said no), so whatever jsonschema
costs is paid only when there is something to explain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cohort_dsl.diagnostics import ERROR, Diagnostic, did_you_mean
from cohort_dsl.schema import SCHEMA_VIOLATION, UNKNOWN_KEY

if TYPE_CHECKING:
    from cohort_dsl.document import Document

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


def explain_error(err, document: "Document") -> list[Diagnostic]:
    """The diagnostics for one jsonschema error of ``document``: located at
    the offending node (or key), in plain language (the schema's
    ``x-message``/``x-messages`` where it has them), one per unknown key."""
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
