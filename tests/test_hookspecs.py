"""The hook specifications tell the truth (cohort_dsl/hookspecs.py; the guide
is docs/plugins.md, "2. Hooks").

1. Every hook's docstring says what it returns and how results combine.
2. Every hookspec's parameters are exactly the keyword arguments the code
   calls it with; a declaration hook takes none, and the registry calls each
   implementation with none.
3. Every callable a docstring names in the form ``NAME(arg, ...)`` (``parse``,
   ``apply``, ``check``, ``load``, ``render``) takes as many arguments as the
   built-in plugins' implementations of it require.
"""

from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path

import pytest

import cohort_dsl.hookspecs as hookspecs
from cohort_dsl.bundle import load_mapping
from cohort_dsl.pluginmanager import build_engine
from cohort_dsl.registry import Registry
from cohort_dsl.spec import parse_spec

PACKAGE = Path(hookspecs.__file__).resolve().parent
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("cohort_dsl_"))


def doc_of(hook: str) -> str:
    return inspect.getdoc(getattr(hookspecs, hook)) or ""


def spec_params(hook: str) -> list[str]:
    return list(inspect.signature(getattr(hookspecs, hook)).parameters)


def test_there_are_hooks():
    assert "cohort_dsl_catalog_sources" in HOOKS and "cohort_dsl_add_options" in HOOKS


# -- 1. what it returns, how results combine ----------------------------------

@pytest.mark.parametrize("hook", HOOKS)
def test_docstring_states_returns_and_combination(hook):
    doc = doc_of(hook)
    assert doc, f"{hook} has no docstring"
    assert ":returns:" in doc, f"{hook}: the docstring does not say what it returns"
    assert "Combined:" in doc, f"{hook}: the docstring does not say how results combine"


# -- 2. parameters == what the code passes ------------------------------------

def call_sites(hook: str) -> list[tuple[str, list[str]]]:
    """``(file, keyword names)`` of every ``hook.<name>(...)`` call in the package."""
    pattern = re.compile(rf"\bhook\.{hook}\(([^)]*)\)")
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for args in pattern.findall(path.read_text(encoding="utf-8")):
            found.append((path.relative_to(PACKAGE).as_posix(), re.findall(r"(\w+)\s*=", args)))
    return found


@pytest.mark.parametrize("hook", [h for h in HOOKS if spec_params(h)])
def test_spec_parameters_are_the_keywords_the_code_passes(hook):
    sites = call_sites(hook)
    assert sites, f"no `hook.{hook}(...)` call in cohort_dsl/"
    for where, keywords in sites:
        assert keywords == spec_params(hook), f"{where} calls {hook} with {keywords}, the spec names {spec_params(hook)}"


@pytest.mark.parametrize("hook", [h for h in HOOKS if not spec_params(h)])
def test_declaration_hook_takes_no_arguments_and_is_collected_without_any(hook):
    collect = inspect.getsource(Registry.collect)
    assert f'"{hook}"' in collect, f"Registry.collect does not call {hook}"
    calls = re.findall(r"impl\.function\(([^)]*)\)", collect)
    assert calls and all(not args.strip() for args in calls), f"Registry.collect calls impl.function({calls})"
    # and nothing else calls it with arguments
    for where, keywords in call_sites(hook):
        assert not keywords, f"{where} calls {hook} with {keywords}"


# -- 3. the callables the docstrings name --------------------------------------

DECLARED = ("parse", "apply", "check", "load", "render")
NAMED = re.compile(rf"\b({'|'.join(DECLARED)})\(([^)]*)\)")


def documented_calls() -> list[tuple[str, str, list[str]]]:
    """``(hook, callable, [args])`` for every ``NAME(arg, ...)`` in a hook docstring."""
    return [(hook, name, [a.strip() for a in args.split(",") if a.strip()])
            for hook in HOOKS for name, args in NAMED.findall(doc_of(hook))]


@functools.lru_cache(maxsize=None)
def builtin_implementations() -> dict[str, list]:
    """The built-in plugins' implementations of each declared callable."""
    registry = build_engine(entry_points=False).registry

    def builtin(items):
        return [item for item in items if item.plugin is not None and item.plugin.builtin]

    kinds = builtin(registry.rule_kinds.values())
    spec = parse_spec(load_mapping({
        "axes": {"a": ["x", "y"], "b": ["x", "y"], "c": ["p", "q"]},
        "rules": {
            "subsets": {"a": ["x"]},
            "ties": {"t": ["a", "b"]},
            "pairs": {"pr": {"left": "a", "right": "c", "allowed": [["x", "p"]]}},
            "tuples": {"tu": {"axes": ["c", "d"], "items": [["p", "z"]]}},
        },
    }), registry)
    assert {rule.kind for rule in spec.rules} == {kind.section for kind in kinds}, "a built-in rule kind is untested"
    return {
        "parse": [kind.parse for kind in kinds],
        "apply": [rule.apply for rule in spec.rules],
        "check": [rule.check for rule in builtin(registry.lint_rules.values()) if rule.check is not None],
        "load": [source.load for source in builtin(registry.catalog_sources.values())],
        "render": [fmt.render for fmt in builtin(registry.report_formats.values())],
    }


def required_positional(function) -> int:
    """Positional arguments a caller must pass (parameters with a default,
    and keywords bound by a ``partial``, do not count)."""
    return sum(1 for p in inspect.signature(function).parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)


def test_every_declared_callable_is_documented():
    assert {name for _, name, _ in documented_calls()} == set(DECLARED)


@pytest.mark.parametrize("hook, name, args", documented_calls(),
                         ids=[f"{hook}:{name}({', '.join(args)})" for hook, name, args in documented_calls()])
def test_documented_callable_matches_the_builtins(hook, name, args):
    implementations = builtin_implementations()[name]
    assert implementations, f"no built-in implements {name}"
    for function in implementations:
        assert required_positional(function) == len(args), (
            f"{hook} documents {name}({', '.join(args)}), "
            f"but the built-in {getattr(function, '__qualname__', function)} takes {inspect.signature(function)}")
