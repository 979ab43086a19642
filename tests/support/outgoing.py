"""Helpers for end-to-end tests of outgoing mail against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TypeAlias

from erpmail.sandbox.app import Sandbox
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import common_pb2, emails_pb2_grpc
from erpmail.v1 import emails_pb2 as pb

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
ADDRESS, PASSWORD = "erp@sandbox.test", "erp-sandbox"
FINAL = {pb.EMAIL_STATUS_PROCESSED, pb.EMAIL_STATUS_FAILED}


def sandbox_account(
    sandbox: Sandbox, account_id: str = "sandbox", **outgoing: object
) -> apb.Account:
    """A send-only account on the sandbox's plain SMTP port, logging in as ADDRESS."""
    account = apb.Account(
        account_id=account_id,
        email_address=ADDRESS,
        display_name="ERP",
        usage=apb.ACCOUNT_USAGE_SEND_ONLY,
        incoming=apb.IncomingServer(username=ADDRESS, password=PASSWORD),
        outgoing=apb.OutgoingServer(
            host="127.0.0.1",
            port=sandbox.ports["smtp"],
            security=common_pb2.CONNECTION_SECURITY_NONE,
            requires_authentication=True,
        ),
    )
    for name, value in outgoing.items():
        setattr(account.outgoing, name, value)
    return account


def email(*to: str, subject: str = "Invoice 42", account_id: str = "sandbox") -> pb.Email:
    return pb.Email(
        account_id=account_id,
        to=[pb.Address(address=a) for a in (to or ("customer@example.com",))],
        subject=subject,
        text_body="Please find the invoice attached.",
    )


async def wait_until(
    emails: Emails,
    ids: Iterable[str],
    statuses: set[pb.EmailStatus.ValueType] = FINAL,
    timeout: float = 20,
) -> list[pb.Email]:
    """Polls until every email has one of `statuses`; fails the test after `timeout` s."""
    ids = list(ids)
    async with asyncio.timeout(timeout):
        while True:
            found = [(await emails.GetEmail(pb.GetEmailRequest(email_id=i))).email for i in ids]
            if all(e.status in statuses for e in found):
                return found
            await asyncio.sleep(0.02)
