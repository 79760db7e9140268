"""The YAML loader (docs/spec_dsl.md "Axes and levels" and "Limits",
docs/rules.md "Loading YAML"): positions, duplicate keys, YAML's type traps,
syntax errors, resource limits and unsupported features."""

from __future__ import annotations

import time

import pytest

from conftest import codes, diag, loc_of
from cohort_dsl.bundle import load_bundle
from cohort_dsl.compiler import compile_bundle
from cohort_dsl.diagnostics import SpecError
from cohort_dsl.document import load_yaml


def load_error(make_bundle, config, **files) -> SpecError:
    path = make_bundle({"config.yaml": config, **files})
    with pytest.raises(SpecError) as info:
        compile_bundle(load_bundle(path))
    return info.value


# -- positions ---------------------------------------------------------------

class TestPositions:
    TEXT = (
        "axes:\n"                    # 1
        "  draft: [d1, d2]\n"        # 2
        "  model:\n"                 # 3
        "    - m1\n"                 # 4
        "    - 'm2'\n"               # 5
        "rules:\n"                   # 6
        "  subsets:\n"               # 7
        "    model: [m1]\n"          # 8
    )

    def test_value_positions_are_one_based_line_and_column(self):
        doc = load_yaml(self.TEXT, "config.yaml")
        assert (doc.loc(("axes", "draft", 0)).line, doc.loc(("axes", "draft", 0)).col) == (2, 11)
        assert (doc.loc(("axes", "draft", 1)).line, doc.loc(("axes", "draft", 1)).col) == (2, 15)
        assert (doc.loc(("axes", "model", 0)).line, doc.loc(("axes", "model", 0)).col) == (4, 7)
        assert (doc.loc(("axes", "model", 1)).line, doc.loc(("axes", "model", 1)).col) == (5, 7)
        assert (doc.loc(("rules", "subsets", "model", 0)).line, doc.loc(("rules", "subsets", "model", 0)).col) == (8, 13)

    def test_key_positions(self):
        doc = load_yaml(self.TEXT, "config.yaml")
        assert (doc.key_loc(("axes",)).line, doc.key_loc(("axes",)).col) == (1, 1)
        assert (doc.key_loc(("axes", "model")).line, doc.key_loc(("axes", "model")).col) == (3, 3)
        assert (doc.key_loc(("rules", "subsets", "model")).line, doc.key_loc(("rules", "subsets", "model")).col) == (8, 5)

    def test_location_carries_the_path(self):
        doc = load_yaml(self.TEXT, "some/config.yaml")
        assert doc.loc(("axes", "draft", 0)).path == "some/config.yaml"

    def test_missing_path_falls_back_to_nearest_parent(self):
        doc = load_yaml(self.TEXT, "config.yaml")
        loc = doc.loc(("axes", "draft", 99))
        assert (loc.line, loc.col) == (2, 10)  # the list itself

    def test_error_points_at_the_offending_level(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: [x]\n  b:\n    - ok\n    - yes\n")
        assert loc_of(diag(exc, "Y003")) == ("config.yaml", 5, 7)


# -- duplicate keys ------------------------------------------------------------

class TestDuplicateKeys:
    def test_duplicate_axis_reported_at_the_repeat(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: [x, y]\n  b: [z]\n  a: [w]\n")
        d = diag(exc, "Y002")
        assert loc_of(d) == ("config.yaml", 4, 3)
        assert "line 2" in d.message

    def test_int_and_quoted_string_keys_are_the_same_key(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  1: [x]\n  '1': [y]\n")
        assert codes(exc) == ["Y002"]
        assert loc_of(exc.diagnostics[0])[1:] == (3, 3)

    def test_duplicate_nested_key(self, make_bundle):
        config = ("axes:\n  a: [x]\n  b: [y]\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
                  "      left: b\n      allowed: [[x, y]]\n")
        exc = load_error(make_bundle, config)
        assert loc_of(diag(exc, "Y002"))[1:] == (9, 7)

    def test_duplicate_rule_section(self, make_bundle):
        config = "axes:\n  a: [x, y]\nrules:\n  subsets:\n    a: [x]\n  subsets:\n    a: [y]\n"
        exc = load_error(make_bundle, config)
        assert loc_of(diag(exc, "Y002"))[1:] == (6, 3)

    def test_every_duplicate_is_reported(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: [x]\n  a: [y]\n  a: [z]\n")
        assert [loc_of(d)[1] for d in exc.diagnostics if d.code == "Y002"] == [3, 4]


# -- levels: YAML ints become strings; other types are the classic trap ----------

class TestLevelTypes:
    def test_yaml_integers_become_level_strings(self, compile_files):
        compiled = compile_files({"config.yaml": "axes:\n  rep: [1, 2, 10]\n  name: [x]\n"})
        assert list(compiled.rows()) == [("1", "x"), ("2", "x"), ("10", "x")]

    def test_duplicate_levels_are_dropped_first_kept_with_a_warning(self, compile_files):
        compiled = compile_files({"config.yaml": "axes:\n  a: [x, y, x, 1, '1']\n"})
        assert [r[0] for r in compiled.rows()] == ["x", "y", "1"]
        warnings = compiled.diagnostics
        assert [d.code for d in warnings] == ["R008", "R008"]
        assert all(d.severity == "warning" for d in warnings)
        assert [loc_of(d) for d in warnings] == [("config.yaml", 2, 13), ("config.yaml", 2, 19)]

    def test_integer_keys_become_axis_names(self, compile_files):
        compiled = compile_files({"config.yaml": "axes:\n  1: [x]\n"})
        assert compiled.columns == ["1"]

    def test_unquoted_date_stays_text(self, compile_files):
        compiled = compile_files({"config.yaml": "axes:\n  day: [2024-05-01]\n"})
        assert list(compiled.rows()) == [("2024-05-01",)]

    @pytest.mark.parametrize("written, kind", [
        ("yes", "boolean"), ("no", "boolean"), ("on", "boolean"), ("off", "boolean"),
        ("true", "boolean"), ("~", "null"), ("null", "null"), ("1.5", "number"),
    ])
    def test_non_string_scalars_are_y003_with_a_quote_hint(self, make_bundle, written, kind):
        exc = load_error(make_bundle, f"axes:\n  a: [ok, {written}]\n")
        d = diag(exc, "Y003")
        assert loc_of(d) == ("config.yaml", 2, 11)
        assert kind in d.message
        assert written in d.message  # what the author wrote, not Python's repr
        assert d.hint and "quote" in d.hint and f'"{written}"' in d.hint

    @pytest.mark.parametrize("nested", ["[x]", "{k: v}"])
    def test_nested_values_are_y003(self, make_bundle, nested):
        exc = load_error(make_bundle, f"axes:\n  a: [ok, {nested}]\n")
        assert loc_of(diag(exc, "Y003")) == ("config.yaml", 2, 11)

    def test_quoted_values_are_fine(self, compile_files):
        compiled = compile_files({"config.yaml": "axes:\n  a: ['yes', \"no\", 'on', '~', '1.5']\n"})
        assert [r[0] for r in compiled.rows()] == ["yes", "no", "on", "~", "1.5"]

    def test_boolean_in_subsets_is_y003(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: [x]\nrules:\n  subsets:\n    a: [x, off]\n")
        d = diag(exc, "Y003")
        assert loc_of(d) == ("config.yaml", 5, 12)
        assert '"off"' in d.hint

    def test_boolean_in_tuple_item_is_y003(self, make_bundle):
        config = "axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      axes: [a, b]\n      items:\n        - [x, yes]\n"
        exc = load_error(make_bundle, config)
        d = diag(exc, "Y003")
        assert loc_of(d) == ("config.yaml", 8, 15)
        assert '"yes"' in d.hint

    def test_boolean_in_pair_allowed_is_y003(self, make_bundle):
        config = ("axes:\n  a: [x]\n  b: [y]\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
                  "      allowed:\n        - [x, on]\n")
        exc = load_error(make_bundle, config)
        d = diag(exc, "Y003")
        assert loc_of(d) == ("config.yaml", 10, 15)
        assert '"on"' in d.hint

    def test_boolean_in_yaml_include_hint_quotes_what_was_written(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: '@file:a.yaml'\n", **{"a.yaml": "- x\n- yes\n"})
        d = diag(exc, "Y003")
        assert loc_of(d) == ("a.yaml", 2, 3)
        assert '"yes"' in d.hint

    def test_axis_value_itself_a_boolean_is_an_error(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: [x]\n  b: yes\n")
        assert codes(exc)
        assert loc_of(exc.diagnostics[0]) == ("config.yaml", 3, 6)


# -- syntax errors -------------------------------------------------------------

class TestSyntax:
    def test_tab_indentation_is_y001_with_a_hint(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n\ta: [x]\n")
        d = diag(exc, "Y001")
        assert loc_of(d)[:2] == ("config.yaml", 2)
        assert d.location.col is not None
        assert "tab" in (d.hint or "").lower()

    def test_malformed_flow_sequence_is_located(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: [x, y\n  b: [z]\n")
        d = diag(exc, "Y001")
        assert d.location.line is not None and d.location.line >= 2
        assert d.location.col is not None

    def test_bad_indentation_is_located(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: [x]\n   b: [y]\n")
        d = diag(exc, "Y001")
        assert d.location.line == 3

    def test_several_documents_are_y001(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: [x]\n---\naxes:\n  b: [y]\n")
        d = diag(exc, "Y001")
        assert d.location.line == 3
        assert "document" in d.message

    def test_unsupported_tag_is_y005(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: !!python/object:os.system x\n")
        assert codes(exc) == ["Y005"]
        assert loc_of(exc.diagnostics[0])[1:] == (2, 6)

    def test_complex_key_is_y005(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  ? [a, b]\n  : [x]\n")
        assert codes(exc) == ["Y005"]


# -- top level -----------------------------------------------------------------

class TestTopLevel:
    @pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
    def test_empty_file_is_s003(self, make_bundle, text):
        exc = load_error(make_bundle, text)
        assert codes(exc) == ["S003"]
        assert exc.diagnostics[0].location.path.endswith("config.yaml")

    @pytest.mark.parametrize("text, found", [("- a\n- b\n", "list"), ("hello\n", "single value"), ("42\n", "single value")])
    def test_top_level_not_a_mapping_is_s003(self, make_bundle, text, found):
        exc = load_error(make_bundle, text)
        assert codes(exc) == ["S003"]
        assert found in exc.diagnostics[0].message
        assert exc.diagnostics[0].location.line == 1


# -- resource limits and unsupported features ------------------------------------

BOMB = "".join(
    f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi")
)
BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + BOMB + "axes: {x: [y]}\n"


class TestLimitsAndFeatures:
    def test_alias_bomb_is_refused_quickly(self, make_bundle):
        start = time.perf_counter()
        exc = load_error(make_bundle, BOMB)
        elapsed = time.perf_counter() - start
        assert codes(exc) == ["Y004"]
        assert exc.diagnostics[0].location.line is not None
        assert elapsed < 10  # a hang guard (an expanded bomb never ends); speed is for bench/

    def test_small_aliases_are_fine(self, make_bundle):
        # Anchors and aliases are plain YAML; only their expansion is bounded.
        exc = load_error(make_bundle, "levels: &l [x, y]\naxes:\n  a: *l\n")
        # `levels` is not a known top-level key: the alias itself was accepted.
        assert codes(exc) == ["S002"]

    def test_alias_reuse_within_axes(self, compile_files):
        compiled = compile_files({"config.yaml": "axes:\n  a: &l [x, y]\n  b: *l\n"})
        assert compiled.count == 4

    def test_recursive_alias_is_y005(self, make_bundle):
        exc = load_error(make_bundle, "axes: &x\n  a: *x\n")
        assert codes(exc) == ["Y005"]
        assert "recursive" in exc.diagnostics[0].message
        assert exc.diagnostics[0].location.line == 1

    def test_recursive_alias_in_a_list(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: &l [x, *l]\n")
        assert codes(exc) == ["Y005"]

    def test_merge_key_is_y005_at_the_key(self, make_bundle):
        exc = load_error(make_bundle, "output: &o {seed: 1}\naxes:\n  a: [x]\n  <<: {b: [y]}\n")
        d = diag(exc, "Y005")
        assert loc_of(d) == ("config.yaml", 4, 3)
        assert "merge" in d.message

    def test_deep_nesting_is_y004(self, make_bundle):
        exc = load_error(make_bundle, "axes:\n  a: " + "[" * 100 + "]" * 100 + "\n")
        assert codes(exc) == ["Y004"]

    def test_config_above_the_document_limit_is_y004(self, make_bundle):
        from cohort_dsl.limits import Limits

        path = make_bundle({"config.yaml": "axes:\n  a: [" + ", ".join(f"v{i}" for i in range(200)) + "]\n"})
        with pytest.raises(SpecError) as info:
            load_bundle(path, Limits(max_document_bytes=100))
        assert codes(info) == ["Y004"]


# -- encoding --------------------------------------------------------------------

class TestEncoding:
    def test_non_utf8_config_is_y001_with_the_line(self, make_bundle):
        path = make_bundle({"config.yaml": b"axes:\n  a: [x]\n  b: [caf\xe9]\n"})
        with pytest.raises(SpecError) as info:
            load_bundle(path)
        d = diag(info, "Y001")
        assert loc_of(d) == ("config.yaml", 3, 10)
        assert "UTF-8" in d.message

    def test_utf8_bom_is_accepted(self, make_bundle):
        path = make_bundle({"config.yaml": "\ufeffaxes:\n  a: [x, y]\n".encode("utf-8")})
        compiled = compile_bundle(load_bundle(path))
        assert compiled.columns == ["a"]
        assert list(compiled.rows()) == [("x",), ("y",)]

    def test_bom_does_not_shift_positions(self, make_bundle):
        path = make_bundle({"config.yaml": "\ufeffaxes:\n  a: [x, yes]\n".encode("utf-8")})
        with pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(path))
        assert loc_of(diag(info, "Y003")) == ("config.yaml", 2, 10)

    def test_non_ascii_levels(self, compile_files):
        compiled = compile_files({"config.yaml": "axes:\n  a: [café, 日本]\n"})
        assert [r[0] for r in compiled.rows()] == ["café", "日本"]


# -- the path given to the loader ------------------------------------------------

class TestBundlePath:
    def test_folder_config_or_file_inside(self, make_bundle):
        path = make_bundle({"config.yaml": "axes:\n  a: '@file:items/a.csv'\n", "items/a.csv": "a\nx\n"})
        for given in (path, path / "config.yaml", path / "items" / "a.csv"):
            assert compile_bundle(load_bundle(given)).count == 1

    def test_missing_path_is_a_usage_error(self, tmp_path):
        from cohort_dsl.diagnostics import UsageError

        with pytest.raises(UsageError):
            load_bundle(tmp_path / "nope")
        with pytest.raises(UsageError):
            load_bundle(tmp_path)  # a folder without config.yaml
