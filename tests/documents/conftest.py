"""Fixtures of the documents tests: an erpmail server that sends at once, a sandbox to send to, the
stubs, and the data a document needs (an account on the sandbox, templates, a customer's
contacts and the employees who work with it)."""

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
    directory_pb2_grpc,
    documents_pb2_grpc,
    emails_pb2_grpc,
    templates_pb2_grpc,
)
from erpmail.v1 import directory_pb2 as dpb
from erpmail.v1 import templates_pb2 as tpb

from tests.documents.messages import (
    CUSTOMER,
    Directory,
    Documents,
    Emails,
    Templates,
    invoice_template,
)
from tests.support.outgoing import (
    fast_server,
    sandbox_account,
    sandbox_with_mailbox,
)


@pytest.fixture
async def erpmail_server(tmp_path: Path) -> AsyncIterator[ErpmailServer]:
    async with fast_server(tmp_path / "data") as server:
        yield server


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with sandbox_with_mailbox() as running:
        yield running


@pytest.fixture
def documents(channel: grpc.aio.Channel) -> Documents:
    return documents_pb2_grpc.DocumentServiceStub(channel)


@pytest.fixture
def directory(channel: grpc.aio.Channel) -> Directory:
    return directory_pb2_grpc.DirectoryServiceStub(channel)


@pytest.fixture
def templates(channel: grpc.aio.Channel) -> Templates:
    return templates_pb2_grpc.TemplateServiceStub(channel)


@pytest.fixture
def emails(channel: grpc.aio.Channel) -> Emails:
    return emails_pb2_grpc.EmailServiceStub(channel)


@pytest.fixture
async def account(channel: grpc.aio.Channel, sandbox: Sandbox) -> apb.Account:
    """The system account "sandbox" on the sandbox's SMTP port: the invoice template's."""
    stub = accounts_pb2_grpc.AccountServiceStub(channel)
    created = await stub.CreateAccount(apb.CreateAccountRequest(account=sandbox_account(sandbox)))
    return created.account


@pytest.fixture
async def template(templates: Templates, account: apb.Account) -> tpb.Template:
    """ "invoice-mail": subject and body from the invoice's data, with the terms attached."""
    created = await templates.CreateTemplate(tpb.CreateTemplateRequest(template=invoice_template()))
    return created.template


@pytest.fixture
async def people(directory: Directory) -> None:
    """The customer's contacts (two in billing, one in purchasing, one without an address, one of
    another business account) and two employees, one of them inactive."""
    contacts = [
        ("C1", "Ada Billing", "ada@acme.test", CUSTOMER, ["billing"]),
        ("C2", "Ben Billing", "ben@acme.test", CUSTOMER, ["billing", "purchasing"]),
        ("C3", "Cy Buyer", "cy@acme.test", CUSTOMER, ["purchasing"]),
        ("C4", "No Address", "", CUSTOMER, ["billing"]),
        ("G1", "Gil Globex", "gil@globex.test", "GLOBEX", ["billing"]),
    ]
    employees = [
        dpb.Employee(employee_id="EMP1", display_name="Eve Seller", employee_email="eve@corp.test"),
        dpb.Employee(
            employee_id="EMP2",
            display_name="Old Seller",
            employee_email="old@corp.test",
            status=dpb.EMPLOYEE_STATUS_INACTIVE,
        ),
    ]
    await directory.BatchUpsertDirectory(
        dpb.BatchUpsertDirectoryRequest(
            employees=employees,
            contacts=[
                dpb.Contact(
                    contact_id=contact_id,
                    display_name=name,
                    email=address,
                    business_account_id=business_account,
                    roles=roles,
                )
                for contact_id, name, address, business_account, roles in contacts
            ],
        )
    )
