"""Which data fields a template uses, checked against the fields its data source has.

Inside a loop a place-holder may name a field of the current line in three ways: from the top
(`((Order.Lines.Qty))`), by the loop's view (`((Lines.Qty))`), or alone (`((Qty))`); it is
known when any of the names it can stand for is on the list. A loop's view is known when it is
on the list or some listed field lies below it.
"""

from __future__ import annotations

from erpmail.server.templates.syntax import Loop, Node, loops_in, placeholders

# Nested loops multiply the names a place-holder may stand for; beyond this many the rest are
# not tried, which keeps the check fast for any template (real ones need a handful).
MAX_CANDIDATES = 64


def known_problems(nodes: tuple[Node, ...], known: set[str], source: str) -> list[str]:
    """One description per place-holder or loop whose field is not in `known`."""
    of = f" of {source}" if source else ""
    below = {name.rsplit(".", i)[0] for name in known for i in range(1, name.count(".") + 1)}
    # The full names each loop's view may stand for, by loop; outer loops are met first.
    views: dict[int, set[str]] = {}
    problems = []
    for loop, outer in loops_in(nodes):
        names = views[id(loop)] = candidates(loop.view, outer, views)
        if not any(c in known or c in below for c in names):
            problems.append(
                f'{loop.position}: <foreach view="{loop.name}"> is not a known field{of}'
            )
    for placeholder, around in placeholders(nodes):
        if not any(c in known for c in candidates(placeholder.path, around, views)):
            problems.append(f"{placeholder.position}: {placeholder} is not a known field{of}")
    return problems


def candidates(
    path: tuple[str, ...], loops: tuple[Loop, ...], views: dict[int, set[str]]
) -> set[str]:
    """The full names `path`, written inside `loops` (outermost first), may stand for."""
    name = ".".join(path)
    found = {name}
    for loop in reversed(loops):  # the current line first
        for full in sorted(views[id(loop)]):
            if len(found) >= MAX_CANDIDATES:
                return found
            found.add(f"{full}.{name}")
            for alias in (loop.view, loop.view[-1:]):
                if len(path) > len(alias) and path[: len(alias)] == alias:
                    found.add(f"{full}.{'.'.join(path[len(alias) :])}")
    return found
