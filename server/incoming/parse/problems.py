"""The non-fatal defects a parse notices, collected as words instead of raised."""

from __future__ import annotations

MAX_PROBLEMS = 50


class Problems:
    """Distinct problems in the order noticed, capped so hostile mail cannot flood them."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, problem: str) -> None:
        if len(self._items) < MAX_PROBLEMS:
            self._items[problem] = None

    def all(self) -> tuple[str, ...]:
        return tuple(self._items)


def describe(error: BaseException) -> str:
    name = type(error).__name__
    return f"{name}: {shorten(str(error), 200)}" if str(error) else name


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
