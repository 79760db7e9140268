"""The composed JSON Schema (docs/spec_dsl.md, "Editor support"; docs/rules.md,
"Schema"): located schema errors, the checked-in editor schema, and the
metaschema."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import SCHEMA_DIR, codes, diag, loc_of
from cohort_dsl.bundle import load_bundle
from cohort_dsl.compiler import compile_bundle
from cohort_dsl.diagnostics import SpecError


def schema_error(make_bundle, config: str) -> SpecError:
    path = make_bundle({"config.yaml": config})
    with pytest.raises(SpecError) as info:
        compile_bundle(load_bundle(path))
    return info.value


def only(exc: SpecError, code: str):
    assert codes(exc) == [code], [(d.code, d.message) for d in exc.diagnostics]
    return exc.diagnostics[0]


# -- located schema errors -------------------------------------------------------

class TestLocatedErrors:
    def test_unknown_top_level_key_is_s002_with_did_you_mean(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\naxis:\n  b: [y]\n"), "S002")
        assert loc_of(d) == ("config.yaml", 3, 1)
        assert "'axis'" in d.message
        assert "axes" in (d.hint or "")

    def test_unknown_top_level_key_far_from_any_name(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\nzzzz: 1\n"), "S002")
        assert loc_of(d) == ("config.yaml", 3, 1)

    def test_unknown_rule_section_is_s002(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\nrules:\n  subset:\n    a: [x]\n"), "S002")
        assert loc_of(d) == ("config.yaml", 4, 3)
        assert "subsets" in (d.hint or "")

    def test_unknown_key_inside_a_rule(self, make_bundle):
        config = "axes:\n  a: [x]\n  b: [y]\nrules:\n  pairs:\n    p:\n      left: a\n      rigth: b\n      allowed: [[x, y]]\n"
        exc = schema_error(make_bundle, config)
        d = diag(exc, "S002")
        assert loc_of(d) == ("config.yaml", 8, 7)
        assert "right" in (d.hint or "")
        # the missing `right` is reported on the pair itself
        missing = diag(exc, "S001")
        assert loc_of(missing) == ("config.yaml", 7, 7)
        assert "right" in missing.message

    def test_unknown_output_key(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\noutput:\n  sed: 1\n"), "S002")
        assert loc_of(d) == ("config.yaml", 4, 3)
        assert "seed" in (d.hint or "")

    def test_missing_axes(self, make_bundle):
        d = only(schema_error(make_bundle, "rules: {}\n"), "S001")
        assert loc_of(d) == ("config.yaml", 1, 1)
        assert "axes" in d.message

    def test_axes_as_a_list(self, make_bundle):
        d = only(schema_error(make_bundle, "axes: [a, b]\n"), "S001")
        assert loc_of(d) == ("config.yaml", 1, 7)
        assert "mapping" in d.message

    def test_axis_as_a_plain_string(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\n  b: just-text\n"), "S001")
        assert loc_of(d) == ("config.yaml", 3, 6)
        assert "'b'" in d.message

    def test_empty_axis_list(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\n  b: []\n"), "S001")
        assert loc_of(d) == ("config.yaml", 3, 6)
        assert "empty" in d.message

    def test_empty_level(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x, '']\n"), "S001")
        assert loc_of(d) == ("config.yaml", 2, 10)

    def test_rules_as_a_list(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\nrules:\n  - subsets\n"), "S001")
        assert loc_of(d) == ("config.yaml", 4, 3)

    def test_empty_subset_list(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\nrules:\n  subsets:\n    a: []\n"), "S001")
        assert loc_of(d) == ("config.yaml", 5, 8)

    def test_tie_with_one_axis(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\nrules:\n  ties:\n    t: [a]\n"), "S001")
        assert loc_of(d) == ("config.yaml", 5, 8)
        assert "two" in d.message

    def test_tie_as_text(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\nrules:\n  ties:\n    t: a\n"), "S001")
        assert loc_of(d) == ("config.yaml", 5, 8)

    def test_empty_pair_allowed(self, make_bundle):
        config = "axes:\n  a: [x]\n  b: [y]\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n      allowed: []\n"
        d = only(schema_error(make_bundle, config), "S001")
        assert loc_of(d) == ("config.yaml", 9, 16)

    def test_pair_entry_with_three_values(self, make_bundle):
        config = ("axes:\n  a: [x]\n  b: [y]\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
                  "      allowed:\n        - [x, y]\n        - [x, y, z]\n")
        exc = schema_error(make_bundle, config)
        assert codes(exc) == ["S001"]
        assert exc.diagnostics[0].location.line == 11

    def test_balance_middle(self, make_bundle):
        config = ("axes:\n  a: [x]\n  b: [y]\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
                  "      allowed: [[x, y]]\n      balance: middle\n")
        d = only(schema_error(make_bundle, config), "S001")
        assert loc_of(d) == ("config.yaml", 10, 16)
        assert "middle" in d.message and "left" in d.message

    def test_empty_tuple_axes(self, make_bundle):
        config = "axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      axes: []\n      items: [[x]]\n"
        d = only(schema_error(make_bundle, config), "S001")
        assert loc_of(d) == ("config.yaml", 6, 13)

    def test_empty_tuple_items(self, make_bundle):
        config = "axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      axes: [a]\n      items: []\n"
        d = only(schema_error(make_bundle, config), "S001")
        assert loc_of(d) == ("config.yaml", 7, 14)

    def test_inline_tuple_items_need_axes(self, make_bundle):
        config = "axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      items: [[x]]\n"
        d = only(schema_error(make_bundle, config), "S001")
        assert loc_of(d) == ("config.yaml", 6, 7)
        assert "axes" in d.message

    def test_tuple_item_not_a_list(self, make_bundle):
        config = "axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      axes: [a]\n      items: [x]\n"
        exc = schema_error(make_bundle, config)
        assert codes(exc) == ["S001"]
        assert exc.diagnostics[0].location.line == 7

    def test_negative_seed(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\noutput:\n  seed: -1\n"), "S001")
        assert loc_of(d) == ("config.yaml", 4, 9)
        assert "-1" in d.message

    def test_seed_as_text(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\noutput:\n  seed: abc\n"), "S001")
        assert loc_of(d) == ("config.yaml", 4, 9)
        assert "integer" in d.message

    def test_field_order_as_text(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\noutput:\n  field_order: a\n"), "S001")
        assert loc_of(d) == ("config.yaml", 4, 16)

    def test_field_order_repeats(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\noutput:\n  field_order: [a, a]\n"), "S001")
        assert loc_of(d)[1] == 4

    def test_include_without_a_path(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: '@file:'\n"), "S001")
        assert loc_of(d) == ("config.yaml", 2, 6)

    def test_several_errors_are_all_reported_in_order(self, make_bundle):
        config = "axes:\n  a: []\noutput:\n  seed: -3\nextra: 1\n"
        exc = schema_error(make_bundle, config)
        assert sorted(codes(exc)) == ["S001", "S001", "S002"]
        lines = [d.location.line for d in exc.diagnostics]
        assert lines == sorted(lines)

    def test_invalid_axis_name_is_located_at_its_key(self, make_bundle):
        d = only(schema_error(make_bundle, "axes:\n  a: [x]\n  'b c': [y]\n"), "S001")
        assert loc_of(d) == ("config.yaml", 3, 3)

    def test_invalid_rule_name_is_located_at_its_key(self, make_bundle):
        config = "axes:\n  a: [x]\n  b: [x]\nrules:\n  ties:\n    ok: [a, b]\n    'not ok': [a, b]\n"
        d = only(schema_error(make_bundle, config), "S001")
        assert loc_of(d) == ("config.yaml", 7, 5)


# -- the checked-in editor schema -------------------------------------------------

def builtin_registry():
    from cohort_dsl.pluginmanager import build_engine

    # The checked-in schema is the *built-in* composition: installed
    # third-party plugins must not change what this test compares.
    return build_engine(entry_points=False).registry


def test_composed_schema_equals_the_checked_in_file():
    from cohort_dsl.schema import compose

    checked_in = json.loads((SCHEMA_DIR / "cohort-spec.schema.json").read_text(encoding="utf-8"))
    assert compose(builtin_registry()) == checked_in


def test_checked_in_file_is_the_canonical_dump():
    from cohort_dsl.schema import compose, dumps

    text = (SCHEMA_DIR / "cohort-spec.schema.json").read_text(encoding="utf-8")
    assert text == dumps(compose(builtin_registry()))


def test_cli_schema_prints_exactly_the_checked_in_file(tmp_path):
    env = dict(os.environ, COHORT_DSL_DISABLE_PLUGIN_AUTOLOAD="1")
    result = subprocess.run([sys.executable, "-m", "cohort_dsl", "schema"], capture_output=True, cwd=tmp_path,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (SCHEMA_DIR / "cohort-spec.schema.json").read_bytes()


def test_cli_schema_out_writes_the_same(tmp_path, capsys, monkeypatch):
    from cohort_dsl.cli import main

    from cohort_dsl.pluginmanager import build_engine

    monkeypatch.chdir(tmp_path)
    engine = build_engine(entry_points=False)  # the built-in composition only
    assert main(["schema", "--out", str(tmp_path / "s.json")], engine=engine) == 0
    written = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    checked_in = json.loads((SCHEMA_DIR / "cohort-spec.schema.json").read_text(encoding="utf-8"))
    assert written == checked_in


@pytest.mark.parametrize("path", sorted(SCHEMA_DIR.glob("*.json")), ids=lambda p: p.name)
def test_every_schema_file_is_valid_draft_2020_12(path):
    from jsonschema import Draft202012Validator

    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)


def test_the_editor_schema_declares_draft_2020_12():
    schema = json.loads((SCHEMA_DIR / "cohort-spec.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]["rules"]["properties"]) >= {"subsets", "ties", "pairs", "tuples"}


def test_editor_schema_validates_a_good_spec_and_rejects_a_bad_one():
    """An editor using the checked-in file agrees with the tool."""
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMA_DIR / "cohort-spec.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    good = {
        "axes": {"a": ["x", 1], "b": "@file:items/b.csv", "c": None},
        "rules": {
            "subsets": {"a": ["x"]},
            "ties": {"t": ["a", "b"], "t2": {"axes": ["a", "b"]}},
            "tuples": {"tp": {"axes": ["c", "d"], "items": [["1", "2"]]}, "tc": {"items": "@file:t.csv"}},
            "pairs": {"p": {"left": "a", "right": "tp", "allowed": [["x", ["1", "2"]]], "balance": "left"}},
        },
        "output": {"field_order": ["a"], "seed": 0},
    }
    assert list(validator.iter_errors(good)) == []
    for bad in ({"axes": []}, {"axes": {"a": [True]}}, {"axes": {}, "extra": 1}, {"axes": {}, "output": {"seed": -1}}):
        assert list(validator.iter_errors(bad)), bad


# -- the memo of schemas checked against the metaschema ----------------------------------

def test_a_valid_schema_is_checked_once(tmp_path, monkeypatch):
    """Importing jsonschema costs a pre-commit hook ~0.1 s: a plugin schema
    found valid is remembered, and the memo can only miss."""
    import jsonschema

    from cohort_dsl import schema as schema_module

    monkeypatch.setenv("COHORT_DSL_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("COHORT_DSL_NO_CACHE", raising=False)
    fragment = {"type": "object", "properties": {"keep": {"type": "integer", "minimum": 1}}}
    assert schema_module.metaschema_problem(fragment) is None
    assert (tmp_path / "valid-schemas").is_file()

    def no_check(*args, **kwargs):
        raise AssertionError("checked again")

    with monkeypatch.context() as patched:
        patched.setattr(jsonschema.Draft202012Validator, "check_schema", no_check)
        assert schema_module.metaschema_problem(dict(fragment)) is None  # remembered
        with pytest.raises(AssertionError):
            schema_module.metaschema_problem({**fragment, "title": "another"})  # another schema: checked
        patched.setattr(schema_module, "_validator_stamp", lambda: b"another jsonschema")
        with pytest.raises(AssertionError):
            schema_module.metaschema_problem(fragment)  # another jsonschema: checked
    # an invalid schema is reported every time, never remembered
    bad = {"type": "objekt"}
    assert schema_module.metaschema_problem(bad) is not None
    assert schema_module.metaschema_problem(bad) is not None
    # a memo that cannot be read is a miss
    (tmp_path / "valid-schemas").write_bytes(b"\xff" * 10)
    assert schema_module.metaschema_problem(fragment) is None
    monkeypatch.setenv("COHORT_DSL_NO_CACHE", "1")
    (tmp_path / "valid-schemas").unlink()
    assert schema_module.metaschema_problem(fragment) is None
    assert not (tmp_path / "valid-schemas").exists()
