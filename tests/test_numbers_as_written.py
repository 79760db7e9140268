"""Numbers are kept as written, never rewritten (docs/spec_dsl.md "Axes and
levels", docs/rules.md Y003).

YAML 1.1 reads ``010`` as 8, ``0x1F`` as 31, ``1_000`` as 1000, ``12:30`` as
750 and ``+5`` as 5. Levels are text, so turning those integers back into
strings would silently rewrite them. Only canonical decimal integers
(``0``, ``7``, ``-3``, ``42``) are accepted unquoted and become their text;
every other number spelling is a Y003 error at the value whose hint quotes
the text as written, inline in config.yaml, in rules, and in YAML/JSON
includes alike. ``output.seed`` must be a plain decimal integer.

Every case runs the real CLI in process (``cohort-dsl compile``).
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from cohort_dsl.cli import main
from cohort_dsl.levels import is_canonical_decimal, looks_like_number

#: ``path:line:col: CODE message`` and its ``hint:`` line
DIAGNOSTIC = re.compile(r"^(?P<path>\S+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]\d{3}) (?P<message>.*)"
                        r"(?:\n  hint: (?P<hint>.*))?", re.MULTILINE)

#: spelling -> what YAML (1.1, or 1.2/JSON) would make of it
NON_CANONICAL = {
    "007": "7", "010": "8", "0x1F": "31", "0b11": "3", "1_000": "1000", "12:30": "750", "1:30": "90", "+5": "5",
    "1e3": "1000", "1.5": None, ".5": None, ".inf": None, ".nan": None,
    # text to YAML 1.1, numbers to YAML 1.2 and JSON; `-0` would print as 0
    "08": "8", "0o17": "15", "-0": "0", "1.5e3": "1500",
}
CANONICAL = ["0", "7", "-3", "42", "100"]


@pytest.fixture
def compile_cli(tmp_path, capsys, monkeypatch):
    """``compile_cli(files, *args)`` writes the bundle into ``tmp_path``,
    runs ``cohort-dsl compile config.yaml`` there and returns
    ``(exit code, stdout, diagnostics)``."""
    monkeypatch.chdir(tmp_path)

    def run(files: dict, *args):
        for name, text in files.items():
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        code = main(["compile", "config.yaml", *args])
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, [m.groupdict() for m in DIAGNOSTIC.finditer(err)]

    return run


def rows(out: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(out)))


def y003_at(diagnostics, path: str, line: int, col: int | None = None) -> dict:
    for d in diagnostics:
        if d["code"] == "Y003" and d["path"] == path and int(d["line"]) == line and (col is None or int(d["col"]) == col):
            return d
    raise AssertionError(f"no Y003 at {path}:{line}:{col} among {diagnostics}")


def col_of(line: str, value: str) -> int:
    return line.index(value) + 1


# -- the rule ------------------------------------------------------------------------

class TestCanonicalDecimal:
    @pytest.mark.parametrize("raw", CANONICAL + ["12345678901234567890", "-1"])
    def test_canonical(self, raw):
        assert is_canonical_decimal(raw)

    @pytest.mark.parametrize("raw", ["007", "010", "08", "0x1F", "0b11", "0o17", "1_000", "12:30", "+5", "-0", "+0",
                                     "1e3", "1.5", "", "-", " 7", "7 "])
    def test_not_canonical(self, raw):
        assert not is_canonical_decimal(raw)

    @pytest.mark.parametrize("raw", ["08", "09", "1e3", "1E3", "1.5e3", "0o17", "+08", "-08"])
    def test_text_to_yaml_1_1_but_a_number_elsewhere(self, raw):
        assert looks_like_number(raw)

    @pytest.mark.parametrize("raw", ["x", "t1", "2024-05-01", "1.2.3", "e3", "0:30", "m.v2", "-", "+", ".", "1e"])
    def test_names_are_not_numbers(self, raw):
        assert not looks_like_number(raw)


# -- levels inline, in block lists, in rules ---------------------------------------------

class TestInlineLevels:
    @pytest.mark.parametrize("written", list(NON_CANONICAL))
    def test_flow_list(self, compile_cli, written):
        line = f"  rep: [ok, {written}]"
        code, out, found = compile_cli({"config.yaml": f"axes:\n  name: [x]\n{line}\n"})
        assert code == 1 and out == ""
        d = y003_at(found, "config.yaml", 3, col_of(line, written))
        assert f'quote it: "{written}"' in d["hint"]
        assert written in d["message"]
        if NON_CANONICAL[written] is not None:
            assert NON_CANONICAL[written] in d["message"]  # what it would have become

    @pytest.mark.parametrize("written", list(NON_CANONICAL))
    def test_block_list(self, compile_cli, written):
        code, _, found = compile_cli({"config.yaml": f"axes:\n  rep:\n    - ok\n    - {written}\n"})
        assert code == 1
        d = y003_at(found, "config.yaml", 4, 7)
        assert f'"{written}"' in d["hint"]

    @pytest.mark.parametrize("written", list(NON_CANONICAL))
    def test_quoted_is_text_as_written(self, compile_cli, written):
        code, out, found = compile_cli({"config.yaml": f"axes:\n  rep: ['{written}', \"{written}x\"]\n"})
        assert code == 0, found
        assert rows(out) == [["rep"], [written], [f"{written}x"]]

    def test_canonical_decimals_are_their_text(self, compile_cli):
        code, out, found = compile_cli({"config.yaml": f"axes:\n  rep: [{', '.join(CANONICAL)}]\n"})
        assert code == 0, found
        assert rows(out) == [["rep"]] + [[v] for v in CANONICAL]

    def test_every_bad_level_is_reported(self, compile_cli):
        line = "  rep: [1, 010, 2, 0x1F, +5]"
        code, _, found = compile_cli({"config.yaml": f"axes:\n{line}\n"})
        assert code == 1
        assert [(int(d["line"]), int(d["col"])) for d in found if d["code"] == "Y003"] == \
            [(2, col_of(line, "010")), (2, col_of(line, "0x1F")), (2, col_of(line, "+5"))]

    @pytest.mark.parametrize("written", ["010", "0x1F", "1_000", "12:30", "+5", "1e3"])
    def test_in_subsets(self, compile_cli, written):
        config = f"axes:\n  a: [x, '{written}']\nrules:\n  subsets:\n    a: [{written}]\n"
        code, _, found = compile_cli({"config.yaml": config})
        assert code == 1
        assert f'"{written}"' in y003_at(found, "config.yaml", 5, 9)["hint"]

    @pytest.mark.parametrize("written", ["010", "12:30", "+5", "08"])
    def test_in_pair_allowed(self, compile_cli, written):
        config = (f"axes:\n  a: ['{written}']\n  b: [y]\nrules:\n  pairs:\n    p:\n      left: a\n      right: b\n"
                  f"      allowed:\n        - [{written}, y]\n")
        code, _, found = compile_cli({"config.yaml": config})
        assert code == 1
        assert f'"{written}"' in y003_at(found, "config.yaml", 10, 12)["hint"]

    @pytest.mark.parametrize("written", ["007", "1:30", "0b11", "1e3"])
    def test_in_tuple_item(self, compile_cli, written):
        config = f"axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      axes: [b, c]\n      items:\n        - [p, {written}]\n"
        code, _, found = compile_cli({"config.yaml": config})
        assert code == 1
        assert f'"{written}"' in y003_at(found, "config.yaml", 8, 15)["hint"]

    def test_quoted_in_rules_match_quoted_levels(self, compile_cli):
        config = ("axes:\n  a: ['010', '011']\n  b: [y]\nrules:\n  subsets:\n    a: ['010']\n  pairs:\n    p:\n"
                  "      left: a\n      right: b\n      allowed:\n        - ['010', y]\n")
        code, out, found = compile_cli({"config.yaml": config})
        assert code == 0, found
        assert rows(out) == [["a", "b"], ["010", "y"]]


# -- includes ------------------------------------------------------------------------------

class TestIncludes:
    @pytest.mark.parametrize("written", list(NON_CANONICAL))
    def test_yaml_include(self, compile_cli, written):
        files = {"config.yaml": "axes:\n  rep: '@file:items/rep.yaml'\n", "items/rep.yaml": f"- ok\n- {written}\n"}
        code, _, found = compile_cli(files)
        assert code == 1
        d = y003_at(found, "items/rep.yaml", 2, 3)
        assert f'quote it: "{written}"' in d["hint"]

    @pytest.mark.parametrize("written", list(NON_CANONICAL))
    def test_yml_flow_include(self, compile_cli, written):
        files = {"config.yaml": "axes:\n  rep: '@file:rep.yml'\n", "rep.yml": f"[ok, {written}]\n"}
        code, _, found = compile_cli(files)
        assert code == 1
        assert f'"{written}"' in y003_at(found, "rep.yml", 1, 6)["hint"]

    @pytest.mark.parametrize("written", ["1e3", "1E3", "-0", "1.5", "1e+3"])
    def test_json_numbers_that_are_not_canonical(self, compile_cli, written):
        files = {"config.yaml": "axes:\n  rep: '@file:rep.json'\n", "rep.json": f'["ok",\n {written}]\n'}
        code, _, found = compile_cli(files)
        assert code == 1
        assert f'"{written}"' in y003_at(found, "rep.json", 2, 2)["hint"]

    def test_canonical_decimals_in_includes(self, compile_cli):
        files = {"config.yaml": "axes:\n  a: '@file:a.yaml'\n  b: '@file:b.json'\n",
                 "a.yaml": "".join(f"- {v}\n" for v in CANONICAL), "b.json": json.dumps([7, -3])}
        code, out, found = compile_cli(files)
        assert code == 0, found
        assert sorted({r[0] for r in rows(out)[1:]}) == sorted(CANONICAL)
        assert {r[1] for r in rows(out)[1:]} == {"7", "-3"}

    @pytest.mark.parametrize("written", ["010", "0x1F", "1_000", "12:30", "+5", "1e3"])
    def test_csv_and_txt_includes_are_text_already(self, compile_cli, written):
        files = {"config.yaml": "axes:\n  a: '@file:a.csv'\n  b: '@file:b.txt'\n",
                 "a.csv": f"a\n{written}\n", "b.txt": f"{written}\n"}
        code, out, found = compile_cli(files)
        assert code == 0, found
        assert rows(out) == [["a", "b"], [written, written]]

    @pytest.mark.parametrize("written", ["010", "12:30", "+5"])
    def test_tuple_rows_in_a_yaml_include(self, compile_cli, written):
        files = {"config.yaml": "axes:\n  a: [x]\nrules:\n  tuples:\n    t:\n      axes: [b, c]\n      items: '@file:t.yaml'\n",
                 "t.yaml": f"- [p, q]\n- [p, {written}]\n"}
        code, _, found = compile_cli(files)
        assert code == 1
        assert f'"{written}"' in y003_at(found, "t.yaml", 2, 7)["hint"]


# -- a realistic spec -------------------------------------------------------------------

REALISTIC = """\
axes:
  draft_template: [creative-v1, creative-v2]
  draft_llm: [sonnet-4, gpt-5]
  draft_template_replicate: [1, 2]
  replicate: [01, 02]
  evaluation_template: [rubric_3]
  evaluation_llm_replicate: [0, 10]
rules:
  subsets:
    draft_llm: [gpt-5]
output:
  field_order: [draft_llm]
"""


class TestRealisticSpec:
    def test_zero_padded_replicates_are_refused_where_written(self, compile_cli):
        code, out, found = compile_cli({"config.yaml": REALISTIC})
        assert code == 1 and out == ""
        y003 = [d for d in found if d["code"] == "Y003"]
        assert [(int(d["line"]), int(d["col"])) for d in y003] == [(5, 15), (5, 19)]
        assert 'quote it: "01"' in y003[0]["hint"] and 'quote it: "02"' in y003[1]["hint"]

    def test_quoted_they_compile_as_written(self, compile_cli):
        code, out, found = compile_cli({"config.yaml": REALISTIC.replace("[01, 02]", "['01', '02']")})
        assert code == 0, found
        table = rows(out)
        assert table[0] == ["draft_llm", "draft_template", "draft_template_replicate", "replicate", "evaluation_template",
                            "evaluation_llm_replicate"]
        assert len(table) == 1 + 2 * 2 * 2 * 2
        assert {r[3] for r in table[1:]} == {"01", "02"}
        assert {r[2] for r in table[1:]} == {"1", "2"}
        assert {r[5] for r in table[1:]} == {"0", "10"}


# -- output.seed ------------------------------------------------------------------------

class TestSeed:
    SPEC = "axes:\n  a: [p, q, r, s]\n  b: [x, y]\noutput:\n  seed: {seed}\n"

    @pytest.mark.parametrize("written, value", [("1:30", 90), ("010", 8), ("+5", 5), ("0x1F", 31), ("1_000", 1000),
                                                ("90.0", 90), ("1:30.0", 90), ("1e3", 1000)])
    def test_a_seed_not_in_plain_decimal_is_an_error(self, compile_cli, written, value):
        code, out, found = compile_cli({"config.yaml": self.SPEC.format(seed=written)})
        assert code == 1 and out == ""
        d = y003_at(found, "config.yaml", 5, 9)
        assert written in d["message"]
        assert d["hint"] == f"write it as a plain decimal integer: {value}"
        assert [x["code"] for x in found] == ["Y003"]  # not also a schema error for the same value

    def test_a_plain_seed_works(self, compile_cli):
        code, seeded, found = compile_cli({"config.yaml": self.SPEC.format(seed="90")})
        assert code == 0, found
        code, by_flag, _ = compile_cli({"config.yaml": self.SPEC.replace("output:\n  seed: {seed}\n", "")}, "--seed", "90")
        assert code == 0
        assert seeded == by_flag
        assert sorted(rows(seeded)[1:]) == sorted([a, b] for a in "pqrs" for b in "xy")

    @pytest.mark.parametrize("written", ["1.5", "abc", "'90'"])
    def test_other_wrong_seeds_stay_schema_errors(self, compile_cli, written):
        code, _, found = compile_cli({"config.yaml": self.SPEC.format(seed=written)})
        assert code == 1
        assert [d["code"] for d in found] == ["S001"]
