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
from itertools import islice, product
from math import prod
from operator import itemgetter
from typing import Iterator, TextIO

from cohort_dsl.permutation import Permutation

BLOCK_ROWS = 4096
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

        encoded = [rows if _unchanged(rows, enc) else [tuple(map(enc, row)) for row in rows] for rows in self.factor_rows]
        if header and fmt == "csv":
            out.write(self.header(fmt))
        total = self.count if limit is None else min(limit, self.count)
        if seed is not None:
            line = self._template(fmt, ["%s"] * len(self.columns))
            getter = _getter(self.index)  # values fill %s slots: no escaping needed
            written = 0
            batch = []
            for row in self._permuted(encoded, seed, total):
                batch.append(line % getter(row))
                if len(batch) >= BLOCK_ROWS:
                    out.write("".join(batch))
                    written += len(batch)
                    batch = []
            out.write("".join(batch))
            return written + len(batch)
        return self._write_blocks(out, fmt, encoded, total)

    def _write_blocks(self, out: TextIO, fmt: str, encoded: list, total: int) -> int:
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
            out.write("".join(map(line.__mod__, rows)))
            remaining -= len(rows)
        return total - max(remaining, 0)

    def _template(self, fmt: str, slots: list[str]) -> str:
        if fmt == "csv":
            return ",".join(slots) + "\n"
        keys = getattr(self, "_json_keys", None)
        if keys is None:
            keys = self._json_keys = [json.dumps(c).replace("%", "%%") + ": " for c in self.columns]
        return "{" + ", ".join(k + s for k, s in zip(keys, slots)) + "}\n"

    # -- seeded order ---------------------------------------------------------
    def _permuted(self, factor_rows: list, seed: int, limit: int | None):
        n = self.count
        take = n if limit is None else min(limit, n)
        if take <= 0:
            return
        perm = Permutation(n, seed)
        reversed_rows = list(reversed(factor_rows))
        sizes = [len(rows) for rows in reversed_rows]
        for i in range(take):
            j = perm(i)
            parts = []
            for rows, size in zip(reversed_rows, sizes):
                j, digit = divmod(j, size)
                parts.append(rows[digit])
            yield sum(reversed(parts), ())


def _unchanged(rows: list, enc) -> bool:
    """True when encoding leaves every value as it is (plain CSV text), so
    the factor's rows can be used without a copy."""
    return all(enc(value) is value for row in rows for value in row)


def _flat_product(factor_rows: list) -> list[tuple]:
    if len(factor_rows) == 1:
        return list(factor_rows[0])
    return [sum(combo, ()) for combo in product(*factor_rows)]


def _getter(index: list[int]):
    if len(index) == 1:
        i = index[0]
        return lambda row: (row[i],)
    return itemgetter(*index)
