"""The Python client (erpmail.client) against a real erpmail server: credentials on every call,
error details, paging, retries while erpmail is away, and watch streams that resume after a
restart without losing or repeating a change."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from erpmail.client import (
    AsyncClient,
    Client,
    ClientOptions,
    Reconnect,
    RetryPolicy,
    Tls,
    error_details,
)
from erpmail.server.core.context import Role
from erpmail.v1 import accounts_pb2, directory_pb2, emails_pb2

from tests.clients.conftest import free_port, running
from tests.support.ca import CertificateAuthority
from tests.support.outgoing import email, sandbox_account, sandbox_with_mailbox
from tests.support.secrets_watch import secret


async def make_employees(client: AsyncClient, count: int) -> list[str]:
    ids = [f"emp-{n:02}" for n in range(count)]
    for employee_id in ids:
        employee = directory_pb2.Employee(employee_id=employee_id, display_name=employee_id)
        await client.directory.CreateEmployee(
            directory_pb2.CreateEmployeeRequest(employee=employee)
        )
    return ids


async def test_calls_carry_the_api_key_and_without_one_are_unauthenticated(tmp_path: Path) -> None:
    async with running(tmp_path, require_api_keys=True) as server:
        _, key = await server.api_keys.create("erp", Role.ADMIN, "", "test", datetime.now(UTC))
        secret(key)
        request = accounts_pb2.ListAccountsRequest()
        async with AsyncClient(ClientOptions(address=server.address, api_key=key)) as keyed:
            assert list((await keyed.accounts.ListAccounts(request)).accounts) == []
        async with AsyncClient(ClientOptions(address=server.address)) as anonymous:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await anonymous.accounts.ListAccounts(request)
        assert error_details(refused.value).code is grpc.StatusCode.UNAUTHENTICATED


async def test_changes_are_recorded_under_the_actor_the_client_names(tmp_path: Path) -> None:
    async with (
        sandbox_with_mailbox() as sandbox,
        running(tmp_path, require_api_keys=True) as server,
    ):
        _, key = await server.api_keys.create("erp", Role.ADMIN, "", "test", datetime.now(UTC))
        secret(key)
        options = ClientOptions(address=server.address, api_key=key, actor="emp-7")
        async with AsyncClient(options) as erp:
            account = sandbox_account(sandbox)
            await erp.accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=account))
            request = accounts_pb2.ListAccountChangesRequest(account_id=account.account_id)
            changes = await erp.accounts.ListAccountChanges(request)
    assert {c.actor for c in changes.changes} == {"emp-7"}


async def test_error_details_name_the_offending_field(tmp_path: Path) -> None:
    async with running(tmp_path) as server, AsyncClient(ClientOptions(server.address)) as erp:
        bad = accounts_pb2.Account(account_id="x", email_address="not an address")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await erp.accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=bad))
    details = error_details(refused.value)
    assert details.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "account.email_address" in {v.field for v in details.field_violations}
    assert "account.email_address" in str(details)


async def test_items_visits_every_item_across_pages_in_order(tmp_path: Path) -> None:
    async with running(tmp_path) as server, AsyncClient(ClientOptions(server.address)) as erp:
        ids = await make_employees(erp, 7)
        request = directory_pb2.ListEmployeesRequest(page_size=2)
        seen = [e.employee_id async for e in erp.items(erp.directory.ListEmployees, request)]
    assert seen == ids


async def test_reads_are_retried_until_erpmail_comes_up(tmp_path: Path) -> None:
    port = free_port()
    patient = RetryPolicy(attempts=5, first_backoff=0.5, longest_backoff=2.0)
    options = ClientOptions(address=f"127.0.0.1:{port}", retry=patient)
    async with AsyncClient(options) as erp:
        call = asyncio.ensure_future(erp.accounts.ListAccounts(accounts_pb2.ListAccountsRequest()))
        await asyncio.sleep(0.2)  # the first attempt has found nobody listening
        async with running(tmp_path, port):
            response = await call
    assert list(response.accounts) == []


async def test_an_email_with_a_large_attachment_is_created_once_when_erpmail_comes_back(
    tmp_path: Path,
) -> None:
    port = free_port()
    patient = RetryPolicy(attempts=5, first_backoff=0.5, longest_backoff=2.0)
    invoice = emails_pb2.Attachment(
        file_name="invoice.pdf", content_type="application/pdf", content=b"%" * 1_000_000
    )
    message = email()
    message.attachments.append(invoice)  # larger than gRPC's default retry buffer
    async with (
        sandbox_with_mailbox() as sandbox,
        AsyncClient(ClientOptions(f"127.0.0.1:{port}", retry=patient)) as erp,
    ):
        async with running(tmp_path, port):
            account = sandbox_account(sandbox)
            await erp.accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=account))
        request = emails_pb2.CreateEmailRequest(email=message)
        call = asyncio.ensure_future(erp.emails.CreateEmail(request))
        await asyncio.sleep(0.2)  # erpmail is down: the first attempt fails
        async with running(tmp_path, port):
            created = await call
            listed = await erp.emails.ListEmails(emails_pb2.ListEmailsRequest())
    assert [e.email_id for e in listed.emails] == [created.emails[0].email_id]


async def test_without_retries_a_call_to_an_absent_server_is_unavailable() -> None:
    options = ClientOptions(address=f"127.0.0.1:{free_port()}", retry=None)
    async with AsyncClient(options) as erp:
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await erp.accounts.ListAccounts(accounts_pb2.ListAccountsRequest())
    assert failed.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_creates_get_their_own_request_id_without_changing_the_callers_request(
    tmp_path: Path,
) -> None:
    async with (
        sandbox_with_mailbox() as sandbox,
        running(tmp_path) as server,
        AsyncClient(ClientOptions(server.address)) as erp,
    ):
        account = sandbox_account(sandbox)
        await erp.accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=account))
        request = emails_pb2.CreateEmailRequest(email=email())
        first = await erp.emails.CreateEmail(request)
        second = await erp.emails.CreateEmail(request)
        again = emails_pb2.CreateEmailRequest(email=email(), request_id="order-42")
        third = await erp.emails.CreateEmail(again)
        fourth = await erp.emails.CreateEmail(again)
    assert request.request_id == ""
    assert first.emails[0].email_id != second.emails[0].email_id  # two calls, two emails
    assert third.emails[0].email_id == fourth.emails[0].email_id  # the caller's id is kept


async def test_follow_emails_resumes_after_a_restart_without_losing_or_repeating(
    tmp_path: Path,
) -> None:
    port = free_port()
    seen: list[emails_pb2.EmailChange] = []
    arrived = asyncio.Condition()
    # The follower waits a second before reconnecting, so the second email is created while it is
    # away: only resuming from the last revision it saw can deliver that change.
    patient = Reconnect(first=1.0)

    async def collect(erp: AsyncClient) -> None:
        request = emails_pb2.WatchEmailsRequest(include_current=True)
        async for change in erp.follow_emails(request, patient):
            async with arrived:
                seen.append(change)
                arrived.notify_all()

    async def create(erp: AsyncClient, subject: str) -> str:
        request = emails_pb2.CreateEmailRequest(email=email(subject=subject))
        return (await erp.emails.CreateEmail(request)).emails[0].email_id

    async def delivered(email_id: str) -> None:
        async with arrived, asyncio.timeout(20):
            await arrived.wait_for(lambda: any(c.email.email_id == email_id for c in seen))

    async with (
        sandbox_with_mailbox() as sandbox,
        AsyncClient(ClientOptions(f"127.0.0.1:{port}")) as erp,
    ):
        async with running(tmp_path, port):
            account = sandbox_account(sandbox)
            await erp.accounts.CreateAccount(accounts_pb2.CreateAccountRequest(account=account))
            existing = await create(erp, "before the watch")
            follower = asyncio.create_task(collect(erp))
            await delivered(existing)
            before = await create(erp, "before the restart")
            await delivered(before)
        async with running(tmp_path, port):
            while_away = await create(erp, "while the follower was away")
            await delivered(while_away)
        follower.cancel()

    revisions = [c.revision for c in seen]
    assert revisions == sorted(set(revisions))  # in order, none twice
    assert [c.email.email_id for c in seen] == [existing, before, while_away]


async def test_the_sync_client_pages_and_raises_the_same_details(tmp_path: Path) -> None:
    async with running(tmp_path) as server:
        async with AsyncClient(ClientOptions(server.address)) as erp:
            ids = await make_employees(erp, 5)

        def use_sync_client() -> tuple[list[str], grpc.RpcError]:
            with Client(ClientOptions(server.address)) as erp:
                request = directory_pb2.ListEmployeesRequest(page_size=2)
                seen = [e.employee_id for e in erp.items(erp.directory.ListEmployees, request)]
                try:
                    erp.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="no"))
                except grpc.RpcError as error:
                    return seen, error
            raise AssertionError("GetEmployee of an unknown id succeeded")

        seen, error = await asyncio.to_thread(use_sync_client)
    assert seen == ids
    details = error_details(error)
    assert details.code is grpc.StatusCode.NOT_FOUND
    assert details.resources == [("employee", "no")]


async def test_tls_options_verify_the_server_certificate(tmp_path: Path) -> None:
    ca = CertificateAuthority()
    issued = ca.server()
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.write_bytes(issued.cert_pem)
    key.write_bytes(issued.key_pem)
    ca_file.write_bytes(ca.cert_pem)
    async with running(tmp_path / "data", tls_cert_file=cert, tls_key_file=key) as server:
        trusting = ClientOptions(server.address, tls=Tls.from_files(ca=ca_file))
        async with AsyncClient(trusting) as erp:
            await erp.accounts.ListAccounts(accounts_pb2.ListAccountsRequest())
        plain = ClientOptions(server.address, retry=None)
        async with AsyncClient(plain) as erp:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await erp.accounts.ListAccounts(accounts_pb2.ListAccountsRequest())
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
