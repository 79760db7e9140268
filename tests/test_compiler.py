"""The compiler and row streaming (docs/spec_dsl.md, "Order, columns and
count" and "Seeds"): order, columns, the funnel, the count before rows, the
row limit, --limit, and seeded permutations."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import codes, compile_mapping, diag, loc_of
from cohort_dsl.bundle import load_bundle, load_mapping
from cohort_dsl.compiler import compile_bundle
from cohort_dsl.diagnostics import SpecError
from cohort_dsl.permutation import Permutation

SIMPLE = {"axes": {"a": ["x", "y"], "b": ["1", "2", "3"]}}


# -- row order ---------------------------------------------------------------------

class TestRowOrder:
    def test_product_last_axis_fastest(self):
        compiled = compile_mapping(SIMPLE)
        assert compiled.columns == ["a", "b"]
        assert list(compiled.rows()) == [("x", "1"), ("x", "2"), ("x", "3"), ("y", "1"), ("y", "2"), ("y", "3")]

    def test_three_axes(self):
        compiled = compile_mapping({"axes": {"a": ["a1", "a2"], "b": ["b1", "b2"], "c": ["c1", "c2"]}})
        got = ["".join(v[-1] for v in row) for row in compiled.rows()]
        assert got == ["111", "112", "121", "122", "211", "212", "221", "222"]

    def test_a_factor_sits_at_the_position_of_its_earliest_axis(self):
        # p couples a (position 0) with c (position 2): the factor {a, c}
        # varies slowest; b varies fastest.
        data = {"axes": {"a": ["x", "y"], "b": ["1", "2"], "c": ["u", "v"]},
                "rules": {"pairs": {"p": {"left": "c", "right": "a", "allowed": [["v", "x"], ["u", "y"]]}}}}
        compiled = compile_mapping(data)
        assert compiled.columns == ["a", "b", "c"]
        assert list(compiled.rows()) == [("x", "1", "v"), ("x", "2", "v"), ("y", "1", "u"), ("y", "2", "u")]
        assert [f["axes"] for f in compiled.explain()["factors"]] == [["a", "c"], ["b"]]

    def test_factor_of_later_axes_varies_fastest(self):
        data = {"axes": {"a": ["x", "y"], "b": ["1", "2"], "c": ["u", "v"]},
                "rules": {"pairs": {"p": {"left": "b", "right": "c", "allowed": [["2", "v"], ["1", "u"]]}}}}
        assert list(compile_mapping(data).rows()) == [("x", "2", "v"), ("x", "1", "u"), ("y", "2", "v"), ("y", "1", "u")]

    def test_dicts_align_with_columns(self):
        compiled = compile_mapping({**SIMPLE, "output": {"field_order": ["b"]}})
        assert compiled.columns == ["b", "a"]
        assert list(compiled.dicts())[:2] == [{"b": "1", "a": "x"}, {"b": "2", "a": "x"}]
        assert list(compiled.rows())[:2] == [("1", "x"), ("2", "x")]

    def test_rows_can_be_iterated_again(self):
        compiled = compile_mapping(SIMPLE)
        assert list(compiled.rows()) == list(compiled.rows())


# -- columns -----------------------------------------------------------------------

class TestColumns:
    def test_field_order_first_then_axis_order(self):
        data = {"axes": {"a": ["x"], "b": ["y"], "c": ["z"], "d": ["w"]}, "output": {"field_order": ["c", "a"]}}
        compiled = compile_mapping(data)
        assert compiled.columns == ["c", "a", "b", "d"]
        assert list(compiled.rows()) == [("z", "x", "y", "w")]

    def test_field_order_may_name_tuple_only_axes(self):
        data = {"axes": {"a": ["x"]}, "rules": {"tuples": {"t": {"axes": ["m", "e"], "items": [["m1", "e1"]]}}},
                "output": {"field_order": ["e", "a"]}}
        compiled = compile_mapping(data)
        assert compiled.columns == ["e", "a", "m"]
        assert list(compiled.rows()) == [("e1", "x", "m1")]

    def test_field_order_naming_an_unknown_field_is_r013(self, make_bundle):
        path = make_bundle({"config.yaml": "axes:\n  a: [x]\n  b: [y]\noutput:\n  field_order: [b, c]\n"})
        with pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(path))
        d = diag(info, "R013")
        assert codes(info) == ["R013"]
        assert loc_of(d) == ("config.yaml", 5, 20)

    def test_field_order_naming_a_rule_is_r013(self):
        data = {"axes": {"a": ["x"], "b": ["x"]}, "rules": {"ties": {"t": ["a", "b"]}}, "output": {"field_order": ["t"]}}
        with pytest.raises(SpecError) as info:
            compile_mapping(data)
        assert codes(info) == ["R013"]

    def test_field_order_did_you_mean(self):
        with pytest.raises(SpecError) as info:
            compile_mapping({"axes": {"draft_template": ["x"]}, "output": {"field_order": ["draft_templates"]}})
        assert "draft_template" in info.value.diagnostics[0].hint

    def test_a_spec_without_any_axis_is_r009(self, make_bundle):
        path = make_bundle({"config.yaml": "axes: {}\n"})
        with pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(path))
        assert codes(info) == ["R009"]
        assert loc_of(info.value.diagnostics[0])[:2] == ("config.yaml", 1)

    def test_axes_may_be_empty_with_tuples(self):
        data = {"axes": {}, "rules": {"tuples": {"t": {"axes": ["a"], "items": [["x"]]}}}}
        assert compile_mapping(data).columns == ["a"]


# -- funnel and explain --------------------------------------------------------------

class TestFunnel:
    def test_count_after_each_rule_in_document_order(self):
        data = {"axes": {"a": ["x", "y", "z"], "b": ["x", "y", "z"], "c": ["1", "2"]}, "rules": {
            "subsets": {"a": ["x", "y"]},
            "ties": {"t": ["a", "b"]},
            "pairs": {"p": {"left": "t", "right": "c", "allowed": [["x", "1"]]}},
        }}
        compiled = compile_mapping(data)
        assert [(s.label, s.rows) for s in compiled.funnel] == [
            ("axes", 18), ("subsets a", 12), ("ties t", 4), ("pairs p", 1),
        ]
        explained = compiled.explain()
        assert [(s["step"], s["rows"]) for s in explained["funnel"]] == [
            ("axes", 18), ("subsets a", 12), ("ties t", 4), ("pairs p", 1),
        ]

    def test_funnel_steps_carry_lines(self, make_bundle):
        config = "axes:\n  a: [x, y]\nrules:\n  subsets:\n    a: [x]\n"
        compiled = compile_bundle(load_bundle(make_bundle({"config.yaml": config})))
        assert [s.get("line") for s in compiled.explain()["funnel"]] == [1, 5]

    def test_explain_shape(self):
        info = compile_mapping({**SIMPLE, "output": {"seed": 3}}).explain()
        assert info["rows"] == 6
        assert info["columns"] == ["a", "b"]
        assert info["factors"] == [
            {"axes": ["a"], "rows": 2, "position": 0, "rules": []},
            {"axes": ["b"], "rows": 3, "position": 1, "rules": []},
        ]
        assert info["seed"] == 3
        json.dumps(info)  # JSON-serialisable

    def test_explain_rows_equals_generated_rows(self):
        data = {"axes": {"a": ["x", "y", "z"], "b": ["x", "y"], "c": ["1", "2", "3"]}, "rules": {
            "ties": {"t": ["a", "b"]}, "subsets": {"c": ["1", "3"]}}}
        compiled = compile_mapping(data)
        assert compiled.explain()["rows"] == compiled.count == len(list(compiled.rows())) == 4

    def test_factor_rules_are_recorded(self):
        data = {"axes": {"a": ["x", "y"], "b": ["x", "y"]}, "rules": {"ties": {"t": ["a", "b"]}, "subsets": {"b": ["x"]}}}
        factors = compile_mapping(data).explain()["factors"]
        assert factors == [{"axes": ["a", "b"], "rows": 1, "position": 0, "rules": ["ties t", "subsets b"]}]


# -- count before rows; the row limit --------------------------------------------------

HUGE = {"axes": {f"a{i}": [str(j) for j in range(10)] for i in range(12)}}  # 10**12 rows


class TestRowLimit:
    def test_huge_spec_is_refused_quickly_with_r014(self):
        start = time.perf_counter()
        with pytest.raises(SpecError) as info:
            compile_mapping(HUGE)
        assert time.perf_counter() - start < 10  # a hang guard: 10^12 rows are never built
        assert codes(info) == ["R014"]
        assert "1,000,000,000,000" in info.value.diagnostics[0].message
        assert "--max-rows" in info.value.diagnostics[0].hint

    def test_r014_is_located_at_axes(self, make_bundle):
        config = "axes:\n" + "".join(f"  a{i}: [{', '.join(f'v{j}' for j in range(10))}]\n" for i in range(7))
        with pytest.raises(SpecError) as info:
            compile_bundle(load_bundle(make_bundle({"config.yaml": config})))
        assert loc_of(diag(info, "R014")) == ("config.yaml", 1, 1)

    def test_max_rows_raises_the_limit_and_count_is_known_without_rows(self):
        start = time.perf_counter()
        compiled = compile_mapping(HUGE, max_rows=10**12)
        assert compiled.count == 10**12
        assert compiled.explain()["rows"] == 10**12
        first = next(iter(compiled.rows()))
        assert first == ("0",) * 12
        assert len(list(compiled.rows(limit=3))) == 3
        assert time.perf_counter() - start < 10  # a hang guard, as above

    def test_max_rows_lowers_the_limit(self):
        assert compile_mapping(SIMPLE, max_rows=6).count == 6
        with pytest.raises(SpecError) as info:
            compile_mapping(SIMPLE, max_rows=5)
        assert codes(info) == ["R014"]

    def test_a_join_above_the_limit_is_refused_before_it_is_built(self):
        big = [str(i) for i in range(500)]
        data = {"axes": {"a": big, "b": big, "c": ["x", "y"]},
                "rules": {"pairs": {"p": {"left": "c", "right": "a", "allowed": [["x", "0"]]}},
                          "tuples": {"t": {"axes": ["a", "b", "c"], "items": [["0", "0", "x"]]}}}}
        # fine: the pair keeps a small factor
        assert compile_mapping(data).count == 1
        tie_huge = {"axes": {"a": big, "b": big, "c": big, "d": big}, "rules": {"ties": {"t": ["a", "c"]}}}
        with pytest.raises(SpecError) as info:
            compile_mapping(tie_huge, max_rows=400)
        assert codes(info) == ["R014"]


# -- limit -----------------------------------------------------------------------------

class TestLimit:
    @pytest.mark.parametrize("limit, expected", [(0, 0), (1, 1), (4, 4), (6, 6), (100, 6)])
    def test_limit_takes_a_prefix(self, limit, expected):
        compiled = compile_mapping(SIMPLE)
        assert list(compiled.rows(limit=limit)) == list(compiled.rows())[:expected]

    def test_limit_with_seed_takes_a_prefix_of_the_seeded_order(self):
        compiled = compile_mapping(SIMPLE)
        assert list(compiled.rows(seed=5, limit=4)) == list(compiled.rows(seed=5))[:4]


# -- seeds -------------------------------------------------------------------------------

MEDIUM = {"axes": {"a": [f"a{i}" for i in range(7)], "b": [f"b{i}" for i in range(5)], "c": ["x", "y", "z"]}}


class TestSeed:
    def test_same_seed_same_order(self):
        first = list(compile_mapping(MEDIUM).rows(seed=11))
        second = list(compile_mapping(MEDIUM).rows(seed=11))
        assert first == second

    def test_different_seeds_differ(self):
        compiled = compile_mapping(MEDIUM)
        orders = {tuple(compiled.rows(seed=s)) for s in range(5)}
        assert len(orders) == 5
        assert tuple(compiled.rows()) not in orders

    @pytest.mark.parametrize("seed", [0, 1, 2, 99, 2**40])
    def test_seeded_rows_are_a_permutation_of_the_unseeded_rows(self, seed):
        compiled = compile_mapping(MEDIUM)
        plain = list(compiled.rows())
        seeded = list(compiled.rows(seed=seed))
        assert len(seeded) == len(plain) == compiled.count
        assert sorted(seeded) == sorted(plain)

    @pytest.mark.parametrize("n", [1, 2, 3, 5, 16, 17, 100, 1000])
    def test_permutation_is_a_bijection(self, n):
        assert sorted(Permutation(n, 7)) == list(range(n))

    @pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 17, 1000, 4097, 3 * 2**33])
    def test_permutation_blocks_are_the_permutation(self, n):
        permutation = Permutation(n, 9)
        for count in {1, min(n, 1500)}:
            assert [x for block in permutation.take(count) for x in block] == [permutation(i) for i in range(count)]

    @pytest.mark.parametrize("few", [0, 10**9])  # out-of-range indices walked packed, or one by one
    @pytest.mark.parametrize("n", [70_000, 700_000, 3_000_000, 5_000_000])
    def test_permutation_planes_are_the_permutation(self, n, few, monkeypatch):
        # halves of 9 and 10 bits (high bytes packed in one translate), 11
        # (a translate per group) and 12 (list rounds); a full block, then a
        # partial one; 700,000 walks a third of its indices
        from cohort_dsl import permutation

        monkeypatch.setattr(permutation, "_FEW", few)
        perm = Permutation(n, 3)
        count = permutation._BLOCK + 5
        assert [x for block in perm.take(count) for x in block] == [perm(i) for i in range(count)]

    def test_seeded_order_computed_ahead_is_the_order(self, tmp_path):
        # take_ahead forks a child that computes the blocks while the parent
        # writes (only in a process without other threads: a subprocess
        # here, since the test runner has threads). Same blocks as take();
        # a child that fails is an error; a consumer that stops early leaves
        # no child behind.
        script = tmp_path / "ahead.py"
        script.write_text(textwrap.dedent("""\
            import os, sys
            from cohort_dsl import permutation
            from cohort_dsl.permutation import Permutation

            assert "threading" not in sys.modules or __import__("threading").active_count() == 1
            for n, count in ((permutation._AHEAD_MIN, permutation._AHEAD_MIN), (700_001, 150_000)):
                perm = Permutation(n, 5)
                assert list(perm.take_ahead(count)) == list(perm.take(count)), n

            started = Permutation(10**6, 1).take_ahead(permutation._AHEAD_MIN)
            next(started)
            started.close()  # the child is stopped and reaped
            try:
                os.waitpid(-1, os.WNOHANG)
                raise SystemExit("a child process was left behind")
            except ChildProcessError:
                pass

            class Failing(Permutation):
                def take(self, count):
                    yield from super().take(permutation._BLOCK)
                    raise MemoryError

            try:
                list(Failing(10**6, 1).take_ahead(permutation._AHEAD_MIN))
                raise SystemExit("a child that failed gave a short order")
            except RuntimeError as exc:
                assert f"stopped after {permutation._BLOCK:,} of {permutation._AHEAD_MIN:,} rows" in str(exc), exc
            print("ok")
        """))
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stdout == "ok\n", done.stderr

    def test_seeded_order_is_pinned(self):
        # Same seed, same order on every platform and Python version: this
        # order must never change (it would reshuffle existing cohorts).
        compiled = compile_mapping(SIMPLE)
        assert list(compiled.rows(seed=42)) == [
            ("x", "2"), ("x", "1"), ("y", "1"), ("y", "3"), ("x", "3"), ("y", "2"),
        ]
        assert list(Permutation(10, 12345)) == [5, 6, 7, 1, 9, 3, 4, 8, 0, 2]

    def test_output_seed_is_read_from_the_spec(self):
        assert compile_mapping({**MEDIUM, "output": {"seed": 7}}).seed == 7
        assert compile_mapping(MEDIUM).seed is None

    def test_output_seed_is_used_by_compile(self, make_bundle, capsys, monkeypatch, tmp_path):
        from cohort_dsl.cli import main

        monkeypatch.chdir(tmp_path)
        axes = "axes:\n  a: [a0, a1, a2, a3]\n  b: [b0, b1, b2]\n"
        seeded = make_bundle({"config.yaml": axes + "output:\n  seed: 7\n"})
        plain = make_bundle({"config.yaml": axes})

        def run(*args):
            assert main(["compile", *map(str, args), "--format", "jsonl"]) == 0
            return capsys.readouterr().out

        expected_order = list(compile_mapping({"axes": {"a": ["a0", "a1", "a2", "a3"], "b": ["b0", "b1", "b2"]}}).dicts(seed=7))
        assert [json.loads(line) for line in run(seeded).splitlines()] == expected_order
        assert run(seeded) == run(plain, "--seed", 7)
        assert run(seeded, "--seed", 8) == run(plain, "--seed", 8)
        assert run(plain) != run(seeded)

    def test_seed_one_row(self):
        assert list(compile_mapping({"axes": {"a": ["x"]}}).rows(seed=3)) == [("x",)]


# -- the text writer agrees with the tuple stream -------------------------------------

AWKWARD = ["a%sb", "100%", 'q"uote', "com,ma", "new\nline", "ü", "%%", "%(x)s", " sp "]


@pytest.mark.parametrize("write_chars", [None, 40])  # 40: a write every line or two
@pytest.mark.parametrize("seed", [None, 4])
@pytest.mark.parametrize("field_order", [[], ["i", "o"]])
def test_csv_and_jsonl_writers_agree_with_rows(seed, field_order, write_chars, monkeypatch):
    from cohort_dsl import rows

    if write_chars is not None:
        monkeypatch.setattr(rows, "WRITE_CHARS", write_chars)
    compiled = compile_mapping({
        "axes": {"o": AWKWARD, "mid": [str(i) for i in range(200)], "i": AWKWARD},
        "rules": {"subsets": {"mid": [str(i) for i in range(0, 200, 2)]}},
        "output": {"field_order": field_order},
    })
    expected = list(compiled.rows(seed=seed))
    buf = io.StringIO()
    assert compiled.plan().write(buf, "jsonl", seed=seed) == len(expected)
    lines = buf.getvalue().splitlines()
    assert [tuple(json.loads(line).values()) for line in lines] == expected
    assert all(list(json.loads(line)) == compiled.columns for line in lines[:3])
    buf = io.StringIO()
    compiled.plan().write(buf, "csv", seed=seed)
    parsed = [tuple(r) for r in csv.reader(io.StringIO(buf.getvalue(), newline=""))]
    assert parsed[0] == tuple(compiled.columns)
    assert parsed[1:] == expected


# Outer values first, in the middle, split around inner ones, and absent (all
# inner): each writes its lines another way (docs/performance.md).
ONE_LINE = [v for v in AWKWARD if "\n" not in v]
LAYOUTS = [["o1", "o2", "i1", "i2"], ["i1", "o1", "o2", "i2"], ["o1", "i1", "o2", "i2"], ["i1", "i2", "o1", "o2"]]


@pytest.mark.parametrize("field_order", LAYOUTS)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("outer_texts", [None, 3])
def test_seeded_line_k_is_unseeded_line_perm_k(field_order, fmt, outer_texts, monkeypatch):
    from cohort_dsl import rows

    monkeypatch.setattr(rows, "BLOCK_ROWS", 20)  # small blocks: small specs take every path
    monkeypatch.setattr(rows, "WRITE_CHARS", 100)  # and writes of a few lines
    if outer_texts is not None:  # outer texts decoded on demand instead of listed
        monkeypatch.setattr(rows, "OUTER_TEXTS", outer_texts)
    compiled = compile_mapping({
        "axes": {"o1": ONE_LINE, "o2": ["p%", "q", "r,s"], "i1": [str(i) for i in range(5)], "i2": ONE_LINE[:4]},
        "output": {"field_order": field_order},
    })
    assert compiled.plan().split == 2  # o1 and o2 are the outer factors
    plain, seeded = io.StringIO(), io.StringIO()
    compiled.plan().write(plain, fmt, header=False)
    assert compiled.plan().write(seeded, fmt, seed=5, limit=150, header=False) == 150
    plain_lines, perm = plain.getvalue().splitlines(keepends=True), Permutation(compiled.count, 5)
    assert seeded.getvalue().splitlines(keepends=True) == [plain_lines[perm(k)] for k in range(150)]
    assert len(plain_lines) == compiled.count


@pytest.mark.parametrize("axes", [{"o": [f"o{i}" for i in range(41)], "i": [f"i{i}" for i in range(101)]},
                                  {"only": [f"v{i}" for i in range(4141)]}])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_seeded_writer_blocks_of_one_row(axes, fmt):
    # 4,097 rows: a whole block of the permutation, then a block of one row
    from cohort_dsl import permutation

    compiled = compile_mapping({"axes": axes})
    plain, seeded = io.StringIO(), io.StringIO()
    compiled.plan().write(plain, fmt, header=False)
    assert compiled.plan().write(seeded, fmt, seed=2, limit=permutation._BLOCK + 1, header=False) == permutation._BLOCK + 1
    plain_lines, perm = plain.getvalue().splitlines(keepends=True), Permutation(compiled.count, 2)
    assert seeded.getvalue().splitlines(keepends=True) == [plain_lines[perm(k)] for k in range(permutation._BLOCK + 1)]


@pytest.mark.parametrize("limit", [0, 1, 299, 300, 301, 10**6])
def test_writer_limit(limit):
    compiled = compile_mapping({"axes": {"a": [str(i) for i in range(300)], "b": ["x", "y", "z"]}})
    buf = io.StringIO()
    written = compiled.plan().write(buf, "jsonl", limit=limit)
    assert written == min(limit, 900)
    assert [tuple(json.loads(line).values()) for line in buf.getvalue().splitlines()] == list(compiled.rows(limit=limit))


def test_load_mapping_accepts_tuples_and_int_keys():
    compiled = compile_bundle(load_mapping({"axes": {1: ("x", "y")}}))
    assert compiled.columns == ["1"]
    assert list(compiled.rows()) == [("x",), ("y",)]
