"""The four built-in rule kinds (docs/spec_dsl.md, "Rules: the factor
model"), one section each, plus the checks on names that span sections."""

from __future__ import annotations

import pytest

from conftest import codes, compile_mapping, diag, loc_of, warning_codes
from cohort_dsl.bundle import load_bundle
from cohort_dsl.compiler import compile_bundle
from cohort_dsl.diagnostics import SpecError


def rule_error(make_bundle, config: str, **files) -> SpecError:
    path = make_bundle({"config.yaml": config, **files})
    with pytest.raises(SpecError) as info:
        compile_bundle(load_bundle(path))
    return info.value


def mapping_error(data: dict) -> SpecError:
    with pytest.raises(SpecError) as info:
        compile_mapping(data)
    return info.value


def rows(data: dict) -> list[tuple]:
    return list(compile_mapping(data).rows())


# =============================================================================
# subsets
# =============================================================================

class TestSubsets:
    def test_keeps_factor_order_not_keep_order(self):
        data = {"axes": {"a": ["x", "y", "z", "w"]}, "rules": {"subsets": {"a": ["w", "x", "z"]}}}
        assert rows(data) == [("x",), ("z",), ("w",)]

    def test_filters_inside_a_tuple_factor(self):
        data = {
            "axes": {"a": ["x", "y", "z"], "b": ["1", "2", "3"]},
            "rules": {
                "tuples": {"t": {"axes": ["a", "b"], "items": [["z", "3"], ["x", "1"], ["y", "2"]]}},
                "subsets": {"b": ["1", "3"]},
            },
        }
        # The tuple's order (z, x, y) is kept; the subset only removes (y, 2).
        assert rows(data) == [("z", "3"), ("x", "1")]

    def test_filters_inside_a_tie_keeps_both_columns(self):
        data = {
            "axes": {"a": ["d1", "d2", "d3"], "b": ["d2", "d3", "d4"]},
            "rules": {"ties": {"t": ["a", "b"]}, "subsets": {"b": ["d3"]}},
        }
        assert rows(data) == [("d3", "d3")]

    def test_unknown_keep_value_is_a_warning_and_others_are_kept(self, make_bundle):
        path = make_bundle({"config.yaml": "axes:\n  a: [x, y, z]\nrules:\n  subsets:\n    a: [x, q, z]\n"})
        compiled = compile_bundle(load_bundle(path))
        assert list(compiled.rows()) == [("x",), ("z",)]
        assert warning_codes(compiled) == ["R003"]
        warning = compiled.diagnostics[0]
        assert warning.severity == "warning"
        assert loc_of(warning) == ("config.yaml", 5, 12)
        assert "'q'" in warning.message

    def test_value_removed_by_an_earlier_rule_is_r003(self):
        data = {"axes": {"a": ["x", "y", "z"], "b": ["x", "y"]},
                "rules": {"ties": {"t": ["b", "a"]}, "subsets": {"a": ["y", "z"]}}}
        compiled = compile_mapping(data)
        assert list(compiled.rows()) == [("y", "y")]
        # the tie drops a's 'z' (R016, named with the tie); the subset then keeps a 'z' that is gone (R003)
        assert sorted(warning_codes(compiled)) == ["R003", "R016"]

    def test_keeping_nothing_is_r005(self, make_bundle):
        exc = rule_error(make_bundle, "axes:\n  a: [x, y]\nrules:\n  subsets:\n    a: [z]\n")
        d = diag(exc, "R005")
        assert loc_of(d) == ("config.yaml", 5, 5)
        assert "x, y" in (d.hint or "")

    def test_subset_of_an_unknown_axis_is_r001_with_did_you_mean(self, make_bundle):
        exc = rule_error(make_bundle, "axes:\n  draft: [x]\nrules:\n  subsets:\n    drafts: [x]\n")
        d = diag(exc, "R001")
        assert codes(exc) == ["R001"]
        assert loc_of(d) == ("config.yaml", 5, 5)
        assert "'draft'" in (d.hint or "")

    def test_subset_of_a_rule_name_is_r001(self):
        exc = mapping_error({"axes": {"a": ["x"], "b": ["x"]}, "rules": {"ties": {"t": ["a", "b"]}, "subsets": {"t": ["x"]}}})
        assert codes(exc) == ["R001"]

    def test_include_as_keep_list(self, make_bundle):
        path = make_bundle({"config.yaml": "axes:\n  a: [x, y, z]\nrules:\n  subsets:\n    a: '@file:keep.txt'\n",
                            "keep.txt": "z\nx\n"})
        assert list(compile_bundle(load_bundle(path)).rows()) == [("x",), ("z",)]

    def test_csv_keep_list_picks_the_axis_column(self, make_bundle):
        path = make_bundle({"config.yaml": "axes:\n  a: [x, y, z]\nrules:\n  subsets:\n    a: '@file:keep.csv'\n",
                            "keep.csv": "id,a\n1,y\n"})
        assert list(compile_bundle(load_bundle(path)).rows()) == [("y",)]

    def test_subset_of_a_tuple_only_axis(self):
        data = {"axes": {}, "rules": {
            "tuples": {"t": {"axes": ["m", "e"], "items": [["m1", "e1"], ["m2", "e2"], ["m3", "e3"]]}},
            "subsets": {"e": ["e3", "e1"]},
        }}
        assert rows(data) == [("m1", "e1"), ("m3", "e3")]

    def test_duplicate_keep_value_is_r008(self):
        compiled = compile_mapping({"axes": {"a": ["x", "y"]}, "rules": {"subsets": {"a": ["x", "x"]}}})
        assert list(compiled.rows()) == [("x",)]
        assert warning_codes(compiled) == ["R008"]


# =============================================================================
# ties
# =============================================================================

TIE = {"axes": {"a": ["d1", "d2", "d3"], "b": ["d2", "d3", "d4"]}, "rules": {"ties": {"t": ["a", "b"]}}}


class TestTies:
    def test_list_form(self):
        compiled = compile_mapping(TIE)
        assert compiled.columns == ["a", "b"]
        assert list(compiled.rows()) == [("d2", "d2"), ("d3", "d3")]

    def test_axes_form(self):
        data = {"axes": TIE["axes"], "rules": {"ties": {"t": {"axes": ["a", "b"]}}}}
        assert rows(data) == [("d2", "d2"), ("d3", "d3")]

    def test_intersection_in_the_order_of_the_first_axis(self):
        data = {"axes": {"a": ["p", "q", "r", "s"], "b": ["s", "r", "q", "z"]}, "rules": {"ties": {"t": ["b", "a"]}}}
        # first tied axis is b: its order (s, r, q) wins
        assert rows(data) == [("s", "s"), ("r", "r"), ("q", "q")]
        data["rules"]["ties"]["t"] = ["a", "b"]
        assert rows(data) == [("q", "q"), ("r", "r"), ("s", "s")]

    def test_three_axes_every_column_kept(self):
        data = {"axes": {"a": ["x", "y", "z"], "mid": ["k"], "b": ["y", "z"], "c": ["z", "y", "x"]},
                "rules": {"ties": {"t": ["a", "b", "c"]}}}
        compiled = compile_mapping(data)
        assert compiled.columns == ["a", "mid", "b", "c"]
        assert list(compiled.dicts()) == [{"a": "y", "mid": "k", "b": "y", "c": "y"},
                                          {"a": "z", "mid": "k", "b": "z", "c": "z"}]

    def test_no_tie_name_column(self):
        compiled = compile_mapping(TIE)
        assert "t" not in compiled.columns
        assert all("t" not in row for row in compiled.dicts())
        assert "t" not in {a["name"] for a in compiled.explain()["axes"]}

    def test_empty_intersection_is_r005(self, make_bundle):
        exc = rule_error(make_bundle, "axes:\n  a: [x, y]\n  b: [z, w]\nrules:\n  ties:\n    t: [a, b]\n")
        d = diag(exc, "R005")
        assert loc_of(d) == ("config.yaml", 6, 5)

    def test_tie_named_after_one_of_its_axes_is_allowed(self):
        data = {"axes": TIE["axes"], "rules": {"ties": {"a": ["a", "b"]}}}
        compiled = compile_mapping(data)
        assert compiled.columns == ["a", "b"]
        assert list(compiled.rows()) == [("d2", "d2"), ("d3", "d3")]

    def test_tie_named_like_an_unrelated_axis_is_r011(self):
        data = {"axes": {"a": ["x"], "b": ["x"], "c": ["y"]}, "rules": {"ties": {"c": ["a", "b"]}}}
        assert codes(mapping_error(data)) == ["R011"]

    def test_unknown_tied_axis_is_r001_located(self, make_bundle):
        exc = rule_error(make_bundle, "axes:\n  a: [x]\n  b: [x]\nrules:\n  ties:\n    t: [a, bb]\n")
        d = diag(exc, "R001")
        assert loc_of(d) == ("config.yaml", 6, 12)

    def test_tie_after_a_tuple_on_the_same_factor(self):
        data = {"axes": {"a": ["x", "y"], "b": ["x", "y"]}, "rules": {
            "tuples": {"tp": {"axes": ["a", "b"], "items": [["x", "y"], ["y", "y"], ["x", "x"]]}},
            "ties": {"t": ["a", "b"]},
        }}
        assert rows(data) == [("x", "x"), ("y", "y")]

    def test_later_rule_names_the_tie(self):
        data = {"axes": {"a": ["d1", "d2"], "b": ["d1", "d2"], "c": ["e1", "e2"]}, "rules": {
            "ties": {"t": ["a", "b"]},
            "pairs": {"p": {"left": "c", "right": "t", "allowed": [["e1", "d2"], ["e2", "d1"]]}},
        }}
        compiled = compile_mapping(data)
        assert list(compiled.dicts()) == [{"a": "d2", "b": "d2", "c": "e1"}, {"a": "d1", "b": "d1", "c": "e2"}]


# =============================================================================
# pairs
# =============================================================================

def pair(allowed, balance=None, axes=None, left="a", right="b"):
    spec = {"left": left, "right": right, "allowed": allowed}
    if balance:
        spec["balance"] = balance
    return {"axes": axes or {"a": ["x", "y", "z"], "b": ["1", "2", "3"]}, "rules": {"pairs": {"p": spec}}}


class TestPairs:
    def test_order_follows_allowed(self):
        assert rows(pair([["z", "1"], ["x", "3"], ["x", "2"]])) == [("z", "1"), ("x", "3"), ("x", "2")]

    def test_pair_sits_at_its_earliest_axis(self):
        data = {"axes": {"a": ["x", "y"], "mid": ["m1", "m2"], "b": ["1", "2"]},
                "rules": {"pairs": {"p": {"left": "b", "right": "a", "allowed": [["2", "x"], ["1", "y"]]}}}}
        compiled = compile_mapping(data)
        assert compiled.columns == ["a", "mid", "b"]
        assert list(compiled.rows()) == [("x", "m1", "2"), ("x", "m2", "2"), ("y", "m1", "1"), ("y", "m2", "1")]

    def test_duplicates_dropped_with_warning_r008(self, make_bundle):
        config = ("axes:\n  a: [x, y]\n  b: ['1', '2']\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
                  "      allowed:\n        - [x, '1']\n        - [y, '2']\n        - [x, '1']\n")
        compiled = compile_bundle(load_bundle(make_bundle({"config.yaml": config})))
        assert list(compiled.rows()) == [("x", "1"), ("y", "2")]
        assert warning_codes(compiled) == ["R008"]
        assert loc_of(compiled.diagnostics[0]) == ("config.yaml", 12, 11)

    def test_value_outside_domain_is_r006_located_at_the_entry(self, make_bundle):
        config = ("axes:\n  a: [x, y]\n  b: ['1', '2']\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
                  "      allowed:\n        - [x, '1']\n        - [x, '3']\n")
        d = diag(rule_error(make_bundle, config), "R006")
        assert loc_of(d) == ("config.yaml", 11, 11)
        assert "'3'" in d.message

    def test_value_removed_by_an_earlier_subset_is_r006(self):
        data = pair([["x", "1"], ["y", "2"]])
        data["rules"] = {"subsets": {"a": ["x"]}, **data["rules"]}
        exc = mapping_error(data)
        assert codes(exc) == ["R006"]

    def test_left_equals_right_is_r012(self, make_bundle):
        config = ("axes:\n  a: [x, y]\nrules:\n  pairs:\n    p:\n      left: a\n      right: a\n"
                  "      allowed: [[x, y]]\n")
        d = diag(rule_error(make_bundle, config), "R012")
        assert loc_of(d)[:2] == ("config.yaml", 7)

    def test_sides_sharing_an_axis_is_r012(self):
        data = {"axes": {"a": ["x"], "b": ["x"]}, "rules": {
            "ties": {"t": ["a", "b"]},
            "pairs": {"p": {"left": "t", "right": "a", "allowed": [["x", "x"]]}},
        }}
        assert codes(mapping_error(data)) == ["R012"]

    @pytest.mark.parametrize("balance, allowed, ok", [
        ("left", [["x", "1"], ["x", "2"], ["y", "1"], ["y", "3"]], True),
        ("left", [["x", "1"], ["x", "2"], ["y", "1"]], False),
        ("right", [["x", "1"], ["y", "1"], ["x", "2"], ["z", "2"]], True),
        ("right", [["x", "1"], ["y", "1"], ["x", "2"]], False),
        ("both", [["x", "1"], ["y", "2"]], True),
        ("both", [["x", "1"], ["x", "2"], ["y", "1"], ["y", "2"]], True),
        ("both", [["x", "1"], ["y", "1"]], True),  # one right value, twice: balanced
        ("both", [["x", "1"], ["x", "2"], ["y", "1"]], False),  # left x2/y1
        ("both", [["x", "1"], ["y", "1"], ["z", "2"]], False),  # right 1x2/2x1
    ])
    def test_balance(self, balance, allowed, ok):
        data = pair(allowed, balance)
        if ok:
            assert len(rows(data)) == len(allowed)
        else:
            assert codes(mapping_error(data)) == ["R007"]

    def test_balance_error_lists_the_counts_and_is_located(self, make_bundle):
        config = ("axes:\n  a: [x, y]\n  b: ['1', '2']\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
                  "      allowed: [[x, '1'], [x, '2'], [y, '1']]\n      balance: left\n")
        d = diag(rule_error(make_bundle, config), "R007")
        assert loc_of(d) == ("config.yaml", 10, 16)
        assert "x ×2" in d.message and "y ×1" in d.message

    def test_balance_counts_after_dropping_duplicates(self):
        data = pair([["x", "1"], ["x", "1"], ["y", "2"]], "left")
        assert rows(data) == [("x", "1"), ("y", "2")]

    def test_side_naming_a_tuple_takes_list_values(self):
        data = {"axes": {"draft_template": ["d1", "d2"]}, "rules": {
            "tuples": {"bundle": {"axes": ["essay_template", "essay_llm"], "items": [["e1", "m1"], ["e2", "m2"]]}},
            "pairs": {"dp": {"left": "draft_template", "right": "bundle",
                             "allowed": [["d1", ["e2", "m2"]], ["d2", ["e1", "m1"]]]}},
        }}
        compiled = compile_mapping(data)
        assert compiled.columns == ["draft_template", "essay_template", "essay_llm"]
        assert list(compiled.rows()) == [("d1", "e2", "m2"), ("d2", "e1", "m1")]

    def test_tuple_side_value_not_an_item_is_r006(self):
        data = {"axes": {"d": ["d1"]}, "rules": {
            "tuples": {"bundle": {"axes": ["e", "m"], "items": [["e1", "m1"], ["e2", "m2"]]}},
            "pairs": {"dp": {"left": "d", "right": "bundle", "allowed": [["d1", ["e1", "m2"]]]}},
        }}
        assert codes(mapping_error(data)) == ["R006"]

    def test_tuple_side_given_a_scalar_is_r010(self):
        data = {"axes": {"d": ["d1"]}, "rules": {
            "tuples": {"bundle": {"axes": ["e", "m"], "items": [["e1", "m1"]]}},
            "pairs": {"dp": {"left": "d", "right": "bundle", "allowed": [["d1", "e1"]]}},
        }}
        assert codes(mapping_error(data)) == ["R010"]

    def test_axis_side_given_a_list_is_r010(self):
        assert codes(mapping_error(pair([[["x"], "1"]]))) == ["R010"]

    def test_side_naming_a_tie(self):
        data = {"axes": {"a": ["d1", "d2", "d3"], "b": ["d2", "d3", "d4"], "c": ["e1", "e2"]}, "rules": {
            "ties": {"t": ["a", "b"]},
            "pairs": {"p": {"left": "t", "right": "c", "allowed": [["d3", "e1"], ["d2", "e2"]]}},
        }}
        assert rows(data) == [("d3", "d3", "e1"), ("d2", "d2", "e2")]

    def test_side_naming_a_pair(self):
        data = {"axes": {"a": ["x", "y"], "b": ["1", "2"], "c": ["u", "v"]}, "rules": {"pairs": {
            "p": {"left": "a", "right": "b", "allowed": [["x", "1"], ["y", "2"]]},
            "q": {"left": "c", "right": "p", "allowed": [["u", ["y", "2"]], ["v", ["x", "1"]]]},
        }}}
        assert rows(data) == [("y", "2", "u"), ("x", "1", "v")]

    def test_csv_allowed_with_a_header_naming_the_sides(self, make_bundle):
        config = ("axes:\n  a: [x, y]\n  b: ['1', '2']\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
                  "      allowed: '@file:p.csv'\n")
        path = make_bundle({"config.yaml": config, "p.csv": "a,b\ny,1\nx,2\n"})
        assert list(compile_bundle(load_bundle(path)).rows()) == [("y", "1"), ("x", "2")]

    def test_csv_allowed_with_a_tie_side_named_by_the_tie(self, make_bundle):
        config = ("axes:\n  a: [x, y]\n  b: [x, y]\n  c: ['1', '2']\nrules:\n  ties:\n    t: [a, b]\n  pairs:\n"
                  "    p:\n      left: c\n      right: t\n      allowed: '@file:p.csv'\n")
        path = make_bundle({"config.yaml": config, "p.csv": "t,c\nx,2\ny,1\n"})
        assert list(compile_bundle(load_bundle(path)).rows()) == [("x", "x", "2"), ("y", "y", "1")]

    def test_tie_then_pair_on_a_tied_axis_keeps_every_tied_column(self):
        # The original system dropped one of the tied columns here.
        data = {"axes": {"a": ["d1", "d2", "d3"], "b": ["d2", "d3", "d4"], "c": ["e1", "e2"]}, "rules": {
            "ties": {"t": ["a", "b"]},
            "pairs": {"p": {"left": "a", "right": "c", "allowed": [["d2", "e1"], ["d3", "e2"]]}},
        }}
        compiled = compile_mapping(data)
        assert compiled.columns == ["a", "b", "c"]
        assert list(compiled.dicts()) == [{"a": "d2", "b": "d2", "c": "e1"}, {"a": "d3", "b": "d3", "c": "e2"}]

    def test_pair_on_the_other_tied_axis(self):
        data = {"axes": {"a": ["d1", "d2", "d3"], "b": ["d2", "d3", "d4"], "c": ["e1", "e2"]}, "rules": {
            "ties": {"t": ["a", "b"]},
            "pairs": {"p": {"left": "c", "right": "b", "allowed": [["e1", "d3"], ["e2", "d2"]]}},
        }}
        assert rows(data) == [("d3", "d3", "e1"), ("d2", "d2", "e2")]

    def test_unknown_side_is_r001(self, make_bundle):
        config = ("axes:\n  a: [x]\n  b: [y]\nrules:\n  pairs:\n    p:\n      left: a\n      right: bb\n"
                  "      allowed: [[x, y]]\n")
        d = diag(rule_error(make_bundle, config), "R001")
        assert loc_of(d) == ("config.yaml", 8, 14)
        assert "'b'" in (d.hint or "")

    def test_pair_that_matches_nothing_left_is_r005(self):
        data = {"axes": {"a": ["x", "y"], "b": ["1", "2"]}, "rules": {
            "tuples": {"t": {"axes": ["a", "b"], "items": [["x", "1"], ["y", "2"]]}},
            "pairs": {"p": {"left": "a", "right": "b", "allowed": [["x", "2"]]}},
        }}
        assert codes(mapping_error(data)) == ["R005"]


# =============================================================================
# tuples
# =============================================================================

class TestTuples:
    def test_undeclared_axes_come_after_declared_ones_in_first_seen_order(self):
        data = {"axes": {"a": ["x"], "b": ["y"]}, "rules": {"tuples": {
            "t1": {"axes": ["m", "a", "e"], "items": [["m2", "x", "e1"], ["m1", "x", "e2"], ["m2", "x", "e3"]]},
            "t2": {"axes": ["z", "b"], "items": [["z1", "y"]]},
        }}}
        compiled = compile_mapping(data)
        assert compiled.columns == ["a", "b", "m", "e", "z"]
        levels = {a["name"]: a["levels"] for a in compiled.explain()["axes"]}
        assert levels == {"a": 1, "b": 1, "m": 2, "e": 3, "z": 1}
        assert [r["m"] for r in compiled.dicts()] == ["m2", "m1", "m2"]

    def test_items_define_the_order(self):
        data = {"axes": {}, "rules": {"tuples": {"t": {"axes": ["a", "b"], "items": [["y", "2"], ["x", "1"]]}}}}
        assert rows(data) == [("y", "2"), ("x", "1")]

    def test_declared_axis_must_contain_item_values_r006(self, make_bundle):
        config = ("axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      axes: [a, b]\n      items:\n"
                  "        - [x, '1']\n        - [z, '2']\n")
        d = diag(rule_error(make_bundle, config), "R006")
        assert loc_of(d)[:2] == ("config.yaml", 9)
        assert "'z'" in d.message

    def test_item_filtered_by_an_earlier_subset_is_not_an_error(self):
        data = {"axes": {"a": ["x", "y"]}, "rules": {
            "subsets": {"a": ["x"]},
            "tuples": {"t": {"axes": ["a", "b"], "items": [["x", "1"], ["y", "2"]]}},
        }}
        assert rows(data) == [("x", "1")]

    def test_arity_mismatch_is_r010(self, make_bundle):
        config = ("axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      axes: [a, b]\n      items:\n"
                  "        - [x, '1']\n        - [x]\n")
        d = diag(rule_error(make_bundle, config), "R010")
        assert loc_of(d)[:2] == ("config.yaml", 9)

    def test_a_null_axis_filled_by_a_tuple_keeps_its_place(self):
        data = {"axes": {"first": ["f"], "n": None, "last": ["l1", "l2"]}, "rules": {
            "tuples": {"t": {"axes": ["n", "extra"], "items": [["n1", "x1"], ["n2", "x2"]]}},
        }}
        compiled = compile_mapping(data)
        assert compiled.columns == ["first", "n", "last", "extra"]
        assert list(compiled.rows()) == [
            ("f", "n1", "l1", "x1"), ("f", "n1", "l2", "x1"), ("f", "n2", "l1", "x2"), ("f", "n2", "l2", "x2"),
        ]

    def test_a_null_axis_no_tuple_fills_is_r009(self, make_bundle):
        d = diag(rule_error(make_bundle, "axes:\n  a: [x]\n  n: ~\n"), "R009")
        assert loc_of(d) == ("config.yaml", 3, 3)

    def test_a_second_tuple_sharing_an_axis_joins_naturally(self):
        data = {"axes": {}, "rules": {"tuples": {
            "t1": {"axes": ["a", "b"], "items": [["x", "1"], ["y", "2"], ["z", "1"]]},
            "t2": {"axes": ["b", "c"], "items": [["1", "p"], ["1", "q"], ["2", "r"]]},
        }}}
        compiled = compile_mapping(data)
        assert compiled.columns == ["a", "b", "c"]
        # order follows the second constraint's items, then the first factor's order
        assert list(compiled.rows()) == [("x", "1", "p"), ("z", "1", "p"), ("x", "1", "q"), ("z", "1", "q"),
                                         ("y", "2", "r")]

    def test_csv_items_with_axes_omitted(self, make_bundle):
        config = "axes:\n  combo: [c1, c2]\nrules:\n  tuples:\n    t:\n      items: '@file:items/t.csv'\n"
        path = make_bundle({"config.yaml": config, "items/t.csv": "essay_template,essay_llm\ne1,m1\ne2,m2\n"})
        compiled = compile_bundle(load_bundle(path))
        assert compiled.columns == ["combo", "essay_template", "essay_llm"]
        assert compiled.count == 4

    def test_duplicate_items_dropped_with_r008(self):
        compiled = compile_mapping({"axes": {}, "rules": {"tuples": {"t": {"axes": ["a"], "items": [["x"], ["x"]]}}}})
        assert list(compiled.rows()) == [("x",)]
        assert warning_codes(compiled) == ["R008"]

    def test_later_rule_names_the_tuple(self):
        data = {"axes": {"c": ["u", "v"]}, "rules": {
            "tuples": {"t": {"axes": ["a", "b"], "items": [["x", "1"], ["y", "2"]]}},
            "pairs": {"p": {"left": "t", "right": "c", "allowed": [[["y", "2"], "u"]]}},
        }}
        assert rows(data) == [("u", "y", "2")]

    def test_yaml_integers_in_items_become_strings(self):
        data = {"axes": {"rep": [1, 2]}, "rules": {"tuples": {"t": {"axes": ["rep", "m"], "items": [[2, "m"]]}}}}
        assert rows(data) == [("2", "m")]


# =============================================================================
# names across sections
# =============================================================================

class TestNames:
    def test_forward_reference_is_r002_with_a_move_hint(self, make_bundle):
        config = ("axes:\n  a: [x]\n  b: [x]\n  c: [z]\nrules:\n  pairs:\n    p:\n      left: t\n      right: c\n"
                  "      allowed: [[x, z]]\n  ties:\n    t: [a, b]\n")
        exc = rule_error(make_bundle, config)
        d = diag(exc, "R002")
        assert codes(exc) == ["R002"]
        assert loc_of(d) == ("config.yaml", 8, 13)
        assert "move" in d.hint and "below" in d.hint
        assert "pairs p" in d.hint and "ties t" in d.hint
        assert "line 12" in d.message

    def test_forward_reference_within_one_section(self):
        data = {"axes": {"a": ["x"], "b": ["y"], "c": ["z"]}, "rules": {"pairs": {
            "q": {"left": "p", "right": "c", "allowed": [[["x", "y"], "z"]]},
            "p": {"left": "a", "right": "b", "allowed": [["x", "y"]]},
        }}}
        exc = mapping_error(data)
        assert codes(exc) == ["R002"]
        assert "move pairs q below pairs p" in exc.diagnostics[0].hint

    def test_messages_without_positions_do_not_say_line_none(self):
        forward = {"axes": {"a": ["x"], "b": ["y"], "c": ["z"]}, "rules": {
            "pairs": {"p": {"left": "t", "right": "c", "allowed": [["x", "z"]]}}, "ties": {"t": ["a", "b"]}}}
        duplicate = {"axes": {"a": ["x"], "b": ["y"]}, "rules": {
            "ties": {"n": ["a", "b"]}, "tuples": {"n": {"axes": ["a", "b"], "items": [["x", "y"]]}}}}
        for data in (forward, duplicate):
            exc = mapping_error(data)
            assert all("None" not in d.message for d in exc.diagnostics), exc.diagnostics

    def test_unknown_rule_name_is_r001(self):
        data = {"axes": {"a": ["x"], "c": ["z"]}, "rules": {
            "pairs": {"p": {"left": "nope", "right": "c", "allowed": [["x", "z"]]}}}}
        assert codes(mapping_error(data)) == ["R001"]

    def test_unknown_rule_name_suggests_a_rule(self):
        data = {"axes": {"a": ["x"], "b": ["x"], "c": ["z"]}, "rules": {
            "ties": {"tied_ab": ["a", "b"]},
            "pairs": {"p": {"left": "tied_abc", "right": "c", "allowed": [["x", "z"]]}}}}
        exc = mapping_error(data)
        assert codes(exc) == ["R001"]
        assert "tied_ab" in exc.diagnostics[0].hint

    def test_duplicate_rule_names_across_sections_is_r011(self, make_bundle):
        config = ("axes:\n  a: [x]\n  b: [y]\nrules:\n  ties:\n    n: [a, b]\n  tuples:\n    n:\n      axes: [a, b]\n"
                  "      items: [[x, y]]\n")
        exc = rule_error(make_bundle, config)
        d = diag(exc, "R011")
        assert loc_of(d) == ("config.yaml", 8, 5)
        assert "line 6" in d.message

    def test_rule_named_like_an_axis_is_r011(self):
        data = {"axes": {"a": ["x"], "b": ["y"]}, "rules": {"tuples": {"a": {"axes": ["b", "c"], "items": [["y", "1"]]}}}}
        assert codes(mapping_error(data)) == ["R011"]

    def test_rules_run_in_document_order_of_sections(self):
        # subsets before the tie: intersection of what is left; tie first:
        # the subset then filters the tied factor. Same rows here, different
        # funnel.
        axes = {"a": ["x", "y", "z"], "b": ["x", "y", "z"]}
        first = compile_mapping({"axes": axes, "rules": {"subsets": {"a": ["x", "y"]}, "ties": {"t": ["a", "b"]}}})
        second = compile_mapping({"axes": axes, "rules": {"ties": {"t": ["a", "b"]}, "subsets": {"a": ["x", "y"]}}})
        assert [s.label for s in first.funnel] == ["axes", "subsets a", "ties t"]
        assert [s.rows for s in first.funnel] == [9, 6, 2]
        assert [s.label for s in second.funnel] == ["axes", "ties t", "subsets a"]
        assert [s.rows for s in second.funnel] == [9, 3, 2]
        assert list(first.rows()) == list(second.rows()) == [("x", "x"), ("y", "y")]
