"""Rows, streamed: the product of the factors, never materialised.

The factors are split into an *outer* part and a small *inner block* (the
last factors, at most :data:`BLOCK_ROWS` combinations, precomputed once).
Each outer combination is then emitted as a whole block:

- as tuples: ``map(prefix.__add__, inner)`` then one ``itemgetter`` into
  column order, all at C level;
- as text: every value is encoded once (CSV quoting or JSON) and each outer
  combination becomes a line template with its values already written in,
  so a row costs one ``str %`` and the block one ``write``.

With a seed, row ``i`` of the output is row ``perm(i)`` of the product,
decoded by mixed-radix arithmetic (as sklearn's ``ParameterGrid`` indexes
its grid), so the permutation is never held in memory either.
"""

from __future__ import annotations

import json
from itertools import chain, islice, product, repeat
from math import prod
from operator import floordiv, itemgetter, mod
from typing import Iterator, TextIO


BLOCK_ROWS = 4096
#: text handed to one ``write`` (about): larger strings leave the CPU caches
#: between the join, the encoding and the copy to the file, and cost more
WRITE_CHARS = 1 << 16
#: outer texts held in seeded order (bounded: memory stays flat in rows)
OUTER_TEXTS = 1 << 16
FORMATS = ("csv", "jsonl")


def csv_field(value: str) -> str:
    """One CSV field, quoted as ``csv.writer`` (QUOTE_MINIMAL) would."""
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return '"' + value + '"'
    return value


def json_field(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


ENCODERS = {"csv": csv_field, "jsonl": json_field}


class RowPlan:
    def __init__(self, factors, columns: list[str]):
        self.factor_rows = [f.rows for f in factors]
        self.columns = list(columns)
        flat_axes = [axis for f in factors for axis in f.axes]
        self.index = [flat_axes.index(c) for c in self.columns]
        self.width = len(flat_axes)
        self.count = prod(len(rows) for rows in self.factor_rows)
        # Inner block: the last factor, plus earlier ones while small.
        split = len(self.factor_rows)
        size = 1
        while split > 0 and (split == len(self.factor_rows) or size * len(self.factor_rows[split - 1]) <= BLOCK_ROWS):
            size *= len(self.factor_rows[split - 1])
            split -= 1
        self.split = split
        self.outer_width = sum(len(f.axes) for f in factors[:split])

    # -- tuples ---------------------------------------------------------------
    def tuples(self, seed: int | None = None, limit: int | None = None) -> Iterator[tuple]:
        getter = _getter(self.index)
        if seed is not None:
            flat = self._permuted(self.factor_rows, seed, limit)
            return map(getter, flat)
        identity = self.index == list(range(self.width))
        rows = self._blocks_flat()
        if not identity:
            rows = map(getter, rows)
        return islice(rows, limit) if limit is not None else rows

    def _blocks_flat(self):
        inner = _flat_product(self.factor_rows[self.split:])
        if self.split == 0:
            yield from inner
            return
        for outer in product(*self.factor_rows[: self.split]):
            prefix = sum(outer, ())
            yield from map(prefix.__add__, inner)

    # -- text -----------------------------------------------------------------
    def header(self, fmt: str) -> str:
        return ",".join(map(csv_field, self.columns)) + "\n" if fmt == "csv" else ""

    def write(self, out: TextIO, fmt: str = "csv", seed: int | None = None, limit: int | None = None,
              header: bool = True) -> int:
        """Write rows as ``csv`` (with a header) or ``jsonl``; return how many."""
        encode = ENCODERS[fmt]
        cache: dict[str, str] = {}

        def enc(value: str) -> str:
            text = cache.get(value)
            if text is None:
                text = cache[value] = encode(value)
            return text

        encoded = [rows if (fmt == "csv" and _plain_csv(rows)) or _unchanged(rows, enc)
                   else [tuple(map(enc, row)) for row in rows] for rows in self.factor_rows]
        cache.clear()  # a value per level: not held while the rows are written
        if header and fmt == "csv":
            out.write(self.header(fmt))
        total = self.count if limit is None else max(0, min(limit, self.count))
        lines = _Lines.of(self, fmt, encoded)
        if seed is None:
            return lines.write_blocks(out, total) if lines else self._write_templates(out, fmt, encoded, total)
        return lines.write_permuted(out, total, seed) if lines else self._write_permuted(out, fmt, encoded, seed, total)

    def _write_templates(self, out: TextIO, fmt: str, encoded: list, total: int) -> int:
        """Outer values in several places of the line: one template per
        outer combination, a row costs one ``str %``."""
        split, outer_width = self.split, self.outer_width
        inner_flat = _flat_product(encoded[split:])
        # Inner values fill the template's %s slots in column order.
        inner_positions = [i - outer_width for i in self.index if i >= outer_width]
        inner_rows = [tuple(row[j] for j in inner_positions) for row in inner_flat]
        remaining = total
        outers = product(*[[tuple(v.replace("%", "%%") for v in row) for row in rows] for rows in encoded[:split]])
        for outer in outers:
            if remaining <= 0:
                break
            prefix = sum(outer, ())
            slots = [prefix[i] if i < outer_width else "%s" for i in self.index]
            line = self._template(fmt, slots)
            rows = inner_rows if remaining >= len(inner_rows) else inner_rows[:remaining]
            step = max(1, WRITE_CHARS // len(line % rows[0]))
            for start in range(0, len(rows), step):
                out.write("".join(map(line.__mod__, rows[start:start + step] if step < len(rows) else rows)))
            remaining -= len(rows)
        return total - max(remaining, 0)

    def _write_permuted(self, out: TextIO, fmt: str, encoded: list, seed: int, total: int) -> int:
        line = self._template(fmt, ["%s"] * len(self.columns))
        getter = _getter(self.index)  # values fill %s slots: no escaping needed
        rows, written, step = self._permuted(encoded, seed, total), 0, 64
        while block := list(islice(rows, step)):
            text = "".join([line % getter(row) for row in block])
            out.write(text)
            written += len(block)
            step = max(1, WRITE_CHARS * len(block) // len(text))  # rows of about WRITE_CHARS
        return written

    def _template(self, fmt: str, slots: list[str]) -> str:
        if fmt == "csv":
            return ",".join(slots) + "\n"
        return "{" + ", ".join(k + s for k, s in zip(self.json_keys(escape=True), slots)) + "}\n"

    def json_keys(self, escape: bool = False) -> list[str]:
        """``"column": `` for every column (``%`` doubled for a template)."""
        keys = [json.dumps(c) + ": " for c in self.columns]
        return [k.replace("%", "%%") for k in keys] if escape else keys

    # -- seeded order ---------------------------------------------------------
    def _permuted(self, factor_rows: list, seed: int, limit: int | None):
        n = self.count
        take = n if limit is None else min(limit, n)
        if take <= 0:
            return
        from cohort_dsl.permutation import Permutation  # here: csv_field is imported on the lint path

        radices = _radices(factor_rows)
        for block in Permutation(n, seed).take(take):
            for j in block:
                yield _decode(j, radices)


class _Lines:
    """Output lines when the outer values sit together in the line (one run
    of columns): line ``i`` of a block is ``A[i] + O + B[i]``, where ``O``
    is the text of the outer values (the same for the whole block) and
    ``A``/``B`` the text of the inner columns before and after it. A block
    is then one ``str.join``: ``O.join(glue)``, with ``glue[i] = B[i-1] +
    A[i]``; with a seed, a row is two ``+``."""

    @classmethod
    def of(cls, plan: RowPlan, fmt: str, encoded: list) -> "_Lines | None":
        outer_at = [k for k, i in enumerate(plan.index) if i < plan.outer_width]
        if outer_at and outer_at != list(range(outer_at[0], outer_at[-1] + 1)):
            return None
        return cls(plan, fmt, encoded, outer_at[0] if outer_at else len(plan.index), len(outer_at))

    def __init__(self, plan: RowPlan, fmt: str, encoded: list, at: int, width: int):
        self.plan, self.encoded = plan, encoded
        keys = plan.json_keys() if fmt == "jsonl" else [""] * len(plan.columns)
        head, self.sep, tail = ("{", ", ", "}\n") if fmt == "jsonl" else ("", ",", "\n")
        index, outer_width = plan.index, plan.outer_width
        before = [(keys[k], index[k] - outer_width) for k in range(at)]
        after = [(keys[k], index[k] - outer_width) for k in range(at + width, len(index))]
        self.outer = [(keys[k], index[k]) for k in range(at, at + width)]
        sep = self.sep

        def text(row, columns) -> str:
            return sep.join([key + row[i] for key, i in columns])

        inner = _flat_product(encoded[plan.split:])
        if not width:  # no outer column: whole lines
            self.before = [head + text(row, before) + tail for row in inner]
            self.after = [""] * len(inner)
        else:
            self.before = [head + text(row, before) + sep for row in inner] if before else [head] * len(inner)
            self.after = [sep + text(row, after) + tail for row in inner] if after else [tail] * len(inner)

    def outer_text(self, outer: tuple) -> str:
        return self.sep.join([key + outer[i] for key, i in self.outer])

    def outer_texts(self) -> Iterator[str]:
        """The outer text of every outer combination, in order. One outer
        factor of one column (a big axis) is a C-level map over its values."""
        outer_rows = self.encoded[: self.plan.split]
        if len(outer_rows) == 1 and len(self.outer) == 1:
            key, i = self.outer[0]
            values = map(itemgetter(i), outer_rows[0])
            return map(key.__add__, values) if key else values
        return map(self.outer_text, map(sum, product(*outer_rows), repeat(())))

    def write_blocks(self, out: TextIO, total: int) -> int:
        before, after = self.before, self.after
        glue = [before[0], *map(str.__add__, after[:-1], before[1:]), after[-1]]
        texts = self.outer_texts()
        full, rest = divmod(total, len(before))
        blocks = map(str.join, islice(texts, full), repeat(glue))
        batch = list(islice(blocks, 1))
        per_write = max(1, WRITE_CHARS // max(1, len(batch[0]))) if batch else 1
        while batch:
            out.write("".join(batch))
            batch = list(islice(blocks, per_write))
        if rest:  # the last, partial block
            out.write(next(texts).join(glue[:rest] + [after[rest - 1]]))
        return total

    def write_permuted(self, out: TextIO, total: int, seed: int) -> int:
        """Row ``x`` of the product is ``before[i] + text(o) + after[i]``
        with ``o, i = divmod(x, block)``: a block of rows is three C-level
        gathers (``itemgetter``) interleaved into one list and one join.
        Pieces that are the same on every line are folded into ``text``."""
        before, after, size = self.before, self.after, len(self.before)
        outer_rows = self.encoded[: self.plan.split]
        outers = prod(len(rows) for rows in outer_rows)
        if outers == 1:  # no outer factor: whole lines, by inner index (x itself)
            text = self.outer_text(sum(next(product(*outer_rows)), ()))
            pieces = [([b + text + a for b, a in zip(before, after)], None)]
        else:
            prefix = before[0] if before.count(before[0]) == size else None
            suffix = after[0] if after.count(after[0]) == size else None

            def outer_text(combo: tuple, text=self.outer_text) -> str:
                return (prefix or "") + text(combo) + (suffix or "")

            if outers <= OUTER_TEXTS:  # all outer texts, by index
                texts = [outer_text(sum(combo, ())) for combo in product(*outer_rows)]
            else:  # decoded by mixed-radix arithmetic, remembered (bounded)
                texts = _OuterTexts(outer_rows, outer_text)
            pieces = ([] if prefix is not None else [(before, mod)]) + [(texts, floordiv)] + \
                     ([] if suffix is not None else [(after, mod)])
        from cohort_dsl.permutation import Permutation

        line = sum(len(table[0]) for table, _ in pieces)  # about a line's length
        step, written = max(1, WRITE_CHARS // max(1, line)), 0
        for block in Permutation(self.plan.count, seed).take_ahead(total):
            for start in range(0, len(block), step):
                written += _write_gathered(out, block[start:start + step] if step < len(block) else block, pieces, size)
        return written


def _write_gathered(out: TextIO, xs: list, pieces: list, size: int) -> int:
    """Lines ``x`` of ``xs``: each piece of a line is ``table[x // size]``
    or ``table[x % size]`` (``x`` itself for whole lines), one gather a piece."""
    width, count = len(pieces), len(xs)
    if count == 1:  # itemgetter of one index is not a tuple
        o, i = divmod(xs[0], size)
        out.write("".join([table[o if part is floordiv else i] for table, part in pieces]))
    elif width == 1:
        table, part = pieces[0]
        out.write("".join(itemgetter(*(xs if part is None else map(part, xs, repeat(size))))(table)))
    else:
        line_parts: list = [None] * (width * count)
        inner = tuple(map(mod, xs, repeat(size)))
        for k, (table, part) in enumerate(pieces):
            line_parts[k::width] = itemgetter(*(inner if part is mod else map(floordiv, xs, repeat(size))))(table)
        out.write("".join(line_parts))
    return count


def _plain_csv(rows: list) -> bool:
    """True when no value of a factor needs CSV quoting: one scan of the
    joined text (for a factor of a million levels, a tenth of the time of
    encoding each through :func:`csv_field`)."""
    text = "\x00".join(chain.from_iterable(rows))
    return not ('"' in text or "," in text or "\n" in text or "\r" in text)


def _unchanged(rows: list, enc) -> bool:
    """True when encoding leaves every value as it is (plain CSV text), so
    the factor's rows can be used without a copy."""
    return all(enc(value) is value for row in rows for value in row)


class _OuterTexts(dict):
    """The outer text of an outer index, decoded on first use."""

    def __init__(self, outer_rows: list, outer_text):
        super().__init__()
        self.radices = _radices(outer_rows)
        self.outer_text = outer_text

    def __missing__(self, index: int) -> str:
        if len(self) >= OUTER_TEXTS:
            self.clear()
        text = self[index] = self.outer_text(_decode(index, self.radices))
        return text


def _radices(factor_rows: list) -> list:
    """The factors' rows with their sizes, last factor first, for :func:`_decode`."""
    return [(rows, len(rows)) for rows in reversed(factor_rows)]


def _decode(index: int, radices: list) -> tuple:
    """Row ``index`` of the product of the factors (last fastest), by
    mixed-radix arithmetic, as one flat tuple."""
    parts = []
    for rows, size in radices:
        index, digit = divmod(index, size)
        parts.append(rows[digit])
    return sum(reversed(parts), ())


def _flat_product(factor_rows: list) -> list[tuple]:
    if len(factor_rows) == 1:
        return list(factor_rows[0])
    return [sum(combo, ()) for combo in product(*factor_rows)]


def _getter(index: list[int]):
    if len(index) == 1:
        i = index[0]
        return lambda row: (row[i],)
    return itemgetter(*index)
