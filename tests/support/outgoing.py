"""Helpers for end-to-end tests of outgoing mail against the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from pathlib import Path
from typing import TypeAlias

from erpmail.sandbox.app import Sandbox, SandboxConfig
from erpmail.server.app import ErpmailServer
from erpmail.server.config import Settings
from erpmail.server.outgoing.dispatcher import DispatchSettings
from erpmail.server.outgoing.policy import Backoff
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import common_pb2, emails_pb2_grpc
from erpmail.v1 import emails_pb2 as pb

from tests.support.secrets_watch import secret

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
ADDRESS, PASSWORD = "erp@sandbox.test", secret("erp-sandbox")

# A dispatcher that sends quickly: short backoff, fast polling, one session per account.
FAST = DispatchSettings(
    sessions_per_account=1,
    poll_interval=0.2,
    backoff=Backoff(first=timedelta(milliseconds=50), factor=2, longest=timedelta(seconds=1)),
    account_retry=timedelta(milliseconds=200),
    smtp_timeout=5,
)


@contextlib.asynccontextmanager
async def fast_server(
    data_dir: Path, dispatch: DispatchSettings = FAST
) -> AsyncIterator[ErpmailServer]:
    """An erpmail server on an ephemeral port that sends quickly; stopped on exit."""
    server = ErpmailServer(
        Settings(
            listen="127.0.0.1:0",
            data_dir=data_dir,
            dispatch=dispatch,
            watch_progress_interval=0.2,
        )
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop(grace=0)


@contextlib.asynccontextmanager
async def sandbox_with_mailbox() -> AsyncIterator[Sandbox]:
    """A sandbox on ephemeral ports with the account's mailbox (ADDRESS, PASSWORD)."""
    async with Sandbox(SandboxConfig.ephemeral()) as running:
        running.store.create_mailbox(ADDRESS, PASSWORD)
        yield running


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
