"""The compiled schema checker (valid specs never import jsonschema) must
agree with jsonschema on every document: a differential test."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort_dsl.pluginmanager import build_engine
from cohort_dsl.schema_checker import compile_checker

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = build_engine(entry_points=False).registry.schema
CHECK = compile_checker(SCHEMA)
REFERENCE = jsonschema.Draft202012Validator(SCHEMA)


def agree(document) -> None:
    assert CHECK(document) == REFERENCE.is_valid(document), document


def test_the_builtin_schema_compiles():
    assert CHECK is not None


def test_an_unsupported_keyword_falls_back_to_jsonschema():
    assert compile_checker({"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}}) is None
    assert compile_checker({"$ref": "https://example.com/remote.json"}) is None


@pytest.mark.parametrize("config", sorted(str(p) for p in ROOT.glob("**/config.yaml") if ".venv" not in p.parts),
                         ids=lambda p: str(Path(p).relative_to(ROOT)))
def test_every_config_in_the_repository(config):
    try:
        data = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        pytest.skip("not YAML (a bad-input case)")
    agree(data)


NAMES = st.sampled_from(["a", "b", "draft_template", "essay_llm", "x y", "", "1", "t", "p"])
SCALARS = st.one_of(st.text(max_size=6), st.integers(-3, 3), st.booleans(), st.none(), st.floats(allow_nan=False),
                    st.sampled_from(["@file:items/x.csv", "@file:", "left", "right", "both", "middle"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(NAMES, inner, max_size=4)), max_leaves=12)
LEVELS = st.lists(st.one_of(st.text(min_size=0, max_size=4), st.integers(0, 3), st.booleans()), max_size=4)


@st.composite
def specs(draw):
    """Spec-shaped documents: mostly right, often a little wrong."""
    axes = draw(st.dictionaries(NAMES, st.one_of(LEVELS, st.none(), st.just("@file:items/a.csv"), VALUES), max_size=4))
    doc = {"axes": axes}
    rules = {}
    if draw(st.booleans()):
        rules["subsets"] = draw(st.dictionaries(NAMES, st.one_of(LEVELS, VALUES), max_size=2))
    if draw(st.booleans()):
        rules["ties"] = draw(st.dictionaries(NAMES, st.one_of(st.lists(NAMES, max_size=3),
                                                             st.fixed_dictionaries({"axes": st.lists(NAMES, max_size=3)}),
                                                             VALUES), max_size=2))
    if draw(st.booleans()):
        pair = st.fixed_dictionaries(
            {"left": NAMES, "right": NAMES,
             "allowed": st.one_of(st.lists(st.lists(st.one_of(SCALARS, LEVELS), max_size=3), max_size=3),
                                  st.just("@file:items/p.csv"), VALUES)},
            optional={"balance": st.one_of(st.sampled_from(["left", "right", "both", "none"]), SCALARS), "extra": VALUES})
        rules["pairs"] = draw(st.dictionaries(NAMES, st.one_of(pair, VALUES), max_size=2))
    if draw(st.booleans()):
        tup = st.fixed_dictionaries(
            {"items": st.one_of(st.lists(LEVELS, max_size=3), st.just("@file:items/t.csv"), VALUES)},
            optional={"axes": st.one_of(st.lists(NAMES, max_size=3), VALUES)})
        rules["tuples"] = draw(st.dictionaries(NAMES, st.one_of(tup, VALUES), max_size=2))
    if draw(st.booleans()):
        rules[draw(NAMES)] = draw(VALUES)
    if rules or draw(st.booleans()):
        doc["rules"] = rules if draw(st.integers(0, 9)) else draw(VALUES)
    if draw(st.booleans()):
        doc["output"] = draw(st.one_of(
            st.fixed_dictionaries({}, optional={"field_order": st.one_of(st.lists(NAMES, max_size=3), VALUES),
                                                "seed": SCALARS, "layout": SCALARS}),
            VALUES))
    if draw(st.integers(0, 9)) == 0:
        doc[draw(NAMES)] = draw(VALUES)
    if draw(st.integers(0, 19)) == 0:
        del doc["axes"]
    return doc


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(specs())
def test_agrees_with_jsonschema_on_spec_shaped_documents(document):
    agree(document)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES)
def test_agrees_with_jsonschema_on_arbitrary_documents(document):
    agree(document)


def test_agrees_with_a_plugin_fragment_composed_in():
    plugin = pytest.importorskip("cohort_dsl_plugin_example")
    schema = build_engine([plugin], entry_points=False).registry.schema
    check, reference = compile_checker(schema), jsonschema.Draft202012Validator(schema)
    documents = [
        {"axes": {"a": ["x"]}, "rules": {"excludes": {"e": [{"a": "x"}]}}},
        {"axes": {"a": ["x"]}, "rules": {"excludes": {"e": [{"a": ["x", "y"]}]}}},
        {"axes": {"a": ["x"]}, "rules": {"excludes": {"e": [{}]}}},
        {"axes": {"a": ["x"]}, "rules": {"excludes": {"e": []}}},
        {"axes": {"a": ["x"]}, "rules": {"excludes": {"e": ["x"]}}},
        {"axes": {"a": ["x"]}, "rules": {"excludes": {"e": [{"a": True}]}}},
    ]
    for document in documents:
        assert check(document) == reference.is_valid(document), document
