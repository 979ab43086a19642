"""The email lists: a view, filters, a search and a saved view folded into one selection (see
views.py), read a page at a time.

A page token carries the id the page ended with and the fingerprint of the selection and order
that made it, so that a token is refused for any other list (another view, filter, query, saved
view as it is now, order or, for "my" views, acting user) instead of silently paging a
different list from a position that means nothing there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from erpmail.server.core import access, paging
from erpmail.server.core.errors import InvalidArgument, Violations
from erpmail.server.mailbox import saved_views, search
from erpmail.server.mailbox.view_store import ViewStore
from erpmail.server.mailbox.views import EmailFilter, Order, View, check_filter, select
from erpmail.server.outgoing.models import Address, Status
from erpmail.server.outgoing.service import OutgoingService
from erpmail.server.outgoing.store import StoredEmail


@dataclass(frozen=True)
class ListRequest:
    view: View = View.ALL
    filter: EmailFilter = field(default_factory=EmailFilter)
    # What ListEmails took before it had filters: they narrow the list as the filter does.
    account_id: str = ""
    statuses: Sequence[Status] = ()
    query: str = ""
    order: Order = Order.NEWEST_FIRST
    saved_view_id: int | None = None
    page_size: int = paging.DEFAULT_PAGE_SIZE
    page_token: str = ""


@dataclass(frozen=True)
class Page:
    # Rows, recipients, attempts and attachment sizes (not their content).
    emails: list[StoredEmail]
    # The From of sent email: each account's address and name.
    senders: dict[str, Address] = field(default_factory=dict)
    next_page_token: str = ""


class ViewService:
    def __init__(self, store: ViewStore, outgoing: OutgoingService) -> None:
        self._store = store
        self._outgoing = outgoing

    async def list_emails(self, request: ListRequest, actor: str) -> Page:
        problems = Violations()
        check_filter(request.filter, "filter", problems)
        terms = _terms(request.query, "query", problems)
        problems.raise_if_any()
        views = [request.view]
        filters = [
            request.filter,
            EmailFilter(
                account_ids=[request.account_id] if request.account_id else [],
                statuses=list(request.statuses),
            ),
        ]
        if request.saved_view_id is not None:
            saved = saved_views.visible(await self._store.get_view(request.saved_view_id), actor)
            views.append(saved.definition.view)
            filters.append(saved.definition.filter)
            terms += search.parse(saved.definition.query, "saved_view_id")
            if len(terms) > search.MAX_TERMS:
                raise InvalidArgument.of(
                    "query", f"has, with the saved view's, more than {search.MAX_TERMS} terms"
                )
        selection = select(views, filters, search.match_expression(terms), actor)
        visible = await self._outgoing.visible_accounts()
        if visible is not None:
            # In the query, not after it: pages stay full and tokens stay this caller's.
            selection = replace(
                selection, account_ids=access.narrow(visible, selection.account_ids)
            )
        fingerprint = selection.fingerprint(request.order)
        after = _position(request.page_token, fingerprint)
        found = await self._store.find(selection, request.order, after, request.page_size + 1)
        emails = await self._emails(found[: request.page_size])
        more = len(found) > request.page_size
        return Page(
            emails=emails,
            senders=await self._outgoing.senders({e.account_id for e in emails}),
            next_page_token=(
                paging.encode_token({"after": found[request.page_size - 1], "list": fingerprint})
                if more
                else ""
            ),
        )

    async def _emails(self, ids: list[int]) -> list[StoredEmail]:
        """The emails as lists show them, in the order of `ids`."""
        rows = await self._outgoing.summaries(ids)
        parts = await self._store.parts(ids)
        emails = []
        for email_id in ids:
            if email_id not in rows:
                continue  # purged between the two reads
            email = rows[email_id]
            email.recipients = parts[email_id].recipients
            email.attempts = parts[email_id].attempts
            email.content.attachments = parts[email_id].attachments
            emails.append(email)
        return emails


def _terms(query: str, field_: str, problems: Violations) -> list[search.Term]:
    try:
        return search.parse(query, field_)
    except InvalidArgument as error:
        problems.items.extend(error.violations)
        return []


def _position(token: str, fingerprint: str) -> int | None:
    """The id the previous page ended with; INVALID_ARGUMENT when the token is not one this
    list issued."""
    position = paging.decode_token(token)
    if position is None:
        return None
    after = position.get("after")
    if position.get("list") != fingerprint or not isinstance(after, int):
        raise InvalidArgument.of(
            "page_token",
            "belongs to another list: send the same view, filter, query, saved view and order"
            " as the request that returned it, or no token for the first page",
        )
    return after
