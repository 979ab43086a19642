"""An erpmail server that sends quickly, a sandbox to send to with the account and an offer
template on it, and the stubs the mailing tests call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import (
    accounts_pb2_grpc,
    emails_pb2_grpc,
    mailings_pb2_grpc,
    preferences_pb2_grpc,
    templates_pb2_grpc,
)
from erpmail.v1 import templates_pb2 as tpb

from tests.mailings.messages import offer_template
from tests.support.outgoing import (
    fast_server,
    sandbox_account,
    sandbox_with_mailbox,
)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with sandbox_with_mailbox() as running:
        yield running


@pytest.fixture
async def erpmail_server(tmp_path: Path) -> AsyncIterator[ErpmailServer]:
    async with fast_server(tmp_path / "data") as server:
        yield server


@pytest.fixture
def mailings(channel: grpc.aio.Channel) -> mailings_pb2_grpc.MailingServiceAsyncStub:
    return mailings_pb2_grpc.MailingServiceStub(channel)


@pytest.fixture
def emails(channel: grpc.aio.Channel) -> emails_pb2_grpc.EmailServiceAsyncStub:
    return emails_pb2_grpc.EmailServiceStub(channel)


@pytest.fixture
def templates(channel: grpc.aio.Channel) -> templates_pb2_grpc.TemplateServiceAsyncStub:
    return templates_pb2_grpc.TemplateServiceStub(channel)


@pytest.fixture
def preferences(channel: grpc.aio.Channel) -> preferences_pb2_grpc.PreferencesServiceAsyncStub:
    return preferences_pb2_grpc.PreferencesServiceStub(channel)


@pytest.fixture
async def offer(
    sandbox: Sandbox,
    channel: grpc.aio.Channel,
    templates: templates_pb2_grpc.TemplateServiceAsyncStub,
) -> tpb.Template:
    """The sandbox account, and the offer template sending from it."""
    accounts = accounts_pb2_grpc.AccountServiceStub(channel)
    await accounts.CreateAccount(apb.CreateAccountRequest(account=sandbox_account(sandbox)))
    created = await templates.CreateTemplate(tpb.CreateTemplateRequest(template=offer_template()))
    return created.template
