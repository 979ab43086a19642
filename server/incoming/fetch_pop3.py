"""Fetching new mail over POP3 in batches; messages are told apart by UIDL, never by number.

`fetch_new_pop3` is an async generator: the caller stores a batch and its UIDLs in one
transaction before asking for the next. Deletions (`delete_messages`) take effect only at QUIT,
which the caller sends after everything is stored; a session that ends otherwise deletes nothing.

A batch's RETR (and DELE) commands go out at once when the server's CAPA offers PIPELINING:
waiting for each reply before the next command would make the round trips, not the server or
erpmail, what limits how fast mail is received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from erpmail.server.incoming.pop3_client import Pop3Client, Pop3Error
from erpmail.server.incoming.sync import batches, new_uidls

DEFAULT_BATCH_SIZE = 100

_T = TypeVar("_T")


class Pop3FetchError(Exception):
    """A fetch cannot go on; the message says which step failed and why."""


@dataclass(frozen=True)
class Pop3Message:
    number: int  # valid in this session only
    uidl: str  # stable across sessions: what the caller remembers as seen
    raw: bytes


@dataclass(frozen=True)
class Pop3Batch:
    messages: tuple[Pop3Message, ...]

    @property
    def uidls(self) -> list[str]:
        return [message.uidl for message in self.messages]


async def _step(
    client: Pop3Client, what: str, operation: Awaitable[_T], timeout: float | None
) -> _T:
    limit = client.timeout if timeout is None else timeout
    try:
        return await operation
    except TimeoutError:
        raise TimeoutError(f"{what}: no answer from the POP3 server within {limit:g} s") from None
    except ConnectionError as error:
        raise Pop3FetchError(f"{what}: {error}") from error


async def fetch_new_pop3(
    client: Pop3Client,
    seen: set[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    timeout: float | None = None,
) -> AsyncIterator[Pop3Batch]:
    """The messages whose UIDL is not in `seen`, in message-number order, `batch_size` at a time.

    Raises Pop3FetchError when the server has no UIDL (without it a message cannot be told from
    one already stored). When the connection fails, the batches already yielded stand.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    try:
        listing = await _step(client, "UIDL", client.uidl(timeout=timeout), timeout)
    except Pop3Error as error:
        raise Pop3FetchError(
            f"the POP3 server does not list unique ids (UIDL: {error}); erpmail needs them to"
            " fetch each message once"
        ) from error
    fresh = new_uidls(listing, seen)
    if fresh:
        # Whether the RETRs of a batch may be sent at once; else each waits for its reply.
        await _step(client, "CAPA", client.learn_capabilities(timeout=timeout), timeout)
    uidl_of = dict(fresh)
    for numbers in batches([number for number, _ in fresh], batch_size):
        what = f"RETR {_numbers(numbers)}"
        raws = await _step(client, what, client.retr_many(numbers, timeout=timeout), timeout)
        yield Pop3Batch(
            tuple(Pop3Message(n, uidl_of[n], raw) for n, raw in zip(numbers, raws, strict=True))
        )


async def delete_messages(
    client: Pop3Client, numbers: Iterable[int], *, timeout: float | None = None
) -> None:
    """Marks the messages deleted (DELE); the server removes them when QUIT succeeds."""
    wanted = list(numbers)
    if len(wanted) > 1:
        await _step(client, "CAPA", client.learn_capabilities(timeout=timeout), timeout)
    if wanted:
        what = f"DELE {_numbers(wanted)}"
        await _step(client, what, client.dele_many(wanted, timeout=timeout), timeout)


def _numbers(numbers: list[int]) -> str:
    """The message numbers a step names: "7", or "of 100 messages (7 to 106)"."""
    if len(numbers) == 1:
        return str(numbers[0])
    return f"of {len(numbers)} messages ({min(numbers)} to {max(numbers)})"
