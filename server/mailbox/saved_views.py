"""Saved views (no I/O): a view, a filter and a search saved under a name (the sources' saved
filters, such as "Important"), and who may see and change one.

A saved view belongs to the acting user who saved it. Its owner sees it, and so does everyone
else once it is shared; only its owner changes or deletes it. Applying one resolves "my emails"
and "my work group's emails" for the person applying it, so a shared view of one's own email
shows each person theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from erpmail.server.core.errors import InvalidArgument, NotFound, PermissionDenied, Violations
from erpmail.server.mailbox import search
from erpmail.server.mailbox.views import EmailFilter, View, check_filter
from erpmail.server.outgoing.validation import check_line

RESOURCE = "saved view"
MAX_NAME = 100


@dataclass(frozen=True)
class Definition:
    """What applying the saved view does to a list."""

    view: View = View.ALL
    filter: EmailFilter = field(default_factory=EmailFilter)
    query: str = ""


@dataclass(frozen=True)
class SavedView:
    name: str
    shared: bool
    definition: Definition
    saved_view_id: int = 0
    owner: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None


def checked(view: SavedView, field_: str = "saved_view") -> SavedView:
    """The view with its name tidied; InvalidArgument naming every problem under `field_`."""
    problems = Violations()
    name = view.name.strip()
    problems.check(bool(name), f"{field_}.name", "is required")
    problems.check(len(name) <= MAX_NAME, f"{field_}.name", f"is longer than {MAX_NAME} characters")
    # Every line break str.splitlines() knows, as for header text: a name is shown as one line.
    if check_line(problems, f"{field_}.name", name):
        problems.check("\t" not in name, f"{field_}.name", "must be one line of text")
    check_filter(view.definition.filter, f"{field_}.filter", problems)
    try:
        search.parse(view.definition.query, f"{field_}.query")
    except InvalidArgument as error:
        problems.items.extend(error.violations)
    problems.raise_if_any()
    return replace(view, name=name)


def visible(view: SavedView, actor: str) -> SavedView:
    """The view if the actor may see it; NotFound otherwise (another's view is not revealed)."""
    if view.owner != actor and not view.shared:
        raise NotFound(RESOURCE, str(view.saved_view_id))
    return view


def owned(view: SavedView, actor: str) -> SavedView:
    """The view if the actor may change it: NotFound when they cannot see it, PERMISSION_DENIED
    (NOT_OWNER) when it is another's shared view."""
    visible(view, actor)
    if view.owner != actor:
        raise PermissionDenied(
            "NOT_OWNER",
            RESOURCE,
            [str(view.saved_view_id)],
            f"saved view {view.saved_view_id} is {view.owner}'s: only its owner changes it",
        )
    return view
