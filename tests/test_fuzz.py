"""Fuzzing (hypothesis): random valid, mutated and damaged spec bundles.

A spec is drawn rule by rule in document order — axes (inline, ``@file:``
includes in every format, or null), then sections of subsets, ties, pairs
(sides naming axes or earlier ties, tuples and pairs) and tuples (including
tuple-only axes) — and written to a temporary bundle as YAML (PyYAML emits
anchors and aliases where a list object is shared). Then it may be
*mutated* (a value anywhere replaced by junk: YAML traps, bad includes,
wrong shapes, unknown names) or its bytes *damaged* (truncation, byte flips,
deleted/duplicated lines, tabs, random bytes and unicode, anchors, aliases,
merge keys, recursive aliases, alias bombs); include files may be damaged
too.

Properties, for every example:

(a) nothing but :class:`SpecError` (or :class:`UsageError`) escapes
    ``load_bundle``/``load_mapping``/``compile_bundle``/``rows()``/
    ``explain()``/``build_membership(...).records()``;
(b) every diagnostic has a code the registry knows and (for a bundle on
    disk) names a file;
(c) the CLI (in-process ``cohort_dsl.cli.main``) exits 0, 1 or 2 and never
    prints a traceback;
(d) compiling twice gives the same rows, with and without a seed; a seeded
    order is a permutation of the plain one; ``load_mapping`` of the loaded
    data agrees with ``load_bundle``.

``FUZZ_EXAMPLES`` sets the example count (default 500). The ``slow``
variant (``pytest -m slow``, which ``.ci/run`` runs) runs ``FUZZ_EXAMPLES``
or 10,000 examples.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import shutil
import subprocess
import sys
import time
from itertools import count
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from cohort_dsl.bundle import load_bundle, load_mapping
from cohort_dsl.cli import main
from cohort_dsl.compiler import compile_bundle
from cohort_dsl.diagnostics import Diagnostic, SpecError, UsageError
from cohort_dsl.explain import render_text
from cohort_dsl.limits import Limits
from cohort_dsl.membership import build_membership
from cohort_dsl.pluginmanager import build_engine

ENGINE = build_engine(entry_points=False)
CODES = set(ENGINE.registry.lint_rules)
MAX_ROWS = 600
LIMITS = Limits(max_rows=MAX_ROWS)

DEFAULT_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 500)
SLOW_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 10000)

HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
          HealthCheck.large_base_example]

# -- vocabulary ------------------------------------------------------------------------

SHORT = ["a", "b", "c", "d", "e"]
LAYOUT = ["combo_id", "draft_template", "draft_llm", "essay_template", "essay_llm", "evaluation_template",
          "evaluation_llm"]
REPLICATES = ["draft_template_replicate", "essay_replicate", "evaluation_replicate", "evaluation_llm_replicate"]
NEW_AXES = ["t0", "t1", "t2", "u0"]
RULE_NAMES = ["r0", "r1", "r2", "r3", "r4", "a"]  # "a" may clash with an axis (R011)
LEVELS = ["x", "y", "z", "w", "X", " x", 1, 2, 3, "1", "x-1", "é", "2024-01-01", "m.v2"]
REPLICATE_LEVELS = [1, 2, 3, "1", "2", "0", "-1", "01", "x", "١", "²", " 2 "]
#: Inputs that once triggered bugs (now regression cases: tests/corpus/include-name-*,
#: test_resource_bounds.py::test_a_huge_integer_is_a_located_error).
KNOWN_BUG_JUNK = ["@file:items/x\x00.csv", "@file:" + "x" * 300 + ".csv"]
# (100,000 nested '[' also crash the loader, but with SIGSEGV: that one is
# only tested in a subprocess, test_resource_bounds.py)
KNOWN_BUG_INSERTS = [b"9" * 5000]
JUNK = [None, True, False, 1.5, -1, 0, 10**30, "", " ", "~", "yes", "@file:", "@file:missing.csv",
        "@file:../escape.csv", "@file:/etc/hostname", "@file:items", "@file:items/f0.xlsx", "\t", "a b", "é",
        [], {}, [[]], [None], [{"k": "v"}], [[1, [2]]], {"axes": None}, {"left": "a"}, ["x", "x"], "r0", "zz"]
JUNK += KNOWN_BUG_JUNK
SECTIONS = ["subsets", "ties", "pairs", "tuples"]
DAMAGE = ["truncate", "flip", "delete_line", "duplicate_line", "tab", "bytes", "unicode", "anchor", "alias",
          "merge", "recursive", "bomb", "trap", "indent", "bom", "crlf", "document", "odd_break", "escape"]
INCLUDE_DAMAGE = ["truncate", "flip", "delete_line", "duplicate_line", "bytes", "unicode", "comma", "quote",
                  "empty", "bom", "crlf", "odd_break", "escape"]
# Line ends YAML knows and editors do not; \u escapes of surrogates (pairs, halves).
_ODD_BREAKS = ["\x85".encode(), "\u2028".encode(), "\u2029".encode(), b"\r"]
_ESCAPES = [b'"\\ud83d\\ude80"', b'"\\ud83d"', b'"\\ude80x"', b'"\\U0001F680"', b'"\\ud83d\\ud83d"']


# -- drawing a spec --------------------------------------------------------------------

_PERCENT = st.integers(0, 99)
_SAMPLED: dict = {}  # strategies are cached: drawing is most of an example's cost


class Builder:
    """Draws a spec in document order, tracking what each name means so
    that rules mostly refer to things that exist (and sometimes do not)."""

    def __init__(self, draw):
        self.draw = draw
        self.files: dict[str, bytes] = {}
        self.counter = count()
        self.levels: dict[str, list] = {}  # axis -> levels as written
        # name -> (columns, [(value as written, flat cells)])
        self.targets: dict[str, tuple[tuple, list]] = {}
        self.null_axes: list[str] = []
        self.rule_counter = count()

    def pick(self, options):
        if not all(isinstance(o, (str, int, type(None))) for o in options):
            return self.draw(st.sampled_from(options))  # mutable values: never shared between examples
        key = tuple(map(repr, options))
        strategy = _SAMPLED.get(key)
        if strategy is None:
            strategy = _SAMPLED[key] = st.sampled_from(list(options))
        return self.draw(strategy)

    def maybe(self, p: float = 0.5) -> bool:
        return self.draw(_PERCENT) < p * 100

    # includes ------------------------------------------------------------------
    def _name(self, suffix: str) -> str:
        folder = self.pick(["items/", "", "items/sub/"])
        return f"{folder}f{next(self.counter)}.{suffix}"

    def include_levels(self, values: list, header: str) -> str:
        fmt = self.pick(["csv", "txt", "yaml", "yml", "json"])
        name = self._name(fmt)
        if fmt == "csv":
            head = header if self.maybe(0.8) else self.pick(["value", "id", header + "_x"])
            text = "\n".join([head] + [str(v) for v in values]) + "\n"
        elif fmt == "txt":
            text = "\n".join(str(v) for v in values) + "\n"
        elif fmt == "json":
            text = json.dumps(values)
        else:
            text = yaml.safe_dump(values, default_flow_style=self.pick([True, False]))
        self.files[name] = text.encode("utf-8")
        return "@file:" + name

    def include_rows(self, columns: tuple, rows: list[tuple[object, list]]) -> str:
        """``rows``: (value as written, flat cells aligned with columns)."""
        fmt = self.pick(["csv", "csv", "yaml", "json"])
        name = self._name(fmt)
        if fmt == "csv":
            order = self.draw(st.permutations(range(len(columns))))
            lines = [",".join(columns[i] for i in order)]
            lines += [",".join(str(cells[i]) for i in order) for _, cells in rows]
            newline = self.pick(["\n", "\r\n"])
            text = newline.join(lines) + newline
        elif fmt == "json":
            text = json.dumps([value for value, _ in rows])
        else:
            text = yaml.safe_dump([value for value, _ in rows], default_flow_style=self.pick([True, False, None]))
        self.files[name] = text.encode("utf-8")
        return "@file:" + name

    # axes ----------------------------------------------------------------------
    def axis_levels(self, axis: str) -> list:
        pool = REPLICATE_LEVELS if axis in REPLICATES else LEVELS
        return self.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))

    def build(self) -> dict:
        layout = self.maybe(0.35)
        if layout:
            names = list(LAYOUT) + ([self.pick(REPLICATES)] if self.maybe(0.4) else [])
            declared = [n for n in names if self.maybe(0.95)]
        else:
            smallest = 0 if self.maybe(0.05) else 1
            declared = self.draw(st.lists(st.sampled_from(SHORT), min_size=smallest, max_size=5, unique=True))
        spec: dict = {"axes": {}}
        shared = None
        for axis in declared:
            levels = self.axis_levels(axis)
            if layout and axis not in REPLICATES:
                levels = levels[:2]  # keep membership small
            if shared is not None and self.maybe(0.15):
                levels = shared  # the same object twice: PyYAML writes an anchor and an alias
            shared = levels
            self.levels[axis] = [v for v in levels]
            how = self.draw(st.sampled_from(["inline"] * 6 + ["include"] * 3 + ["null"]))
            if how == "inline":
                spec["axes"][axis] = levels
            elif how == "include":
                spec["axes"][axis] = self.include_levels(levels, axis)
            else:
                spec["axes"][axis] = None  # filled by a tuple, or R009
                self.null_axes.append(axis)
            self.targets[axis] = ((axis,), [(v, [v]) for v in levels])
        undeclared = [n for n in (LAYOUT if layout else NEW_AXES) if n not in declared]
        rules: dict = {}
        sections = self.draw(st.lists(st.sampled_from(SECTIONS), max_size=4, unique=True))
        if self.null_axes and "tuples" not in sections and self.maybe(0.8):
            sections.insert(self.draw(st.integers(0, len(sections))), "tuples")
        for section in sections:
            entries: dict = {}
            for _ in range(self.draw(st.integers(1, 2))):
                made = getattr(self, "rule_" + section)(undeclared)
                if made is not None:
                    name, value = made
                    entries[name] = value
            if entries:
                rules[section] = entries
        if rules or self.maybe(0.1):
            spec["rules"] = rules
        if self.maybe(0.3):
            output: dict = {}
            if self.maybe(0.6):
                pool = list(self.levels) + ["nope"]
                output["field_order"] = self.draw(st.lists(st.sampled_from(pool), max_size=3, unique=True))
            if self.maybe(0.6):
                output["seed"] = self.draw(st.integers(0, 2**64))
            spec["output"] = output
        return spec

    # rules ---------------------------------------------------------------------
    def axes_known(self) -> list[str]:
        return list(self.levels)

    def rule_name(self) -> str:
        """A fresh name, or now and then one already used (R011)."""
        if self.maybe(0.08):
            return self.pick(RULE_NAMES)
        return f"r{next(self.rule_counter)}"

    def rule_subsets(self, undeclared):
        axes = self.axes_known()
        if not axes:
            return None
        axis = self.pick(axes + (["nope"] if self.maybe(0.05) else []))
        pool = self.levels.get(axis, ["x"]) + ["x", "q"]
        keep = self.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        value = self.include_levels(keep, axis) if self.maybe(0.25) else keep
        return axis, value

    def rule_ties(self, undeclared):
        axes = self.axes_known()
        if len(axes) < 2:
            return None
        tied = self.draw(st.lists(st.sampled_from(axes), min_size=2, max_size=3, unique=True))
        name = self.rule_name() if self.maybe(0.9) else tied[0]  # a tie may be named after one of its axes
        value = tied if self.maybe() else {"axes": tied}
        first = self.levels[tied[0]]
        common = [v for v in first if all(str(v) in map(str, self.levels[a]) for a in tied[1:])] or first
        if name not in tied:
            self.targets[name] = ((name,), [(v, [v]) for v in common])
        return name, value

    def rule_tuples(self, undeclared):
        known = self.axes_known()
        pool = known + undeclared
        if not pool:
            return None
        axes = self.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        if self.null_axes and self.maybe(0.8):  # fill a null axis
            null = self.null_axes.pop(0)
            if null not in axes:
                axes.append(null)
        n_items = self.draw(st.integers(1, 3))
        items = []
        for _ in range(n_items):
            row = []
            for axis in axes:
                choices = self.levels.get(axis) or ["p", "q", "r"]
                row.append(self.pick(choices + (["zz"] if self.maybe(0.05) else [])))
            items.append(row)
        for axis in axes:
            if axis not in self.levels:
                self.levels[axis] = list(dict.fromkeys(str(row[axes.index(axis)]) for row in items))
                self.targets.setdefault(axis, ((axis,), [(v, [v]) for v in self.levels[axis]]))
        name = self.rule_name()
        value: dict = {}
        if self.maybe(0.3):
            value["items"] = self.include_rows(tuple(axes), [(row, row) for row in items])
            if not value["items"].endswith(".csv") or self.maybe():
                value = {"axes": axes, **value}
        else:
            value = {"axes": axes, "items": items}
        self.targets[name] = (tuple(axes), [(row, row) for row in items])
        return name, value

    def rule_pairs(self, undeclared):
        names = list(self.targets)
        if len(names) < 2:
            return None
        left = self.pick(names)
        right = self.pick([n for n in names if n != left] + ([left] if self.maybe(0.05) else []))
        (lcols, lvals), (rcols, rvals) = self.targets[left], self.targets[right]
        n = self.draw(st.integers(1, 4))
        entries = []
        for _ in range(n):
            lv, lc = self.pick(lvals)
            rv, rc = self.pick(rvals)
            entries.append(([lv, rv], list(lc) + list(rc)))
        name = self.rule_name()
        columns = tuple(lcols) + tuple(rcols)
        if self.maybe(0.3) and len(set(columns)) == len(columns):
            allowed = self.include_rows(columns, entries)
        else:
            allowed = [value for value, _ in entries]
        value = {"left": left, "right": right, "allowed": allowed}
        if self.maybe(0.25):
            value["balance"] = self.pick(["left", "right", "both"])
        self.targets[name] = (columns, entries)
        return name, value


@st.composite
def bundles(draw):
    builder = Builder(draw)
    spec = builder.build()
    mode = draw(st.sampled_from(["valid", "valid", "mutated", "damaged", "damaged"]))
    if mode == "mutated":
        for _ in range(draw(st.integers(1, 3))):
            spec = mutate(draw, spec)
    text = dump(draw, spec)
    if mode == "damaged":
        for _ in range(draw(st.integers(1, 3))):
            text = damage(draw, text, DAMAGE)
    files = dict(builder.files)
    if mode == "damaged" and files and draw(_PERCENT) < 40:
        victim = draw(st.sampled_from(sorted(files)))
        files[victim] = damage(draw, files[victim], INCLUDE_DAMAGE)
    files["config.yaml"] = text
    return mode, spec, files


def dump(draw, spec) -> bytes:
    try:
        text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=draw(st.booleans()),
                              default_flow_style=draw(st.sampled_from([False, None])), width=draw(st.sampled_from([40, 80, 200])))
    except yaml.YAMLError:  # a mutation put something unrepresentable in
        text = json.dumps(spec, default=str)
    return text.encode("utf-8")


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, path + (key,))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _paths(sub, path + (i,))


def mutate(draw, spec):
    """Replace a value (or a key) somewhere with junk, or delete it."""
    paths = [p for p in _paths(spec) if p]
    if not paths:
        return {"axes": copy.deepcopy(draw(st.sampled_from(JUNK)))}
    path = draw(st.sampled_from(paths))
    parent = spec
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    action = draw(st.sampled_from(["replace", "replace", "delete", "rename", "wrap"]))
    junk = copy.deepcopy(draw(st.sampled_from(JUNK) | st.text(max_size=6) | st.integers(-5, 5)))
    if action == "replace":
        parent[last] = junk
    elif action == "delete":
        del parent[last]
    elif action == "wrap":
        parent[last] = [parent[last]]
    elif isinstance(parent, dict):
        value = parent.pop(last)
        new_key = draw(st.sampled_from(["axes", "rules", "output", "subsets", "items", "left", "right", "allowed",
                                        "balance", "seed", "field_order", "layout", "a", "", "1", "bogus"]))
        parent[new_key] = value
    else:
        parent.insert(last, junk)
    return spec


_INSERTS = [b"&a ", b"*a", b"&b [x, y]", b"*b", b"<<: *a\n", b"&r [*r]", b"!!binary aGk=", b"!custom x",
            b"? [k]\n: v\n", b"yes", b"no", b"~", b"1.5", b"on", b"- ", b": ", b"[", b"]", b"{", b"'", b'"', b"#",
            b"---\n", b"...\n", b"@file:", b"\x00", b"\xef\xbb\xbf"] + KNOWN_BUG_INSERTS
_BOMB = (b"l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + b"".join(
    b"l%d: &l%d [%s]\n" % (i, i, b", ".join([b"*l%d" % (i - 1)] * 9)) for i in range(1, 9)))


def damage(draw, data: bytes, kinds) -> bytes:
    kind = draw(st.sampled_from(kinds))
    n = len(data)
    pos = draw(st.integers(0, n))
    lines = data.split(b"\n")
    line = draw(st.integers(0, max(0, len(lines) - 1)))
    if kind == "truncate":
        return data[:pos]
    if kind == "flip" and n:
        i = min(pos, n - 1)
        return data[:i] + bytes([data[i] ^ (1 << draw(st.integers(0, 7)))]) + data[i + 1:]
    if kind == "delete_line":
        return b"\n".join(lines[:line] + lines[line + 1:])
    if kind == "duplicate_line":
        return b"\n".join(lines[:line + 1] + lines[line:])
    if kind == "tab":
        return b"\n".join(lines[:line] + [b"\t" + lines[line].lstrip(b" ")] + lines[line + 1:])
    if kind == "indent":
        return b"\n".join(lines[:line] + [lines[line][1:]] + lines[line + 1:])
    if kind == "bytes":
        return data[:pos] + draw(st.binary(min_size=1, max_size=8)) + data[pos:]
    if kind == "unicode":
        return data[:pos] + draw(st.text(min_size=1, max_size=8)).encode("utf-8", "surrogatepass") + data[pos:]
    if kind in ("anchor", "alias", "trap"):
        return data[:pos] + draw(st.sampled_from(_INSERTS)) + data[pos:]
    if kind == "merge":
        return b"base: &a\n  k: [x]\n" + data + b"\nextra:\n  <<: *a\n"
    if kind == "recursive":
        return data + b"\nloop: &r [x, *r]\n"
    if kind == "bomb":
        return _BOMB + data
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "document":
        return data + b"\n---\n" + data
    if kind == "odd_break":
        return data[:pos] + draw(st.sampled_from(_ODD_BREAKS)) + data[pos:]
    if kind == "escape":
        return data[:pos] + draw(st.sampled_from(_ESCAPES)) + data[pos:]
    if kind == "comma":
        return data[:pos] + b"," + data[pos:]
    if kind == "quote":
        return data[:pos] + b'"' + data[pos:]
    if kind == "empty":
        return b""
    return data


# -- checking one example --------------------------------------------------------------

def check_diagnostics(diagnostics: list[Diagnostic], need_path: bool) -> None:
    for d in diagnostics:
        assert d.code in CODES, f"unregistered code {d.code}: {d.render()}"
        assert d.message, d
        if need_path:
            assert d.location.path, f"diagnostic without a file: {d.render()}"
        if d.location.line is not None:
            assert d.location.line >= 1, d.render()


def exercise(compiled, need_path: bool) -> list:
    """Rows (twice, plain and seeded), explain, membership: only SpecError
    may escape. Returns the plain rows."""
    check_diagnostics(compiled.diagnostics, need_path)
    assert compiled.count <= MAX_ROWS
    rows = list(compiled.rows())
    assert len(rows) == compiled.count
    assert all(len(r) == len(compiled.columns) for r in rows)
    assert rows == list(compiled.rows()), "rows differ between two runs"
    seed = compiled.seed if compiled.seed is not None else 12345
    seeded = list(compiled.rows(seed=seed))
    assert seeded == list(compiled.rows(seed=seed)), "seeded rows differ between two runs"
    assert sorted(seeded) == sorted(rows), "a seeded order is not a permutation of the rows"
    assert list(compiled.rows(limit=3)) == rows[:3]
    info = compiled.explain()
    assert info["rows"] == len(rows)
    json.dumps(info)
    render_text(compiled, io.StringIO())
    try:
        membership = build_membership(compiled, ENGINE.registry, "fuzz")
        records = list(membership.records())
        check_diagnostics(membership.diagnostics, need_path)
        assert records == list(build_membership(compiled, ENGINE.registry, "fuzz").records())
    except SpecError as exc:
        check_diagnostics(exc.diagnostics, need_path)
    return rows


def check_api(folder: Path, spec) -> None:
    rows = None
    try:
        bundle = load_bundle(folder, LIMITS)
    except SpecError as exc:
        check_diagnostics(exc.diagnostics, need_path=True)
        bundle = None
    if bundle is not None:
        check_diagnostics(bundle.document.diagnostics, need_path=True)
        try:
            compiled = compile_bundle(bundle, ENGINE)
        except SpecError as exc:
            check_diagnostics(exc.diagnostics, need_path=True)
        else:
            rows = exercise(compiled, need_path=True)
            again = compile_bundle(load_bundle(folder, LIMITS), ENGINE)
            assert list(again.rows()) == rows, "compiling the same bundle twice gives different rows"
        # load_mapping of the same data agrees with load_bundle
        if not bundle.document.diagnostics:
            try:
                mapped = compile_bundle(load_mapping(bundle.data, base_dir=folder, limits=LIMITS), ENGINE)
            except SpecError as exc:
                check_diagnostics(exc.diagnostics, need_path=False)
                assert rows is None, f"load_mapping refuses what load_bundle compiles: {exc}"
            else:
                mapped_rows = exercise(mapped, need_path=False)
                assert rows == mapped_rows, "load_mapping and load_bundle disagree"
    # load_mapping of the drawn (possibly mutated) Python value itself
    try:
        compiled = compile_bundle(load_mapping(spec, base_dir=folder, limits=LIMITS), ENGINE)
    except SpecError as exc:
        check_diagnostics(exc.diagnostics, need_path=False)
    else:
        exercise(compiled, need_path=False)


def check_cli(folder: Path, config: Path, argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    args = [argv[0], str(folder), "--config", str(config)] + argv[1:]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(args)
    text = out.getvalue() + err.getvalue()
    assert rc in (0, 1, 2), f"cohort-dsl {' '.join(args)}: exit {rc}\n{text}"
    assert "Traceback" not in text, text
    assert "internal error" not in text, f"cohort-dsl {' '.join(args)}:\n{text}"
    if rc == 1 and argv[0] != "lint":
        assert err.getvalue().strip(), "exit 1 without a diagnostic"


CLI_ARGS = st.none() | st.none() | st.sampled_from([
    ["compile"], ["compile", "--format", "jsonl"], ["compile", "--seed", "7"], ["compile", "--limit", "2"],
    ["compile", "--max-rows", "3"], ["explain"], ["explain", "--format", "json"], ["lint", "--no-cache"],
    ["lint", "--no-cache", "--format", "json"], ["lint", "--no-cache", "--format", "sarif"],
    ["lint", "--no-cache", "--format", "github"], ["membership", "--cohort-id", "fuzz"],
    ["membership", "--cohort-id", "fuzz", "--wide", "--format", "jsonl"],
])


class Workspace:
    """A fresh folder per example under one session-wide temporary root."""

    def __init__(self, root: Path):
        self.root = root
        self.counter = count()
        self.config = root / "cohort-dsl.toml"
        self.config.write_text(f"[limits]\nmax-rows = {MAX_ROWS}\n", encoding="utf-8")

    def write(self, files: dict[str, bytes]) -> Path:
        folder = self.root / f"b{next(self.counter)}"
        for rel, data in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return folder


def run_example(workspace: Workspace, example, argv) -> None:
    mode, spec, files = example
    folder = workspace.write(files)
    try:
        note(f"mode: {mode}")
        for rel, data in sorted(files.items()):
            note(f"--- {rel}\n{data.decode('utf-8', 'replace')}")
        try:
            check_api(folder, spec)
        except (SpecError, UsageError):
            pass  # raised outside the places that report it: still a clean refusal
        if argv is not None:  # the CLI on a third of the examples (argparse set-up is costly)
            check_cli(folder, workspace.config, argv)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fuzz(examples: int):
    @settings(max_examples=examples, deadline=None, derandomize=False, suppress_health_check=HEALTH,
              print_blob=True)
    @given(example=bundles(), argv=CLI_ARGS)
    def fuzz(workspace, example, argv):
        run_example(workspace, example, argv)

    return fuzz


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch):
    monkeypatch.delenv("COHORT_DSL_DEBUG", raising=False)


def test_fuzz(workspace):
    started = time.perf_counter()
    _fuzz(DEFAULT_EXAMPLES)(workspace)
    print(f"\nfuzz: {DEFAULT_EXAMPLES} examples in {time.perf_counter() - started:.1f}s")


@pytest.mark.slow
def test_fuzz_slow(workspace):
    started = time.perf_counter()
    _fuzz(SLOW_EXAMPLES)(workspace)
    print(f"\nfuzz (slow): {SLOW_EXAMPLES} examples in {time.perf_counter() - started:.1f}s")


# -- determinism across processes ------------------------------------------------------

MULTI_RULE = {
    "config.yaml": (
        "axes:\n  combo_id: [c1, c2]\n  draft_template: '@file:items/drafts.txt'\n  draft_llm: [m1, m2]\n"
        "  evaluation_template: [v1, v2]\n  evaluation_llm: [j1, j2, j3]\n"
        "rules:\n  tuples:\n    bundle:\n      items: '@file:items/bundle.csv'\n"
        "  pairs:\n    dp:\n      left: draft_template\n      right: bundle\n      allowed:\n"
        "        - [d1, [e1, l1]]\n        - [d2, [e2, l2]]\n        - [d2, [e1, l1]]\n"
        "  subsets:\n    evaluation_llm: [j3, j1]\n"
        "output:\n  seed: 99\n"
    ),
    "items/drafts.txt": "d1\nd2\nd3\n",
    "items/bundle.csv": "essay_template,essay_llm\ne1,l1\ne2,l2\n",
}


def test_rows_do_not_depend_on_the_hash_seed(tmp_path):
    """The same spec gives byte-identical output in processes with
    different hash seeds (no set or dict-of-str iteration order leaks)."""
    folder = tmp_path / "bundle"
    for rel, text in MULTI_RULE.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    outputs = set()
    for hash_seed in ("1", "2", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        env.pop("COHORT_DSL_DEBUG", None)
        out = []
        for argv in (["compile", "bundle"], ["compile", "bundle", "--seed", "3"],
                     ["membership", "bundle", "--cohort-id", "c", "--wide"]):
            result = subprocess.run([sys.executable, "-m", "cohort_dsl", *argv], cwd=tmp_path, env=env,
                                    capture_output=True, text=True)
            assert result.returncode == 0, result.stderr
            out.append(result.stdout)
        outputs.add(tuple(out))
    assert len(outputs) == 1


# -- bugs the fuzzer found ------------------------------------------------------------

LAYOUT_SPEC = ("axes:\n  combo_id: [c1]\n  draft_template: [d1]\n  draft_llm: [m1]\n  essay_template: [e1]\n"
               "  essay_llm: [l1]\n  evaluation_template: [v1]\n  evaluation_llm: [j1]\n")


def test_a_non_decimal_digit_replicate_is_m004(tmp_path, monkeypatch):
    """Found by this fuzzer: '²' passes str.isdigit() but not int(), which
    made Membership._check_replicates raise ValueError (an internal error,
    exit 2) instead of M004."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "config.yaml").write_text(LAYOUT_SPEC + "  essay_replicate: ['1', '²']\n", encoding="utf-8")
    compiled = compile_bundle(load_bundle(folder), ENGINE)
    with pytest.raises(SpecError) as info:
        list(build_membership(compiled, ENGINE.registry, "c").records())
    d = info.value.diagnostics[0]
    assert d.code == "M004" and d.location.line == 9
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["membership", "bundle", "--cohort-id", "c"])
    assert rc == 1 and "M004" in err.getvalue()
