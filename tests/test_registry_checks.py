"""Hook results are type-checked at start-up (docs/plugins.md, "a hook returns
the wrong type"): a plugin that answers a declaration hook with the wrong
object stops start-up with a PluginError naming the plugin and the expected
type, never with an AttributeError from deep inside the engine. And the
registry holds declarations only: validation state lives in cohort_dsl.schema.
"""

from __future__ import annotations

import gc
import weakref

import pytest

from cohort_dsl.catalogs import CatalogSource
from cohort_dsl.document import load_yaml
from cohort_dsl.hookspecs import hookimpl
from cohort_dsl.pluginmanager import PluginError, build_engine
from cohort_dsl.registry import Layout, LintRule, ReportFormat, RuleKind, Stage
from cohort_dsl.schema import spec_schema, validate


def start_up_error(plugin) -> str:
    with pytest.raises(PluginError) as info:
        build_engine(plugins=[plugin], entry_points=False)
    return str(info.value)


def load(path, column):
    return {}


DRAFT = Stage("draft", "d_", template=("draft_template",))


# -- a single object where a list belongs ------------------------------------------

class SingleRuleKind:
    @hookimpl
    def cohort_dsl_rule_kinds(self):
        return RuleKind("single", {"type": "object"}, lambda section: [])


class SingleLintRule:
    @hookimpl
    def cohort_dsl_lint_rules(self):
        return LintRule("SG001", "single", "single")


class SingleFormat:
    @hookimpl
    def cohort_dsl_report_formats(self):
        return ReportFormat("single", lambda report, stream: None)


class SingleSource:
    @hookimpl
    def cohort_dsl_catalog_sources(self):
        return CatalogSource("single", (".single",), load)


class SingleLayout:
    @hookimpl
    def cohort_dsl_membership_layouts(self):
        return Layout("single", (DRAFT,))


@pytest.mark.parametrize("plugin, hook, expected", [
    (SingleRuleKind(), "cohort_dsl_rule_kinds", "RuleKind"),
    (SingleLintRule(), "cohort_dsl_lint_rules", "LintRule"),
    (SingleFormat(), "cohort_dsl_report_formats", "ReportFormat"),
    (SingleSource(), "cohort_dsl_catalog_sources", "CatalogSource"),
    (SingleLayout(), "cohort_dsl_membership_layouts", "Layout"),
], ids=lambda value: value if isinstance(value, str) else type(value).__name__)
def test_a_single_object_instead_of_a_list_names_the_plugin(plugin, hook, expected):
    message = start_up_error(plugin)
    assert type(plugin).__name__ in message
    assert f"{hook} must return a list of {expected}, got {expected}" in message


def test_a_generator_is_not_a_list():
    class Yielding:
        @hookimpl
        def cohort_dsl_lint_rules(self):
            yield LintRule("YL001", "yielded", "yielded")

    message = start_up_error(Yielding())
    assert "Yielding" in message and "cohort_dsl_lint_rules must return a list of LintRule, got generator" in message


def test_an_empty_answer_or_none_is_nothing_declared():
    class Quiet:
        @hookimpl
        def cohort_dsl_catalog_sources(self):
            return []

        @hookimpl
        def cohort_dsl_membership_layouts(self):
            return None

    engine = build_engine(plugins=[Quiet()], entry_points=False)
    assert set(engine.registry.catalog_sources) == {"csv", "json"}


# -- items of the wrong type ---------------------------------------------------------

class DictSource:
    @hookimpl
    def cohort_dsl_catalog_sources(self):
        return [{"name": "tsv", "suffixes": (".tsv",), "load": load}]


class DictLayout:
    @hookimpl
    def cohort_dsl_membership_layouts(self):
        return [{"name": "one-phase", "stages": [DRAFT]}]


class StringFormat:
    @hookimpl
    def cohort_dsl_report_formats(self):
        return ["tally"]


@pytest.mark.parametrize("plugin, hook, expected, got", [
    (DictSource(), "cohort_dsl_catalog_sources", "CatalogSource", "dict"),
    (DictLayout(), "cohort_dsl_membership_layouts", "Layout", "dict"),
    (StringFormat(), "cohort_dsl_report_formats", "ReportFormat", "str"),
], ids=lambda value: value if isinstance(value, str) else type(value).__name__)
def test_an_item_of_the_wrong_type_names_the_plugin_and_the_type(plugin, hook, expected, got):
    message = start_up_error(plugin)
    assert type(plugin).__name__ in message
    assert f"{hook} must return {expected} objects, got {got}" in message


def test_a_catalog_source_look_alike_is_refused():
    class LookAlike:
        name, suffixes, summary, plugin = "tsv", (".tsv",), "", None

        @staticmethod
        def load(path, column):
            return {}

    class Duck:
        @hookimpl
        def cohort_dsl_catalog_sources(self):
            return [LookAlike()]

    message = start_up_error(Duck())
    assert "Duck" in message and "must return CatalogSource objects, got LookAlike" in message


# -- layouts and their stages ---------------------------------------------------------

def layout_plugin(stages):
    class Layouts:
        @hookimpl
        def cohort_dsl_membership_layouts(self):
            return [Layout("mine", stages)]

    return Layouts()


def test_a_layout_without_stages_is_refused():
    message = start_up_error(layout_plugin(()))
    assert "Layouts" in message and "membership layout 'mine' must have at least one Stage" in message


def test_a_stage_that_is_not_a_stage_is_refused():
    message = start_up_error(layout_plugin((DRAFT, {"name": "essay", "prefix": "e_"})))
    assert "Layouts" in message and "stage 2 of membership layout 'mine' must be a Stage, got dict" in message


def test_stages_that_are_not_a_sequence_are_refused():
    message = start_up_error(layout_plugin(DRAFT))
    assert "Layouts" in message and "must list its stages as a tuple of Stage, got Stage" in message


def test_a_well_formed_layout_is_registered():
    engine = build_engine(plugins=[layout_plugin([DRAFT])], entry_points=False)
    assert engine.registry.layouts["mine"].stages == [DRAFT]
    assert engine.registry.layouts["mine"].plugin.name == "Layouts"


# -- lint codes -------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["my001", "MY", "001", "MY-001", "MY001a", "MY 001", "MY001\n", "", 1])
def test_a_malformed_lint_code_is_refused(code):
    class Codes:
        @hookimpl
        def cohort_dsl_lint_rules(self):
            return [LintRule(code, "mine", "mine")]

    message = start_up_error(Codes())
    assert "Codes" in message and f"lint rule code {code!r} must be capital letters then digits" in message


@pytest.mark.parametrize("code", ["X1", "MY001", "ACME42"])
def test_a_well_formed_lint_code_is_registered(code):
    class Codes:
        @hookimpl
        def cohort_dsl_lint_rules(self):
            return [LintRule(code, "mine", "mine")]

    assert code in build_engine(plugins=[Codes()], entry_points=False).registry.lint_rules


# -- spec keys ------------------------------------------------------------------------------

def test_spec_keys_must_be_a_mapping():
    class Keys:
        @hookimpl
        def cohort_dsl_spec_keys(self):
            return ["owner"]

    message = start_up_error(Keys())
    assert "Keys" in message and "cohort_dsl_spec_keys must return a mapping" in message and "got list" in message


def test_a_failing_spec_keys_hook_names_the_plugin():
    class Broken:
        @hookimpl
        def cohort_dsl_spec_keys(self):
            raise RuntimeError("boom")

    message = start_up_error(Broken())
    assert "Broken" in message and "failed in cohort_dsl_spec_keys: RuntimeError: boom" in message


# -- the registry holds no validation state --------------------------------------------------

def test_validating_stores_nothing_on_the_registry():
    registry = build_engine(entry_points=False).registry
    assert validate(load_yaml("axes:\n  a: [x]\n"), registry) == []
    assert validate(load_yaml("axes:\n  a: [x]\nzzzz: 1\n"), registry)  # builds the jsonschema validator too
    for name in ("_validator", "_checker", "_schema"):
        assert not hasattr(registry, name), name
    cached = spec_schema(registry)
    assert cached is spec_schema(registry)
    assert registry.schema is cached.schema and cached.checker is not None and cached.validator is not None


def test_registries_are_hashable_by_identity_and_their_schemas_separate():
    first = build_engine(entry_points=False).registry
    second = build_engine(entry_points=False).registry
    assert first != second and len({first, second}) == 2
    assert spec_schema(first) is not spec_schema(second)
    assert first.schema == second.schema


def test_the_schema_cache_does_not_keep_a_registry_alive():
    registry = build_engine(entry_points=False).registry
    validate(load_yaml("axes:\n  a: [x]\n"), registry)
    gone = weakref.ref(registry)
    del registry
    gc.collect()
    assert gone() is None


def test_registry_schema_is_read_only():
    registry = build_engine(entry_points=False).registry
    with pytest.raises(AttributeError):
        registry.schema = {}


def test_a_valid_document_is_validated_without_jsonschema():
    # a fresh interpreter: this one has imported jsonschema already
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from cohort_dsl.document import load_yaml\n"
        "from cohort_dsl.pluginmanager import build_engine\n"
        "from cohort_dsl.schema import validate\n"
        "assert validate(load_yaml('axes:\\n  a: [x]\\n'), build_engine(entry_points=False).registry) == []\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'jsonschema' or m == 'cohort_dsl.schema_messages'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
