"""What the mailbox action tests share: a real erpmail server that sends quickly, a sandbox whose
mailbox the account sends from and receives into (IMAP, processing on, unassigned mail owned by
EMP1), stubs, and ways to make sent and received email and to act as a named user."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

import grpc
from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer
from erpmail.server.directory.models import Employee
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import (
    accounts_pb2_grpc,
    common_pb2,
    emails_pb2_grpc,
    entity_requests_pb2_grpc,
    processing_pb2_grpc,
)
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import processing_pb2 as ppb

from tests.support.outgoing import (
    ADDRESS,
    fast_server,
    sandbox_account,
    sandbox_with_mailbox,
    wait_until,
)

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Requests: TypeAlias = "entity_requests_pb2_grpc.EntityRequestServiceAsyncStub"
Metadata: TypeAlias = tuple[tuple[str, str], ...]

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
OWNER = "EMP1"
OTHER = "EMP2"


def acting(actor: str) -> Metadata:
    """Call metadata naming the acting user."""
    return (("x-erpmail-actor", actor),)


@dataclass
class World:
    server: ErpmailServer
    sandbox: Sandbox
    emails: Emails
    requests: Requests
    processing: processing_pb2_grpc.ProcessingServiceAsyncStub
    _messages: int = 0

    async def sent(self, message: pb.Email | None = None) -> pb.Email:
        """An email sent through the sandbox, processed."""
        created = await self.emails.CreateEmail(
            pb.CreateEmailRequest(email=message or outgoing(), submit=True)
        )
        (done,) = await wait_until(self.emails, [created.emails[0].email_id])
        assert done.status == pb.EMAIL_STATUS_PROCESSED, done.error
        return await self.get(done.email_id)

    async def draft(self, message: pb.Email | None = None) -> pb.Email:
        created = await self.emails.CreateEmail(pb.CreateEmailRequest(email=message or outgoing()))
        return created.emails[0]

    async def received(self, *headers: str, body: str = "Please send it again.") -> pb.Email:
        """A plain-text message from a customer to the account (`headers` such as "Cc: x@y.z"
        replace or add to the usual ones), received and processed."""
        self._messages += 1
        fields = {
            "From": "Anna Customer <anna@customer.test>",
            "To": ADDRESS,
            "Subject": "Invoice 42",
            "Date": "Mon, 02 Mar 2026 09:30:00 +0000",
            "Message-ID": f"<m{self._messages}@customer.test>",
            "Content-Type": "text/plain; charset=utf-8",
        }
        for header in headers:
            name, value = header.split(": ", 1)
            fields[name] = value
        lines = [f"{name}: {value}" for name, value in fields.items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()
        return await self.delivered(raw, fields["Message-ID"])

    async def delivered(self, raw: bytes, message_id: str) -> pb.Email:
        """The message delivered into the account's mailbox, received and processed."""
        self.sandbox.store.deliver("", [ADDRESS], raw)
        result = await self.processing.ReceiveEmails(
            ppb.ReceiveEmailsRequest(account_ids=["sandbox"])
        )
        (receipt,) = result.receipts
        assert receipt.ok, receipt.error
        listed = await self.emails.ListEmails(pb.ListEmailsRequest(page_size=50))
        (found,) = [e for e in listed.emails if e.message_id == message_id]
        (done,) = await wait_until(self.emails, [found.email_id])
        return await self.get(done.email_id)

    async def get(self, email_id: str) -> pb.Email:
        return (await self.emails.GetEmail(pb.GetEmailRequest(email_id=email_id))).email


def outgoing(*to: str, subject: str = "Invoice 42", owner_id: str = OTHER) -> pb.Email:
    return pb.Email(
        account_id="sandbox",
        to=[pb.Address(address=a) for a in (to or ("customer@example.com",))],
        subject=subject,
        text_body="Please find the invoice attached.",
        owner_id=owner_id,
    )


@contextlib.asynccontextmanager
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with sandbox_with_mailbox() as sandbox, fast_server(tmp_path / "data") as server:
        for who in (OWNER, OTHER):
            employee = Employee(who, display_name=who, employee_email=f"{who.lower()}@corp.test")
            await server.directory.create_employee(employee, WHEN)
        async with grpc.aio.insecure_channel(server.address) as channel:
            account = sandbox_account(sandbox)
            account.usage = apb.ACCOUNT_USAGE_SEND_AND_RECEIVE
            account.incoming.protocol = apb.INCOMING_PROTOCOL_IMAP
            account.incoming.host = "127.0.0.1"
            account.incoming.port = sandbox.ports["imap"]
            account.incoming.security = common_pb2.CONNECTION_SECURITY_NONE
            account.reply_address = "replies@sandbox.test"
            account.processing.activate = True
            account.assignment.default_owner_id = OWNER
            await accounts_pb2_grpc.AccountServiceStub(channel).CreateAccount(
                apb.CreateAccountRequest(account=account)
            )
            yield World(
                server,
                sandbox,
                emails_pb2_grpc.EmailServiceStub(channel),
                entity_requests_pb2_grpc.EntityRequestServiceStub(channel),
                processing_pb2_grpc.ProcessingServiceStub(channel),
            )


def statuses(emails: Sequence[pb.Email]) -> list[pb.EmailStatus.ValueType]:
    return [e.status for e in emails]
