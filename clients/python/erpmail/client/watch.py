"""Following erpmail's watch streams across broken connections and server restarts.

A cursor remembers how far a stream got and turns the original request into the one that resumes
after it, so nothing is delivered twice and nothing is missed while reconnecting. Reconnecting
waits with growing pauses, reset by every message received.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import grpc
from erpmail.v1 import emails_pb2, entity_requests_pb2, mailings_pb2
from google.protobuf.message import Message

Request = TypeVar("Request", bound=Message)
Response = TypeVar("Response", bound=Message)
Request_co = TypeVar("Request_co", bound=Message, covariant=True)
Response_contra = TypeVar("Response_contra", bound=Message, contravariant=True)

# A dropped connection or a server going away; anything else is the caller's to see.
RESUMABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})


class Cursor(Protocol[Request_co, Response_contra]):
    def request(self) -> Request_co: ...
    # Takes in a message; False when it repeats one delivered before a reconnection.
    def advance(self, response: Response_contra) -> bool: ...
    # Whether a stream the server ended normally has said everything (else: reconnect).
    def finished(self) -> bool: ...


class EmailCursor:
    """WatchEmails resumes after the last revision seen, in a change or a progress message.

    The current state a stream begins with (include_current) comes as changes that all carry
    the revision the stream began at, so a stream broken in the middle of it cannot resume by
    revision: the state is asked for again, and the emails already delivered as they still are
    are left out.
    """

    def __init__(self, request: emails_pb2.WatchEmailsRequest) -> None:
        self._first = request
        self.revision = request.after_revision
        self._heard = False
        self._in_current_state = request.include_current
        self._current_revision: int | None = None
        self._delivered: set[tuple[str, int, int]] = set()

    def request(self) -> emails_pb2.WatchEmailsRequest:
        # Until the stream has said anything, or while it was telling the current state, there
        # is no revision to resume after: ask again as the caller did.
        if not self._heard or self._in_current_state:
            # The state comes again under the revision the new stream begins at.
            self._current_revision = None
            return self._first
        resumed = emails_pb2.WatchEmailsRequest()
        resumed.CopyFrom(self._first)
        resumed.include_current = False  # already delivered
        resumed.after_revision = self.revision
        return resumed

    def advance(self, response: emails_pb2.WatchEmailsResponse) -> bool:
        self._heard = True
        event = response.WhichOneof("event")
        if event == "progress":
            self._in_current_state = False
            self.revision = max(self.revision, response.progress.revision)
            return True
        if event != "change":
            return True
        change = response.change
        if self._in_current_state and change.revision == (
            self._current_revision or change.revision
        ):
            self._current_revision = change.revision
            self.revision = max(self.revision, change.revision)
            email = change.email
            key = (email.email_id, email.status, email.update_time.ToNanoseconds())
            if key in self._delivered:
                return False
            self._delivered.add(key)
            return True
        self._in_current_state = False
        self._delivered.clear()
        self.revision = max(self.revision, change.revision)
        return True

    def finished(self) -> bool:
        return False


class EntityRequestCursor:
    """WatchEntityRequests resumes after the last request id seen."""

    def __init__(self, request: entity_requests_pb2.WatchEntityRequestsRequest) -> None:
        self._first = request
        self.last_id = request.after_entity_request_id

    def request(self) -> entity_requests_pb2.WatchEntityRequestsRequest:
        resumed = entity_requests_pb2.WatchEntityRequestsRequest()
        resumed.CopyFrom(self._first)
        resumed.after_entity_request_id = self.last_id
        return resumed

    def advance(self, response: entity_requests_pb2.WatchEntityRequestsResponse) -> bool:
        self.last_id = max(self.last_id, int(response.entity_request.entity_request_id))
        return True

    def finished(self) -> bool:
        return False


class MassMailingCursor:
    """WatchMassMailing sends the whole mailing each time and ends when the mailing does."""

    def __init__(self, request: mailings_pb2.WatchMassMailingRequest) -> None:
        self._request = request

    def request(self) -> mailings_pb2.WatchMassMailingRequest:
        return self._request

    def advance(self, response: mailings_pb2.WatchMassMailingResponse) -> bool:
        return True

    def finished(self) -> bool:
        return True


@dataclass(frozen=True)
class Reconnect:
    """Pauses between reconnections: `first`, growing by `factor` up to `longest` seconds."""

    first: float = 0.1
    factor: float = 2.0
    longest: float = 5.0

    def pauses(self) -> Iterator[float]:
        pause = self.first
        while True:
            yield pause
            pause = min(pause * self.factor, self.longest)


RECONNECT = Reconnect()


class Follower(Generic[Request, Response]):
    """Runs one watch across reconnections (the loop shared by the async and sync clients)."""

    def __init__(self, cursor: Cursor[Request, Response], reconnect: Reconnect) -> None:
        self.cursor = cursor
        self._reconnect = reconnect
        self._pauses = reconnect.pauses()

    def received(self, response: Response) -> bool:
        """Takes in a message; False when it is not to be delivered again."""
        self._pauses = self._reconnect.pauses()
        return self.cursor.advance(response)

    def pause_after(self, error: grpc.RpcError | None) -> float | None:
        """Seconds to wait before reconnecting, or None when the watch is over; re-raises an
        error that reconnecting would not cure."""
        if error is None:
            return None if self.cursor.finished() else next(self._pauses)
        if error.code() not in RESUMABLE:
            raise error
        return next(self._pauses)


async def follow(
    start: Callable[[Request], AsyncIterable[Response]],
    cursor: Cursor[Request, Response],
    reconnect: Reconnect = RECONNECT,
) -> AsyncIterator[Response]:
    follower = Follower(cursor, reconnect)
    while True:
        error: grpc.RpcError | None = None
        call = start(cursor.request())
        try:
            async for response in call:
                if follower.received(response):
                    yield response
        except grpc.aio.AioRpcError as failed:
            error = failed
        finally:
            cancel = getattr(call, "cancel", None)
            if cancel is not None:
                cancel()
        pause = follower.pause_after(error)
        if pause is None:
            return
        await asyncio.sleep(pause)


def follow_sync(
    start: Callable[[Request], Iterable[Response]],
    cursor: Cursor[Request, Response],
    reconnect: Reconnect = RECONNECT,
) -> Iterator[Response]:
    follower = Follower(cursor, reconnect)
    while True:
        error: grpc.RpcError | None = None
        call = start(cursor.request())
        try:
            for response in call:
                if follower.received(response):
                    yield response
        except grpc.RpcError as failed:
            error = failed
        finally:
            cancel = getattr(call, "cancel", None)
            if cancel is not None:
                cancel()
        pause = follower.pause_after(error)
        if pause is None:
            return
        time.sleep(pause)
