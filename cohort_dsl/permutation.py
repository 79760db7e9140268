"""A seeded bijection on ``range(n)`` that never materialises the order.

A balanced Feistel network on the smallest even bit width covering ``n``,
with cycle-walking back into range. Pure integer arithmetic (no ``random``,
no floats, no hash randomisation), so a seed gives the same order on every
platform and Python version. The round keys come from BLAKE2b of the seed.

The order is defined by :meth:`Permutation.__call__` (one index at a time);
:meth:`Permutation.take` gives the same indices in blocks: each round
function depends only on the right half (at most 16 bits up to 2**32 rows),
so it is tabulated once per round, and a round is one list comprehension
over a block of indices.
"""

from __future__ import annotations

_ROUNDS = 6
_MASK64 = (1 << 64) - 1
#: round functions are tabulated while a half is at most this many bits
_TABLE_BITS = 16
_BLOCK = 4096


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
        """Lists of ``self(i)`` for ``i`` in ``range(count)``, in order: one
        list per value of the high half of ``i`` (``2**half`` indices)."""
        count = min(count, self.n)
        if self.half > _TABLE_BITS:
            for start in range(0, count, _BLOCK):
                yield list(map(self, range(start, min(start + _BLOCK, count))))
            return
        n, half, mask = self.n, self.half, self.mask
        first, *rest = [[self._round(r, key) for r in range(1 << half)] for key in self.keys]
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
