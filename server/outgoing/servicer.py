"""EmailService: translates requests to the outgoing use cases and back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from erpmail.server.core import context
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.core.protos import apply_mask, check_mask, numeric_id
from erpmail.server.mailbox.actions_service import MailboxActions
from erpmail.server.mailbox.actions_servicer import EmailActionsServicer
from erpmail.server.mailbox.view_servicer import EmailLists
from erpmail.server.outgoing import convert
from erpmail.server.outgoing.service import CreateRequest, OutgoingService
from erpmail.server.outgoing.watch import EmailWatch
from erpmail.v1 import emails_pb2 as pb

Context = grpc.aio.ServicerContext[Any, Any]

# Only what the sender wrote can be edited; everything else is erpmail's.
EDITABLE_FIELDS = {
    "to",
    "cc",
    "bcc",
    "reply_to",
    "subject",
    "text_body",
    "html_body",
    "attachments",
    "headers",
    "related_entity",
    "owner_id",
    "work_group_id",
    "earliest_send_time",
}
_OTHERS = {f.name for f in pb.Email.DESCRIPTOR.fields} - EDITABLE_FIELDS


class EmailServicer(EmailActionsServicer):
    def __init__(
        self,
        service: OutgoingService,
        watch: EmailWatch,
        actions: MailboxActions,
        lists: EmailLists,
    ) -> None:
        self._service = service
        self._watch = watch
        self._actions = actions  # the mailbox actions' calls (EmailActionsServicer)
        self._lists = lists  # ListEmails: the mailbox's views, filters and search

    async def CreateEmail(
        self, request: pb.CreateEmailRequest, rpc: Context
    ) -> pb.CreateEmailResponse:
        ids = await self._service.create([_create(request)], context.current().actor)
        return pb.CreateEmailResponse(emails=[await self._email(i) for i in ids])

    async def BatchCreateEmails(
        self, request: pb.BatchCreateEmailsRequest, rpc: Context
    ) -> pb.BatchCreateEmailsResponse:
        if not request.requests:
            raise InvalidArgument.of("requests", "is empty")
        ids = await self._service.create(
            [_create(r) for r in request.requests], context.current().actor, batch=True
        )
        return pb.BatchCreateEmailsResponse(emails=await self._summaries(ids))

    async def GetEmail(self, request: pb.GetEmailRequest, rpc: Context) -> pb.GetEmailResponse:
        return pb.GetEmailResponse(email=await self._email(_id(request.email_id)))

    async def ListEmails(
        self, request: pb.ListEmailsRequest, rpc: Context
    ) -> pb.ListEmailsResponse:
        return await self._lists.list_emails(request)

    async def UpdateEmail(
        self, request: pb.UpdateEmailRequest, rpc: Context
    ) -> pb.UpdateEmailResponse:
        email_id = _id(request.email.email_id, "email.email_id")
        paths = check_mask(request.update_mask, pb.Email(), "update_mask", _OTHERS)
        current = await self._email(email_id)
        apply_mask(paths if paths != ["*"] else sorted(EDITABLE_FIELDS), request.email, current)
        await self._service.update(email_id, convert.content_to_domain(current))
        return pb.UpdateEmailResponse(email=await self._email(email_id))

    async def SubmitEmail(
        self, request: pb.SubmitEmailRequest, rpc: Context
    ) -> pb.SubmitEmailResponse:
        email_id = _id(request.email_id)
        await self._service.submit(email_id)
        return pb.SubmitEmailResponse(email=await self._email(email_id))

    async def CancelEmail(
        self, request: pb.CancelEmailRequest, rpc: Context
    ) -> pb.CancelEmailResponse:
        email_id = _id(request.email_id)
        await self._service.cancel(email_id)
        return pb.CancelEmailResponse(email=await self._email(email_id))

    async def DeleteEmail(
        self, request: pb.DeleteEmailRequest, rpc: Context
    ) -> pb.DeleteEmailResponse:
        email_id = _id(request.email_id)
        # Unsent email only, as ever; now restorable like any soft-deleted email.
        await self._actions.delete([email_id], unsent_only=True)
        return pb.DeleteEmailResponse(email=await self._email(email_id, False))

    async def ProcessEmails(
        self, request: pb.ProcessEmailsRequest, rpc: Context
    ) -> pb.ProcessEmailsResponse:
        ids = [_id(value, f"email_ids[{i}]") for i, value in enumerate(request.email_ids)]
        processed = await self._service.process(ids, request.account_id, request.include_failed)
        return pb.ProcessEmailsResponse(emails=[await self._email(i, False) for i in processed])

    async def WatchEmails(
        self, request: pb.WatchEmailsRequest, rpc: Context
    ) -> AsyncIterator[pb.WatchEmailsResponse]:
        async for event in self._watch.follow(request):
            yield event

    async def _summaries(self, ids: list[int]) -> list[pb.Email]:
        found = await self._service.summaries(ids)
        senders = await self._service.senders({e.account_id for e in found.values()})
        return [convert.to_proto(found[i], senders[found[i].account_id], False) for i in ids]

    async def _email(self, email_id: int, with_content: bool = True) -> pb.Email:
        email, sender = await self._service.get(email_id, with_content)
        return convert.to_proto(email, sender, with_content)


def _create(request: pb.CreateEmailRequest) -> CreateRequest:
    return CreateRequest(
        account_id=request.email.account_id,
        content=convert.content_to_domain(request.email),
        submit=request.submit,
        one_email_per_to=request.one_email_per_to,
        request_id=request.request_id,
    )


def _id(value: str, field: str = "email_id") -> int:
    return numeric_id(value, field, "an email")
