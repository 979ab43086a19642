"""Two shared accounts and a personal one, with a draft in each, and the use cases built on
the running server's own stores; a caller's role and actor are bound as the interceptor binds
them for an RPC."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.core import context
from erpmail.server.core.context import RequestContext, Role
from erpmail.server.mailbox.view_service import ViewService
from erpmail.server.management.service import FigureService
from erpmail.server.management.store import ManagementStore
from erpmail.server.outgoing.service import OutgoingService
from erpmail.server.outgoing.watch import EmailWatch
from erpmail.server.preferences.store import PreferencesStore
from erpmail.v1 import accounts_pb2, accounts_pb2_grpc, emails_pb2, emails_pb2_grpc

from tests.support.accounts import account
from tests.support.outgoing import email


@contextmanager
def acting(actor: str, role: Role = Role.USER) -> Iterator[None]:
    token = context.bind(RequestContext(request_id="t", method="test", actor=actor, role=role))
    try:
        yield
    finally:
        context.unbind(token)


@dataclass
class Mail:
    server: ErpmailServer
    outgoing: OutgoingService
    views: ViewService
    watch: EmailWatch
    figures: FigureService
    # Draft ids by account id.
    drafts: dict[str, str]


async def _nothing() -> None:
    return None


@pytest.fixture
async def mail(erpmail_server: ErpmailServer, channel: grpc.aio.Channel) -> Mail:
    accounts = accounts_pb2_grpc.AccountServiceStub(channel)
    emails = emails_pb2_grpc.EmailServiceStub(channel)
    made = {
        "sales": account("sales"),
        "support": account("support"),
        # Personal to EMP2: EMP1 is listed but does not own it.
        "emp2": account("emp2", personal_owner_id="EMP2"),
    }
    members = {"sales": ["EMP1", "EMP2"], "support": ["EMP2"], "emp2": ["EMP1"]}
    drafts = {}
    for account_id, message in made.items():
        message.allowed_employee_ids.extend(members[account_id])
        await accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=message))
        created = await emails.CreateEmail(
            emails_pb2.CreateEmailRequest(email=email(account_id=account_id))
        )
        drafts[account_id] = created.emails[0].email_id
    s = erpmail_server
    outgoing = OutgoingService(s.emails, s.accounts, PreferencesStore(s.db), s.dispatcher, s.clock)
    return Mail(
        server=s,
        outgoing=outgoing,
        views=ViewService(s.views, outgoing),
        watch=EmailWatch(s.emails, outgoing, 0.05),
        figures=FigureService(ManagementStore(s.db, _nothing), s.accounts),
        drafts=drafts,
    )
