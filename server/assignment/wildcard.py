"""LIKE patterns ('*' any run, '?' one character) matched in time linear in the text.

A pattern is cut at its '*'s into fixed-length segments: the first must match at the start of the
text, the last at its end, and the ones between are placed left to right, each at the leftmost
place it fits after the one before. Placing a segment as early as possible never prevents a later
one from fitting, so no choice is ever undone: however many '*'s a pattern has, the text is read
about once. A segment without '?' is found by str.find; one with '?' by a bit-parallel scan
(shift-and), one step per character of text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

ANY_RUN = "*"
ANY_ONE = "?"


@dataclass(frozen=True)
class _Segment:
    text: str
    # Shift-and tables, for segments with '?': bit i of masks[c] is set where the segment's i-th
    # character is c; bit i of `any_one` where it is '?'.
    masks: dict[str, int]
    any_one: int

    @classmethod
    def of(cls, text: str) -> _Segment:
        masks: dict[str, int] = {}
        any_one = 0
        for i, char in enumerate(text):
            if char == ANY_ONE:
                any_one |= 1 << i
            else:
                masks[char] = masks.get(char, 0) | 1 << i
        return cls(text, masks, any_one)

    def matches_at(self, text: str, start: int) -> bool:
        if start < 0 or start + len(self.text) > len(text):
            return False
        if not self.any_one:
            return text.startswith(self.text, start)
        window = text[start : start + len(self.text)]
        return all(p in (ANY_ONE, t) for p, t in zip(self.text, window, strict=True))

    def find(self, text: str, start: int, end: int) -> int:
        """The leftmost index in text[start:end] where the whole segment fits, or -1."""
        if not self.any_one:
            return text.find(self.text, start, end)
        accept = 1 << (len(self.text) - 1)
        state = 0
        for i in range(start, end):
            state = ((state << 1) | 1) & (self.masks.get(text[i], 0) | self.any_one)
            if state & accept:
                return i - len(self.text) + 1
        return -1


@dataclass(frozen=True)
class Pattern:
    first: _Segment
    middle: tuple[_Segment, ...]
    # None when the pattern has no '*': then `first` must be the whole text.
    last: _Segment | None

    def matches(self, text: str) -> bool:
        first, last = self.first, self.last
        if last is None:
            return len(text) == len(first.text) and first.matches_at(text, 0)
        end = len(text) - len(last.text)
        if end < len(first.text):
            return False
        if not (first.matches_at(text, 0) and last.matches_at(text, end)):
            return False
        position = len(first.text)
        for segment in self.middle:
            found = segment.find(text, position, end)
            if found < 0:
                return False
            position = found + len(segment.text)
        return True


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Pattern:
    """The matcher for a pattern; patterns are compared as given (fold case before calling)."""
    parts = pattern.split(ANY_RUN)
    if len(parts) == 1:
        return Pattern(_Segment.of(pattern), (), None)
    # Empty segments (from '**' or a leading or trailing '*') constrain nothing.
    middle = tuple(_Segment.of(p) for p in parts[1:-1] if p)
    return Pattern(_Segment.of(parts[0]), middle, _Segment.of(parts[-1]))


def like(text: str, pattern: str) -> bool:
    return compile_pattern(pattern).matches(text)
