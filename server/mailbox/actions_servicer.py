"""The EmailService calls of the mailbox actions; EmailServicer takes them on by inheriting
this class, so that the shared servicer only wires them."""

from __future__ import annotations

from typing import Any

import grpc
from erpmail.server.core import context
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.core.protos import numeric_id
from erpmail.server.mailbox import actions_convert as convert
from erpmail.server.mailbox.actions_service import MailboxActions
from erpmail.server.outgoing.models import RelatedEntity
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import emails_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class EmailActionsServicer(emails_pb2_grpc.EmailServiceServicer):
    _actions: MailboxActions

    async def ReplyToEmail(
        self, request: pb.ReplyToEmailRequest, rpc: Context
    ) -> pb.ReplyToEmailResponse:
        draft_id = await self._actions.reply(
            _id(request.email_id),
            request.reply_all,
            request.account_id,
            request.request_id,
            context.current().actor,
        )
        return pb.ReplyToEmailResponse(email=convert.email(await self._actions.email(draft_id)))

    async def ForwardEmail(
        self, request: pb.ForwardEmailRequest, rpc: Context
    ) -> pb.ForwardEmailResponse:
        draft_id = await self._actions.forward(
            _id(request.email_id),
            (
                convert.addresses(request.to),
                convert.addresses(request.cc),
                convert.addresses(request.bcc),
            ),
            request.account_id,
            request.request_id,
            context.current().actor,
        )
        return pb.ForwardEmailResponse(email=convert.email(await self._actions.email(draft_id)))

    async def MarkEmailsRead(
        self, request: pb.MarkEmailsReadRequest, rpc: Context
    ) -> pb.MarkEmailsReadResponse:
        ids = convert.ids(request.email_ids)
        await self._actions.mark_read(ids, request.read, context.current().actor)
        return pb.MarkEmailsReadResponse(emails=convert.emails(await self._actions.emails(ids)))

    async def LinkEmail(self, request: pb.LinkEmailRequest, rpc: Context) -> pb.LinkEmailResponse:
        email_id = _id(request.email_id)
        await self._actions.link(email_id, convert.entity(request))
        return pb.LinkEmailResponse(email=convert.email(await self._actions.email(email_id)))

    async def UnlinkEmail(
        self, request: pb.UnlinkEmailRequest, rpc: Context
    ) -> pb.UnlinkEmailResponse:
        email_id = _id(request.email_id)
        await self._actions.link(email_id, RelatedEntity())
        return pb.UnlinkEmailResponse(email=convert.email(await self._actions.email(email_id)))

    async def CreateFromEmails(
        self, request: pb.CreateFromEmailsRequest, rpc: Context
    ) -> pb.CreateFromEmailsResponse:
        ids = convert.ids(request.email_ids)
        if not request.kind:
            raise InvalidArgument.of("kind", "is required")
        kind = convert.CREATE_KIND.to_domain(request.kind, "kind")
        created = await self._actions.create_from(ids, kind, context.current().actor)
        return pb.CreateFromEmailsResponse(entity_request_ids=[str(i) for i in created])

    async def DeleteEmails(
        self, request: pb.DeleteEmailsRequest, rpc: Context
    ) -> pb.DeleteEmailsResponse:
        ids = convert.ids(request.email_ids)
        await self._actions.delete(ids)
        return pb.DeleteEmailsResponse(emails=convert.emails(await self._actions.emails(ids)))

    async def RestoreEmails(
        self, request: pb.RestoreEmailsRequest, rpc: Context
    ) -> pb.RestoreEmailsResponse:
        ids = convert.ids(request.email_ids)
        await self._actions.restore(ids)
        return pb.RestoreEmailsResponse(emails=convert.emails(await self._actions.emails(ids)))

    async def PurgeEmails(
        self, request: pb.PurgeEmailsRequest, rpc: Context
    ) -> pb.PurgeEmailsResponse:
        ids = convert.ids(request.email_ids)
        await self._actions.purge(ids)
        return pb.PurgeEmailsResponse(email_ids=[str(i) for i in ids])

    async def ArchiveEmails(
        self, request: pb.ArchiveEmailsRequest, rpc: Context
    ) -> pb.ArchiveEmailsResponse:
        ids = convert.ids(request.email_ids)
        await self._actions.archive(ids)
        return pb.ArchiveEmailsResponse(emails=convert.emails(await self._actions.emails(ids)))


def _id(value: str) -> int:
    return numeric_id(value, "email_id", "an email")
