"""What the view, filter, search and saved view tests share: a real erpmail server over a real
database, with two accounts, three employees in two work groups, and email written through the
stores that write it in production (EmailStore for email erpmail sends, with its attempts'
outcomes; IncomingStore for received email), then read, archived and deleted through the
EmailService actions."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeAlias

import grpc
from erpmail.server.app import ErpmailServer
from erpmail.server.config import Settings
from erpmail.server.directory.models import Employee, WorkGroup
from erpmail.server.incoming.store import IncomingEmail, IncomingStore
from erpmail.server.outgoing.models import (
    Address,
    Attachment,
    Attempt,
    AttemptOutcome,
    Content,
    RelatedEntity,
    SendStep,
    Status,
)
from erpmail.server.outgoing.store import NewEmail, Outcome
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, views_pb2_grpc
from erpmail.v1 import emails_pb2 as pb

from tests.support.accounts import account

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Views: TypeAlias = "views_pb2_grpc.SavedViewServiceAsyncStub"
Metadata: TypeAlias = tuple[tuple[str, str], ...]

WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SALES, SUPPORT = "sales", "support"
ANNA, BERT, CARL = "EMP-ANNA", "EMP-BERT", "EMP-CARL"
SALES_TEAM, SUPPORT_TEAM = "WG-SALES", "WG-SUPPORT"
# Not sent before this: pending email stays pending while a test runs.
LATER = datetime(2099, 1, 1, tzinfo=UTC)


def acting(actor: str) -> Metadata:
    """Call metadata naming the acting user."""
    return (("x-erpmail-actor", actor),)


@dataclass
class Mailbox:
    server: ErpmailServer
    emails: Emails
    views: Views
    incoming: IncomingStore
    ids: dict[str, str] = field(default_factory=dict)  # subject -> email id
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    async def sent(
        self,
        subject: str,
        *,
        status: Status = Status.PROCESSED,
        account_id: str = SALES,
        to: Sequence[str] = ("customer@example.com",),
        cc: Sequence[str] = (),
        owner: str = "",
        work_group: str = "",
        related: tuple[str, str] = ("", ""),
        text: str = "",
        html: str = "",
        attachments: int = 0,
        at: datetime = WHEN,
    ) -> str:
        """An email erpmail sends: created in the queue and, for processed or failed email,
        claimed and given its attempt's outcome (sent at `at`)."""
        content = _content(subject, to, cc, owner, work_group, related, text, html, attachments)
        queued = status in (Status.PENDING, Status.PROCESSED, Status.FAILED)
        content.earliest_send_time = LATER if queued else None
        number = next(self._numbers)
        (email_id,) = await self.server.emails.create(
            [
                NewEmail(
                    account_id=account_id,
                    content=content,
                    status=Status.PENDING if queued else status,
                    message_id=f"<out{number}@erp.test>",
                    tracking_tag="",
                    raw=b"",
                    created_by="system",
                )
            ],
            at,
        )
        if status in (Status.PROCESSED, Status.FAILED):
            await self.server.emails.claim_ids([email_id], False, at, "test", at)
            sent = status is Status.PROCESSED
            attempt = Attempt(
                at,
                False,
                SendStep.DONE if sent else SendStep.RCPT_TO,
                AttemptOutcome.SENT if sent else AttemptOutcome.PERMANENT_FAILURE,
                250 if sent else 550,
            )
            await self.server.emails.record(
                [Outcome(email_id, account_id, attempt, status, 0, None, "" if sent else "550")],
                at,
            )
        return self._named(subject, email_id)

    async def received(
        self,
        subject: str,
        *,
        status: Status = Status.PROCESSED,
        account_id: str = SALES,
        sender: str = "customer@shop.test",
        sender_name: str = "",
        cc: Sequence[str] = (),
        owner: str = "",
        work_group: str = "",
        related: tuple[str, str] = ("", ""),
        text: str = "",
        html: str = "",
        attachments: int = 0,
        at: datetime = WHEN,
    ) -> str:
        """An email received for the account, stored at `at` as receiving stores it (owner,
        work group and related record as processing leaves them)."""
        to = [f"{account_id}@example.com"]
        content = _content(subject, to, cc, owner, work_group, related, text, html, attachments)
        number = next(self._numbers)
        ((email_id, _),) = await self.incoming.save(
            account_id,
            [
                IncomingEmail(
                    message_id=f"<in{number}@shop.test>",
                    sender=Address(sender, sender_name),
                    content=content,
                    status=status,
                    error="",
                    raw=b"",
                )
            ],
            at,
        )
        return self._named(subject, email_id)

    async def read(self, *subjects: str, by: str) -> None:
        await self.emails.MarkEmailsRead(
            pb.MarkEmailsReadRequest(email_ids=self.of(*subjects), read=True),
            metadata=acting(by),
        )

    async def archive(self, *subjects: str) -> None:
        await self.emails.ArchiveEmails(pb.ArchiveEmailsRequest(email_ids=self.of(*subjects)))

    async def delete(self, *subjects: str) -> None:
        await self.emails.DeleteEmails(pb.DeleteEmailsRequest(email_ids=self.of(*subjects)))

    def of(self, *subjects: str) -> list[str]:
        return [self.ids[s] for s in subjects]

    async def listed(self, actor: str = ANNA, **request: object) -> list[str]:
        """The subjects of one page of ListEmails, in order."""
        page = await self.emails.ListEmails(
            pb.ListEmailsRequest(**request),  # type: ignore[arg-type]
            metadata=acting(actor),
        )
        return [e.subject for e in page.emails]

    async def every_page(self, actor: str = ANNA, **request: object) -> list[list[str]]:
        """The subjects of every page of ListEmails, following the page tokens."""
        pages, token = [], ""
        while True:
            page = await self.emails.ListEmails(
                pb.ListEmailsRequest(page_token=token, **request),  # type: ignore[arg-type]
                metadata=acting(actor),
            )
            pages.append([e.subject for e in page.emails])
            token = page.next_page_token
            if not token:
                return pages

    def _named(self, subject: str, email_id: int) -> str:
        self.ids[subject] = str(email_id)
        return str(email_id)


def _content(
    subject: str,
    to: Sequence[str],
    cc: Sequence[str],
    owner: str,
    work_group: str,
    related: tuple[str, str],
    text: str,
    html: str,
    attachments: int,
) -> Content:
    return Content(
        to=[Address(a) for a in to],
        cc=[Address(a) for a in cc],
        subject=subject,
        text_body=text,
        html_body=html,
        attachments=[
            Attachment(f"file{i}.pdf", "application/pdf", b"%PDF-1.4") for i in range(attachments)
        ],
        related_entity=RelatedEntity(*related),
        owner_id=owner,
        work_group_id=work_group,
    )


def at(minutes: int) -> datetime:
    """WHEN plus some minutes: emails stored in order of time."""
    return WHEN + timedelta(minutes=minutes)


@contextlib.asynccontextmanager
async def mailbox(tmp_path: Path) -> AsyncIterator[Mailbox]:
    server = ErpmailServer(Settings(listen="127.0.0.1:0", data_dir=tmp_path / "data"))
    await server.start()
    try:
        for employee_id in (ANNA, BERT, CARL):
            await server.directory.create_employee(Employee(employee_id, employee_id), WHEN)
        await server.directory.create_work_group(WorkGroup(SALES_TEAM, "Sales", [ANNA, BERT]), WHEN)
        await server.directory.create_work_group(WorkGroup(SUPPORT_TEAM, "Support", [CARL]), WHEN)
        async with grpc.aio.insecure_channel(server.address) as channel:
            accounts = accounts_pb2_grpc.AccountServiceStub(channel)
            for account_id in (SALES, SUPPORT):
                message = account(account_id, usage=apb.ACCOUNT_USAGE_SEND_ONLY)
                await accounts.CreateAccount(apb.CreateAccountRequest(account=message))
            yield Mailbox(
                server,
                emails_pb2_grpc.EmailServiceStub(channel),
                views_pb2_grpc.SavedViewServiceStub(channel),
                IncomingStore(server.db, server.emails.notify),
            )
    finally:
        await server.stop(grace=0)
