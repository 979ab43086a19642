"""The asyncio client: typed stubs of every erpmail service on one grpc.aio channel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

import grpc
from erpmail.client import paging, watch
from erpmail.client.interceptors import AsyncMetadata
from erpmail.client.options import ClientOptions
from erpmail.v1 import (
    accounts_pb2_grpc,
    assignment_pb2_grpc,
    directory_pb2_grpc,
    documents_pb2_grpc,
    emails_pb2,
    emails_pb2_grpc,
    entity_requests_pb2,
    entity_requests_pb2_grpc,
    keys_pb2_grpc,
    mailings_pb2,
    mailings_pb2_grpc,
    management_pb2_grpc,
    preferences_pb2_grpc,
    processing_pb2_grpc,
    templates_pb2_grpc,
    views_pb2_grpc,
)
from google.protobuf.message import Message

Request = TypeVar("Request", bound=Message)
Response = TypeVar("Response", bound=Message)


class AsyncClient:
    """`async with AsyncClient(ClientOptions(api_key=...)) as erp: await erp.emails.GetEmail(...)`

    Each attribute is the generated stub of one service; calls carry the API key and acting user,
    get the default deadline, and reads (and calls with a request_id, filled in when empty) are
    retried while erpmail is UNAVAILABLE.
    """

    def __init__(self, options: ClientOptions | None = None) -> None:
        self.options = options or ClientOptions()
        interceptors = [AsyncMetadata(self.options.metadata(), self.options.timeout)]
        channel_options = self.options.channel_options()
        if self.options.tls is None:
            self.channel = grpc.aio.insecure_channel(
                self.options.address, options=channel_options, interceptors=interceptors
            )
        else:
            self.channel = grpc.aio.secure_channel(
                self.options.address,
                self.options.tls.credentials(),
                options=channel_options,
                interceptors=interceptors,
            )
        self.accounts = accounts_pb2_grpc.AccountServiceStub(self.channel)
        self.assignment_maps = assignment_pb2_grpc.AssignmentMapServiceStub(self.channel)
        self.directory = directory_pb2_grpc.DirectoryServiceStub(self.channel)
        self.documents = documents_pb2_grpc.DocumentServiceStub(self.channel)
        self.emails = emails_pb2_grpc.EmailServiceStub(self.channel)
        self.entity_requests = entity_requests_pb2_grpc.EntityRequestServiceStub(self.channel)
        self.api_keys = keys_pb2_grpc.ApiKeyServiceStub(self.channel)
        self.mailings = mailings_pb2_grpc.MailingServiceStub(self.channel)
        self.management = management_pb2_grpc.ManagementServiceStub(self.channel)
        self.preferences = preferences_pb2_grpc.PreferencesServiceStub(self.channel)
        self.processing = processing_pb2_grpc.ProcessingServiceStub(self.channel)
        self.templates = templates_pb2_grpc.TemplateServiceStub(self.channel)
        self.saved_views = views_pb2_grpc.SavedViewServiceStub(self.channel)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.channel.close()

    def items(
        self, call: Callable[[Request], Awaitable[Response]], request: Request
    ) -> AsyncIterator[Any]:
        """Every item of a List call, page after page."""
        return paging.items(call, request)

    async def follow_emails(
        self,
        request: emails_pb2.WatchEmailsRequest | None = None,
        reconnect: watch.Reconnect = watch.RECONNECT,
    ) -> AsyncIterator[emails_pb2.EmailChange]:
        """Changes to email, live, resuming after the last revision across broken connections."""
        cursor = watch.EmailCursor(request or emails_pb2.WatchEmailsRequest())
        async for response in watch.follow(self.emails.WatchEmails, cursor, reconnect):
            if response.HasField("change"):
                yield response.change

    async def follow_entity_requests(
        self,
        request: entity_requests_pb2.WatchEntityRequestsRequest | None = None,
        reconnect: watch.Reconnect = watch.RECONNECT,
    ) -> AsyncIterator[entity_requests_pb2.EntityRequest]:
        """Requests to the ERP as they are made, resuming after the last one seen."""
        cursor = watch.EntityRequestCursor(
            request or entity_requests_pb2.WatchEntityRequestsRequest()
        )
        stream = self.entity_requests.WatchEntityRequests
        async for response in watch.follow(stream, cursor, reconnect):
            yield response.entity_request

    async def follow_mass_mailing(
        self, mass_mailing_id: str, reconnect: watch.Reconnect = watch.RECONNECT
    ) -> AsyncIterator[mailings_pb2.MassMailing]:
        """The mailing's progress until it ends."""
        cursor = watch.MassMailingCursor(
            mailings_pb2.WatchMassMailingRequest(mass_mailing_id=mass_mailing_id)
        )
        async for response in watch.follow(self.mailings.WatchMassMailing, cursor, reconnect):
            yield response.mass_mailing
