"""A seeded bijection on ``range(n)`` that never materialises the order.

A balanced Feistel network on the smallest even bit width covering ``n``,
with cycle-walking back into range. Pure integer arithmetic (no ``random``,
no floats, no hash randomisation), so a seed gives the same order on every
platform and Python version. The round keys come from BLAKE2b of the seed.
"""

from __future__ import annotations

import hashlib

_ROUNDS = 6
_MASK64 = (1 << 64) - 1


class Permutation:
    def __init__(self, n: int, seed: int):
        self.n = n
        bits = max(2, (n - 1).bit_length())
        self.half = (bits + 1) // 2
        self.mask = (1 << self.half) - 1
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
