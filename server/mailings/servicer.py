"""MailingService: translates requests to the mailings use cases and back; no rules live here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from erpmail.server.core import context, paging
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.core.protos import numeric_id
from erpmail.server.mailings import convert
from erpmail.server.mailings.service import MailingService
from erpmail.server.outgoing import convert as email_convert
from erpmail.server.outgoing.service import OutgoingService
from erpmail.server.templates.convert import data_to_domain
from erpmail.v1 import mailings_pb2 as pb
from erpmail.v1 import mailings_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class MailingServicer(mailings_pb2_grpc.MailingServiceServicer):
    def __init__(
        self, service: MailingService, outgoing: OutgoingService, progress_interval: float
    ) -> None:
        self._service = service
        self._outgoing = outgoing
        self._progress_interval = progress_interval

    async def SendTemplateEmail(
        self, request: pb.SendTemplateEmailRequest, rpc: Context
    ) -> pb.SendTemplateEmailResponse:
        email_id = await self._service.send(
            request.template_id,
            data_to_domain(request.data),
            request.data.ByteSize(),
            convert.addresses(request.extra_to),
            convert.options(
                request.account_id, request.related_entity, request.owner_id, request.lenient
            ),
            request.request_id,
            context.current().actor,
        )
        email, sender = await self._outgoing.get(email_id)
        return pb.SendTemplateEmailResponse(email=email_convert.to_proto(email, sender))

    async def StartMassMailing(
        self, request: pb.StartMassMailingRequest, rpc: Context
    ) -> pb.StartMassMailingResponse:
        mailing = await self._service.start(
            request.template_id,
            convert.recipients_to_domain(request.recipients),
            convert.options(
                request.account_id, request.related_entity, request.owner_id, request.lenient
            ),
            request.request_id,
            context.current().actor,
        )
        return pb.StartMassMailingResponse(mass_mailing=convert.mailing_to_proto(mailing))

    async def GetMassMailing(
        self, request: pb.GetMassMailingRequest, rpc: Context
    ) -> pb.GetMassMailingResponse:
        mailing = await self._service.get(_id(request.mass_mailing_id))
        return pb.GetMassMailingResponse(mass_mailing=convert.mailing_to_proto(mailing))

    async def ListMassMailingRecipients(
        self, request: pb.ListMassMailingRecipientsRequest, rpc: Context
    ) -> pb.ListMassMailingRecipientsResponse:
        mailing_id = _id(request.mass_mailing_id)
        size = paging.page_size(request.page_size)
        outcomes = [
            convert.OUTCOME.to_domain(o, f"outcomes[{i}]") for i, o in enumerate(request.outcomes)
        ]
        found = await self._service.recipients(
            mailing_id, outcomes, _after(request.page_token), size + 1
        )
        token = paging.encode_token({"after": found[size - 1].index}) if len(found) > size else ""
        return pb.ListMassMailingRecipientsResponse(
            recipients=[convert.recipient_to_proto(r) for r in found[:size]],
            next_page_token=token,
        )

    async def WatchMassMailing(
        self, request: pb.WatchMassMailingRequest, rpc: Context
    ) -> AsyncIterator[pb.WatchMassMailingResponse]:
        mailing_id = _id(request.mass_mailing_id)
        async for mailing in self._service.follow(mailing_id, self._progress_interval):
            yield pb.WatchMassMailingResponse(mass_mailing=convert.mailing_to_proto(mailing))


def _id(value: str) -> int:
    return numeric_id(value, "mass_mailing_id", "a mass mailing")


def _after(token: str) -> int:
    """Where a page of recipients resumes: after the index the previous page ended with."""
    after = (paging.decode_token(token) or {}).get("after", -1)
    if type(after) is not int:
        raise InvalidArgument.of("page_token", "is not a token this server issued")
    return after
