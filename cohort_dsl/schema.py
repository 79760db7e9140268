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
from functools import cached_property, lru_cache
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


def third_party_fragments(registry) -> list[tuple[str, object, dict]]:
    """``(what, plugin, fragment)`` for each schema fragment a third-party
    plugin contributes (rule kinds and top-level spec keys)."""
    fragments = [(f"rule kind {section!r}", kind.plugin, kind.schema) for section, kind in registry.rule_kinds.items()
                 if not (kind.plugin is not None and kind.plugin.builtin)]
    fragments += [(f"spec key {key!r}", registry.spec_key_plugins.get(key), schema)
                  for key, schema in registry.spec_keys.items()]
    return fragments


def check_fragments(registry, fragments=None) -> None:
    """Validate third-party fragments against the metaschema (built-in ones
    are guarded by tests, so start-up does not pay for them)."""
    for what, plugin, fragment in third_party_fragments(registry) if fragments is None else fragments:
        problem = metaschema_problem(fragment)
        if problem is not None:
            owner = f"plugin {plugin}: " if plugin else ""
            raise SchemaFragmentError(f"{owner}the schema fragment of {what} is invalid at {problem}")


#: Set to a folder to keep the memo of checked schemas there (default: the
#: user's cache folder); COHORT_DSL_NO_CACHE=1 turns the memo off.
MEMO_HOME_ENV = "COHORT_DSL_CACHE_HOME"
_MEMO_LINES = 1000


def metaschema_problem(schema) -> str | None:
    """``"PATH: message"`` when ``schema`` is not valid JSON Schema, else None.

    Importing jsonschema costs a pre-commit hook ~0.1 s, so a schema found
    valid is remembered by a digest of its JSON and of the installed
    jsonschema's files (a memo that can only miss: another schema, another
    jsonschema, an unreadable memo all check again)."""
    import json

    from cohort_dsl.files import digest_bytes

    key = digest_bytes(json.dumps(schema, sort_keys=True, default=repr).encode("utf-8") + _validator_stamp())
    memo = _memo_path()
    known = _read_memo(memo)
    if key in known:
        return None
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as exc:
        return f"{'/'.join(str(p) for p in exc.absolute_path) or '(root)'}: {exc.message}"
    if memo is not None:
        _write_memo(memo, [k for k in known if k != key][-(_MEMO_LINES - 1):] + [key])
    return None


@lru_cache(maxsize=1)  # the installation does not change during a run
def _validator_stamp() -> bytes:
    """Where jsonschema and its metaschemas are installed, and their files'
    sizes and times: a reinstall or upgrade changes it."""
    import importlib.util
    import os

    parts = []
    for name in ("jsonschema", "jsonschema_specifications"):
        try:
            spec = importlib.util.find_spec(name)
            found = os.stat(spec.origin) if spec and spec.origin else None
        except (ImportError, OSError, ValueError):
            found = None
        parts.append(f"{name}:{spec.origin if found else '-'}:{found.st_size if found else 0}:"
                     f"{found.st_mtime_ns if found else 0}")
    return "\n".join(parts).encode("utf-8")


def memo_folder():
    """The folder of cohort-dsl's memos (``COHORT_DSL_CACHE_HOME``, else
    ``$XDG_CACHE_HOME/cohort-dsl``), or None when ``COHORT_DSL_NO_CACHE``
    turns caching off."""
    import os
    from pathlib import Path

    if os.environ.get("COHORT_DSL_NO_CACHE", "") not in ("", "0"):
        return None
    return Path(os.environ.get(MEMO_HOME_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "cohort-dsl"))


def _memo_path():
    folder = memo_folder()
    return None if folder is None else folder / "valid-schemas"


def _read_memo(path) -> list[str]:
    from cohort_dsl.files import read_bounded

    if path is None:
        return []
    try:
        return read_bounded(path, 64 * _MEMO_LINES).decode("ascii").split()
    except (OSError, UnicodeDecodeError):
        return []


def _write_memo(path, keys: list[str]) -> None:
    from cohort_dsl.files import write_text

    try:
        write_text(path, "".join(k + "\n" for k in keys))
    except OSError:
        pass  # a memo that cannot be written is only a miss next time


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
