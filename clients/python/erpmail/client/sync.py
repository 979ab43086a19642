"""The blocking client: the same services and helpers as AsyncClient, for code without asyncio."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, TypeVar

import grpc
from erpmail.client import paging, watch
from erpmail.client.interceptors import SyncMetadata
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


class Client:
    """The blocking client: `with Client(options) as erp: erp.emails.GetEmail(...)`."""

    def __init__(self, options: ClientOptions | None = None) -> None:
        self.options = options or ClientOptions()
        if self.options.tls is None:
            raw = grpc.insecure_channel(self.options.address, self.options.channel_options())
        else:
            raw = grpc.secure_channel(
                self.options.address,
                self.options.tls.credentials(),
                self.options.channel_options(),
            )
        self._raw = raw
        prepare = SyncMetadata(self.options.metadata(), self.options.timeout)
        self.channel = grpc.intercept_channel(raw, prepare)
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

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._raw.close()

    def items(self, call: Callable[[Request], Response], request: Request) -> Iterator[Any]:
        """Every item of a List call, page after page."""
        return paging.iter_items(call, request)

    def follow_emails(
        self,
        request: emails_pb2.WatchEmailsRequest | None = None,
        reconnect: watch.Reconnect = watch.RECONNECT,
    ) -> Iterator[emails_pb2.EmailChange]:
        """Changes to email, live, resuming after the last revision across broken connections."""
        cursor = watch.EmailCursor(request or emails_pb2.WatchEmailsRequest())
        for response in watch.follow_sync(self.emails.WatchEmails, cursor, reconnect):
            if response.HasField("change"):
                yield response.change

    def follow_entity_requests(
        self,
        request: entity_requests_pb2.WatchEntityRequestsRequest | None = None,
        reconnect: watch.Reconnect = watch.RECONNECT,
    ) -> Iterator[entity_requests_pb2.EntityRequest]:
        """Requests to the ERP as they are made, resuming after the last one seen."""
        cursor = watch.EntityRequestCursor(
            request or entity_requests_pb2.WatchEntityRequestsRequest()
        )
        stream = self.entity_requests.WatchEntityRequests
        for response in watch.follow_sync(stream, cursor, reconnect):
            yield response.entity_request

    def follow_mass_mailing(
        self, mass_mailing_id: str, reconnect: watch.Reconnect = watch.RECONNECT
    ) -> Iterator[mailings_pb2.MassMailing]:
        """The mailing's progress until it ends."""
        cursor = watch.MassMailingCursor(
            mailings_pb2.WatchMassMailingRequest(mass_mailing_id=mass_mailing_id)
        )
        for response in watch.follow_sync(self.mailings.WatchMassMailing, cursor, reconnect):
            yield response.mass_mailing
