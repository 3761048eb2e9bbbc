"""Blocks of text between an opening line and a closing line, found in time linear in the text.

A single pattern from the opening to the first closing after it (``begin.*?end``) is tried at
every opening: without a closing after them, each one reads on to the end of the text, and
30,000 opening lines with no closing took minutes. Here the openings and the closings are each
found in one pass, and each opening is paired with the first closing after it, as the lazy
pattern would.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator


def delimited_blocks(
    text: str,
    opening: re.Pattern[str],
    closing: re.Pattern[str],
    barrier: re.Pattern[str] | None = None,
) -> Iterator[tuple[re.Match[str], re.Match[str]]]:
    """Each ``opening`` match and the first ``closing`` match that starts at or after its end,
    in order and without overlap; an opening whose block would hold a ``barrier`` match (what
    the lazy pattern between them could not cross) has none."""
    closings = list(closing.finditer(text))
    starts = [match.start() for match in closings]
    resume = 0
    for begin in opening.finditer(text):
        if begin.start() < resume:
            continue
        index = bisect.bisect_left(starts, begin.end())
        if index == len(closings):
            return
        end = closings[index]
        if barrier is not None and barrier.search(text, begin.end(), end.start()):
            continue
        yield begin, end
        resume = end.end()


def without_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the ``(start, end)`` spans cut out; the spans in order, not overlapping."""
    kept = []
    position = 0
    for start, end in spans:
        kept.append(text[position:start])
        position = end
    kept.append(text[position:])
    return "".join(kept)
