"""The spec schema compiled into closures: "is this document valid?"
answered without importing jsonschema.

:func:`compile_checker` turns a Draft 2020-12 schema into a function
``data -> bool`` for the keywords specs use; a schema with any other
keyword compiles to None and jsonschema does all the work. It only
recognises valid documents: explaining an invalid one is
:mod:`cohort_dsl.schema_messages`' job. ``tests/test_schema_checker.py``
keeps it in agreement with jsonschema.
"""

from __future__ import annotations

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
