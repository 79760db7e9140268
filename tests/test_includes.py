"""``@file:`` includes (docs/spec_dsl.md, "Includes"): formats, shapes,
confinement to the bundle, limits, and header-name matching for relations."""

from __future__ import annotations

import os

import pytest

from conftest import codes, diag, loc_of
from cohort_dsl.bundle import load_bundle
from cohort_dsl.compiler import compile_bundle
from cohort_dsl.diagnostics import SpecError
from cohort_dsl.limits import Limits

AXIS_CSV = "axes:\n  a: '@file:items/a.csv'\n"


def levels(compile_files, files) -> list[str]:
    compiled = compile_files(files)
    return [row[0] for row in compiled.rows()]


def include_error(make_bundle, files, limits=None) -> SpecError:
    path = make_bundle(files)
    with pytest.raises(SpecError) as info:
        compile_bundle(load_bundle(path, limits) if limits else load_bundle(path))
    return info.value


# -- CSV as a list of levels -----------------------------------------------------

class TestCsvLevels:
    def test_header_then_one_level_per_row(self, compile_files):
        assert levels(compile_files, {"config.yaml": AXIS_CSV, "items/a.csv": "a\nx\ny\n"}) == ["x", "y"]

    def test_bom_crlf_and_blank_lines(self, compile_files):
        raw = "\ufeffa\r\nx\r\n\r\ny\r\n\r\n".encode("utf-8")
        assert levels(compile_files, {"config.yaml": AXIS_CSV, "items/a.csv": raw}) == ["x", "y"]

    def test_no_trailing_newline(self, compile_files):
        assert levels(compile_files, {"config.yaml": AXIS_CSV, "items/a.csv": "a\nx\ny"}) == ["x", "y"]

    def test_single_column_header_name_does_not_matter(self, compile_files):
        assert levels(compile_files, {"config.yaml": AXIS_CSV, "items/a.csv": "template_id\nx\ny\n"}) == ["x", "y"]

    def test_cells_are_stripped_and_quotes_honoured(self, compile_files):
        got = levels(compile_files, {"config.yaml": AXIS_CSV, "items/a.csv": 'a\n  x  \n"y, z"\n'})
        assert got == ["x", "y, z"]

    def test_duplicate_levels_are_dropped_with_a_warning(self, compile_files):
        compiled = compile_files({"config.yaml": AXIS_CSV, "items/a.csv": "a\nx\ny\nx\n"})
        assert [r[0] for r in compiled.rows()] == ["x", "y"]
        assert [d.code for d in compiled.diagnostics] == ["R008"]
        assert loc_of(compiled.diagnostics[0]) == ("a.csv", 4, None)

    def test_a_repeat_in_sorted_levels_is_dropped_with_a_warning(self, compile_files):
        compiled = compile_files({"config.yaml": AXIS_CSV, "items/a.csv": "a\nv1\nv2\nv2\nv3\n"})
        assert [r[0] for r in compiled.rows()] == ["v1", "v2", "v3"]
        assert [(d.code, loc_of(d)) for d in compiled.diagnostics] == [("R008", ("a.csv", 4, None))]

    def test_multi_column_csv_picks_the_column_named_after_the_axis(self, compile_files):
        files = {"config.yaml": AXIS_CSV, "items/a.csv": "id,a,notes\n1,x,first\n2,y,second\n"}
        assert levels(compile_files, files) == ["x", "y"]

    def test_multi_column_csv_without_the_axis_column_is_i006(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": "b,c\n1,x\n"})
        d = diag(exc, "I006")
        assert loc_of(d) == ("a.csv", 1, None)
        assert "'a'" in d.message

    def test_i006_suggests_a_close_column(self, make_bundle):
        files = {"config.yaml": "axes:\n  draft_template: '@file:t.csv'\n", "t.csv": "id,draft_templates\n1,x\n"}
        d = diag(include_error(make_bundle, files), "I006")
        assert "draft_templates" in (d.hint or "")

    def test_empty_cell_is_i004_at_file_row(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": "b,a\n1,x\n2,\n"})
        d = diag(exc, "I004")
        assert loc_of(d) == ("a.csv", 3, None)
        assert str(d.location).endswith("a.csv:3")

    def test_empty_cell_row_counts_blank_lines(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": "b,a\n\n1,x\n\n ,y\n"})
        assert loc_of(diag(exc, "I004")) == ("a.csv", 5, None)

    def test_quoted_empty_cell_in_a_single_column_csv_is_i004(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": 'a\nx\n""\ny\n'})
        assert loc_of(diag(exc, "I004")) == ("a.csv", 3, None)

    def test_short_row_is_i003(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": "b,a\n1,x\n2\n"})
        d = diag(exc, "I003")
        assert loc_of(d) == ("a.csv", 3, None)

    def test_long_row_is_i003_with_a_quoting_hint(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": "b,a\n1,x\n2,y,z\n"})
        d = diag(exc, "I003")
        assert loc_of(d) == ("a.csv", 3, None)
        assert "quote" in (d.hint or "")

    def test_duplicate_header_names_are_i003(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": "a,a\n1,x\n"})
        d = diag(exc, "I003")
        assert loc_of(d) == ("a.csv", 1, None)
        assert "duplicate" in d.message

    def test_empty_header_name_is_i003(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": "a,\nx,y\n"})
        assert loc_of(diag(exc, "I003")) == ("a.csv", 1, None)

    @pytest.mark.parametrize("text", ["a\n", "a\n\n\n"])
    def test_header_only_csv_is_an_error(self, make_bundle, text):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": text})
        assert codes(exc) == ["I003"]
        assert exc.diagnostics[0].location.path.endswith("a.csv")

    @pytest.mark.parametrize("text", ["", "\n\n", "\ufeff"])
    def test_empty_csv_is_an_error(self, make_bundle, text):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": text})
        assert codes(exc) == ["I003"]
        assert "header" in exc.diagnostics[0].message

    def test_non_utf8_csv_is_i003_with_the_line(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": b"a\nx\ncaf\xe9\n"})
        assert loc_of(diag(exc, "I003")) == ("a.csv", 3, None)

    def test_unterminated_quote_is_i003(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": AXIS_CSV, "items/a.csv": 'a\n"x\n'})
        assert codes(exc) == ["I003"]


# -- list formats -----------------------------------------------------------------

class TestListFormats:
    def test_txt_one_level_per_line(self, compile_files):
        files = {"config.yaml": "axes:\n  a: '@file:a.txt'\n", "a.txt": "x\n\n  y  \r\nz"}
        assert levels(compile_files, files) == ["x", "y", "z"]

    @pytest.mark.parametrize("name, text", [
        ("a.yaml", "- x\n- y\n- 3\n"),
        ("a.yml", "[x, y, 3]\n"),
        ("a.json", '["x", "y", 3]'),
    ])
    def test_yaml_and_json_lists(self, compile_files, name, text):
        files = {"config.yaml": f"axes:\n  a: '@file:{name}'\n", name: text}
        assert levels(compile_files, files) == ["x", "y", "3"]

    def test_invalid_json_is_i003_with_line_and_column(self, make_bundle):
        files = {"config.yaml": "axes:\n  a: '@file:a.json'\n", "a.json": '[\n  "x",\n  "y",\n]\n'}
        d = diag(include_error(make_bundle, files), "I003")
        assert loc_of(d)[0] == "a.json"
        assert d.location.line == 4
        assert d.location.col is not None

    def test_invalid_yaml_include_is_i003(self, make_bundle):
        files = {"config.yaml": "axes:\n  a: '@file:a.yaml'\n", "a.yaml": "- x\n- [y\n"}
        d = diag(include_error(make_bundle, files), "I003")
        assert loc_of(d)[0] == "a.yaml" and d.location.line is not None

    @pytest.mark.parametrize("text", ['{"a": 1}', '"x"', "null"])
    def test_json_that_is_not_a_list_is_i003(self, make_bundle, text):
        files = {"config.yaml": "axes:\n  a: '@file:a.json'\n", "a.json": text}
        assert codes(include_error(make_bundle, files)) == ["I003"]

    def test_empty_list_is_i003(self, make_bundle):
        files = {"config.yaml": "axes:\n  a: '@file:a.json'\n", "a.json": "[]"}
        assert codes(include_error(make_bundle, files)) == ["I003"]

    def test_empty_txt_is_i003(self, make_bundle):
        files = {"config.yaml": "axes:\n  a: '@file:a.txt'\n", "a.txt": "\n\n"}
        assert codes(include_error(make_bundle, files)) == ["I003"]

    def test_nested_value_in_a_list_include_is_located(self, make_bundle):
        files = {"config.yaml": "axes:\n  a: '@file:a.yaml'\n", "a.yaml": "- x\n- [y]\n"}
        d = diag(include_error(make_bundle, files), "Y003")
        assert loc_of(d) == ("a.yaml", 2, 3)

    def test_yaml_include_duplicate_keys_are_reported(self, make_bundle):
        files = {"config.yaml": "axes:\n  a: '@file:a.yaml'\n", "a.yaml": "- {k: 1, k: 2}\n"}
        assert "Y002" in codes(include_error(make_bundle, files))


# -- confinement to the bundle ---------------------------------------------------

class TestConfinement:
    def test_dotdot_is_i002_at_the_reference(self, make_bundle):
        path = make_bundle({"config.yaml": "axes:\n  a: '@file:../outside.csv'\n"})
        (path.parent / "outside.csv").write_text("a\nx\n")
        with pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(path))
        d = diag(info, "I002")
        assert loc_of(d) == ("config.yaml", 2, 6)

    def test_dotdot_that_comes_back_is_still_refused(self, make_bundle):
        path = make_bundle({"config.yaml": "axes:\n  a: '@file:items/../a.csv'\n", "a.csv": "a\nx\n"})
        with pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(path))
        assert codes(info) == ["I002"]

    def test_absolute_path_is_i002(self, make_bundle, tmp_path):
        outside = tmp_path / "abs.csv"
        outside.write_text("a\nx\n")
        path = make_bundle({"config.yaml": f"axes:\n  a: '@file:{outside}'\n"})
        with pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(path))
        assert codes(info) == ["I002"]
        assert loc_of(info.value.diagnostics[0]) == ("config.yaml", 2, 6)

    @pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
    def test_symlink_pointing_outside_is_i002(self, make_bundle, tmp_path):
        outside = tmp_path / "secret.csv"
        outside.write_text("a\nx\n")
        path = make_bundle({"config.yaml": "axes:\n  a: '@file:items/link.csv'\n"})
        (path / "items").mkdir()
        try:
            os.symlink(outside, path / "items" / "link.csv")
        except OSError:
            pytest.skip("cannot create symlinks here")
        with pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(path))
        assert codes(info) == ["I002"]
        assert loc_of(info.value.diagnostics[0]) == ("config.yaml", 2, 6)

    @pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
    def test_symlinked_folder_pointing_outside_is_i002(self, make_bundle, tmp_path):
        outside = tmp_path / "shared"
        outside.mkdir()
        (outside / "a.csv").write_text("a\nx\n")
        path = make_bundle({"config.yaml": "axes:\n  a: '@file:items/a.csv'\n"})
        try:
            os.symlink(outside, path / "items")
        except OSError:
            pytest.skip("cannot create symlinks here")
        with pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(path))
        assert codes(info) == ["I002"]

    @pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
    def test_symlink_inside_the_bundle_is_fine(self, make_bundle):
        path = make_bundle({"config.yaml": "axes:\n  a: '@file:link.csv'\n", "items/a.csv": "a\nx\n"})
        try:
            os.symlink(path / "items" / "a.csv", path / "link.csv")
        except OSError:
            pytest.skip("cannot create symlinks here")
        assert compile_bundle(load_bundle(path)).count == 1

    def test_missing_file_is_i001_with_did_you_mean(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": "axes:\n  a: '@file:items/draft.csv'\n",
                                          "items/drafts.csv": "a\nx\n"})
        d = diag(exc, "I001")
        assert loc_of(d) == ("config.yaml", 2, 6)
        assert "drafts.csv" in (d.hint or "")

    def test_missing_folder_is_i001(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": "axes:\n  a: '@file:nowhere/a.csv'\n"})
        assert codes(exc) == ["I001"]

    def test_directory_is_i001(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": "axes:\n  a: '@file:items'\n", "items/a.csv": "a\nx\n"})
        d = diag(exc, "I001")
        assert "directory" in d.message
        assert loc_of(d) == ("config.yaml", 2, 6)

    def test_unsupported_extension_is_i003(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": "axes:\n  a: '@file:a.xlsx'\n", "a.xlsx": "a\nx\n"})
        d = diag(exc, "I003")
        assert loc_of(d) == ("config.yaml", 2, 6)
        assert ".csv" in (d.hint or "")

    def test_include_in_memory_without_base_dir_is_an_error(self):
        from cohort_dsl.bundle import load_mapping

        with pytest.raises(SpecError) as info:
            compile_bundle(load_mapping({"axes": {"a": "@file:a.csv"}}))
        assert codes(info) == ["I001"]

    def test_include_in_memory_with_base_dir(self, tmp_path):
        from cohort_dsl.bundle import load_mapping

        (tmp_path / "a.csv").write_text("a\nx\ny\n")
        compiled = compile_bundle(load_mapping({"axes": {"a": "@file:a.csv"}}, base_dir=tmp_path))
        assert list(compiled.rows()) == [("x",), ("y",)]


# -- limits -------------------------------------------------------------------------

class TestLimits:
    def test_include_above_the_size_limit_is_i005(self, make_bundle):
        path = make_bundle({"config.yaml": AXIS_CSV, "items/a.csv": "a\n" + "x" * 100 + "\n"})
        with pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(path, Limits(max_include_bytes=50)))
        d = diag(info, "I005")
        assert loc_of(d) == ("config.yaml", 2, 6)
        assert "50" in d.message

    def test_include_at_the_size_limit_is_fine(self, make_bundle):
        text = "a\nxyz\n"
        path = make_bundle({"config.yaml": AXIS_CSV, "items/a.csv": text})
        compiled = compile_bundle(load_bundle(path, Limits(max_include_bytes=len(text))))
        assert compiled.count == 1

    def test_include_above_the_row_limit_is_i005(self, make_bundle):
        path = make_bundle({"config.yaml": AXIS_CSV, "items/a.csv": "a\n" + "".join(f"v{i}\n" for i in range(20))})
        with pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(path, Limits(max_levels=10)))
        assert codes(info) == ["I005"]


# -- relations: tuple and pair CSVs matched by header name -------------------------

TUPLE_CSV = ("axes:\n  a: [x, y]\n  b: ['1', '2']\nrules:\n  tuples:\n    t:\n      axes: [a, b]\n"
             "      items: '@file:items/t.csv'\n")
PAIR_CSV = ("axes:\n  a: [x, y]\n  b: ['1', '2']\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
            "      allowed: '@file:items/p.csv'\n")


class TestRelationsByHeaderName:
    def test_tuple_csv_in_axis_order(self, compile_files):
        compiled = compile_files({"config.yaml": TUPLE_CSV, "items/t.csv": "a,b\nx,1\ny,2\n"})
        assert list(compiled.dicts()) == [{"a": "x", "b": "1"}, {"a": "y", "b": "2"}]

    def test_tuple_csv_with_swapped_columns_binds_by_name(self, compile_files):
        # The original system bound columns by position: (b, a) would have
        # read "1" as a value of a. Here the header decides.
        compiled = compile_files({"config.yaml": TUPLE_CSV, "items/t.csv": "b,a\n1,x\n2,y\n"})
        assert list(compiled.dicts()) == [{"a": "x", "b": "1"}, {"a": "y", "b": "2"}]
        assert compiled.columns == ["a", "b"]

    def test_pair_csv_with_swapped_columns_binds_by_name(self, compile_files):
        compiled = compile_files({"config.yaml": PAIR_CSV, "items/p.csv": "b,a\n2,x\n1,y\n"})
        assert list(compiled.dicts()) == [{"a": "x", "b": "2"}, {"a": "y", "b": "1"}]

    def test_pair_csv_tuple_side_named_by_its_axes_in_any_order(self, compile_files):
        config = ("axes:\n  d: [d1, d2]\nrules:\n  tuples:\n    bun:\n      axes: [e, m]\n"
                  "      items: [[e1, m1], [e2, m2]]\n  pairs:\n    dp:\n      left: d\n      right: bun\n"
                  "      allowed: '@file:dp.csv'\n")
        compiled = compile_files({"config.yaml": config, "dp.csv": "m,d,e\nm2,d1,e2\nm1,d2,e1\n"})
        assert list(compiled.dicts()) == [{"d": "d1", "e": "e2", "m": "m2"}, {"d": "d2", "e": "e1", "m": "m1"}]

    def test_tuple_csv_missing_column_is_i006_at_the_header(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": TUPLE_CSV, "items/t.csv": "a\nx\n"})
        d = diag(exc, "I006")
        assert loc_of(d) == ("t.csv", 1, None)
        assert "'b'" in d.message

    def test_tuple_csv_unexpected_column_is_i006(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": TUPLE_CSV, "items/t.csv": "a,b,c\nx,1,q\n"})
        d = diag(exc, "I006")
        assert loc_of(d) == ("t.csv", 1, None)
        assert "'c'" in d.message

    def test_tuple_csv_header_on_a_later_line(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": TUPLE_CSV, "items/t.csv": "\n\na,c\nx,1\n"})
        assert loc_of(diag(exc, "I006")) == ("t.csv", 3, None)

    def test_pair_csv_with_left_right_header_is_i006(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": PAIR_CSV, "items/p.csv": "left,right\nx,1\n"})
        d = diag(exc, "I006")
        assert loc_of(d) == ("p.csv", 1, None)
        assert "a" in (d.hint or "") and "b" in (d.hint or "")

    def test_pair_csv_value_out_of_domain_is_r006_at_the_row(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": PAIR_CSV, "items/p.csv": "a,b\nx,1\ny,3\n"})
        assert loc_of(diag(exc, "R006")) == ("p.csv", 3, None)

    def test_pair_csv_repeats_are_dropped_at_their_row(self, compile_files):
        compiled = compile_files({"config.yaml": PAIR_CSV, "items/p.csv": "a,b\nx,1\ny,2\nx,1\n"})
        assert list(compiled.rows()) == [("x", "1"), ("y", "2")]
        assert [(d.code, loc_of(d), d.hint.endswith("p.csv:2")) for d in compiled.diagnostics] == [
            ("R008", ("p.csv", 4, None), True)]

    def test_pair_csv_right_value_out_of_domain_is_r006_at_its_row(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": PAIR_CSV, "items/p.csv": "b,a\n1,x\n2,y\n3,x\n"})
        assert loc_of(diag(exc, "R006")) == ("p.csv", 4, None) and "'3'" in diag(exc, "R006").message

    def test_pair_joins_axes_declared_in_the_other_order(self, compile_files):
        config = PAIR_CSV.replace("  a: [x, y]\n  b: ['1', '2']\n", "  b: ['1', '2']\n  a: [x, y]\n  c: [u, v]\n")
        compiled = compile_files({"config.yaml": config, "items/p.csv": "a,b\ny,1\nx,2\nx,1\n"})
        assert list(compiled.dicts())[:3] == [{"b": "1", "a": "y", "c": "u"}, {"b": "1", "a": "y", "c": "v"},
                                              {"b": "2", "a": "x", "c": "u"}]
        assert compiled.count == 6

    def test_a_level_an_include_declares_and_a_pair_drops_is_located_in_the_include(self, compile_files):
        config = PAIR_CSV.replace("  a: [x, y]\n", "  a: '@file:items/a.txt'\n")
        compiled = compile_files({"config.yaml": config, "items/a.txt": "x\n\ny\nz\n", "items/p.csv": "a,b\nx,1\ny,2\n"})
        assert [(d.axis, d.level, d.level_location.path.endswith("a.txt"), d.level_location.line)
                for d in compiled.dropped] == [("a", "z", True, 4)]

    def test_tuple_csv_level_not_declared_is_r006_at_its_row(self, make_bundle):
        exc = include_error(make_bundle, {"config.yaml": TUPLE_CSV, "items/t.csv": "b,a\n1,x\n2,y\n2,q\n"})
        d = diag(exc, "R006")
        assert loc_of(d) == ("t.csv", 4, None) and "'q'" in d.message

    def test_tuple_csv_repeats_and_introduced_levels_are_located_in_the_include(self, compile_files):
        config = TUPLE_CSV.replace("  b: ['1', '2']\n", "")
        compiled = compile_files({"config.yaml": config, "items/t.csv": "a,b\nx,1\nx,2\nx,1\n"})
        assert list(compiled.rows()) == [("x", "1"), ("x", "2")]
        assert [(d.code, loc_of(d)) for d in compiled.diagnostics] == [("R008", ("t.csv", 4, None)), ("R016", ("config.yaml", 2, 10))]  # y: dropped
        assert compiled.design.origins["b"]["2"].line == 3

    def test_tuple_csv_without_axes_takes_the_header(self, compile_files):
        config = "axes: {}\nrules:\n  tuples:\n    t:\n      items: '@file:t.csv'\n"
        compiled = compile_files({"config.yaml": config, "t.csv": "m,e\nm1,e1\nm2,e2\n"})
        assert compiled.columns == ["m", "e"]
        assert list(compiled.rows()) == [("m1", "e1"), ("m2", "e2")]

    def test_tuple_json_items(self, compile_files):
        files = {"config.yaml": TUPLE_CSV.replace("t.csv", "t.json"), "items/t.json": '[["y", "2"], ["x", "1"]]'}
        assert list(compile_files(files).rows()) == [("y", "2"), ("x", "1")]

    def test_tuple_json_arity_mismatch_is_r010_located(self, make_bundle):
        files = {"config.yaml": TUPLE_CSV.replace("t.csv", "t.json"), "items/t.json": '[["x", "1"],\n ["y"]]'}
        d = diag(include_error(make_bundle, files), "R010")
        assert loc_of(d)[:2] == ("t.json", 2)

    def test_tuple_list_include_without_axes_is_an_error(self, make_bundle):
        config = "axes: {}\nrules:\n  tuples:\n    t:\n      items: '@file:t.json'\n"
        exc = include_error(make_bundle, {"config.yaml": config, "t.json": '[["x", "1"]]'})
        assert codes(exc) == ["R010"]

    def test_one_include_may_feed_several_rules(self, compile_files):
        config = ("axes:\n  a: '@file:rel.csv'\n  b: '@file:rel.csv'\nrules:\n  pairs:\n    p:\n      left: a\n"
                  "      right: b\n      allowed: '@file:rel.csv'\n")
        compiled = compile_files({"config.yaml": config, "rel.csv": "a,b\nx,1\ny,2\n"})
        assert list(compiled.rows()) == [("x", "1"), ("y", "2")]


# -- the plain-CSV fast reader agrees with the general one --------------------------

PLAIN_OR_NOT = [
    "a\nx\ny\n", "a\r\nx\r\n y \r\n", "a\rx\ry", "a,b\nx,1\ny , 2\n", "a\nx\n\ny\n", "a\n\"x\"\ny\n",
    "a,b\nx,1\ny\n", "a\nx,1\n", "a,a\nx,y\n", "a\nx\n \n", "a,b\nx,\n", " a \nx", "a\nx\0y\n", "\n\na\nx\n",
    "a\n" + "x" * 131_073 + "\n",
]


@pytest.mark.parametrize("text", PLAIN_OR_NOT)
def test_plain_csv_reader_reads_what_the_general_reader_reads(text):
    from cohort_dsl.includes import _read_any_csv, _read_csv

    def outcome(reader):
        try:
            include = reader(text, "items/a.csv")
        except SpecError as exc:
            return [(d.code, d.message, d.location) for d in exc.diagnostics]
        return include.header, list(include.rows), list(include.locations), include.header_line

    assert outcome(_read_csv) == outcome(_read_any_csv)


class TestRefusedWhileReading:
    """Without rules the count is the product of the distinct levels: a spec
    above the row limit is refused as its includes are read."""

    FILES = {"config.yaml": "axes:\n  a: '@file:items/a.csv'\n  b: [x, y]\n  c: '@file:items/c.csv'\n",
             "items/a.csv": "a\n" + "".join(f"a{i}\n" for i in range(3000)),
             "items/c.csv": "c\n" + "".join(f"c{i % 500}\n" for i in range(2000))}

    def test_the_exact_count_when_every_include_was_needed(self, make_bundle):
        error = include_error(make_bundle, self.FILES, Limits(max_rows=2_999_999))
        assert codes(error) == ["R014"]
        assert "expands to 3,000,000 rows" in error.diagnostics[0].message  # c counts its 500 distinct values
        assert loc_of(error.diagnostics[0]) == ("config.yaml", 1, 1)

    def test_includes_after_the_limit_are_not_read(self, make_bundle):
        files = {**self.FILES, "items/c.csv": "c\n\"unterminated\n"}
        error = include_error(make_bundle, files, Limits(max_rows=1000))
        assert codes(error) == ["R014"]
        assert "at least 6,000 rows" in error.diagnostics[0].message

    # above the size counted exactly (150,001 rows): such an include is counted from its first lines
    LARGE = 150_001

    def test_large_includes_are_refused_from_their_first_lines(self, make_bundle):
        large = {"config.yaml": "axes:\n  a: '@file:items/a.csv'\n  c: '@file:items/c.txt'\n",
                 "items/a.csv": "a,note\n" + "".join(f"a{i},n\n" for i in range(self.LARGE)) + "short\n",
                 "items/c.txt": "".join(f"c{i}\n" for i in range(self.LARGE))}
        from cohort_dsl.files import digest_bytes, recording

        path = make_bundle(large)
        with recording() as reads, pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(path))
        # the short row at the end is never parsed: the product is over long before it
        assert codes(info) == ["R014"]
        message = info.value.diagnostics[0].message
        assert "expands to at least" in message and "above the limit of 1,000,000" in message
        assert int(message.split("at least ")[1].split(" ")[0].replace(",", "")) > 1_000_000
        assert loc_of(info.value.diagnostics[0]) == ("config.yaml", 1, 1)
        for name in ("items/a.csv", "items/c.txt"):  # recorded as read: a cached lint can only miss
            assert reads[str((path / name).absolute())] == digest_bytes((path / name).read_bytes())

    def test_a_large_include_before_an_astronomical_product_needs_one_value(self, make_bundle):
        axes = "".join(f"  x{i}: [{', '.join(f'v{j}' for j in range(10))}]\n" for i in range(330))  # 10^330
        files = {"config.yaml": "axes:\n  a: '@file:items/a.txt'\n" + axes,
                 "items/a.txt": "".join(f"a{i}\n" for i in range(self.LARGE))}
        error = include_error(make_bundle, files)
        assert codes(error) == ["R014"]
        assert f"expands to at least {10 ** 330:,} rows" in error.diagnostics[0].message  # a's first value sufficed

    def test_a_large_include_whose_first_lines_repeat_is_counted_exactly(self, make_bundle):
        repeats = "".join(f"{'v' * 100}{i % 2}\n" for i in range(11_000))  # 1.1 MB: all the bytes kept
        files = {"config.yaml": "axes:\n  a: '@file:items/a.csv'\n  b: [x, y, z]\n",
                 "items/a.csv": "a\n" + repeats + "".join(f"a{i}\n" for i in range(self.LARGE))}
        error = include_error(make_bundle, files, Limits(max_rows=100_000))
        assert codes(error) == ["R014"]
        assert f"expands to {3 * (self.LARGE + 2):,} rows" in error.diagnostics[0].message

    def test_a_large_include_that_is_not_plain_is_counted_by_reading_it(self, make_bundle):
        files = {"config.yaml": "axes:\n  a: '@file:items/a.csv'\n  b: [x, y, z, w, v, u, t]\n",
                 "items/a.csv": 'a\n"quoted, once"\n' + "".join(f"a{i}\r\n" for i in range(self.LARGE))}
        error = include_error(make_bundle, files)
        assert codes(error) == ["R014"]
        assert f"expands to {7 * (self.LARGE + 1):,} rows" in error.diagnostics[0].message

    @pytest.mark.parametrize("text, rows", [("a\nx\ny\n", 2), ("a\r\nx\r\ny", 2), ("a\rx\ry\r\r", 3), ("", 0),
                                            ('a\n"x\ny"\n', 2)])
    def test_a_survey_bounds_the_rows_of_a_csv(self, tmp_path, text, rows):
        from cohort_dsl.includes import Survey

        (tmp_path / "a.csv").write_bytes(text.encode())
        assert Survey.of(tmp_path / "a.csv", Limits()).rows_at_most == rows
        assert Survey.of(tmp_path / "a.yaml", Limits()) is None

    def test_a_spec_with_rules_is_counted_after_them(self, compile_files):
        files = {**self.FILES, "config.yaml": self.FILES["config.yaml"] + "rules:\n  subsets:\n    a: [a1, a2]\n"}
        assert compile_files(files).count == 2 * 2 * 500
