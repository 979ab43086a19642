"""Every item of a List call, page after page, following next_page_token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

from google.protobuf.message import Message

Request = TypeVar("Request", bound=Message)
Response = TypeVar("Response", bound=Message)
NEXT_PAGE_TOKEN = "next_page_token"


def items_field(response: Message) -> str:
    """The one repeated field of a List response: its items."""
    repeated = [
        f.name for f in response.DESCRIPTOR.fields if f.is_repeated and f.name != NEXT_PAGE_TOKEN
    ]
    if len(repeated) != 1:
        raise TypeError(f"{response.DESCRIPTOR.full_name} is not a List response")
    return repeated[0]


def next_request(request: Request, response: Message) -> Request | None:
    """The request for the page after `response`, or None after the last page."""
    token: str = getattr(response, NEXT_PAGE_TOKEN)
    if not token:
        return None
    following = type(request)()
    following.CopyFrom(request)
    following.page_token = token  # type: ignore[attr-defined]
    return following


async def items(
    call: Callable[[Request], Awaitable[Response]], request: Request
) -> AsyncIterator[Any]:
    """Every item, fetching pages as they are needed: `async for a in items(stub.ListAccounts,
    ListAccountsRequest(page_size=100))`."""
    page: Request | None = request
    while page is not None:
        response = await call(page)
        for item in getattr(response, items_field(response)):
            yield item
        page = next_request(page, response)


def iter_items(call: Callable[[Request], Response], request: Request) -> Iterator[Any]:
    """`items` for the sync client."""
    page: Request | None = request
    while page is not None:
        response = call(page)
        yield from getattr(response, items_field(response))
        page = next_request(page, response)
