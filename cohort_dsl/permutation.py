"""A seeded bijection on ``range(n)`` that never materialises the order.

A balanced Feistel network on the smallest even bit width covering ``n``,
with cycle-walking back into range. Pure integer arithmetic (no ``random``,
no floats, no hash randomisation), so a seed gives the same order on every
platform and Python version. The round keys come from BLAKE2b of the seed.

The order is defined by :meth:`Permutation.__call__` (one index at a time);
:meth:`Permutation.take` gives the same indices in blocks. Each round
function depends only on the right half, so it is tabulated once per round.
Up to 2**22 rows (halves of at most 11 bits) a block of indices goes through
the rounds as *byte planes* (:class:`_Planes`): the low and high bytes of
every half, each plane one big integer with a byte per index, so a table
lookup is a ``bytes.translate`` per 256 table entries and the xor one
big-integer ``^`` (no Python-level work per index and round). Larger halves
take one list comprehension per round over a block of indices.
"""

from __future__ import annotations

import os
import sys
from array import array
from itertools import compress

_ROUNDS = 6
_MASK64 = (1 << 64) - 1
#: round functions are tabulated while a half is at most this many bits
_TABLE_BITS = 16
_BLOCK = 4096
#: :meth:`Permutation.take_ahead` forks a helper from this many indices (below, a fork costs more than it saves)
_AHEAD_MIN = 1 << 17
#: out-of-range values walked one at a time when this few are left (packing them costs more)
_FEW = 48
#: halves up to this many bits go through the rounds as byte planes (at most 8 groups of 256)
_PLANE_BITS = 11
#: an array typecode of 32-bit unsigned integers: the lanes of packed indices
_U32 = next(code for code in "IL" if array(code).itemsize == 4)


class Permutation:
    def __init__(self, n: int, seed: int):
        self.n = n
        bits = max(2, (n - 1).bit_length())
        self.half = (bits + 1) // 2
        self.mask = (1 << self.half) - 1
        import hashlib  # here: loading it costs every command that never permutes

        self.keys = [
            int.from_bytes(hashlib.blake2b(f"cohort-dsl:{seed}:{r}".encode(), digest_size=8).digest(), "big")
            for r in range(_ROUNDS)
        ]

    def _round(self, value: int, key: int) -> int:
        # splitmix64 finaliser: cheap, well mixed, exact on every platform.
        z = (value + key) & _MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return (z ^ (z >> 31)) & self.mask

    def _encrypt(self, x: int) -> int:
        half, mask = self.half, self.mask
        left, right = x >> half, x & mask
        for key in self.keys:
            left, right = right, left ^ self._round(right, key)
        return (left << half) | right

    def __call__(self, index: int) -> int:
        """The position in the original order of the ``index``-th row."""
        if not 0 <= index < self.n:
            raise IndexError(index)
        x = self._encrypt(index)
        while x >= self.n:  # cycle-walk: the domain is < 4n, so few steps
            x = self._encrypt(x)
        return x

    def __iter__(self):
        return map(self, range(self.n))

    def take(self, count: int):
        """Lists of ``self(i)`` for ``i`` in ``range(count)``, in order."""
        count = min(count, self.n)
        if self.half > _TABLE_BITS:
            for start in range(0, count, _BLOCK):
                yield list(map(self, range(start, min(start + _BLOCK, count))))
            return
        tables = [[self._round(r, key) for r in range(1 << self.half)] for key in self.keys]
        if self.half <= _PLANE_BITS:
            yield from self._take_planes(count, _Planes(tables, self.half))
        else:
            yield from self._take_tables(count, tables)

    def take_ahead(self, count: int):
        """:meth:`take`, computed by a forked child process while the caller
        uses the blocks (on a second core), when that is worth it and safe:
        at least :data:`_AHEAD_MIN` indices, a ``fork`` here, and no other
        thread in this process. The blocks are the same lists in the same
        order; a child that stops early is an error, never a short order."""
        count = min(count, self.n)
        threading = sys.modules.get("threading")  # not imported: no other Python thread
        if count < _AHEAD_MIN or self.n > 1 << 64 or not hasattr(os, "fork") or \
                (threading is not None and threading.active_count() > 1):
            yield from self.take(count)
            return
        try:
            read_end, write_end = os.pipe()
        except OSError:
            yield from self.take(count)
            return
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            yield from self.take(count)
            return
        if pid == 0:  # pragma: no cover - the child, measured through the parent's results
            self._send_blocks(read_end, write_end, count)
        os.close(write_end)
        received = 0
        try:
            with open(read_end, "rb") as stream:
                while True:
                    header = stream.read(8)
                    if not header:
                        break
                    size = int.from_bytes(header, "little")
                    block = array("Q")
                    block.frombytes(stream.read(8 * size))
                    if len(header) != 8 or len(block) != size:
                        break
                    received += size
                    yield block.tolist()
        finally:
            _, status = os.waitpid(pid, 0)
        if received != count or status != 0:
            raise RuntimeError(f"the process computing the seeded order stopped after {received:,} of {count:,} "
                               f"rows (wait status {status})")

    def _send_blocks(self, read_end: int, write_end: int, count: int) -> None:
        """In the forked child: write :meth:`take`'s blocks to ``write_end``
        (each a little-endian count, then the indices as native ``Q``s) and
        leave at once (``os._exit``: no buffer, handler or cleanup of the
        parent's runs here)."""
        code = 1
        try:
            import signal

            for name in ("SIGTERM", "SIGINT"):  # the parent's handlers clean up the parent's files
                if hasattr(signal, name):
                    signal.signal(getattr(signal, name), signal.SIG_DFL)
            os.close(read_end)
            with open(write_end, "wb") as stream:
                for block in self.take(count):
                    stream.write(len(block).to_bytes(8, "little"))
                    stream.write(array("Q", block))
            code = 0
        finally:
            os._exit(code)

    def _take_planes(self, count: int, planes: "_Planes"):
        """Blocks of :data:`_BLOCK` indices, encrypted as packed lanes."""
        n, ones, encrypt = self.n, _pack([1] * _BLOCK), self._tabled(planes.rounds)
        indices = _pack(range(_BLOCK))
        # x + bias has bit 31 set exactly when x >= n (x < 2**22: nothing carries out of a lane)
        bias, top = ones * ((1 << 31) - n), ones << 31
        for start in range(0, count, _BLOCK):
            size = min(_BLOCK, count - start)
            lanes = indices + start * ones if size == _BLOCK else _pack(range(start, start + size))
            lanes = planes.encrypt(lanes, size)
            xs = _unpack(lanes, size)
            over = (lanes + bias) & top
            if over:  # cycle-walk the few that landed outside range(n): their cycles reach it
                flags = over.to_bytes(4 * _BLOCK, "little")[3:4 * size:4]  # the byte holding bit 31 of each lane
                walking = list(compress(range(size), flags))
                while len(walking) > _FEW:
                    again = _unpack(planes.encrypt(_pack([xs[k] for k in walking]), len(walking)), len(walking))
                    for k, x in zip(walking, again):
                        xs[k] = x
                    walking = [k for k in walking if xs[k] >= n]
                for k in walking:  # the last few, one at a time
                    x = encrypt(xs[k])
                    while x >= n:
                        x = encrypt(x)
                    xs[k] = x
            yield xs

    def _tabled(self, tables: list):
        """:meth:`_encrypt` by table lookups."""
        half, mask = self.half, self.mask

        def encrypt(x: int) -> int:
            left, right = x >> half, x & mask
            for table in tables:
                left, right = right, left ^ table[right]
            return (left << half) | right

        return encrypt

    def _take_tables(self, count: int, tables: list):
        """One list per value of the high half of ``i`` (``2**half`` indices)."""
        n, half, mask = self.n, self.half, self.mask
        first, *rest = tables
        lows = list(range(1 << half))

        *middle, last = rest

        def rounds(left: list, right: list) -> list:
            for table in middle:
                left, right = right, [lv ^ table[rv] for lv, rv in zip(left, right)]
            # the last round and the join in one pass: left' = right, right' = left ^ F(right)
            return [(rv << half) | (lv ^ last[rv]) for lv, rv in zip(left, right)]

        for high in range((count + mask) >> half):
            # x = high << half | low for every low: the first round is one xor
            xs = rounds(lows, [high ^ t for t in first])
            if (high + 1) << half > count:
                del xs[count - (high << half):]  # walk only indices in range: their cycles reach it
            walking = [k for k, x in enumerate(xs) if x >= n] if max(xs) >= n else []
            while walking:  # cycle-walk the few that landed outside range(n)
                again = [xs[k] for k in walking]
                for k, x in zip(walking, rounds([x & mask for x in again], [(x >> half) ^ first[x & mask] for x in again])):
                    xs[k] = x
                walking = [k for k in walking if xs[k] >= n]
            yield xs


def _pack(values) -> int:
    """Small non-negative integers as one big integer, 32 bits (little-endian) each."""
    lanes = array(_U32, values)
    if sys.byteorder == "big":
        lanes.byteswap()
    return int.from_bytes(lanes.tobytes(), "little")


def _unpack(lanes: int, count: int) -> list[int]:
    values = array(_U32)
    values.frombytes(lanes.to_bytes(4 * count, "little"))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


class _Planes:
    """The rounds on many values at once. A half of ``h`` bits is two byte
    planes (its low 8 bits, its high ``h - 8``), each a big integer holding
    one byte per value. ``F(right)`` is, for each group ``g`` of 256 table
    entries (the value of the high byte), the low plane translated by that
    group's table, kept where the high byte is ``g``."""

    def __init__(self, tables: list[list[int]], half: int):
        self.half, self.rounds = half, tables
        self.groups = 1 << max(0, half - 8)
        size = 1 << half

        def plane(table, g, shift):
            return bytes(table[(g << 8) | b] >> shift & 255 if (g << 8) | b < size else 0 for b in range(256))

        # the high bytes of F of every group in one translate, ``bits`` bits a group, when they fit in a byte
        self.bits = max(0, half - 8)
        self.packed_high = 0 < self.bits * self.groups <= 8
        if self.packed_high:
            highs = [[sum((t[(g << 8) | b] >> 8) << (self.bits * g) for g in range(self.groups)) for b in range(256)]
                     for t in tables]
            self.tables = [([plane(t, g, 0) for g in range(self.groups)], [bytes(h)]) for t, h in zip(tables, highs)]
        else:
            self.tables = [([plane(t, g, 0) for g in range(self.groups)],
                            [plane(t, g, 8) for g in range(self.groups)] if self.bits else None) for t in tables]
        self.one_hot = bytes(1 << b if b < 8 else 0 for b in range(256))  # group g -> bit g

    def encrypt(self, lanes: int, count: int) -> int:
        """The encryptions of ``count`` values packed by :func:`_pack`, packed."""
        half, groups, frombytes = self.half, self.groups, int.from_bytes
        ones, width = frombytes(b"\x01" * count, "little"), 4 * count
        mask = frombytes(b"\x01\x00\x00\x00" * count, "little") * ((1 << half) - 1)  # every lane
        right = (lanes & mask).to_bytes(width, "little")
        left = (lanes >> half & mask).to_bytes(width, "little")
        left_lo, left_hi = frombytes(left[0::4], "little"), frombytes(left[1::4], "little")
        lo, hi = right[0::4], right[1::4]
        right_lo, right_hi = frombytes(lo, "little"), frombytes(hi, "little")
        bits, packed_high = self.bits, self.packed_high
        high_mask = ones * ((1 << bits) - 1)
        for lo_tables, hi_tables in self.tables:
            if groups == 1:
                f_lo, f_hi = frombytes(lo.translate(lo_tables[0]), "little"), 0  # halves of at most 8 bits
            else:
                one_hot, f_lo, f_hi = frombytes(hi.translate(self.one_hot), "little"), 0, 0
                highs = frombytes(lo.translate(hi_tables[0]), "little") if packed_high else 0
                for g in range(groups):
                    keep = one_hot >> g & ones
                    keep = (keep << 8) - keep  # 255 where the high byte is g
                    f_lo |= frombytes(lo.translate(lo_tables[g]), "little") & keep
                    if packed_high:
                        f_hi |= highs >> (bits * g) & high_mask & keep
                    else:
                        f_hi |= frombytes(lo.translate(hi_tables[g]), "little") & keep
            left_lo, left_hi, right_lo, right_hi = right_lo, right_hi, left_lo ^ f_lo, left_hi ^ f_hi
            lo, hi = right_lo.to_bytes(count, "little"), right_hi.to_bytes(count, "little")
        # lanes of right + left * 2**16, then left moved down to bit ``half`` (what crosses
        # from the next lane lands above bit 2 * half, masked off)
        packed = bytearray(width)
        packed[0::4], packed[1::4] = lo, hi
        packed[2::4], packed[3::4] = left_lo.to_bytes(count, "little"), left_hi.to_bytes(count, "little")
        both = frombytes(packed, "little")
        return both & mask | both >> (16 - half) & mask << half
