"""Hypothesis strategies that damage real-looking messages the way transports and tools do."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from hypothesis import strategies as st

_BOUNDARY_LINE = re.compile(rb"^--[^\r\n]+$", re.MULTILINE)
Mutation = Callable[[bytes], bytes]


def _flip(position: int, bit: int) -> Mutation:
    def apply(raw: bytes) -> bytes:
        if not raw:
            return raw
        at = position % len(raw)
        return raw[:at] + bytes([raw[at] ^ (1 << bit)]) + raw[at + 1 :]

    return apply


def _truncate(fraction: float) -> Mutation:
    return lambda raw: raw[: int(len(raw) * fraction)]


def _insert(position: int, junk: bytes) -> Mutation:
    def apply(raw: bytes) -> bytes:
        at = position % (len(raw) + 1)
        return raw[:at] + junk + raw[at:]

    return apply


def _duplicate_boundary(choice: int, position: int) -> Mutation:
    def apply(raw: bytes) -> bytes:
        lines = _BOUNDARY_LINE.findall(raw)
        if not lines:
            return raw
        return _insert(position, b"\n" + lines[choice % len(lines)] + b"\n")(raw)

    return apply


def _delete(position: int, length: int) -> Mutation:
    def apply(raw: bytes) -> bytes:
        at = position % (len(raw) + 1)
        return raw[:at] + raw[at + length :]

    return apply


_positions = st.integers(min_value=0, max_value=1 << 20)
MUTATIONS: st.SearchStrategy[Mutation] = st.one_of(
    st.builds(_flip, _positions, st.integers(min_value=0, max_value=7)),
    st.builds(_truncate, st.floats(min_value=0.0, max_value=1.0)),
    st.builds(_insert, _positions, st.sampled_from([b"\r", b"\n", b"\r\n", b"\r\r\n", b"\x00"])),
    st.builds(_insert, _positions, st.binary(min_size=1, max_size=16)),
    st.builds(_duplicate_boundary, _positions, _positions),
    st.builds(_delete, _positions, st.integers(min_value=1, max_value=64)),
)


def mutated(seeds: Sequence[bytes], max_mutations: int = 6) -> st.SearchStrategy[bytes]:
    """One of ``seeds`` with up to ``max_mutations`` damages applied in turn."""

    def damage(seed: bytes, mutations: list[Mutation]) -> bytes:
        for mutation in mutations:
            seed = mutation(seed)
        return seed

    return st.builds(
        damage,
        st.sampled_from(list(seeds)),
        st.lists(MUTATIONS, min_size=1, max_size=max_mutations),
    )
